"""asyncpg pool with the pgvector codec, and the migration runner for `sql/NNN_name.sql`."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import structlog
from pgvector.asyncpg import register_vector

log = structlog.get_logger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "sql"
_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
# For writes that can be redone (re-fetched from the media server, rebuilt by the next run, or
# re-planned by the webhook sweep): commit without waiting for the WAL flush. The database stays
# consistent either way; a crash can only lose the last commits.
RELAXED_COMMIT = "SET LOCAL synchronous_commit = off"

# PostgreSQL unreachable (connect refused, connection lost, pool closing, server restarting).
DATABASE_DOWN: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,  # starting up or shutting down
    asyncpg.AdminShutdownError,  # a restart ended the session
    asyncpg.CrashShutdownError,
    asyncpg.InterfaceError,
    OSError,
    TimeoutError,
)
# Any constant works; it only has to be the same in every process that migrates this database.
_MIGRATION_LOCK_ID = 0x51DECA2


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    try:
        await register_vector(conn)
    except ValueError:
        # The extension is created by the first migration; a pool opened before it exists
        # (only `migrate` itself does that) works without the codec.
        pass


@contextlib.asynccontextmanager
async def relaxed_transaction(db: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A transaction whose commit does not wait for the disk (see RELAXED_COMMIT)."""
    async with db.acquire() as conn, conn.transaction():
        await conn.execute(RELAXED_COMMIT)
        yield conn


async def create_pool(database_url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        database_url, min_size=min_size, max_size=max_size, init=_init_connection, command_timeout=300
    )
    assert pool is not None
    return pool


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[tuple[str, Path]]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        if not _MIGRATION_NAME.match(path.name):
            raise RuntimeError(f"migration file {path.name} does not match NNN_name.sql")
        found.append((path.stem, path))
    return found


async def migrate(database_url: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations in order, each in its own transaction; return the names applied.

    A session-level advisory lock serialises web and worker starting at the same moment: the second
    waits, then finds nothing left to do.
    """
    conn = await asyncpg.connect(database_url)
    applied_now: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK_ID)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
            for name, path in migration_files(directory):
                if name in done:
                    continue
                async with conn.transaction():
                    await conn.execute(path.read_text(encoding="utf-8"))
                    await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
                applied_now.append(name)
                log.info("migration applied", migration=name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK_ID)
    finally:
        await conn.close()
    return applied_now
