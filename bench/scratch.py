"""A throw-away database for a job benchmark: a temporary folder holding an embedded, migrated PostgreSQL.

Why one place: every job benchmark starts the same way and must clean up the same way (pool, server,
folder) even when a run fails halfway.
"""

from __future__ import annotations

import contextlib
import itertools
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


_aside = itertools.count()


def set_aside(folder: Path, work: Path) -> None:
    """Move a previous repetition's output out of the way instead of deleting it; it goes with the
    scratch folder at the end.

    Why not delete: on a filesystem without a journal (this machine's ext4), allocating an inode skips
    every free one released in the last 60 s (6 min while its inode-table block is unwritten),
    reading each one's deletion time first (torvalds/linux fs/ext4/ialloc.c: `find_inode_bit` ->
    `recently_deleted`). Deleting 22,000 files just before a cold run that creates 22,000 made each
    creation scan past them: the series library run took 5.6, 9.7 and 15.3 s in three repetitions
    (kernel time per created file 20 -> 400 us), billing the benchmark's own clean-up to the sidecar.
    """
    if folder.exists():
        folder.rename(work / f"set-aside-{next(_aside)}")
