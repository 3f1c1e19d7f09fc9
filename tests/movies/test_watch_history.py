"""sync-movie-watch-history end to end: users, regular vs full, scopes, failures."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr

from sidecar.media.kind import MediaKind, Step
from sidecar.settings import Settings
from sidecar.simulator import running_simulator
from tests.simhelpers import settings_for

ALICE_JF = "fa984abd4cf24037bb5e7ed85d80162d"
BOB_JF = "632fb6f4ca3f437d82c6b117b9128bd3"
KIDS_JF = "117ce3905efa496386db5343fe1689b9"
MATRIX_JF = "636a515bbdb34cc795500f084e480402"
INCEPTION_JF = "ac8e1e4087ea4e45b187cf5cc85af012"
SPIRITED_JF = "8dc5caacb8b14fd88f80e4bc9b0d2c29"
ARRIVAL_JF = "5b5e4b1114ce4113bbb68bcfeb58cc63"


async def _plays(db: asyncpg.Pool, user_id: str, media: MediaKind) -> dict[str, asyncpg.Record]:
    rows = await db.fetch(media.sql("SELECT * FROM {plays} WHERE user_id = $1"), user_id)
    return {r[media.tables.item_id]: r for r in rows}


async def _watermarks(db: asyncpg.Pool, media: MediaKind) -> dict[str, Any]:
    """user id -> the watch-history watermark of `kind`."""
    rows = await db.fetch(
        "SELECT user_id, synced_at FROM watch_history_watermarks WHERE kind = $1", media.name
    )
    return {r["user_id"]: r["synced_at"] for r in rows}


@pytest.mark.parametrize("kind", ["jellyfin", "emby"])
async def test_first_sync_stores_users_and_plays(
    media: MediaKind, kind: str, db: asyncpg.Pool, settings: Settings, run_job
) -> None:
    async with running_simulator(kind, "sample") as sim:
        cfg = settings_for(settings, sim)
        assert (await run_job(media.job(Step.SYNC), settings=cfg))["status"] == "completed"
        row = await run_job(media.job(Step.WATCH_HISTORY), settings=cfg)
        assert row["status"] == "completed", row["error"]
        result = row["result"]
        assert (
            result["users_on_server"] == 3 and result["users_processed"] == 3 and result["users_failed"] == 0
        )
        users = {r["name"]: r for r in await db.fetch("SELECT * FROM media_users")}
        assert set(users) == {"alice", "bob", "kids"}
        assert users["alice"]["is_admin"] and users["alice"]["enabled"]
        marks = await _watermarks(db, media)
        assert all(u["id"] in marks for u in users.values())
        # Every played or favourite movie of each user, with the server's figures.
        for user in sim.state.users.values():
            stored = await _plays(db, user.id, media)
            expected = {
                i: d for i, d in sim.state.items_with_data(user.id).items() if d.played or d.is_favorite
            }
            assert set(stored) == set(expected), user.name
            for item_id, data in expected.items():
                got = stored[item_id]
                assert (got["played"], got["play_count"], got["is_favorite"]) == (
                    data.played, data.play_count, data.is_favorite,
                )  # fmt: skip
                assert got["user_rating"] == data.rating
                assert got["last_played_at"] == data.last_played.replace(
                    microsecond=got["last_played_at"].microsecond
                )
        # Idempotent: the same sync again changes nothing.
        before = await db.fetch(media.sql("SELECT user_id, {item_id}, updated_at FROM {plays} ORDER BY 1, 2"))
        assert (await run_job(media.job(Step.WATCH_HISTORY), settings=cfg))["status"] == "completed"
        assert before == await db.fetch(
            media.sql("SELECT user_id, {item_id}, updated_at FROM {plays} ORDER BY 1, 2")
        )


async def test_regular_is_incremental_and_full_reconciles(
    media: MediaKind, db: asyncpg.Pool, settings: Settings, run_job
) -> None:
    async with running_simulator("jellyfin", "sample") as sim:
        cfg = settings_for(settings, sim)
        await run_job(media.job(Step.SYNC), settings=cfg)
        await run_job(media.job(Step.WATCH_HISTORY), settings=cfg)
        state = sim.state
        state.record_play(ALICE_JF, ARRIVAL_JF)  # new play: regular sees it
        state.set_favorite(ALICE_JF, MATRIX_JF, True)  # favourite on: the favourites re-read sees it
        state.set_favorite(ALICE_JF, SPIRITED_JF, False)  # favourite off: also seen
        state.mark_played(BOB_JF, INCEPTION_JF, played=False)  # unplayed: regular can not see this
        sim.requests.clear()
        row = await run_job(media.job(Step.WATCH_HISTORY), settings=cfg)
        assert row["status"] == "completed", row["error"]
        plays = await _plays(db, ALICE_JF, media)
        assert plays[ARRIVAL_JF]["played"] and plays[ARRIVAL_JF]["play_count"] == 1
        assert plays[MATRIX_JF]["is_favorite"] is True
        assert plays[SPIRITED_JF]["is_favorite"] is False
        assert (await _plays(db, BOB_JF, media))[INCEPTION_JF]["played"] is True  # stale until a full sync
        # Regular walked the played list newest first and stopped: one page per user.
        played_requests = [r for r in sim.requests_to("/Items") if ("isPlayed", "true") in r.query]
        assert len(played_requests) == 3
        assert all(
            dict(r.query)["sortBy"].startswith("DatePlayed,")
            and dict(r.query)["sortOrder"].startswith("Descending")
            for r in played_requests
        )

        row = await run_job(media.job(Step.WATCH_HISTORY), variant="full", settings=cfg)
        assert row["status"] == "completed", row["error"]
        assert INCEPTION_JF not in await _plays(db, BOB_JF, media)  # no longer played on the server
        state.mark_played(ALICE_JF, MATRIX_JF, played=False)
        await run_job(media.job(Step.WATCH_HISTORY), variant="full", settings=cfg)
        plays = await _plays(db, ALICE_JF, media)
        assert plays[MATRIX_JF]["played"] is False and plays[MATRIX_JF]["is_favorite"] is True
        state.set_favorite(ALICE_JF, MATRIX_JF, False)
        row = await run_job(media.job(Step.WATCH_HISTORY), variant="full", settings=cfg)
        assert MATRIX_JF not in await _plays(db, ALICE_JF, media)  # neither played nor favourite: gone
        assert row["result"]["plays_removed"] >= 1


async def test_regular_stops_at_the_watermark(
    media: MediaKind, db: asyncpg.Pool, settings: Settings, run_job
) -> None:
    async with running_simulator("emby", 120) as sim:
        cfg = settings_for(settings, sim, media_server_page_size=10)
        await run_job(media.job(Step.SYNC), settings=cfg)
        await run_job(media.job(Step.WATCH_HISTORY), settings=cfg)
        user = next(iter(sim.state.users.values()))
        item = next(i for i, d in sim.state.items_with_data(user.id).items() if d.played)
        sim.state.record_play(user.id, item, at=dt.datetime.now(dt.UTC))
        sim.requests.clear()
        await run_job(media.job(Step.WATCH_HISTORY), settings=cfg, scope={"user_ids": [user.id]})
        pages = [r for r in sim.requests_to("/Users/{UserId}/Items") if ("IsPlayed", "true") in r.query]
        assert len(pages) == 1  # 50 played movies = 5 pages; only the newest was needed
        assert (await _plays(db, user.id, media))[item]["play_count"] == 2


async def test_disabled_and_not_enabled_users_are_skipped(
    media: MediaKind, db: asyncpg.Pool, settings: Settings, run_job
) -> None:
    async with running_simulator("jellyfin", "sample") as sim:
        sim.state.set_user_disabled(BOB_JF)
        cfg = settings_for(settings, sim, new_users_enabled=False)
        await run_job(media.job(Step.SYNC), settings=cfg)
        row = await run_job(media.job(Step.WATCH_HISTORY), settings=cfg)
        assert row["result"]["users_processed"] == 0 and row["result"]["users_skipped"] == 3
        await db.execute("UPDATE media_users SET enabled = true")
        sim.requests.clear()
        row = await run_job(media.job(Step.WATCH_HISTORY), settings=cfg)
        assert row["result"]["users_processed"] == 2
        bob = await db.fetchrow("SELECT * FROM media_users WHERE id = $1", BOB_JF)
        assert bob["is_disabled"] and BOB_JF not in await _watermarks(db, media)
        assert await _plays(db, BOB_JF, media) == {}
        assert not any(("userId", BOB_JF) in r.query for r in sim.requests)


async def test_vanished_user_is_marked_removed(
    media: MediaKind, db: asyncpg.Pool, settings: Settings, run_job
) -> None:
    async with running_simulator("jellyfin", "sample") as sim:
        cfg = settings_for(settings, sim)
        await run_job(media.job(Step.SYNC), settings=cfg)
        await run_job(media.job(Step.WATCH_HISTORY), settings=cfg)
        sim.state.remove_user(KIDS_JF)
        row = await run_job(media.job(Step.WATCH_HISTORY), settings=cfg)
        assert row["result"]["users_removed"] == 1 and row["result"]["users_processed"] == 2
        assert await db.fetchval("SELECT removed_at FROM media_users WHERE id = $1", KIDS_JF) is not None


async def test_unknown_movies_are_skipped_and_counted(
    media: MediaKind, db: asyncpg.Pool, settings: Settings, run_job
) -> None:
    async with running_simulator("jellyfin", "sample") as sim:
        cfg = settings_for(settings, sim)
        row = await run_job(media.job(Step.WATCH_HISTORY), settings=cfg)  # no sync-movies yet
        assert row["status"] == "completed"
        assert row["result"]["skipped_unknown_movies"] > 0 and row["result"]["plays_written"] == 0


async def test_one_failing_user_does_not_stop_the_others(
    media: MediaKind, db: asyncpg.Pool, settings: Settings, run_job
) -> None:
    async with running_simulator("jellyfin", "sample") as sim:
        cfg = settings_for(settings, sim, media_server_retries=0)
        await run_job(media.job(Step.SYNC), settings=cfg)
        sim.faults.fail("/Items", status=500, times=None, query={"userId": BOB_JF})
        row = await run_job(media.job(Step.WATCH_HISTORY), settings=cfg)
        assert row["status"] == "completed"
        assert row["result"]["users_failed"] == 1 and row["result"]["users_processed"] == 2
        assert row["items_failed"] == 1
        assert BOB_JF not in await _watermarks(db, media)
        assert await _plays(db, ALICE_JF, media)


async def test_scoped_items_and_follow_up(
    media: MediaKind, db: asyncpg.Pool, settings: Settings, run_job
) -> None:
    async with running_simulator("emby", "sample") as sim:
        cfg = settings_for(settings, sim)
        await run_job(media.job(Step.SYNC), settings=cfg)
        await run_job(media.job(Step.WATCH_HISTORY), settings=cfg)
        alice = "98b03b0314e644a882d6230867e74fa1"
        sim.state.set_rating(alice, "51902", 7.0)  # unplayed but rated: kept as a row
        sim.state.mark_played(alice, "48213", played=False)
        sim.requests.clear()
        row = await run_job(
            media.job(Step.WATCH_HISTORY),
            settings=cfg,
            scope={"user_ids": [alice], "item_ids": ["51902", "48213"]},
        )
        assert row["status"] == "completed", row["error"]
        plays = await _plays(db, alice, media)
        assert plays["51902"]["user_rating"] == 7.0 and plays["51902"]["played"] is False
        assert "48213" not in plays
        assert row["result"]["follow_ups"] == [
            {"job": media.job(Step.RECOMMENDATIONS), "variant": "regular", "scope": {"user_ids": [alice]}}
        ]
        item_requests = sim.requests_to("/Users/{UserId}/Items")
        assert item_requests and all(("Ids", "51902,48213") in r.query for r in item_requests)


async def test_auth_failure_fails_the_run(
    media: MediaKind, db: asyncpg.Pool, settings: Settings, run_job
) -> None:
    async with running_simulator("emby", "sample") as sim:
        cfg = settings_for(settings, sim, media_server_kind="emby", media_server_api_key=SecretStr("wrong"))
        row = await run_job(media.job(Step.WATCH_HISTORY), settings=cfg)
        assert row["status"] == "failed"
        assert "rejected the API key" in row["error"]
        assert len(sim.requests) == 1


async def test_cancellation_keeps_each_user_all_or_nothing(
    media: MediaKind, db: asyncpg.Pool, settings: Settings, run_job
) -> None:
    import asyncio

    from sidecar.jobs.runs import cancel_run

    async with running_simulator("jellyfin", 40) as sim:
        for n in range(12):
            sim.state.add_user(f"extra{n}", is_admin=False)
        for user_id in sim.state.users:
            for item_id in list(sim.state.movies)[:5]:
                sim.state.mark_played(user_id, item_id)
        cfg = settings_for(settings, sim, media_server_concurrency=1)
        await run_job(media.job(Step.SYNC), settings=cfg)
        sim.faults.slow("/Items", seconds=0.1)
        task = asyncio.create_task(run_job(media.job(Step.WATCH_HISTORY), settings=cfg))
        while len(sim.requests_to("/Items")) < 10:
            await asyncio.sleep(0.02)
        run_id = await db.fetchval(
            "SELECT id FROM job_runs WHERE job = 'sync-movie-watch-history' AND status = 'running'"
        )
        await cancel_run(db, run_id)
        row = await task
        assert row["status"] == "cancelled"
        users = await db.fetch("SELECT id FROM media_users")
        marks = await _watermarks(db, media)
        done = [u["id"] for u in users if u["id"] in marks]
        assert 0 < len(done) < len(users)
        for user in users:
            stored = await _plays(db, user["id"], media)
            expected = {
                i for i, d in sim.state.items_with_data(user["id"]).items() if d.played or d.is_favorite
            }
            assert set(stored) == (expected if user["id"] in done else set()), user["id"]


RECS = Step.RECOMMENDATIONS


@pytest.mark.parametrize("variant", ["regular", "full"])
async def test_an_unscoped_run_asks_for_the_picks_of_exactly_the_users_whose_plays_changed(
    media: MediaKind, db: asyncpg.Pool, settings: Settings, run_job, variant: str
) -> None:
    """A scheduled run that finds a play no webhook reported (or that a webhook's work joined while it
    was queued) must refresh that user's picks, not leave them for the weekly recommendations run."""
    async with running_simulator("jellyfin", "sample") as sim:
        cfg = settings_for(settings, sim)
        await run_job(media.job(Step.SYNC), settings=cfg)
        first = await run_job(media.job(Step.WATCH_HISTORY), settings=cfg)
        everyone = sorted(
            r["id"] for r in await db.fetch(media.sql("SELECT DISTINCT user_id AS id FROM {plays}"))
        )
        assert first["result"]["follow_ups"] == [
            {"job": media.job(RECS), "variant": "regular", "scope": {"user_ids": everyone}}
        ]

        unchanged = await run_job(media.job(Step.WATCH_HISTORY), variant=variant, settings=cfg)
        assert unchanged["result"]["users_changed"] == 0
        assert "follow_ups" not in unchanged["result"]

        sim.state.record_play(BOB_JF, ARRIVAL_JF)
        changed = await run_job(media.job(Step.WATCH_HISTORY), variant=variant, settings=cfg)
        assert changed["result"]["users_changed"] == 1
        assert changed["result"]["follow_ups"] == [
            {"job": media.job(RECS), "variant": "regular", "scope": {"user_ids": [BOB_JF]}}
        ]


