"""generate-movie-recommendations and full-reset-movie-recommendations against real Postgres."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from sidecar.media.kind import MediaKind, Step
from sidecar.recommender.data import COMPONENTS
from tests.factory import add_plays, add_user, set_picks
from tests.recommend_helpers import (
    add_movies,
    cluster_vectors,
    two_cluster_library,
    user_list,
)

JOB = Step.RECOMMENDATIONS


async def test_watched_and_removed_movies_are_never_recommended(
    media: MediaKind, db: asyncpg.Pool, run_job: Any
) -> None:
    space, romance = await two_cluster_library(db)
    await add_user(db, "u1")
    watched = space[:5] + romance[:2]
    await add_plays(db, "u1", watched)
    removed = space[5:8]
    await db.execute(media.sql("UPDATE {items} SET removed_at = now() WHERE id = ANY($1)"), removed)

    row = await run_job(media.job(JOB))

    assert row["status"] == "completed", row["error"]
    picks = [r["movie_id"] for r in await user_list(db, "u1")]
    assert len(picks) == len(space) + len(romance) - len(watched) - len(removed)
    assert not set(picks) & set(watched)
    assert not set(picks) & set(removed)
    assert row["result"]["users_processed"] == 1
    assert row["result"]["recommendations_written"] == len(picks)


async def test_favourites_pull_their_neighbours_up(media: MediaKind, db: asyncpg.Pool, run_job: Any) -> None:
    space, romance = await two_cluster_library(db)
    for user, loved, other in (("fan-s", space, romance), ("fan-r", romance, space)):
        await add_user(db, user)
        await add_plays(db, user, loved[:3], favourite=True)
        await add_plays(db, user, other[:3], favourite=False)

    row = await run_job(media.job(JOB))

    assert row["status"] == "completed", row["error"]
    for user, loved in (("fan-s", set(space)), ("fan-r", set(romance))):
        picks = [r["movie_id"] for r in await user_list(db, user)]
        top = picks[:5]
        assert sum(m in loved for m in top) >= 4, (user, top)
        assert picks[0] in loved


async def test_user_without_history_is_skipped_with_a_reason(
    media: MediaKind, db: asyncpg.Pool, run_job: Any
) -> None:
    space, _ = await two_cluster_library(db)
    await add_user(db, "watcher")
    await add_user(db, "newcomer")
    await add_plays(db, "watcher", space[:3])

    row = await run_job(media.job(JOB))

    assert row["status"] == "completed", row["error"]
    assert row["result"]["skipped_no_history"] == 1
    assert row["result"]["users_processed"] == 1
    assert await user_list(db, "newcomer") == []
    logs = await db.fetch("SELECT message, data FROM job_run_logs WHERE run_id = $1", row["id"])
    skipped = [r for r in logs if r["data"] and r["data"].get("reason") == "no_watch_history"]
    assert len(skipped) == 1
    assert media.job(Step.WATCH_HISTORY) in skipped[0]["message"]
    assert skipped[0]["data"]["user_id"] == "newcomer"


async def test_disabled_and_not_enabled_users_are_left_alone(
    media: MediaKind, db: asyncpg.Pool, run_job: Any
) -> None:
    space, _ = await two_cluster_library(db)
    await add_user(db, "off", enabled=False)
    await add_user(db, "gone", disabled=True)
    for user in ("off", "gone"):
        await add_plays(db, user, space[:3])

    row = await run_job(media.job(JOB))

    assert row["status"] == "completed", row["error"]
    assert row["result"]["users"] == 0
    assert await db.fetchval(media.sql("SELECT count(*) FROM {picks}")) == 0


async def test_no_active_embeddings_fails_the_run_with_what_to_do(
    media: MediaKind, db: asyncpg.Pool, run_job: Any
) -> None:
    await add_movies(db, cluster_vectors("S", 0, 3, seed=1))  # vectors exist, but no model is active
    await add_user(db, "u1")
    await add_plays(db, "u1", ["S00"])

    row = await run_job(media.job(JOB))

    assert row["status"] == "failed"
    assert media.job(Step.EMBEDDINGS) in row["error"]


async def test_one_users_failure_does_not_stop_the_others(
    media: MediaKind, db: asyncpg.Pool, run_job: Any
) -> None:
    space, romance = await two_cluster_library(db)
    for user in ("a", "bad", "c"):
        await add_user(db, user)
        await add_plays(db, user, space[:2] + romance[:2])
    # A real database failure for one user's insert only.
    await db.execute(
        """
        CREATE FUNCTION test_reject_bad() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.user_id = 'bad' THEN RAISE EXCEPTION 'disk full for bad'; END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER test_reject_bad BEFORE INSERT ON movie_recommendations
            FOR EACH ROW EXECUTE FUNCTION test_reject_bad();
        """
    )
    try:
        row = await run_job(media.job(JOB))
    finally:
        await db.execute(
            "DROP TRIGGER test_reject_bad ON movie_recommendations; DROP FUNCTION test_reject_bad()"
        )

    assert row["status"] == "completed", row["error"]
    assert row["result"]["users_failed"] == 1
    assert row["result"]["users_processed"] == 2
    assert row["items_failed"] == 1
    assert len(await user_list(db, "a")) > 0
    assert len(await user_list(db, "c")) > 0
    assert await user_list(db, "bad") == []
    warnings = await db.fetch(
        "SELECT message FROM job_run_logs WHERE run_id = $1 AND level = 'warning'", row["id"]
    )
    assert any("disk full for bad" in w["message"] for w in warnings)


async def _insert_old_list(db: asyncpg.Pool, user_id: str, movie_ids: list[str]) -> None:
    await set_picks(db, user_id, movie_ids, explanation="old", score=0.5)


async def test_regular_run_keeps_the_old_list_readable_until_the_new_one_commits(
    media: MediaKind, db: asyncpg.Pool, run_job: Any, database_url: str
) -> None:
    space, romance = await two_cluster_library(db)
    await add_user(db, "u1", max_recs=10)
    await add_plays(db, "u1", space[:3])
    old = romance[-6:]
    await _insert_old_list(db, "u1", old)
    # Widen the window between the job's DELETE and its INSERT so a reader surely looks inside it.
    await db.execute(
        """
        CREATE FUNCTION test_slow_delete() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_sleep(0.3); RETURN NULL; END $$;
        CREATE TRIGGER test_slow_delete AFTER DELETE ON movie_recommendations
            FOR EACH STATEMENT EXECUTE FUNCTION test_slow_delete();
        """
    )
    reader = await asyncpg.connect(database_url)
    seen: list[tuple[int, frozenset[str]]] = []
    try:
        job = asyncio.create_task(run_job(media.job(JOB)))
        while not job.done():
            rows = await reader.fetch(
                media.sql("SELECT {item_id}, explanation FROM {picks} WHERE user_id = 'u1'")
            )
            seen.append((len(rows), frozenset(r["explanation"] == "old" for r in rows)))
            await asyncio.sleep(0.01)
        row = await job
    finally:
        await reader.close()
        await db.execute(
            "DROP TRIGGER test_slow_delete ON movie_recommendations; DROP FUNCTION test_slow_delete()"
        )

    assert row["status"] == "completed", row["error"]
    assert (len(old), frozenset({True})) in seen  # the old list was read while the job ran
    assert [r["explanation"] == "old" for r in await user_list(db, "u1")] == [False] * 10
    for count, kinds in seen:  # never empty, never a mix, never a half list
        assert (count, kinds) in {(len(old), frozenset({True})), (10, frozenset({False}))}, seen


async def test_full_reset_clears_everything_and_rebuilds_keeping_user_settings(
    media: MediaKind, db: asyncpg.Pool, run_job: Any
) -> None:
    space, romance = await two_cluster_library(db)
    await add_user(db, "u1", max_recs=7)
    await db.execute("UPDATE media_users SET settings = '{\"theme\": \"dark\"}' WHERE id = 'u1'")
    await add_user(db, "left", disabled=True)
    await add_plays(db, "u1", space[:3])
    await _insert_old_list(db, "u1", romance[:3])
    await _insert_old_list(db, "left", romance[:4])

    row = await run_job(media.job(Step.FULL_RESET))

    assert row["status"] == "completed", row["error"]
    assert row["result"]["deleted"] == 7
    assert await user_list(db, "left") == []
    rebuilt = await user_list(db, "u1")
    assert len(rebuilt) == 7
    assert {r["run_id"] for r in rebuilt} == {row["id"]}
    user = await db.fetchrow("SELECT enabled, max_recommendations, settings FROM media_users WHERE id = 'u1'")
    assert (user["enabled"], user["max_recommendations"], user["settings"]) == (True, 7, {"theme": "dark"})


async def test_per_user_limit_then_global_setting(
    media: MediaKind, db: asyncpg.Pool, run_job: Any, settings: Any
) -> None:
    space, _romance = await two_cluster_library(db)
    await add_user(db, "own", max_recs=4)
    await add_user(db, "default")
    for user in ("own", "default"):
        await add_plays(db, user, space[:2])

    row = await run_job(media.job(JOB), settings=settings.model_copy(update={"recommendations_per_user": 6}))

    assert row["status"] == "completed", row["error"]
    assert len(await user_list(db, "own")) == 4
    assert len(await user_list(db, "default")) == 6


async def test_stored_pick_has_breakdown_evidence_and_explanation(
    media: MediaKind, db: asyncpg.Pool, run_job: Any
) -> None:
    space, _romance = await two_cluster_library(db)
    await add_user(db, "u1", max_recs=3)
    await add_plays(db, "u1", space[:4])

    row = await run_job(media.job(JOB))

    first = (await user_list(db, "u1"))[0]
    assert abs(sum(first["breakdown"][p] for p in COMPONENTS) - first["breakdown"]["relevance"]) < 1e-3
    assert (
        abs(first["breakdown"]["relevance"] - first["breakdown"]["diversity_penalty"] - first["score"]) < 1e-3
    )
    evidence = first["evidence"]
    assert evidence and {e["movie_id"] for e in evidence} <= set(space[:4])
    assert set(evidence[0]) == {"movie_id", "title", "similarity"}
    assert evidence[0]["title"] == f"Title {evidence[0]['movie_id']}"
    assert evidence[0]["title"] in first["explanation"]
    assert first["run_id"] == row["id"]
