"""Real PostgreSQL+pgvector and real Valkey, started once per test session; a clean database per test."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from sidecar.composition import MEDIA_KINDS, build_registry
from sidecar.db import create_pool, migrate
from sidecar.embedded import start_postgres, start_valkey
from sidecar.jobs.executor import run_inline
from sidecar.jobs.registry import JobRegistry
from sidecar.jobs.resources import JobResources
from sidecar.media.kind import MediaKind
from sidecar.settings import Settings

SHARED_FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def embedded_urls() -> Iterator[tuple[str, str]]:
    # Not under pytest's basetemp: every pytest session chmods /tmp/pytest-of-<user> to 0700, and the
    # embedded PostgreSQL runs as its own system user when we are root, so a second test session on
    # the machine would lock the first one's server out of its data directory.
    data_dir = Path(tempfile.mkdtemp(prefix="sidecar-tests-"))
    database_url, pg = start_postgres(data_dir)
    redis_url, valkey = start_valkey(data_dir)
    asyncio.run(migrate(database_url))
    try:
        yield database_url, redis_url
    finally:
        valkey.stop()
        pg.cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(embedded_urls: tuple[str, str]) -> str:
    return embedded_urls[0]


@pytest.fixture(scope="session")
def redis_url(embedded_urls: tuple[str, str]) -> str:
    return embedded_urls[1]


@pytest.fixture
def settings(tmp_path: Path, database_url: str, redis_url: str) -> Settings:
    """Settings for one test: the session's servers, a private data dir, fast progress and cancel."""
    for key in [k for k in os.environ if k.startswith("SIDECAR_")]:
        os.environ.pop(key)
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        redis_url=redis_url,
        data_dir=tmp_path / "data",
        progress_interval_seconds=0.05,
        cancel_grace_seconds=2.0,
        webhook_debounce_seconds=0.2,
        embedding_provider="openai",
        openai_base_url="http://127.0.0.1:9/v1",  # unreachable unless a test points it somewhere
    )


async def _truncate_all(pool: asyncpg.Pool) -> None:
    tables = await pool.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"
    )
    if tables:
        names = ", ".join(f'"{t["tablename"]}"' for t in tables)
        await pool.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, max_size=5)
    await _truncate_all(pool)
    try:
        yield pool
    finally:
        await pool.close()


# The step tests write plays of a kind's items straight into its plays table; a kind whose plays are
# of other rows (series: episodes, rebuilt into show states) has its own step suite (tests/series/).
ITEM_PLAY_KINDS = tuple(kind for kind in MEDIA_KINDS if not kind.tables.played)


@pytest.fixture(params=ITEM_PLAY_KINDS, ids=lambda kind: kind.name)
def media(request: pytest.FixtureRequest) -> MediaKind:
    """The media kind a step test runs for: every registered kind whose plays are of its own items, so
    such a kind adds cases, not files."""
    return request.param


@pytest.fixture
def registry() -> JobRegistry:
    return build_registry()


@pytest.fixture
def run_job(db: asyncpg.Pool, registry: JobRegistry, settings: Settings) -> Any:
    """`await run_job("sync-movies", variant=..., scope=...)` executes a run inline and returns its row."""

    async def _run(job: str, **kwargs: Any) -> asyncpg.Record:
        use_settings = kwargs.pop("settings", settings)
        kwargs.setdefault("resources", JobResources(kinds=MEDIA_KINDS))
        return await run_inline(db, registry, use_settings, job, **kwargs)

    return _run


@pytest.fixture
async def flushed_redis(redis_url: str) -> AsyncIterator[str]:
    """The session's Valkey, emptied: no wake-ups or cron locks left from another test."""
    from arq.connections import ArqRedis

    redis = ArqRedis.from_url(redis_url)
    await redis.flushall()
    await redis.aclose()
    yield redis_url