@pytest.mark.parametrize("kind", ["jellyfin", "emby"])
async def test_nul_in_a_server_user_name_is_cleaned_at_the_boundary(
    kind: str, db: asyncpg.Pool, settings: Settings, run_job
) -> None:
    async with running_simulator(kind, "sample") as sim:
        bob = next(u for u in sim.state.users.values() if u.name == "bob")
        bob.name = "b\x00ob"
        cfg = settings_for(settings, sim)
        await run_job("sync-movies", settings=cfg)
        row = await run_job("sync-movie-watch-history", settings=cfg)
        assert row["status"] == "completed", row["error"]
        assert row["result"]["users_processed"] == 3 and row["result"]["users_failed"] == 0
        assert {r["name"] for r in await db.fetch("SELECT name FROM media_users")} == {"alice", "bob", "kids"}


async def test_a_user_the_database_refuses_is_counted_and_skipped(
    db: asyncpg.Pool, settings: Settings, run_job
) -> None:
    # A real refusal by PostgreSQL for one row (whatever the cause), the others must still be saved.
    await db.execute(
        "CREATE FUNCTION refuse_kids() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.name = 'kids' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$"
    )
    await db.execute(
        "CREATE TRIGGER refuse_kids BEFORE INSERT OR UPDATE ON media_users FOR EACH ROW EXECUTE FUNCTION refuse_kids()"
    )
    try:
        async with running_simulator("jellyfin", "sample") as sim:
            cfg = settings_for(settings, sim)
            await run_job("sync-movies", settings=cfg)
            row = await run_job("sync-movie-watch-history", settings=cfg)
        assert row["status"] == "completed", row["error"]
        assert row["result"]["users_failed"] >= 1
        assert {r["name"] for r in await db.fetch("SELECT name FROM media_users")} == {"alice", "bob"}
    finally:
        await db.execute("DROP TRIGGER IF EXISTS refuse_kids ON media_users")
        await db.execute("DROP FUNCTION IF EXISTS refuse_kids()")
