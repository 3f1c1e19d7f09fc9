"""Discovery at MovieLens scale: generate-discovery-suggestions for 671 users against the simulated
TMDb at its real rate limit (50 requests/s, the client paced at the same), answers shared by title.

What is timed: the job through `run_inline` on an embedded PostgreSQL, cold (every discovery table
emptied: every seed asked, every candidate embedded) and re-run (everything cached). Set-up (not
timed): MovieLens (9,066 movies, 671 users, 100,004 ratings as plays; a rating of 4+ a favourite,
the rating x 2 the user's own) written to the database, the movies embedded by the real embeddings
job through the fake OpenAI server (64 dimensions), and the simulated TMDb built from the same
server state (its titles plus a quarter as many it does not have). Candidates are embedded through
the same fake server: the figures are TMDb-bound, not model-bound.

    python -m bench.bench_discovery [--runs 1] [--quick]   # saves bench/results/discovery.json

`--quick`: the first 100 users.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import time
from typing import Any

import asyncpg
import structlog
from pydantic import SecretStr

from bench import report
from bench.scratch import scratch_database
from sidecar.composition import build_registry
from sidecar.jobs.executor import run_inline
from sidecar.settings import Settings
from sidecar.simulator.model import SimState
from sidecar.simulator.openai_server import OpenAIEmbeddingsSimulator
from sidecar.simulator.openai_server import serve as serve_openai
from sidecar.simulator.seeds import load_movielens, seed_movielens
from sidecar.simulator.services import serve
from sidecar.simulator.services.tmdb import TmdbSimulator
from sidecar.simulator.services.tmdb_catalogue import build_catalogue

JOB = "generate-discovery-suggestions"
TARGET_SECONDS = 600.0  # the "under 10 min"
RATE = 50.0
DISCOVERY_TABLES = (
    "discovery_seed_lists", "discovery_titles", "discovery_embeddings", "discovery_external_ids",
    "discovery_suggestions",
)  # fmt: skip


async def _server_rows(pool: asyncpg.Pool, state: SimState) -> dict[str, int]:
    """The simulated server's users, movies and plays as the sync jobs would have written them."""
    await pool.executemany(
        "INSERT INTO media_users (id, name, enabled) VALUES ($1, $2, true)",
        [(u.id, u.name) for u in state.users.values()],
    )
    movies = [
        (m.id, m.name, m.year, m.genres, m.provider_ids.get("Tmdb"), m.provider_ids.get("Imdb"),
         json.dumps({k.lower(): v for k, v in m.provider_ids.items()}), f"h{m.id}")
        for m in state.movies.values()
    ]  # fmt: skip
    await pool.executemany(
        """INSERT INTO movies (id, title, year, genres, tmdb_id, imdb_id, provider_ids, content_hash, library_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, 'lib-movies')""",
        movies,
    )
    by_name = {u.name: u.id for u in state.users.values()}
    by_imdb = {m.provider_ids.get("Imdb"): m.id for m in state.movies.values()}
    lens = load_movielens()
    plays: dict[tuple[str, str], list[Any]] = {}
    for lens_user, lens_movie, rating, timestamp in lens.ratings:
        user = by_name.get(f"user{lens_user}")
        if user is None:
            continue
        movie = by_imdb[f"tt{9000000 + lens_movie:07d}"]
        at = dt.datetime.fromtimestamp(timestamp, dt.UTC)
        plays[(user, movie)] = [user, movie, True, 2 if rating >= 5 else 1, at, rating >= 4, rating * 2]
    await pool.executemany(
        """INSERT INTO movie_plays (user_id, movie_id, played, play_count, last_played_at, is_favorite, user_rating)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        list(plays.values()),
    )
    return {"users": len(state.users), "movies": len(movies), "plays": len(plays)}


async def _bench(runs: int, quick: bool) -> dict[str, Any]:
    registry = build_registry()
    state = SimState("jellyfin")
    seed_movielens(state, users=100 if quick else None)
    tmdb = TmdbSimulator(build_catalogue(state), rate_limit_per_second=RATE)
    async with (
        scratch_database("bench-discovery-") as (work, url, pool),
        serve_openai(OpenAIEmbeddingsSimulator()) as openai_url,
        serve(tmdb.create_app()) as tmdb_url,
    ):
        data = await _server_rows(pool, state)
        await pool.execute("ANALYZE")
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=url,
            data_dir=work / "data",
            log_level="warning",
            embedding_provider="openai",
            openai_base_url=openai_url,
            embedding_dimensions=64,
            tmdb_api_key=SecretStr(tmdb.api_key),
            tmdb_url=tmdb_url,
            tmdb_requests_per_second=RATE,
        )
        row = await run_inline(pool, registry, settings, "generate-movie-embeddings")
        assert row["status"] == "completed", row["error"]
        cold, warm, results = [], [], []
        for _ in range(runs):
            await pool.execute(f"TRUNCATE {', '.join(DISCOVERY_TABLES)}")
            started = time.perf_counter()
            row = await run_inline(pool, registry, settings, JOB)
            cold.append(time.perf_counter() - started)
            assert row["status"] == "completed", row["error"]
            results.append(row["result"])
            started = time.perf_counter()
            again = await run_inline(pool, registry, settings, JOB)
            warm.append(time.perf_counter() - started)
            assert again["status"] == "completed" and again["result"]["tmdb_requests"] == 0, again["result"]
        first = results[0]
        return {
            "benchmark": "discovery",
            "what": "generate-discovery-suggestions via run_inline, embedded PostgreSQL, simulated TMDb at 50 req/s",
            "runs": runs,
            "data": data,
            "cold_seconds_median": round(report.median(cold), 2),
            "cold_seconds_all": [round(t, 2) for t in cold],
            "rerun_seconds_median": round(report.median(warm), 2),
            "tmdb_requests": first["tmdb_requests"],
            "distinct_seeds": first["seeds"],
            "user_seeds": first["user_seeds"],
            "requests_without_sharing": 2 * first["user_seeds"],
            "candidates": first["candidates"],
            "suggestions_written": first["suggestions_written"],
            "users_processed": first["users_processed"],
            "result": first,
            "load_average_1min_at_end": round(os.getloadavg()[0], 2),
            "peak_rss_mib": round(report.peak_rss_mb(), 1),
        }


def rows_of(results: dict[str, Any]) -> list[dict[str, Any]]:
    runs, rss = results["runs"], results["peak_rss_mib"]
    users = results["data"]["users"]
    return [
        report.seconds_row(
            f"discovery, {users} MovieLens users, cold (TMDb 50 req/s)",
            results["cold_seconds_median"],
            TARGET_SECONDS,
            runs=runs,
            peak_rss_mb=rss,
        ),
        report.row(
            f"discovery TMDb requests, cold ({results['distinct_seeds']} shared seeds)",
            results["tmdb_requests"],
            "requests",
            runs=runs,
            target=f"< {results['requests_without_sharing']} (one per user seed and list)",
            meets_target=results["tmdb_requests"] < results["requests_without_sharing"],
        ),
        report.row(
            "discovery re-run (everything cached: 0 requests)",
            results["rerun_seconds_median"],
            "s",
            runs=runs,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="the first 100 users")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))  # warnings and up
    results = asyncio.run(_bench(args.runs, args.quick))
    report.print_details(
        [
            ("cold runs, each s", str(results["cold_seconds_all"])),
            ("seeds: per user summed / distinct", f"{results['user_seeds']} / {results['distinct_seeds']}"),
            (
                "candidates embedded, suggestions",
                f"{results['candidates']}, {results['suggestions_written']}",
            ),
            ("1-min load average at end (2 cores)", str(results["load_average_1min_at_end"])),
        ]
    )
    report.print_and_save("discovery", results, rows_of(results))


if __name__ == "__main__":
    main()
