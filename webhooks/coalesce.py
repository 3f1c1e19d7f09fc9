"""One submit at a time per job, with everything that arrived meanwhile folded into it.

`JobQueue.submit` joins the queued run of the same job+variant and merges the scope under a row
lock. A burst of webhooks would make that 500 locked read-merge-writes of one row; instead this web
process submits one batch per job+variant at a time, and events that arrive while a submit is in
flight are merged into the next one (group commit). That turns a burst of 500 events into a
handful of submits. Whatever must be recorded per caller (the webhook events that joined the run)
is handed to `after_submit` once per batch, as one write instead of one per event.

A debounce that restarts with every event never ends while events keep coming faster than the
window, so a caller may pass `max_slide`; `sidecar.jobs.runs.create_run` keeps the run's start from
moving more than that past the start its first batch asked for (in the run row, so it holds across
processes and restarts).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from sidecar.jobs.queue import JobQueue
from sidecar.jobs.runs import merge_scopes


@dataclass
class _Batch:
    scope: dict[str, Any] | None
    not_before: dt.datetime | None
    max_slide: dt.timedelta | None = None
    done: asyncio.Future[asyncpg.Record] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    tags: list[uuid.UUID] = field(default_factory=list)

    def absorb(
        self, scope: dict[str, Any] | None, not_before: dt.datetime | None, tag: uuid.UUID | None
    ) -> None:
        if tag is not None:
            self.tags.append(tag)
        self.scope = merge_scopes(self.scope, scope)
        if not_before is not None and (self.not_before is None or not_before > self.not_before):
            self.not_before = not_before


# Called once per batch, after the submit, with the queue, the run and the tags of every caller in it.
AfterSubmit = Callable[[JobQueue, asyncpg.Record, list[uuid.UUID]], Awaitable[None]]


class CoalescingSubmitter:
    """`await submit(queue, job, ...)` returns the queued run that now covers the given scope."""

    def __init__(self, after_submit: AfterSubmit | None = None) -> None:
        self._after_submit = after_submit
        self._open: dict[tuple[str, str, str], _Batch] = {}
        self._locks: dict[tuple[str, str, str], asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(
        self,
        queue: JobQueue,
        job: str,
        *,
        variant: str = "regular",
        trigger: str = "webhook",
        scope: dict[str, Any] | None,
        not_before: dt.datetime | None,
        tag: uuid.UUID | None = None,
        max_slide: dt.timedelta | None = None,
    ) -> asyncpg.Record:
        """`max_slide`: how far later events may push the run's start past its first window."""
        key = (job, variant, trigger)
        batch = self._open.get(key)
        if batch is not None:
            batch.absorb(scope, not_before, tag)
        else:
            batch = _Batch(
                scope=scope, not_before=not_before, max_slide=max_slide, tags=[tag] if tag is not None else []
            )
            self._open[key] = batch
            # A task, not this request: a client that hangs up must not take the others' submit with it.
            task = asyncio.create_task(self._flush(queue, key, batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await asyncio.shield(batch.done)

    async def _flush(self, queue: JobQueue, key: tuple[str, str, str], batch: _Batch) -> None:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            # From here on the batch is closed: later events open the next one.
            if self._open.get(key) is batch:
                del self._open[key]
            try:
                job, variant, trigger = key
                row, _created = await queue.submit(
                    job,
                    variant=variant,
                    trigger=trigger,
                    scope=batch.scope,
                    not_before=batch.not_before,
                    max_slide=batch.max_slide,
                )
                if self._after_submit is not None:
                    await self._after_submit(queue, row, batch.tags)
            except asyncio.CancelledError:
                batch.done.cancel()
                raise
            except Exception as exc:
                batch.done.set_exception(exc)
                batch.done.exception()  # retrieved here; every waiter still receives it
                return
            batch.done.set_result(row)
