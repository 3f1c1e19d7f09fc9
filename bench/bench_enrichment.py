"""enrich-metadata on MovieLens against the simulated TMDb at TMDb's real rate limit.

What is timed: `enrich-metadata` through `run_inline` on a real embedded PostgreSQL holding the 9,066
MovieLens movies as the simulated media server has them (one in 50 with only an IMDb id, so /find
is exercised), the simulated TMDb over HTTP with its 50 requests/s bucket and the client at its
default 50 requests/s. Then a re-run, which must make 0 requests.

    python -m bench.bench_enrichment [--runs 1] [--quick]   # saves bench/results/enrichment.json

`--quick`: the first 1,000 movies. One run takes about three minutes (9,066 items at 50/s), so the
suite runs it once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from typing import Any

import structlog
from pydantic import SecretStr

from bench import report
from bench.scratch import scratch_database
from sidecar.composition import build_registry
from sidecar.jobs.executor import run_inline
from sidecar.settings import Settings
from sidecar.simulator.model import SimState
from sidecar.simulator.seeds import seed_movielens
from sidecar.simulator.services import serve
from sidecar.simulator.services.tmdb import TmdbSimulator
from sidecar.simulator.services.tmdb_catalogue import build_catalogue

JOB = "enrich-metadata"
RATE = 50.0  # TMDb's soft limit, requests/s; the simulator enforces it, the client keeps to it
INSERT = """
INSERT INTO movies (id, title, year, genres, tmdb_id, imdb_id, provider_ids, content_hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'h')
"""


def _server(limit: int | None) -> SimState:
    state = SimState("jellyfin")
    seed_movielens(state, users=1)
    if limit is not None:
        for movie_id in list(state.movies)[limit:]:
            del state.movies[movie_id]
    return state


async def _bench(runs: int, quick: bool) -> dict[str, Any]:
    registry = build_registry()
    state = _server(1000 if quick else None)
    catalogue = build_catalogue(state)
    first_s: list[float] = []
    rerun_s: list[float] = []
    requests: list[int] = []
    async with scratch_database("bench-enrichment-") as (work, url, pool):
        rows = []
        for m in state.movies.values():
            ids = {k.lower(): v for k, v in m.provider_ids.items()}
            rows.append((m.id, m.name, m.year, m.genres, ids.get("tmdb"), ids.get("imdb"), ids))
        await pool.executemany(INSERT, rows)
        for _ in range(runs):
            await pool.execute("TRUNCATE item_enrichment")
            sim = TmdbSimulator(catalogue, rate_limit_per_second=RATE)
            async with serve(sim.create_app()) as tmdb_url:
                settings = Settings(
                    _env_file=None,  # type: ignore[call-arg]
                    database_url=url,
                    data_dir=work / "data",
                    log_level="warning",
                    tmdb_api_key=SecretStr(sim.api_key),
                    tmdb_url=tmdb_url,
                    tmdb_requests_per_second=RATE,
                )
                started = time.perf_counter()
                run = await run_inline(pool, registry, settings, JOB)
                first_s.append(time.perf_counter() - started)
                assert run["status"] == "completed", run["error"]
                result = run["result"]
                assert result["enriched"] == len(rows) and result["failed"] == 0, result
                requests.append(sim.request_count)
                throttled = sim.statuses[429]
                started = time.perf_counter()
                again = await run_inline(pool, registry, settings, JOB)
                rerun_s.append(time.perf_counter() - started)
                assert again["status"] == "completed" and again["result"]["requests"] == 0, again["result"]
                rerun_requests = sim.request_count - requests[-1]
        return {
            "benchmark": "enrichment",
            "what": "enrich-metadata via run_inline, embedded PostgreSQL, simulated TMDb over HTTP at 50 req/s",
            "runs": runs,
            "movies": len(rows),
            "found_by_id": result["found_by_id"],
            "seconds_median": round(report.median(first_s), 2),
            "seconds_all": [round(t, 2) for t in first_s],
            "requests": requests[-1],
            "requests_per_second": round(requests[-1] / report.median(first_s), 1),
            "throttled_429": throttled,
            "rerun_seconds_median": round(report.median(rerun_s), 3),
            "rerun_requests": rerun_requests,
            "load_average_1min_at_end": round(os.getloadavg()[0], 2),
            "peak_rss_mib": round(report.peak_rss_mb(), 1),
        }


def rows_of(results: dict[str, Any]) -> list[dict[str, Any]]:
    rss, runs, movies = results["peak_rss_mib"], results["runs"], results["movies"]
    floor = movies / RATE  # one request per movie at the rate limit
    return [
        report.row(
            f"enrich-metadata, {movies:,} MovieLens movies, simulated TMDb at {RATE:g} req/s",
            results["seconds_median"],
            "s",
            runs=runs,
            target=f"≈ {floor:.0f} s (one request per movie at {RATE:g}/s)",
            meets_target=results["seconds_median"] < floor * 1.25,
            peak_rss_mb=rss,
            measured=f"{results['seconds_median']:.1f} s, {results['requests']:,} requests "
            f"({results['requests_per_second']:g}/s, {results['throttled_429']} throttled)",
        ),
        report.row(
            "enrich-metadata re-run (nothing new)",
            results["rerun_seconds_median"],
            "s",
            runs=runs,
            target="0 requests",
            meets_target=results["rerun_requests"] == 0,
            peak_rss_mb=rss,
            measured=f"{results['rerun_seconds_median']:.2f} s, {results['rerun_requests']} requests",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="the first 1,000 movies")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))  # warnings and up
    results = asyncio.run(_bench(args.runs, args.quick))
    report.print_details(
        [
            ("movies", f"{results['movies']:,} ({results['found_by_id']} found through /find)"),
            ("first run", f"{results['seconds_all']} s, {results['requests']:,} requests"),
            ("re-run", f"{results['rerun_seconds_median']} s, {results['rerun_requests']} requests"),
            ("load average", str(results["load_average_1min_at_end"])),
        ]
    )
    report.print_and_save("enrichment", results, rows_of(results))


if __name__ == "__main__":
    main()
