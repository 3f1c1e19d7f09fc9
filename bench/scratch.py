"""A throw-away database for a job benchmark: a temporary folder holding an embedded, migrated PostgreSQL.

Why one place: every job benchmark starts the same way and must clean up the same way (pool, server,
folder) even when a run fails halfway.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from sidecar.db import create_pool, migrate
from sidecar.embedded import start_postgres


@contextlib.asynccontextmanager
async def scratch_database(prefix: str) -> AsyncIterator[tuple[Path, str, asyncpg.Pool]]:
    """Yields (work folder, database URL, pool of 4); the folder holds the database under `pg/`."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    url, pg = start_postgres(work / "pg")
    pool = None
    try:
        await migrate(url)
        pool = await create_pool(url, max_size=4)
        yield work, url, pool
    finally:
        if pool is not None:
            await pool.close()
        pg.cleanup()
        shutil.rmtree(work, ignore_errors=True)
