"""What a running job sees: its run, progress reporting, per-run logs and the cancel flag."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

from sidecar.jobs import queries
from sidecar.jobs.resources import JobResources
from sidecar.logs import redact
from sidecar.settings import Settings


class JobCancelled(Exception):
    """Raised by `raise_if_cancelled()`; the executor ends the run `cancelled`."""


class JobError(Exception):
    """A failure with a message a person can act on ("what failed and what to check")."""


@dataclass(frozen=True)
class FollowUp:
    job: str
    scope: dict[str, Any] | None
    variant: str = "regular"


class JobContext:
    """Handed to every job function.

    Progress goes to Postgres at most once per `progress_interval_seconds` (plus on every step
    change and at the end), so dashboards see live figures without a write per item. The cancel
    flag is refreshed on those same writes, so `cancelled` costs nothing to read in a loop.
    """

    def __init__(
        self,
        *,
        run_id: uuid.UUID,
        job: str,
        variant: str,
        trigger: str,
        scope: dict[str, Any] | None,
        settings: Settings,
        db: asyncpg.Pool,
        resources: JobResources | None = None,
    ) -> None:
        self.run_id = run_id
        self.job = job
        self.variant = variant
        self.trigger = trigger
        self.scope = scope
        self.settings = settings
        self.db = db
        self.resources = resources if resources is not None else JobResources()
        self.log = structlog.get_logger("sidecar.job").bind(run_id=str(run_id), job=job)
        self.current_step: str | None = None
        self.items_processed = 0
        self.items_total: int | None = None
        self.items_failed = 0
        self.result: dict[str, Any] = {}
        self.follow_ups: list[FollowUp] = []
        self._cancelled = False
        self._last_flush = 0.0
        self._interval = settings.progress_interval_seconds

    # --- progress ---------------------------------------------------------------------------------
    async def step(self, name: str, total: int | None = None, *, reset_counts: bool = False) -> None:
        """Start a named phase ("Fetching movies"); optionally with the number of items it covers."""
        self.current_step = name
        if reset_counts:
            self.items_processed = 0
            self.items_failed = 0
        if total is not None:
            self.items_total = total
        self.log.info("step", step=name, items_total=total)
        await self.flush()

    async def set_total(self, total: int) -> None:
        self.items_total = total
        await self._maybe_flush()

    async def advance(self, processed: int = 1, failed: int = 0) -> None:
        """Count items done; `failed` items count as processed too."""
        self.items_processed += processed
        self.items_failed += failed
        await self._maybe_flush()

    async def _maybe_flush(self) -> None:
        if time.monotonic() - self._last_flush >= self._interval:
            await self.flush()

    async def flush(self) -> None:
        self._last_flush = time.monotonic()
        cancel_requested = await self.db.fetchval(
            queries.UPDATE_PROGRESS,
            self.run_id,
            self.current_step,
            self.items_processed,
            self.items_total,
            self.items_failed,
        )
        if cancel_requested:
            self._cancelled = True

    # --- cancellation -----------------------------------------------------------------------------
    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def mark_cancelled(self) -> None:
        """Called by the worker's cancel watcher as soon as it sees the request."""
        self._cancelled = True

    def raise_if_cancelled(self) -> None:
        """Call between batches/pages/users: the cooperative cancellation point."""
        if self._cancelled:
            raise JobCancelled()

    # --- chaining incremental work -----------------------------------------------------------------
    def follow_up(self, job: str, *, scope: dict[str, Any] | None, variant: str = "regular") -> None:
        """Ask for a later step of the job graph once this run completes (e.g. embed the items just synced).

        Submitted by the executor only if this run completes, and only for a job that needs this one
        (directly or through others); a queued run of the same job absorbs it (scopes merge). Mostly
        from scoped runs (full runs are followed by schedules and pipelines); a full run may ask for
        a scoped step for what it found changed (watch history does).
        """
        self.follow_ups.append(FollowUp(job, scope, variant))

    # --- logs -------------------------------------------------------------------------------------
    async def write_log(self, level: str, message: str, **data: Any) -> None:
        clean = redact(data) if data else None
        getattr(self.log, level)(message, **(clean or {}))
        await self.db.execute(queries.INSERT_LOG, self.run_id, level, redact(message), clean)

    async def debug(self, message: str, **data: Any) -> None:
        await self.write_log("debug", message, **data)

    async def info(self, message: str, **data: Any) -> None:
        await self.write_log("info", message, **data)

    async def warning(self, message: str, **data: Any) -> None:
        await self.write_log("warning", message, **data)

    async def error(self, message: str, **data: Any) -> None:
        await self.write_log("error", message, **data)

    async def item_failed(self, what: str, exc: BaseException | str, **data: Any) -> None:
        """One bad item: count it (processed and failed), log it, let the run go on."""
        await self.warning(f"{what}: {exc}", **data)
        await self.advance(processed=1, failed=1)
