"""sync-users against the simulator in both dialects: users stored by server id with their switches;
a user disabled or deleted on the server loses libraries and picks but keeps their history; a user
enabled again gets them back; a broken listing changes nothing."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from sidecar.composition import MEDIA_KINDS
from sidecar.jobs.queue import JobQueue
from sidecar.jobs.resources import JobResources
from sidecar.media.kind import Step
from sidecar.settings import Settings
from sidecar.simulator import RunningSimulator, running_simulator
from tests.factory import set_picks
from tests.simhelpers import settings_for
from tests.test_sync_movie_libraries import add_movie

KINDS = ["jellyfin", "emby"]


async def _users(db: asyncpg.Pool) -> dict[str, asyncpg.Record]:
    return {r["name"]: r for r in await db.fetch("SELECT * FROM media_users")}


async def _with_libraries(
    db: asyncpg.Pool, sim: RunningSimulator, settings: Settings, tmp_path: Path, run_job: Any
) -> tuple[Settings, dict[str, str]]:
    """Users synced, alice and bob with picks, plays and a registered AI library each."""
    media = tmp_path / "media"
    cfg = settings_for(
        settings, sim, library_root=tmp_path / "libraries", path_mappings={"/media": str(media)}
    )
    first = await run_job("sync-users", settings=cfg)
    assert first["status"] == "completed", first["error"]
    ids = {r["name"]: r["id"] for r in await db.fetch("SELECT id, name FROM media_users")}
    await add_movie(db, media, "m001", "First Pick")
    await add_movie(db, media, "m002", "Second Pick")
    for name in ("alice", "bob"):
        await set_picks(db, ids[name], ["m001", "m002"])
        await db.execute(
            "INSERT INTO movie_plays (user_id, movie_id, played, play_count) VALUES ($1, 'm001', true, 1)",
            ids[name],
        )
    libraries = await run_job("sync-movie-libraries", settings=cfg)
    assert libraries["status"] == "completed" and libraries["result"]["libraries_created"] == 2
    return cfg, ids


@pytest.mark.parametrize("kind", KINDS)
async def test_users_are_stored_with_both_switches_on_by_default(
    kind: str, db: asyncpg.Pool, settings: Settings, run_job: Any
) -> None:
    async with running_simulator(kind, seed="sample") as sim:
        cfg = settings_for(settings, sim)
        run = await run_job("sync-users", settings=cfg)
        again = await run_job("sync-users", settings=cfg)

    assert run["status"] == "completed", run["error"]
    users = await _users(db)
    assert set(users) == {u.name for u in sim.state.users.values()}
    for user in sim.state.users.values():
        row = users[user.name]
        assert row["id"] == user.id.replace("-", "").lower()
        assert row["enabled"] and row["series_enabled"]
        assert row["is_admin"] == bool(user.policy.get("IsAdministrator"))
    assert run["result"]["users_added"] == len(users) and again["result"]["users_added"] == 0
    assert again["result"]["users_updated"] == 0


async def test_the_setting_turns_the_default_off_for_new_users_only(
    db: asyncpg.Pool, settings: Settings, run_job: Any
) -> None:
    async with running_simulator("jellyfin", seed="sample") as sim:
        await run_job("sync-users", settings=settings_for(settings, sim))
        newcomer = sim.state.add_user("newcomer")
        await run_job("sync-users", settings=settings_for(settings, sim, new_users_enabled=False))

    users = await _users(db)
    assert not users["newcomer"]["enabled"] and not users["newcomer"]["series_enabled"]
    assert users["newcomer"]["id"] == newcomer.id
    assert users["alice"]["enabled"] and users["alice"]["series_enabled"]


@pytest.mark.parametrize("kind", KINDS)
async def test_disabled_user_loses_libraries_and_picks_keeps_history_and_gets_them_back(
    kind: str, db: asyncpg.Pool, settings: Settings, tmp_path: Path, run_job: Any
) -> None:
    async with running_simulator(kind, seed="sample") as sim:
        cfg, ids = await _with_libraries(db, sim, settings, tmp_path, run_job)
        bob = next(u for u in sim.state.users.values() if u.name == "bob")
        folder = cfg.resolved_library_root / "users" / "bob" / "ai-movies"
        assert folder.is_dir()
        bob.policy["IsDisabled"] = True

        run = await run_job("sync-users", settings=cfg)

        assert run["status"] == "completed", run["error"]
        assert run["result"]["libraries_deleted"] == 1 and run["result"]["picks_removed"] == 2
        names = {lib.name for lib in sim.state.libraries}
        assert "AI Picks – Movies (bob)" not in names and "AI Picks – Movies (alice)" in names
        assert not folder.exists() and not folder.parent.exists()
        assert (
            await db.fetchval("SELECT count(*) FROM movie_recommendations WHERE user_id = $1", ids["bob"])
            == 0
        )
        assert await db.fetchval("SELECT count(*) FROM user_libraries WHERE user_id = $1", ids["bob"]) == 0
        assert await db.fetchval("SELECT count(*) FROM movie_plays WHERE user_id = $1", ids["bob"]) == 1
        assert (
            await db.fetchval("SELECT count(*) FROM movie_recommendations WHERE user_id = $1", ids["alice"])
            == 2
        )
        # Disabled: the next runs leave them alone.
        libraries = await run_job("sync-movie-libraries", settings=cfg)
        assert libraries["result"]["libraries_created"] == 0
        assert "AI Picks – Movies (bob)" not in {lib.name for lib in sim.state.libraries}

        bob.policy["IsDisabled"] = False
        back = await run_job("sync-users", settings=cfg)
        assert back["result"]["users_returned"] == 1
        # Inline runs have no queue: what the worker would queue is reported.
        assert back["result"]["queued"] == [
            {"job": kind.job(Step.RECOMMENDATIONS), "scope": {"user_ids": [ids["bob"]]}}
            for kind in MEDIA_KINDS
        ]
        await set_picks(db, ids["bob"], ["m002"])  # what the recommendation run would write
        again = await run_job("sync-movie-libraries", settings=cfg, scope={"user_ids": [ids["bob"]]})
        assert again["status"] == "completed" and again["result"]["libraries_created"] == 1
        library = next(lib for lib in sim.state.libraries if lib.name == "AI Picks – Movies (bob)")
        assert {u.name for u in sim.state.users.values() if sim.state.can_see(u, library)} == {"bob"}
        assert [p.name for p in folder.glob("*/*.nfo")] == ["Second Pick (2000).nfo"]


@pytest.mark.parametrize("kind", KINDS)
async def test_a_user_created_on_the_server_is_kept_from_other_users_picks(
    kind: str, db: asyncpg.Pool, settings: Settings, tmp_path: Path, run_job: Any
) -> None:
    async with running_simulator(kind, seed="sample") as sim:
        cfg, _ = await _with_libraries(db, sim, settings, tmp_path, run_job)
        newcomer = sim.state.add_user("newcomer")  # as servers create users: every folder visible

        def visible() -> set[str]:
            return {lib.name for lib in sim.state.libraries if sim.state.can_see(newcomer, lib)}

        ai = {lib.name for lib in sim.state.libraries if lib.name.startswith("AI Picks")}
        assert len(ai) == 2 and ai <= visible()  # alice's and bob's picks, before the run

        run = await run_job("sync-users", settings=cfg)

        assert run["status"] == "completed" and run["result"]["policies_updated"] == 1
        assert not ai & visible()
        assert visible() == {lib.name for lib in sim.state.libraries} - ai  # the rest stays visible
        again = await run_job("sync-users", settings=cfg)
        assert again["result"]["policies_updated"] == 0


@pytest.mark.parametrize("kind", KINDS)
async def test_deleted_user_is_marked_removed_and_purged_after_retention(
    kind: str, db: asyncpg.Pool, settings: Settings, tmp_path: Path, run_job: Any
) -> None:
    async with running_simulator(kind, seed="sample") as sim:
        cfg, ids = await _with_libraries(db, sim, settings, tmp_path, run_job)
        sim.state.remove_user(next(u.id for u in sim.state.users.values() if u.name == "alice"))

        run = await run_job("sync-users", settings=cfg)
        kept = await run_job("housekeeping", settings=cfg)

        assert run["result"]["users_removed"] == 1 and run["result"]["libraries_deleted"] == 1
        assert "AI Picks – Movies (alice)" not in {lib.name for lib in sim.state.libraries}
        row = (await _users(db))["alice"]
        assert row["removed_at"] is not None
        assert kept["result"]["deleted_users_purged"] == 0
        assert await db.fetchval("SELECT count(*) FROM movie_plays WHERE user_id = $1", ids["alice"]) == 1

        await db.execute(
            "UPDATE media_users SET removed_at = now() - interval '31 days' WHERE id = $1", ids["alice"]
        )
        purged = await run_job("housekeeping", settings=cfg)
        assert purged["result"]["deleted_users_purged"] == 1
        assert await db.fetchval("SELECT count(*) FROM movie_plays WHERE user_id = $1", ids["alice"]) == 0
        assert "bob" in await _users(db)


async def test_a_failed_or_empty_listing_changes_nothing(
    db: asyncpg.Pool, settings: Settings, run_job: Any
) -> None:
    async with running_simulator("jellyfin", seed="sample") as sim:
        cfg = settings_for(settings, sim, media_server_retries=0)
        await run_job("sync-users", settings=cfg)
        sim.faults.fail("/Users", times=10)
        failed = await run_job("sync-users", settings=cfg)
        sim.faults.clear()
        for user_id in list(sim.state.users):
            sim.state.remove_user(user_id)
        empty = await run_job("sync-users", settings=cfg)

    assert failed["status"] == "failed" and "media server" in failed["error"]
    assert empty["status"] == "failed" and "listed no users" in empty["error"]
    assert await db.fetchval("SELECT count(*) FROM media_users WHERE removed_at IS NOT NULL") == 0


async def test_a_returning_user_gets_recommendations_queued_with_the_worker_queue(
    db: asyncpg.Pool, settings: Settings, run_job: Any
) -> None:
    async with running_simulator("emby", seed="sample") as sim:
        cfg = settings_for(settings, sim)
        carol = sim.state.add_user("carol", is_disabled=True)
        await run_job("sync-users", settings=cfg)
        await db.execute("UPDATE media_users SET libraries_removed_at = now() WHERE id = $1", carol.id)
        carol.policy["IsDisabled"] = False
        queue = JobQueue(db, None, settings.queue_name)
        run = await run_job("sync-users", settings=cfg, resources=JobResources(queue=queue))

    queued = run["result"]["queued"]
    assert len(queued) == len(MEDIA_KINDS)  # one recommendations run per kind
    for kind, one in zip(MEDIA_KINDS, queued, strict=True):
        row = await db.fetchrow(
            "SELECT job, scope, status FROM job_runs WHERE id = $1", uuid.UUID(one["run_id"])
        )
        assert (row["job"], row["scope"], row["status"]) == (
            kind.job(Step.RECOMMENDATIONS),
            {"user_ids": [carol.id]},
            "queued",
        )
