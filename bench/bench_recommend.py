"""Speed of generate-movie-recommendations through the real job against PostgreSQL.

Loads MovieLens (9,066 movies, 671 users, every rating as a play) and the cached MiniLM vectors into
a fresh embedded PostgreSQL, marks the model active, then times the whole job for all users and a
run scoped to one user (each includes loading the run's data). Medians over several runs. Then the
scale case (bench.recommend_scale: 2,000 users × 60,000 items, 5 M synthetic plays, the pure
recommender for every user, once, in its own process for its own peak RSS).

    python -m bench.bench_recommend [--runs N] [--quick] [--no-scale]

`--quick` is one run of each and a tenth of the scale case (a smoke check, not a figure to quote).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import pandas as pd

from bench import report
from bench.movielens import MovieLens, load_movielens, minilm_embeddings
from sidecar.composition import build_registry
from sidecar.db import create_pool, migrate
from sidecar.embedded import start_postgres
from sidecar.jobs.executor import run_inline
from sidecar.jobs.resources import JobResources
from sidecar.settings import Settings

MODEL = "all-MiniLM-L6-v2"
JOB = "generate-movie-recommendations"
TARGET_ALL_SECONDS = 10.0
TARGET_ONE_MS = 150.0
SCALE = ("2000", "60000", "5000000")  # users, items, plays of the scale case


async def load_into_db(db: asyncpg.Pool, data: MovieLens, vectors: np.ndarray) -> None:
    """Movies, users, plays and vectors with COPY, as the sync and embedding jobs would leave them."""
    movies = data.movies
    movie_rows = [
        (m, t, None if pd.isna(y) else int(y), list(g), "bench")
        for m, t, y, g in zip(
            movies["movie_id"], movies["title"], movies["year"], movies["genres"], strict=True
        )
    ]
    users = sorted(data.ratings["user_id"].unique(), key=int)
    ratings = data.ratings
    plays = [
        (u, m, True, 1, r >= 4.0, r * 2.0, datetime.fromtimestamp(int(t), UTC))
        for u, m, r, t in zip(
            ratings["user_id"], ratings["movie_id"], ratings["rating"], ratings["timestamp"], strict=True
        )
    ]
    async with db.acquire() as conn:
        await conn.copy_records_to_table(
            "movies", records=movie_rows, columns=["id", "title", "year", "genres", "content_hash"]
        )
        await conn.copy_records_to_table(
            "media_users", records=[(u, f"user {u}", True) for u in users], columns=["id", "name", "enabled"]
        )
        await conn.copy_records_to_table(
            "movie_plays",
            records=plays,
            columns=[
                "user_id",
                "movie_id",
                "played",
                "play_count",
                "is_favorite",
                "user_rating",
                "last_played_at",
            ],
        )
        await conn.copy_records_to_table(
            "movie_embeddings",
            records=[
                (m, MODEL, vectors.shape[1], "bench", v)
                for m, v in zip(movies["movie_id"], vectors, strict=True)
            ],
            columns=["movie_id", "model", "dimensions", "content_hash", "embedding"],
        )
        await conn.execute(
            "INSERT INTO embedding_models (model, dimensions, active, activated_at) VALUES ($1, $2, true, now())",
            MODEL,
            vectors.shape[1],
        )
        await conn.execute("ANALYZE")


@dataclass(frozen=True)
class Timed:
    seconds: float  # wall
    cpu_seconds: float  # this process (the job and its scoring thread), not PostgreSQL's
    load: float  # 1-minute load average when the run started
    result: dict[str, Any]


async def timed_run(
    db: asyncpg.Pool, settings: Settings, scope: dict[str, Any] | None, resources: JobResources
) -> Timed:
    """One run; `resources` are the worker's long-lived ones (fresh ones = a cold start)."""
    registry = build_registry()
    load = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    row = await run_inline(db, registry, settings, JOB, scope=scope, resources=resources)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if row["status"] != "completed":
        raise RuntimeError(f"the benchmark run failed: {row['error']}")
    return Timed(elapsed, cpu, load, row["result"])


async def _after_new_play(db: asyncpg.Pool, settings: Settings, worker: JobResources, n: int) -> Timed:
    """User 1 plays a movie they had not seen, then their scoped run: the webhook case, where the
    worker reads that user's plays again and keeps the other users' plays, co-watching and EASE fit
    (sidecar.media.recommend_data.SCOPED_REUSE_SECONDS)."""
    movie = await db.fetchval(
        "SELECT id FROM movies WHERE id NOT IN (SELECT movie_id FROM movie_plays WHERE user_id = '1') "
        "ORDER BY id OFFSET $1 LIMIT 1",
        n,
    )
    await db.execute(
        "INSERT INTO movie_plays (user_id, movie_id, played, play_count, last_played_at) "
        "VALUES ('1', $1, true, 1, now())",
        movie,
    )
    return await timed_run(db, settings, {"user_ids": ["1"]}, worker)


