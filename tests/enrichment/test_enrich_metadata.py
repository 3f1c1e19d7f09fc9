"""enrich-metadata against the simulated TMDb and OMDb, on real PostgreSQL: each rule of issue #19."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import structlog
from pydantic import SecretStr

from sidecar.enrichment.job import WORKERS
from sidecar.jobs.registry import JobRegistry
from sidecar.progress import result_summary
from sidecar.settings import Settings
from tests.enrichment.conftest import OMDB_KEY, TMDB_TOKEN, World
from tests.service_world import FILLERS

JOB = "enrich-metadata"


async def _rows(db: asyncpg.Pool, table: str = "movies") -> dict[str, asyncpg.Record]:
    rows = await db.fetch(
        "SELECT x.*, i.title FROM item_enrichment x JOIN " + table + " i ON i.id = x.item_id "
        "WHERE x.items_table = $1",
        table,
    )
    return {r["title"]: r for r in rows}


async def _logs(db: asyncpg.Pool, run_id: Any) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT level, message, data::text AS data FROM job_run_logs WHERE run_id = $1", run_id
    )


async def test_without_a_key_it_completes_at_once_naming_the_setting(
    world: World, settings: Settings, run_job: Any, db: asyncpg.Pool, registry: JobRegistry
) -> None:
    run = await run_job(JOB, settings=settings)
    assert run["status"] == "completed"
    assert run["result"] == {"not_configured": "SIDECAR_TMDB_API_KEY"}
    assert result_summary(run["result"]) == "not configured: set SIDECAR_TMDB_API_KEY"  # CLI; the page alike
    assert "SIDECAR_TMDB_API_KEY" in registry.get(JOB).description  # type: ignore[union-attr]  # the card says what to set
    assert world.tmdb.request_count == 0
    assert await db.fetchval("SELECT count(*) FROM item_enrichment") == 0


async def test_enriches_movies_and_shows_once_then_a_rerun_asks_nothing(
    world: World, run_job: Any, db: asyncpg.Pool
) -> None:
    run = await run_job(JOB, settings=world.settings)
    assert run["status"] == "completed", run["error"]
    result = run["result"]
    assert result["enriched"] == world.items and result["failed"] == result["not_found"] == 0
    assert result["found_by_id"] == 2  # "Only Imdb" by /find imdb_id, "Only Tvdb" by /find tvdb_id
    assert result["requests"] == world.items + 2  # one per item, plus the two /find calls
    assert world.tmdb.key_in_query == 0

    movies, shows = await _rows(db), await _rows(db, "series")
    matrix = movies["The Matrix"]
    assert (matrix["collection_id"], matrix["certification"], matrix["tmdb_id"]) == (2344, "R", 603)
    assert matrix["directors"][:2] == ["Lana Wachowski", "Lilly Wachowski"] and matrix["keywords"]
    assert movies["Alien"]["collection_id"] == movies["Alien 3"]["collection_id"] is not None
    assert (
        movies["Only Imdb"]["status"] == "enriched" and movies["Only Imdb"]["source_key"] == "imdb:tt7777777"
    )
    only_tvdb = shows["Only Tvdb"]
    assert only_tvdb["tmdb_id"] is not None and only_tvdb["source_key"] == "tvdb:424242"
    harbor = shows["Harbor Lights"]
    assert harbor["networks"] and harbor["created_by"] and harbor["certification"] and harbor["cast_names"]
    assert harbor["imdb_id"] == "tt1200000"  # from external_ids (no imdb_id in TV's base object)

    asked = world.tmdb.request_count
    again = await run_job(JOB, settings=world.settings)
    assert again["status"] == "completed" and again["result"]["requests"] == 0
    assert world.tmdb.request_count == asked


async def test_a_wrong_key_fails_the_run_once(world: World, run_job: Any, db: asyncpg.Pool) -> None:
    wrong = world.settings.model_copy(update={"tmdb_api_key": SecretStr("nope-1234")})
    run = await run_job(JOB, settings=wrong)
    assert run["status"] == "failed"
    assert "check SIDECAR_TMDB_API_KEY" in run["error"]
    assert world.tmdb.statuses[401] == world.tmdb.request_count == 1  # the first item is asked alone
    logs = await _logs(db, run["id"])
    assert not [
        log
        for log in logs
        if log["level"] in ("warning", "error") and "SIDECAR_TMDB_API_KEY" in log["message"]
    ][1:]
    assert await db.fetchval("SELECT count(*) FROM item_enrichment") == 0


async def test_not_found_gets_a_retry_date_and_is_asked_again_only_then(
    world: World, run_job: Any, db: asyncpg.Pool
) -> None:
    await db.execute("UPDATE movies SET tmdb_id = '99999999' WHERE title = 'Arrival'")
    run = await run_job(JOB, settings=world.settings)
    assert run["result"]["not_found"] == 1 and run["result"]["enriched"] == world.items - 1
    arrival = (await _rows(db))["Arrival"]
    assert arrival["status"] == "not_found" and arrival["enriched_at"] is None
    days = (arrival["retry_at"] - dt.datetime.now(dt.UTC)).days
    assert 28 <= days <= 30
    assert (await run_job(JOB, settings=world.settings))["result"]["requests"] == 0
    await db.execute(
        "UPDATE item_enrichment SET retry_at = now() - interval '1 minute' WHERE status = 'not_found'"
    )
    await db.execute("UPDATE movies SET tmdb_id = '329865' WHERE title = 'Arrival'")  # re-matched meanwhile
    later = await run_job(JOB, settings=world.settings)
    assert later["result"]["requests"] == 1 and later["result"]["enriched"] == 1


async def test_timeouts_and_429_leave_the_item_for_the_next_run(
    world: World, run_job: Any, db: asyncpg.Pool
) -> None:
    quick = world.settings.model_copy(update={"service_timeout_seconds": 0.3, "service_retries": 1})
    world.tmdb.faults.hang(r"/movie/603", seconds=5, times=2)  # The Matrix: both attempts time out
    world.tmdb.faults.throttle(r"/movie/27205", retry_after=3600, times=1)  # Inception: come back in an hour
    run = await run_job(JOB, settings=quick)
    assert run["status"] == "completed"
    assert run["result"]["deferred"] == 2 and run["result"]["enriched"] == world.items - 2
    assert {"The Matrix", "Inception"}.isdisjoint(await _rows(db))
    again = await run_job(JOB, settings=quick)
    assert again["result"]["enriched"] == 2 and again["result"]["requests"] == 2


async def test_a_service_that_is_down_fails_the_run_and_the_next_run_resumes(
    world: World, run_job: Any, db: asyncpg.Pool
) -> None:
    world.tmdb.down_after = 10  # TMDb answers ten requests, then goes down
    run = await run_job(JOB, settings=world.settings)
    assert run["status"] == "failed"
    assert "TMDb did not answer" in run["error"] and "next run resumes" in run["error"]
    kept = await db.fetchval("SELECT count(*) FROM item_enrichment WHERE status = 'enriched'")
    assert 0 < kept < world.items
    world.tmdb.down_after = None
    resumed = await run_job(JOB, settings=world.settings)
    assert resumed["status"] == "completed"
    assert resumed["result"]["enriched"] == world.items - kept  # only what the failed run did not store
    assert await db.fetchval("SELECT count(*) FROM item_enrichment WHERE status = 'enriched'") == world.items
    assert FILLERS >= 10  # enough items left after the outage for the in-a-row rule


async def test_one_bad_item_never_aborts_the_run(world: World, run_job: Any, db: asyncpg.Pool) -> None:
    world.tmdb.faults.fail(r"/movie/129", status=400, times=None)  # Spirited Away: TMDb refuses the request
    run = await run_job(JOB, settings=world.settings)
    assert run["status"] == "completed"
    assert run["result"]["failed"] == 1 and run["result"]["enriched"] == world.items - 1
    logs = await _logs(db, run["id"])
    assert any("HTTP 400" in log["message"] for log in logs)


async def test_keys_never_reach_logs_results_or_errors(world: World, run_job: Any, db: asyncpg.Pool) -> None:
    settings = world.with_omdb()
    world.tmdb.faults.fail(r"/movie/129", status=400, times=None)
    world.omdb.bad_key_status = 200
    with structlog.testing.capture_logs() as captured:
        ok = await run_job(JOB, settings=settings)
        world.omdb.api_key = "rotated"  # the configured OMDb key is now refused
        await db.execute("UPDATE item_enrichment SET omdb_status = NULL")
        failed = await run_job(JOB, settings=settings)
    assert ok["status"] == "completed" and failed["status"] == "failed"
    assert "check SIDECAR_OMDB_API_KEY" in failed["error"]
    texts = [repr(captured), str(ok["result"]), str(failed["result"]), failed["error"]]
    for run in (ok, failed):
        texts += [log["message"] + (log["data"] or "") for log in await _logs(db, run["id"])]
    for secret in (TMDB_TOKEN, OMDB_KEY):
        assert not [t for t in texts if secret in t]


async def test_omdb_stops_at_the_daily_limit_and_counts_per_utc_day(
    world: World, run_job: Any, db: asyncpg.Pool
) -> None:
    run = await run_job(JOB, settings=world.with_omdb(omdb_daily_limit=5))
    result = run["result"]
    assert run["status"] == "completed" and result["enriched"] == world.items
    assert result["omdb_requests"] == 5 and "SIDECAR_OMDB_DAILY_LIMIT" in result["omdb_stopped"]
    assert await db.fetchval("SELECT requests FROM service_usage WHERE service = 'omdb'") == 5
    rows = await _rows(db)
    assert sum(1 for r in rows.values() if r["omdb_status"] == "enriched") == result["omdb_enriched"]
    same_day = await run_job(JOB, settings=world.with_omdb(omdb_daily_limit=5))
    assert same_day["result"]["omdb_requests"] == 0 and same_day["result"]["requests"] == 0
    # Stopped before looking at any item: nothing is due today.
    assert "SIDECAR_OMDB_DAILY_LIMIT" in same_day["result"]["omdb_stopped"]
    assert any(log["message"].startswith("0 movies to enrich") for log in await _logs(db, same_day["id"]))
    # A new UTC day: the budget renews and the rest is asked.
    await db.execute("UPDATE service_usage SET day = day - 1")
    next_day = await run_job(JOB, settings=world.with_omdb(omdb_daily_limit=1000))
    assert next_day["result"]["omdb_requests"] > 0 and "omdb_stopped" not in next_day["result"]


async def test_omdb_quota_answer_stops_cleanly_and_unknown_ids_are_not_found(
    world: World, run_job: Any, db: asyncpg.Pool
) -> None:
    world.omdb.daily_limit = 4  # the key is shared with someone else: OMDb's count runs out before ours
    run = await run_job(JOB, settings=world.with_omdb())
    assert run["status"] == "completed"
    assert run["result"]["omdb_stopped"].startswith("OMDb says")
    # Asked past the limit only by the requests already in flight, then never again this run.
    assert 1 <= world.omdb.statuses[401] <= WORKERS and run["result"]["omdb_requests"] == world.omdb.requests
    assert await db.fetchval("SELECT spent FROM service_usage WHERE service = 'omdb'")
    tomatoes = await db.fetchval("SELECT count(*) FROM item_enrichment WHERE rotten_tomatoes IS NOT NULL")
    assert tomatoes >= 1


async def test_omdb_unknown_id_is_not_found_with_a_retry_date(
    world: World, run_job: Any, db: asyncpg.Pool
) -> None:
    del world.omdb.catalogue.by_imdb["tt2543164"]  # Arrival: TMDb knows it by id, OMDb not at all
    run = await run_job(JOB, settings=world.with_omdb())
    assert run["status"] == "completed"
    result = run["result"]
    assert result["omdb_not_found"] == 1 and result["omdb_enriched"] + 1 == result["omdb_requests"] > 1
    arrival = (await _rows(db))["Arrival"]
    assert arrival["status"] == "enriched" and arrival["omdb_status"] == "not_found"
    assert arrival["omdb_retry_at"] > dt.datetime.now(dt.UTC) + dt.timedelta(days=28)
