"""Each demo starts from scratch: one demo per directory at a time, then its database, queue and
libraries emptied. The embedded servers' files are reused (no new initdb), their contents are not."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import shutil
from collections.abc import Iterator
from pathlib import Path

import asyncpg
from arq.connections import ArqRedis

from sidecar.db import migrate
from sidecar.demo import queries

LOCK_FILE = "demo.lock"


class DemoBusy(RuntimeError):
    """Another demo holds this data directory."""


@contextlib.contextmanager
def demo_lock(demo_dir: Path) -> Iterator[None]:
    """Held for the whole demo, so a second demo can not empty the first one's database."""
    demo_dir.mkdir(parents=True, exist_ok=True)
    with (demo_dir / LOCK_FILE).open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DemoBusy(
                f"another demo is running with {demo_dir}; stop it (Ctrl-C) or give this one its own "
                "SIDECAR_DATA_DIR"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


async def reset_demo_state(database_url: str, redis_url: str, library_root: Path) -> None:
    await migrate(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(queries.EMPTY_ALL_TABLES)
    finally:
        await conn.close()
    redis = ArqRedis.from_url(redis_url)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()
    await asyncio.to_thread(shutil.rmtree, library_root, ignore_errors=True)
