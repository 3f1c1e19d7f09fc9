"""`sync-trakt` against the simulator and the real database: matching, the server's rating first,
de-duplication, removals, unchanged users, token refresh, and the failure rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr

from sidecar.composition import MEDIA_KINDS, MOVIES
from sidecar.jobs.queue import JobQueue
from sidecar.jobs.resources import JobResources
from sidecar.media import recommend_queries
from sidecar.media.kind import Step
from sidecar.series.queries import TASTE
from sidecar.series.taste import STATE_RATING
from sidecar.settings import Settings
from sidecar.simulator.services.trakt import TraktState, show_object
from tests.trakt.conftest import (
    ALICE,
    BOB,
    MOVIE_ELSEWHERE,
    MOVIE_IMDB,
    MOVIE_TMDB,
    SECRET_KEY,
    SHOW,
    SHOW_BY_TVDB,
    at,
    link_user,
    seed_catalogue,
    stored_tokens,
)


async def _linked(db: asyncpg.Pool, settings: Settings, state: TraktState, *users: tuple[str, str]) -> None:
    await seed_catalogue(db)
    for user_id, username in users:
        await link_user(db, settings, state, user_id, username)


async def _plays(db: asyncpg.Pool, user_id: str) -> dict[Any, Any]:
    rows = await db.fetch(
        "SELECT source_id, item_table, item_id, watched_at FROM imported_plays WHERE user_id = $1", user_id
    )
    return {r["source_id"]: (r["item_table"], r["item_id"], r["watched_at"]) for r in rows}


async def test_not_configured_completes_at_once_naming_the_setting(db: asyncpg.Pool, run_job: Any) -> None:
    run = await run_job("sync-trakt")
    assert run["status"] == "completed"
    assert run["result"] == {"not_configured": "SIDECAR_TRAKT_CLIENT_ID"}
    logs = await db.fetch("SELECT message FROM job_run_logs WHERE run_id = $1", run["id"])
    assert any("set SIDECAR_TRAKT_CLIENT_ID" in r["message"] for r in logs)


async def test_history_and_ratings_match_by_each_id_kind(
    db: asyncpg.Pool, trakt_settings: Settings, trakt: tuple[TraktState, str], run_job: Any
) -> None:
    state, _ = trakt
    await _linked(db, trakt_settings, state, (ALICE, "alice"))
    three_days_ago = at(3)
    by_tmdb = state.watch_movie("alice", MOVIE_TMDB, three_days_ago)
    by_imdb = state.watch_movie("alice", MOVIE_IMDB, at(2))
    elsewhere = state.watch_movie("alice", MOVIE_ELSEWHERE, at(1))
    s1e2 = state.watch_episode("alice", SHOW, 1, 2, at(4))
    by_tvdb = state.watch_episode("alice", SHOW_BY_TVDB, 1, 1, at(5))
    double = state.watch_episode("alice", SHOW, 2, 4, at(6))  # the second half of S02E03-E04
    # An unknown show whose *episode* ids equal our show's: episode ids never match a series.
    other_show = {
        "title": "Other",
        "year": 2000,
        "ids": {"trakt": 99, "slug": "x", "tmdb": 5, "imdb": None, "tvdb": None},
    }
    stray = state.watch_episode(
        "alice", other_show, 1, 1, at(7), episode_ids={"trakt": 1, "tmdb": 1399, "tvdb": 121361}
    )
    state.rate("alice", "movies", MOVIE_TMDB, 9, at(3))
    state.rate("alice", "shows", SHOW, 8, at(3))
    state.rate("alice", "episodes", {"season": 1, "number": 1, "ids": {"trakt": 501}}, 7, at(3), show=SHOW)

    run = await run_job("sync-trakt", settings=trakt_settings)

    assert run["status"] == "completed", run["error"]
    assert run["result"]["users_imported"] == 1 and run["result"]["plays_read"] == 7
    plays = await _plays(db, ALICE)
    assert plays[by_tmdb][:2] == ("movies", "m-tmdb") and plays[by_imdb][:2] == ("movies", "m-imdb")
    assert plays[elsewhere][1] is None  # kept, unmatched: the title is not on the server
    assert plays[s1e2][:2] == ("episodes", "e102") and plays[by_tvdb][:2] == ("episodes", "e101")
    assert plays[double][:2] == ("episodes", "e203") and plays[stray][1] is None
    assert plays[by_tmdb][2] == three_days_ago  # Trakt's watched_at, not the import time
    ratings = {
        (r["item_table"], r["item_id"]): r["rating"]
        for r in await db.fetch("SELECT item_table, item_id, rating FROM imported_ratings")
    }
    assert ratings == {("movies", "m-tmdb"): 9, ("series", "s1"): 8, ("episodes", "e101"): 7}
    assert await db.fetchval("SELECT count(*) FROM imported_plays WHERE item_id = 'm-1399'") == 0
    # Series states see the imported episode plays.
    state_row = await db.fetchrow(
        "SELECT state, episodes_played FROM series_user_state WHERE user_id = $1", ALICE
    )
    assert state_row["episodes_played"] == 3


async def test_a_rating_made_on_the_server_wins(
    db: asyncpg.Pool, trakt_settings: Settings, trakt: tuple[TraktState, str], run_job: Any
) -> None:
    state, _ = trakt
    await _linked(db, trakt_settings, state, (ALICE, "alice"))
    await db.execute(
        "INSERT INTO movie_plays (user_id, movie_id, played, play_count, user_rating) VALUES ($1, 'm-tmdb', true, 1, 9)",
        ALICE,
    )
    state.rate("alice", "movies", MOVIE_TMDB, 2, at(1))
    state.rate("alice", "movies", MOVIE_IMDB, 6, at(1))
    state.watch_movie("alice", MOVIE_IMDB, at(10))
    state.watch_movie("alice", MOVIE_IMDB, at(5))

    await run_job("sync-trakt", settings=trakt_settings)

    rows = await db.fetch(MOVIES.sql(recommend_queries.PLAYS), None)
    (row,) = [r for r in rows if r["user_id"] == ALICE]
    merged = dict(
        zip(
            row["item_ids"],
            zip(row["user_ratings"], row["play_counts"], row["watched"], strict=True),
            strict=True,
        )
    )
    assert merged["m-tmdb"] == (9, 1, True)  # the server's 9, not Trakt's 2
    assert merged["m-imdb"] == (6, 2, True)  # Trakt's rating and its two plays
    server = await db.fetchval("SELECT user_rating FROM movie_plays WHERE movie_id = 'm-tmdb'")
    assert server == 9  # the server's row is never written


async def test_history_ids_de_duplicate_and_removals_follow_trakt(
    db: asyncpg.Pool, trakt_settings: Settings, trakt: tuple[TraktState, str], run_job: Any
) -> None:
    state, _ = trakt
    await _linked(db, trakt_settings, state, (ALICE, "alice"))
    first = state.watch_movie("alice", MOVIE_TMDB, at(3))
    second = state.watch_movie("alice", MOVIE_TMDB, at(2))
    state.rate("alice", "movies", MOVIE_IMDB, 6, at(1))
    state.rate("alice", "movies", MOVIE_TMDB, 8, at(1))
    await run_job("sync-trakt", settings=trakt_settings)
    again = await run_job("sync-trakt", variant="full", settings=trakt_settings)  # reads everything again
    assert again["result"]["plays_read"] == 2
    assert set(await _plays(db, ALICE)) == {first, second}

    state.remove_history("alice", first)
    state.unrate("alice", "movies", 12)
    await run_job("sync-trakt", settings=trakt_settings)

    assert set(await _plays(db, ALICE)) == {second}
    assert await db.fetchval("SELECT array_agg(item_id) FROM imported_ratings") == ["m-tmdb"]


async def test_unchanged_users_cost_one_request(
    db: asyncpg.Pool, trakt_settings: Settings, trakt: tuple[TraktState, str], run_job: Any
) -> None:
    state, _ = trakt
    await _linked(db, trakt_settings, state, (ALICE, "alice"), (BOB, "bob"))
    state.watch_movie("alice", MOVIE_TMDB, at(3))
    state.watch_movie("bob", MOVIE_IMDB, at(3))
    await run_job("sync-trakt", settings=trakt_settings)
    state.requests.clear()
    state.advance(60)
    state.watch_movie("bob", MOVIE_TMDB, at(1))

    run = await run_job("sync-trakt", settings=trakt_settings)

    assert run["result"]["users_unchanged"] == 1 and run["result"]["users_imported"] == 1
    assert state.requests["GET /sync/last_activities"] == 2
    assert state.requests["GET /sync/history/movies"] == 1 and state.requests["GET /sync/ratings/movies"] == 0
    assert len(await _plays(db, BOB)) == 2


async def test_changed_users_get_their_picks_queued_and_unchanged_ones_do_not(
    db: asyncpg.Pool, trakt_settings: Settings, trakt: tuple[TraktState, str], run_job: Any
) -> None:
    # Imported plays used to wait for the weekly recommendations run before they changed any pick.
    state, _ = trakt
    await _linked(db, trakt_settings, state, (ALICE, "alice"), (BOB, "bob"))
    state.watch_movie("alice", MOVIE_TMDB, at(3))
    queue = JobQueue(db, None, trakt_settings.queue_name)
    resources = JobResources(queue=queue)

    run = await run_job("sync-trakt", settings=trakt_settings, resources=resources)

    expected = [(kind.job(Step.RECOMMENDATIONS), {"user_ids": sorted([ALICE, BOB])}) for kind in MEDIA_KINDS]
    assert [(q["job"], q["scope"]) for q in run["result"]["queued"]] == expected
    rows = await db.fetch("SELECT job, scope FROM job_runs WHERE status = 'queued' ORDER BY seq")
    assert [(r["job"], r["scope"]) for r in rows] == expected
    await db.execute("UPDATE job_runs SET status = 'cancelled', finished_at = now() WHERE status = 'queued'")
    state.advance(60)
    state.watch_movie("bob", MOVIE_IMDB, at(1))

    again = await run_job("sync-trakt", settings=trakt_settings, resources=resources)

    assert [q["scope"] for q in again["result"]["queued"]] == [{"user_ids": [BOB]}] * len(MEDIA_KINDS)
    state.advance(60)
    unchanged = await run_job("sync-trakt", settings=trakt_settings, resources=resources)
    assert "queued" not in unchanged["result"]


async def test_a_show_rated_on_trakt_is_series_taste_and_the_servers_favourite_wins(
    db: asyncpg.Pool, trakt_settings: Settings, trakt: tuple[TraktState, str], run_job: Any
) -> None:
    # Show ratings were stored but series taste read only the states made from episode plays.
    state, _ = trakt
    await _linked(db, trakt_settings, state, (ALICE, "alice"))
    await db.execute(
        "INSERT INTO series (id, title, tmdb_id, content_hash, sync_hash) VALUES ('s2', 'Rated Only', '1400', 'h', 'h')"
    )
    state.watch_episode("alice", SHOW, 1, 1, at(4))  # The Show started, from a play on Trakt
    state.rate("alice", "shows", SHOW, 3, at(3))
    state.rate("alice", "shows", show_object(22, "Rated Only", 2018, "1400", None, None), 9, at(2))

    assert (await run_job("sync-trakt", settings=trakt_settings))["status"] == "completed"

    assert await _series_taste(db, ALICE) == {"s1": 3.0, "s2": 9.0}  # s1 was its state's stand-in, 8
    await db.execute("UPDATE series_user_state SET favourite = true WHERE user_id = $1", ALICE)
    assert (await _series_taste(db, ALICE))["s1"] == STATE_RATING["finished"]


async def _series_taste(db: asyncpg.Pool, user_id: str) -> dict[str, float]:
    [row] = await db.fetch(TASTE, [user_id])
    return dict(zip(row["item_ids"], row["user_ratings"], strict=True))


async def test_history_is_read_page_by_page(
    db: asyncpg.Pool, trakt_settings: Settings, trakt: tuple[TraktState, str], run_job: Any
) -> None:
    state, _ = trakt
    await _linked(db, trakt_settings, state, (ALICE, "alice"))
    for n in range(600):
        state.watch_movie("alice", MOVIE_TMDB if n % 2 else MOVIE_ELSEWHERE, at(n / 24))
    run = await run_job("sync-trakt", settings=trakt_settings)
    assert run["result"]["plays_read"] == 600 and state.requests["GET /sync/history/movies"] == 3
    assert await db.fetchval("SELECT count(*) FROM imported_plays WHERE item_id = 'm-tmdb'") == 300


async def test_token_refreshed_before_expiry_and_rotation_stored(
    db: asyncpg.Pool, trakt_settings: Settings, trakt: tuple[TraktState, str], run_job: Any
) -> None:
    state, _ = trakt
    await _linked(db, trakt_settings, state, (ALICE, "alice"))
    old_access, old_refresh = await stored_tokens(db, ALICE)
    # Two hours left of the 24: refreshed now, not after a failed call.
    await db.execute("UPDATE trakt_accounts SET expires_at = now() + interval '2 hours'")
    state.watch_movie("alice", MOVIE_TMDB, at(1))

    run = await run_job("sync-trakt", settings=trakt_settings)

    assert run["status"] == "completed" and run["result"]["tokens_refreshed"] == 1
    access, refresh = await stored_tokens(db, ALICE)
    assert (access, refresh) != (old_access, old_refresh)
    assert old_refresh not in state.refresh_tokens and state.refresh_tokens[refresh] == "alice"
    assert old_access not in state.tokens and access in state.tokens
    expires = await db.fetchval("SELECT expires_at FROM trakt_accounts")
    assert dt.timedelta(hours=23) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=24)
    # A token Trakt no longer accepts (revoked there): that user fails, the run goes on.
    state.revoke_user_tokens("alice")
    await db.execute("UPDATE trakt_accounts SET expires_at = now() - interval '1 hour'")
    failed = await run_job("sync-trakt", settings=trakt_settings)
    assert failed["status"] == "completed" and failed["result"]["users_failed"] == 1
    assert "link the Trakt account again" in await db.fetchval("SELECT last_error FROM trakt_accounts")


async def test_one_bad_item_is_counted_not_fatal(
    db: asyncpg.Pool, trakt_settings: Settings, trakt: tuple[TraktState, str], run_job: Any
) -> None:
    state, _ = trakt
    await _linked(db, trakt_settings, state, (ALICE, "alice"))
    good = state.watch_movie("alice", MOVIE_TMDB, at(2))
    bad = state.watch_movie("alice", MOVIE_IMDB, at(1))
    next(e for e in state.users["alice"].history if e["id"] == bad)["watched_at"] = "yesterday-ish"
    run = await run_job("sync-trakt", settings=trakt_settings)
    assert run["status"] == "completed" and run["result"]["bad_items"] == 1
    assert set(await _plays(db, ALICE)) == {good}


async def test_wrong_client_id_fails_once(
    db: asyncpg.Pool, trakt_settings: Settings, trakt: tuple[TraktState, str], run_job: Any
) -> None:
    state, _ = trakt
    await _linked(db, trakt_settings, state, (ALICE, "alice"), (BOB, "bob"))
    wrong = trakt_settings.model_copy(update={"trakt_client_id": SecretStr("not-the-client-id")})
    state.requests.clear()
    run = await run_job("sync-trakt", settings=wrong)
    assert run["status"] == "failed" and "check SIDECAR_TRAKT_CLIENT_ID" in run["error"]
    assert state.requests["GET /sync/last_activities"] == 1  # not once per user
    assert "not-the-client-id" not in run["error"]


async def test_service_down_fails_after_bounded_retries_and_the_next_run_resumes(
    db: asyncpg.Pool, trakt_settings: Settings, trakt: tuple[TraktState, str], run_job: Any
) -> None:
    state, _ = trakt
    await _linked(db, trakt_settings, state, (ALICE, "alice"))
    state.watch_movie("alice", MOVIE_TMDB, at(2))
    state.faults.down = True
    state.requests.clear()
    failed = await run_job("sync-trakt", settings=trakt_settings)
    assert failed["status"] == "failed" and "Trakt" in failed["error"] and "next run" in failed["error"]
    assert sum(state.requests.values()) == 2  # the first try and one retry (service_retries=1)
    state.faults.down = False
    resumed = await run_job("sync-trakt", settings=trakt_settings)
    assert resumed["status"] == "completed" and resumed["result"]["users_imported"] == 1


async def test_no_secret_in_logs_results_or_errors(
    db: asyncpg.Pool,
    trakt_settings: Settings,
    trakt: tuple[TraktState, str],
    run_job: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state, _ = trakt
    await _linked(db, trakt_settings, state, (ALICE, "alice"))
    access, refresh = await stored_tokens(db, ALICE)
    state.watch_movie("alice", MOVIE_TMDB, at(2))
    await db.execute("UPDATE trakt_accounts SET expires_at = now()")  # refresh too
    runs = [await run_job("sync-trakt", settings=trakt_settings)]
    new_access, new_refresh = await stored_tokens(db, ALICE)
    state.faults.down = True
    runs.append(await run_job("sync-trakt", variant="full", settings=trakt_settings))
    logs = await db.fetch("SELECT message, data::text AS data FROM job_run_logs")
    printed = capsys.readouterr()
    texts = [str(dict(r)) for r in runs] + [f"{r['message']} {r['data']}" for r in logs]
    texts += [printed.out, printed.err]
    assert "run finished" in printed.out  # the process log was captured, so it was searched too
    for secret in (
        access,
        refresh,
        new_access,
        new_refresh,
        state.client_id,
        state.client_secret,
        SECRET_KEY,
    ):
        assert not any(secret in text for text in texts), secret[:6]


async def test_trakt_rate_limit_is_waited_out(
    db: asyncpg.Pool, trakt_settings: Settings, trakt: tuple[TraktState, str], run_job: Any
) -> None:
    state, _ = trakt
    await _linked(db, trakt_settings, state, (ALICE, "alice"))
    for n in range(600):
        state.watch_movie("alice", MOVIE_TMDB, at(n / 24))
    state.get_limit, state.get_window_seconds = 2, 1  # Trakt's 1,000 per 5 minutes, shrunk
    run = await run_job("sync-trakt", settings=trakt_settings)
    assert run["status"] == "completed", run["error"]
    assert run["result"]["plays_read"] == 600 and state.statuses[429] >= 1


async def test_an_account_over_its_limits_fails_alone(
    db: asyncpg.Pool, trakt_settings: Settings, trakt: tuple[TraktState, str], run_job: Any
) -> None:
    state, _ = trakt
    await _linked(db, trakt_settings, state, (ALICE, "alice"), (BOB, "bob"))
    state.watch_movie("bob", MOVIE_TMDB, at(1))
    state.faults.account_limited.add("alice")  # Trakt's 420: this account only
    run = await run_job("sync-trakt", settings=trakt_settings)
    assert run["status"] == "completed"
    assert run["result"]["users_failed"] == 1 and run["result"]["users_imported"] == 1
    errors = dict(await db.fetch("SELECT user_id, last_error FROM trakt_accounts"))
    assert "420" in errors[ALICE] and errors[BOB] is None