async def bench(runs: int, work_dir: Path) -> dict[str, Any]:
    data = load_movielens()
    vectors = minilm_embeddings(list(data.movies["text"]))
    database_url, server = start_postgres(work_dir)
    try:
        await migrate(database_url)
        db = await create_pool(database_url, max_size=4)
        try:
            await load_into_db(db, data, vectors)
            settings = Settings(_env_file=None, database_url=database_url, data_dir=work_dir)  # type: ignore[call-arg]
            worker = JobResources()
            all_users = [await timed_run(db, settings, None, worker) for _ in range(runs)]
            one_user = [await timed_run(db, settings, {"user_ids": ["1"]}, worker) for _ in range(runs * 2)]
            after_play = [await _after_new_play(db, settings, worker, n) for n in range(runs)]
            one_cold = [
                await timed_run(db, settings, {"user_ids": ["1"]}, JobResources()) for _ in range(runs)
            ]
            written = await db.fetchval("SELECT count(*) FROM movie_recommendations")
        finally:
            await db.close()
    finally:
        server.cleanup()
    all_seconds = report.median(t.seconds for t in all_users)
    one_ms = 1000 * report.median(t.seconds for t in one_user)
    last = all_users[-1].result
    users = int(last["users"])
    return {
        "movies": len(data.movies),
        "users": users,
        "plays": len(data.ratings),
        "runs": runs,
        "all_users_seconds_median": round(all_seconds, 2),
        "all_users_seconds_each": [round(t.seconds, 2) for t in all_users],
        "all_users_cpu_seconds_each": [round(t.cpu_seconds, 2) for t in all_users],
        "cpu_ms_per_user_median": round(1000 * report.median(t.cpu_seconds for t in all_users) / users, 2),
        "job_mean_ms_per_user": last["mean_ms_per_user"],
        "one_user_ms_median": round(one_ms, 1),
        "one_user_ms_each": [round(1000 * t.seconds, 1) for t in one_user],
        "one_user_cpu_ms_median": round(1000 * report.median(t.cpu_seconds for t in one_user), 1),
        "one_user_after_play_ms_median": round(1000 * report.median(t.seconds for t in after_play), 1),
        "one_user_after_play_ms_each": [round(1000 * t.seconds, 1) for t in after_play],
        "one_user_after_play_cpu_ms_median": round(
            1000 * report.median(t.cpu_seconds for t in after_play), 1
        ),
        "one_user_cold_ms_median": round(1000 * report.median(t.seconds for t in one_cold), 1),
        "load_average_at_runs": [round(t.load, 1) for t in all_users + one_user + after_play + one_cold],
        "note": "worker runs reuse the run data cached in the worker's resources while the change counters "
        "(sql/120_change_counters.sql) stay the same; after_play = the user played a new movie just before "
        "(their plays read again, the server-wide model kept); cold = first run of a worker; "
        "CPU is this process's (job and scoring thread), PostgreSQL's is not counted",
        "recommendations_stored": int(written),
        "peak_rss_mb": round(report.peak_rss_mb(), 1),
        "targets": {"all_users_seconds": TARGET_ALL_SECONDS, "one_user_ms": TARGET_ONE_MS},
    }


def scale_case(quick: bool) -> dict[str, Any]:
    """bench.recommend_scale in a child process (its peak RSS is its own); its one JSON line."""
    users, items, plays = SCALE
    if quick:
        users, items, plays = str(int(users) // 10), str(int(items) // 10), str(int(plays) // 10)
    done = subprocess.run(
        [sys.executable, "-m", "bench.recommend_scale", "--users", users, "--items", items, "--plays", plays],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _scale_row(scale: dict[str, Any]) -> dict[str, Any]:
    return report.row(
        f"recommendations, scale: {scale['users']:,} users × {scale['items']:,} items, "
        f"{scale['plays']:,} synthetic plays, all users, no database (EASE fit {scale['fit_seconds']} s, "
        f"{scale['ease_form']}; CPU {scale['cpu_seconds']} s, {scale['cpu_ms_per_user']} ms per user; "
        f"load {scale['load_average']})",
        scale["all_users_seconds"],
        "s",
        runs=1,
        peak_rss_mb=scale["peak_rss_mb"],
    )


def rows_of(results: dict[str, Any]) -> list[dict[str, Any]]:
    rss, runs = results["peak_rss_mb"], results["runs"]
    data = f"MovieLens {results['movies']:,} movies, {results['plays']:,} plays"
    return [
        report.row(
            f"recommendations, all {results['users']} users, whole job ({data})",
            results["all_users_seconds_median"],
            "s",
            runs=runs,
            target=f"< {TARGET_ALL_SECONDS:g} s",
            meets_target=results["all_users_seconds_median"] < TARGET_ALL_SECONDS,
            peak_rss_mb=rss,
        ),
        report.row(
            "recommendations, one user, scoped job, warm worker",
            results["one_user_ms_median"],
            "ms",
            runs=len(results["one_user_ms_each"]),
            target=f"< {TARGET_ONE_MS:g} ms",
            meets_target=results["one_user_ms_median"] < TARGET_ONE_MS,
            peak_rss_mb=rss,
        ),
        report.row(
            "recommendations, one user, warm worker, right after a new play of theirs (their plays re-read)",
            results["one_user_after_play_ms_median"],
            "ms",
            runs=runs,
            peak_rss_mb=rss,
        ),
        report.row(
            "recommendations, one user, first run of a worker (cold)",
            results["one_user_cold_ms_median"],
            "ms",
            runs=runs,
            peak_rss_mb=rss,
        ),
    ] + ([_scale_row(results["scale"])] if "scale" in results else [])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one run of each, a tenth of the scale case")
    parser.add_argument("--no-scale", action="store_true", help="skip the scale case")
    args = parser.parse_args(argv)
    runs = 1 if args.quick else args.runs
    with tempfile.TemporaryDirectory(prefix="bench-recommend-") as work:
        results = asyncio.run(bench(runs, Path(work)))
    if not args.no_scale:
        results["scale"] = scale_case(args.quick)
    print(
        f"job mean per user: {results['job_mean_ms_per_user']:.2f} ms; CPU per user "
        f"{results['cpu_ms_per_user_median']:.2f} ms; load {results['load_average_at_runs']}"
    )
    report.print_and_save("recommend", results, rows_of(results))
    return results


if __name__ == "__main__":
    main()
