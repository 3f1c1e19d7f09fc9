"""backup-database as a job: a private, fully verified pg_dump file; the last N kept; a truncated file
reported as not verified; GET /api/backups lists them."""

from __future__ import annotations

import asyncio
import datetime as dt
import stat
from typing import Any

import asyncpg
from aiohttp import web

from sidecar.api.errors import error_middleware
from sidecar.api.keys import DB, SETTINGS
from sidecar.backup import verify_backup
from sidecar.composition import MEDIA_KINDS
from sidecar.settings import Settings
from sidecar.system.backups import BackupFile, to_prune
from sidecar.system.routes import setup_routes


async def test_backup_is_private_verified_and_listed(
    db: asyncpg.Pool, settings: Settings, run_job: Any, aiohttp_client: Any
) -> None:
    await db.execute("INSERT INTO movies (id, title, content_hash) VALUES ('m1', 'Heat', 'h')")
    run = await run_job("backup-database")

    assert run["status"] == "completed", run["error"]
    directory = settings.resolved_backup_dir
    path = directory / run["result"]["file"]
    assert run["result"]["verified"] is True and run["result"]["size_bytes"] == path.stat().st_size > 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert run["current_step"] == "Deleting old backups" and run["items_processed"] == 3

    app = web.Application(middlewares=[error_middleware])
    app[DB], app[SETTINGS] = db, settings
    setup_routes(app, MEDIA_KINDS)
    client = await aiohttp_client(app)
    listed = await (await client.get("/api/backups")).json()
    assert listed["backups"] == [
        {
            "name": path.name,
            "size_bytes": path.stat().st_size,
            "created_at": listed["backups"][0]["created_at"],
            "verified": True,
            "verify_error": None,
        }
    ]
    assert listed["backups"][0]["created_at"].endswith("Z")


async def test_a_truncated_backup_is_not_verified(db: asyncpg.Pool, settings: Settings, run_job: Any) -> None:
    # Enough incompressible rows that the table data, not the schema, is most of the file.
    await db.execute(
        """INSERT INTO movies (id, title, overview, content_hash)
           SELECT 'm' || g, 'Movie ' || g, md5(g::text) || md5((g * 7)::text), 'h' FROM generate_series(1, 20000) g"""
    )
    run = await run_job("backup-database")
    path = settings.resolved_backup_dir / run["result"]["file"]
    cut = path.with_name("cut.dump")
    cut.write_bytes(path.read_bytes()[: path.stat().st_size * 2 // 3])

    assert run["result"]["verified"] is True and verify_backup(path) is None
    assert "end of file" in (verify_backup(cut) or "")


def _backup(name: str, hours_ago: int, verified: bool | None) -> BackupFile:
    created = dt.datetime(2026, 12, 1, tzinfo=dt.UTC) - dt.timedelta(hours=hours_ago)
    return BackupFile(name=name, size_bytes=1, created_at=created, verified=verified)


def test_pruning_keeps_the_last_n_verified_and_never_counts_unverified_ones() -> None:
    backups = [
        _backup("new-bad", 0, False),
        _backup("b1", 1, True),
        _backup("b2", 2, True),
        _backup("old-bad", 3, False),
        _backup("b3", 4, True),
        _backup("foreign", 5, None),
    ]
    assert [b.name for b in to_prune(backups, keep=2)] == ["old-bad", "b3"]
    assert to_prune(backups, keep=3) == []  # the 3rd verified is the oldest of ours


async def test_the_job_keeps_the_last_n(db: asyncpg.Pool, settings: Settings, run_job: Any) -> None:
    cfg = settings.model_copy(update={"backup_keep": 2})
    names = []
    for _ in range(3):
        run = await run_job("backup-database", settings=cfg)
        assert run["status"] == "completed", run["error"]
        names.append(run["result"]["file"])
        # Each earlier backup an hour older, and the next file name (to the second) a new one.
        await db.execute("UPDATE database_backups SET created_at = created_at - interval '1 hour'")
        await asyncio.sleep(1.05)
    remaining = sorted(p.name for p in cfg.resolved_backup_dir.glob("*.dump"))
    assert remaining == sorted(names[1:])
    assert run["result"]["deleted"] == [names[0]]
    assert await db.fetchval("SELECT count(*) FROM database_backups") == 2


async def test_listing_says_which_files_failed_their_check_and_which_the_job_never_wrote(
    db: asyncpg.Pool, settings: Settings, aiohttp_client: Any
) -> None:
    directory = settings.resolved_backup_dir
    directory.mkdir(parents=True)
    (directory / "sidecar-20261201T020000Z.dump").write_bytes(b"PGDMP truncated")
    (directory / "by-hand.dump").write_bytes(b"PGDMP")
    await db.execute(
        """INSERT INTO database_backups (name, size_bytes, verified, verify_error)
           VALUES ('sidecar-20261201T020000Z.dump', 15, false, 'could not read from input file: end of file')"""
    )
    app = web.Application(middlewares=[error_middleware])
    app[DB], app[SETTINGS] = db, settings
    setup_routes(app, MEDIA_KINDS)
    client = await aiohttp_client(app)

    listed = {b["name"]: b for b in (await (await client.get("/api/backups")).json())["backups"]}

    failed = listed["sidecar-20261201T020000Z.dump"]
    assert failed["verified"] is False and "end of file" in failed["verify_error"]
    assert listed["by-hand.dump"]["verified"] is None and listed["by-hand.dump"]["size_bytes"] == 5
