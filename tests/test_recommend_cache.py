"""The worker's cached run data (catalogue, every play, co-watching, EASE) is reused while the change
counters of sql/120_change_counters.sql stay the same and reloaded as soon as a table it reads changes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from sidecar.jobs.resources import JobResources
from sidecar.media import recommend_data
from sidecar.media import recommend_queries as q
from sidecar.media.kind import Step
from sidecar.media.recommend_data import RunData, load_run_data, read_change_counters
from sidecar.movies import MOVIES
from tests.factory import add_plays, add_user
from tests.recommend_helpers import two_cluster_library, user_list


async def _setup(db: asyncpg.Pool) -> tuple[list[str], list[str]]:
    space, romance = await two_cluster_library(db)
    for user in ("u1", "u2"):
        await add_user(db, user, max_recs=10)
    await add_plays(db, "u1", space[:3])
    await add_plays(db, "u2", space[:2] + romance[:2])
    return space, romance


def _played(data: RunData, user: str) -> set[str]:
    return set(data.plays_by_user[user].item_ids) if user in data.plays_by_user else set()


async def test_unchanged_tables_reuse_the_loaded_run_data(db: asyncpg.Pool) -> None:
    await _setup(db)
    cache: dict[str, Any] = {}
    first = await load_run_data(db, MOVIES, cache, {})
    # A write to a table the run does not read (the picks) keeps the cache.
    await db.execute("DELETE FROM movie_recommendations")

    again = await load_run_data(db, MOVIES, cache, {})

    assert again is first


async def test_a_server_play_reloads_and_the_next_load_sees_it(db: asyncpg.Pool) -> None:
    space, _ = await _setup(db)
    cache: dict[str, Any] = {}
    first = await load_run_data(db, MOVIES, cache, {})
    await add_plays(db, "u1", [space[5]])

    after = await load_run_data(db, MOVIES, cache, {})

    assert after is not first
    assert space[5] in _played(after, "u1") and space[5] not in _played(first, "u1")
    assert after.catalog is first.catalog  # only plays changed: the vectors are not read again


async def test_a_run_for_some_users_reads_only_their_plays_and_keeps_the_server_model(
    db: asyncpg.Pool,
) -> None:
    space, romance = await _setup(db)
    # A server that never enriched anything: a catalogue table without a counter row counts as 0.
    await db.execute("DELETE FROM change_counters WHERE name = 'item_enrichment'")
    cache: dict[str, Any] = {}
    first = await load_run_data(db, MOVIES, cache, {})
    await add_plays(db, "u1", [space[5]])
    await add_plays(db, "u2", [romance[3]])  # another user's play meanwhile

    scoped = await load_run_data(db, MOVIES, cache, {}, user_ids=["u1"])

    assert space[5] in _played(scoped, "u1")  # its own users' plays are read fresh
    assert _played(scoped, "u2") == _played(first, "u2")  # the rest of the earlier load is kept
    assert scoped.server is first.server and scoped.catalog is first.catalog  # no refit, no reread
    full = await load_run_data(db, MOVIES, cache, {})  # a full run reads everything again
    assert romance[3] in _played(full, "u2") and full.server is not first.server


async def test_a_run_for_some_users_reloads_all_when_the_earlier_load_is_old_or_the_catalogue_changed(
    db: asyncpg.Pool, monkeypatch: Any
) -> None:
    space, romance = await _setup(db)
    cache: dict[str, Any] = {}
    first = await load_run_data(db, MOVIES, cache, {})
    await db.execute("UPDATE movies SET removed_at = now() WHERE id = $1", romance[3])
    changed = await load_run_data(db, MOVIES, cache, {}, user_ids=["u1"])
    assert changed.catalog is not first.catalog and changed.server is not first.server

    await add_plays(db, "u2", [space[6]])
    monkeypatch.setattr(recommend_data, "SCOPED_REUSE_SECONDS", 0.0)
    old = await load_run_data(db, MOVIES, cache, {}, user_ids=["u1"])
    assert old.server is not changed.server and space[6] in _played(old, "u2")


async def test_an_imported_trakt_play_and_rating_reload(db: asyncpg.Pool) -> None:
    _, romance = await _setup(db)
    cache: dict[str, Any] = {}
    first = await load_run_data(db, MOVIES, cache, {})
    await db.execute(
        "INSERT INTO imported_plays (user_id, source, source_id, item_table, item_id, watched_at) "
        "VALUES ('u1', 'trakt', 1, 'movies', $1, $2)",
        romance[7],
        dt.datetime.now(dt.UTC),
    )

    played = await load_run_data(db, MOVIES, cache, {})
    assert romance[7] in _played(played, "u1") and romance[7] not in _played(first, "u1")

    await db.execute(
        "INSERT INTO imported_ratings (user_id, source, item_table, source_key, item_id, rating, rated_at) "
        "VALUES ('u2', 'trakt', 'movies', 'm-1', $1, 9, now())",
        romance[9],
    )
    rated = await load_run_data(db, MOVIES, cache, {})
    plays = rated.plays_by_user["u2"]
    assert rated is not played
    assert plays.user_rating[plays.item_ids.index(romance[9])] == 9


async def test_a_catalogue_change_reloads_the_catalogue(db: asyncpg.Pool) -> None:
    _, romance = await _setup(db)
    cache: dict[str, Any] = {}
    first = await load_run_data(db, MOVIES, cache, {})
    await db.execute("UPDATE movies SET removed_at = now() WHERE id = $1", romance[3])

    after = await load_run_data(db, MOVIES, cache, {})

    assert after.catalog is not first.catalog
    assert not after.catalog.recommendable[after.catalog.index[romance[3]]]
    assert first.catalog.recommendable[first.catalog.index[romance[3]]]


async def test_folding_the_change_rows_keeps_every_counter(db: asyncpg.Pool) -> None:
    space, _ = await _setup(db)
    for movie in space[5:10]:
        await add_plays(db, "u2", [movie])  # one statement each: one appended row each
    before = await read_change_counters(db)
    assert before["movie_plays"] >= 6

    await db.execute(q.COMPACT_CHANGE_COUNTERS)

    assert await read_change_counters(db) == before
    assert await db.fetchval("SELECT count(*) FROM change_counters WHERE name = 'movie_plays'") == 1


async def test_a_run_with_the_cached_data_sees_a_new_trakt_play(db: asyncpg.Pool, run_job: Any) -> None:
    await _setup(db)
    resources = JobResources()
    await run_job(MOVIES.job(Step.RECOMMENDATIONS), resources=resources)
    top = (await user_list(db, "u1"))[0]["movie_id"]
    await db.execute(
        "INSERT INTO imported_plays (user_id, source, source_id, item_table, item_id, watched_at) "
        "VALUES ('u1', 'trakt', 2, 'movies', $1, now())",
        top,
    )

    row = await run_job(MOVIES.job(Step.RECOMMENDATIONS), scope={"user_ids": ["u1"]}, resources=resources)

    assert row["status"] == "completed", row["error"]
    picks = [r["movie_id"] for r in await user_list(db, "u1")]
    assert picks and top not in picks  # the imported play counts as watched at once
