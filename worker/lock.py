"""One worker per database, guaranteed by PostgreSQL: a session advisory lock held for the worker's life.

A second worker (a second `sidecar up`, a container restarted while the old one still drains) waits
here, saying why, and only starts (recovery, claiming) once the first is gone. PostgreSQL releases
the lock when the holder's connection ends, so a killed worker frees it at once.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg
import structlog

log = structlog.get_logger(__name__)

# Any constant works; it differs from the migration lock (sidecar/db.py) and is per database.
WORKER_LOCK_ID = 0x51DECA3
WAIT_POLL_SECONDS = 2.0
WAIT_LOG_EVERY_SECONDS = 60.0

TRY_LOCK = "SELECT pg_try_advisory_lock($1)"
# The backend holding the lock, to name it in the waiting message.
LOCK_HOLDER = """
SELECT a.pid, a.application_name, a.client_addr::text AS client_addr, a.backend_start
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objid = $1
LIMIT 1
"""


class WorkerLockLost(RuntimeError):
    """Another worker took the lock while ours was gone (a PostgreSQL restart ends every session)."""


class WorkerLock:
    def __init__(self, database_url: str) -> None:
        self._database_url = database_url
        self._conn: asyncpg.Connection | None = None
        self._holder: dict[str, object] = {}  # who held the lock at the last refused attempt
        # The heartbeat and a claim may both find the connection gone; two concurrent re-takes would
        # open two sessions, and the second would see the first's lock as "another worker".
        self._checking = asyncio.Lock()

    @property
    def held(self) -> bool:
        """Held as far as this process knows (its connection is open); `check` asks the server."""
        return self._conn is not None and not self._conn.is_closed()

    async def _try(self) -> bool:
        conn = await asyncpg.connect(self._database_url)
        try:
            if await conn.fetchval(TRY_LOCK, WORKER_LOCK_ID):
                self._conn = conn
                return True
            holder = await conn.fetchrow(LOCK_HOLDER, WORKER_LOCK_ID)
        except BaseException:
            await conn.close()
            raise
        await conn.close()
        self._holder = dict(holder) if holder else {}
        return False

    async def acquire(self, poll_seconds: float = WAIT_POLL_SECONDS) -> None:
        """Return once this process holds the lock; meanwhile log who holds it, now and then."""
        last_logged = 0.0
        while not await self._try():
            if time.monotonic() - last_logged >= WAIT_LOG_EVERY_SECONDS:
                last_logged = time.monotonic()
                log.warning(
                    "another sidecar worker is running against this database; this one waits until it "
                    "stops (only one worker may run jobs)",
                    holder_backend_pid=self._holder.get("pid"),
                    holder_client=self._holder.get("client_addr"),
                )
            await asyncio.sleep(poll_seconds)

    async def check(self) -> bool:
        """Keep the lock: True when it had to be taken again after a lost connection (False: it was
        held all along); WorkerLockLost when another worker has it now. Connection errors propagate
        (PostgreSQL still down: try again later)."""
        async with self._checking:
            if self._conn is not None and not self._conn.is_closed():
                try:
                    await self._conn.fetchval("SELECT 1")
                    return False
                except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError):
                    await self._drop()
            if not await self._try():
                raise WorkerLockLost(
                    "another worker took the worker lock while PostgreSQL was unreachable; this one stops"
                )
        log.info("worker lock taken again after the database connection was lost")
        return True

    async def _drop(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.terminate()

    async def release(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                await conn.close(timeout=5)
            except Exception:
                conn.terminate()
