"""The ARQ worker, made to ride out a Redis/Valkey outage instead of exiting with it.

ARQ's own loop ends at the first Redis error of a poll (and its start-up needs Redis), which took
the worker, and under `sidecar up` the whole process, down with Valkey. Here a Redis error only
pauses the polling with a growing back-off; runs live in PostgreSQL, so nothing is lost meanwhile,
and once Redis answers again the wake-ups of every queued run are re-sent from PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from typing import Any

import redis.exceptions
import structlog
from arq.utils import poll
from arq.worker import Worker

log = structlog.get_logger(__name__)

REDIS_DOWN: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,  # includes BusyLoadingError (Valkey replaying its AOF)
    redis.exceptions.TimeoutError,
    OSError,
)
BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 2.0


class ResilientWorker(Worker):
    """`on_redis_back(ctx)` runs after every outage (re-send wake-ups, clear stale keys)."""

    def __init__(
        self, *args: Any, on_redis_back: Callable[[dict[str, Any]], Awaitable[None]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._on_redis_back = on_redis_back
        self._redis_down_since: float | None = None
        self._backoff = BACKOFF_FIRST_SECONDS

    async def main(self) -> None:
        """Start-up without touching Redis (the pool connects lazily), then poll until stopped."""
        self.ctx["redis"] = self.pool
        self.ctx["arq_worker"] = self
        if self.on_startup:
            await self.on_startup(self.ctx)
        async for _ in poll(self.poll_delay_s):
            await self._poll_iteration()

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except REDIS_DOWN as exc:
            await self._redis_unreachable(exc)
            return
        if self._redis_down_since is not None:
            await self._redis_returned()

    async def _redis_unreachable(self, exc: BaseException) -> None:
        loop = asyncio.get_running_loop()
        if self._redis_down_since is None:
            self._redis_down_since = loop.time()
            log.error(
                "redis unreachable: the worker keeps running and retries; runs stay queued in PostgreSQL",
                error=f"{type(exc).__name__}: {exc}",
            )
        await asyncio.sleep(self._backoff)
        self._backoff = min(self._backoff * 2, BACKOFF_MAX_SECONDS)

    async def _redis_returned(self) -> None:
        down_for = asyncio.get_running_loop().time() - (self._redis_down_since or 0.0)
        self._redis_down_since = None
        self._backoff = BACKOFF_FIRST_SECONDS
        log.info(
            "redis reachable again; re-sending wake-ups from PostgreSQL", down_seconds=round(down_for, 1)
        )
        try:
            await self._on_redis_back(self.ctx)
        except REDIS_DOWN as exc:  # gone again already: the next poll notices
            log.warning("redis dropped again while re-sending wake-ups", error=str(exc))

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        try:
            await super().start_jobs(job_ids)
        except REDIS_DOWN:
            # ARQ takes the job slot before its Redis transaction and gives it back only from the job's
            # task: a failed transaction would leave the single slot taken for good (no job ever again).
            self.job_counter -= 1
            self.sem.release()
            raise

    async def close(self) -> None:
        """ARQ's close, minus its Redis calls failing the shutdown (on_shutdown must still run)."""
        if not self._handle_signals:
            self.handle_sig(signal.SIGUSR1)
        if not self._pool:
            return
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        with contextlib.suppress(*REDIS_DOWN):
            await self.pool.delete(self.health_check_key)
        if self.on_shutdown:
            await self.on_shutdown(self.ctx)
        with contextlib.suppress(*REDIS_DOWN):
            await self.pool.close(close_connection_pool=True)
        self._pool = None
