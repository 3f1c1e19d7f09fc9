"""The global jobs at scale: sync-users for 2,000 users, refresh-top-picks on MovieLens, and a backup
of a demo-sized database with a verified restore into a fresh database.

What is timed: each job run through `run_inline` against a real embedded PostgreSQL and the simulator
over HTTP (Jellyfin dialect). sync-users: 2,000 server users, a first run (all new) and a re-run (no
change). refresh-top-picks: MovieLens (9,066 movies, 671 users, 100,004 ratings as plays, their times
spread over the last 90 days, a rating >= 3 counted finished), the folder written (symlinks) and the
library registered, every user's policy read and set. Backup: the same database plus a 384-dim vector
per movie (the demo's size), `backup-database` (dump + full-read check), then `pg_restore` into a new
database and the row counts compared.

    python -m bench.bench_global [--runs 3] [--quick]   # saves bench/results/global.json

`--quick`: 300 users and the first 20,000 ratings.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import numpy as np
import structlog
from pydantic import SecretStr

from bench import report
from bench.movielens import load_movielens
from bench.scratch import scratch_database
from sidecar.backup import restore_database
from sidecar.composition import build_registry
from sidecar.jobs.executor import run_inline
from sidecar.jobs.resources import JobResources
from sidecar.settings import Settings
from sidecar.simulator import running_simulator

TARGET_SECONDS = 5.0
SPREAD_DAYS = 90
COUNTED_TABLES = ("movies", "media_users", "movie_plays", "movie_embeddings", "job_runs")


async def _movielens(pool: asyncpg.Pool, media: Path, ratings_limit: int | None) -> dict[str, int]:
    lens = load_movielens()
    (media / "movies").mkdir(parents=True, exist_ok=True)
    rows = []
    for m in lens.movies.itertuples():
        path = media / "movies" / f"{m.movie_id}.mkv"
        path.touch()
        year = None if m.year is None or str(m.year) == "<NA>" else int(m.year)
        rows.append(
            (m.movie_id, m.title, year, list(m.genres), f"/media/movies/{m.movie_id}.mkv", f"9{m.movie_id}")
        )
    await pool.executemany(
        """INSERT INTO movies (id, title, year, genres, path, tmdb_id, library_id, community_rating, content_hash)
           VALUES ($1, $2, $3, $4, $5, $6, 'lib-movies', 7.0, 'h')""",
        rows,
    )
    ratings = lens.ratings if ratings_limit is None else lens.ratings.head(ratings_limit)
    users = sorted(set(ratings["user_id"]))
    await pool.executemany(
        "INSERT INTO media_users (id, name, enabled) VALUES ($1, $2, true)",
        [(f"{int(u):032x}", f"viewer{u}") for u in users],
    )
    first, last = int(ratings["timestamp"].min()), int(ratings["timestamp"].max())
    now = dt.datetime.now(dt.UTC)
    plays = [
        (
            f"{int(r.user_id):032x}",
            r.movie_id,
            r.rating >= 3,
            now - dt.timedelta(days=SPREAD_DAYS * (last - r.timestamp) / max(1, last - first)),
            0 if r.rating >= 3 else 1000,
        )
        for r in ratings.itertuples()
    ]
    await pool.copy_records_to_table(
        "movie_plays",
        records=plays,
        columns=["user_id", "movie_id", "played", "last_played_at", "position_ticks"],
    )
    return {"movies": len(rows), "users": len(users), "plays": len(plays)}


async def _vectors(pool: asyncpg.Pool) -> int:
    ids = [r["id"] for r in await pool.fetch("SELECT id FROM movies")]
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((len(ids), 384)).astype(np.float32)
    await pool.copy_records_to_table(
        "movie_embeddings",
        records=[(i, "all-MiniLM-L6-v2", 384, "h", v) for i, v in zip(ids, vectors, strict=True)],
        columns=["movie_id", "model", "dimensions", "content_hash", "embedding"],
    )
    return len(ids)


async def _counts(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in COUNTED_TABLES}
    finally:
        await conn.close()


async def _bench(runs: int, quick: bool) -> dict[str, Any]:
    registry = build_registry()
    async with scratch_database("bench-global-") as (work, url, pool):
        base = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=url,
            data_dir=work / "data",
            library_root=work / "libraries",
            path_mappings={"/media": str(work / "media")},
            log_level="warning",
        )
        n_users = 300 if quick else 2000
        users_cold, users_warm = [], []
        async with running_simulator("jellyfin", seed=None) as sim:
            for n in range(n_users):
                sim.state.add_user(f"user{n:04d}")
            cfg = base.model_copy(
                update={"media_server_url": sim.url, "media_server_api_key": SecretStr(sim.api_key)}
            )
            for _ in range(runs):
                await pool.execute("TRUNCATE media_users CASCADE")
                started = time.perf_counter()
                row = await run_inline(pool, registry, cfg, "sync-users")
                users_cold.append(time.perf_counter() - started)
                assert row["status"] == "completed" and row["result"]["users_added"] == n_users, row["error"]
                started = time.perf_counter()
                row = await run_inline(pool, registry, cfg, "sync-users")
                users_warm.append(time.perf_counter() - started)
                assert row["status"] == "completed" and row["result"]["users_updated"] == 0, row["error"]
        await pool.execute("TRUNCATE media_users CASCADE")

        data = await _movielens(pool, work / "media", 20_000 if quick else None)
        # Statistics, as autovacuum (or housekeeping) would have them on a server that ran for a while:
        # right after a bulk COPY the planner guesses one row per table and nests loops.
        await pool.execute("ANALYZE")
        top = []
        async with running_simulator("jellyfin", seed=None) as sim:
            library = sim.state.add_library("Movies", "movies", ["/media/movies"], item_id="lib-movies")
            assert library.item_id == "lib-movies"
            for uid in [r["id"] for r in await pool.fetch("SELECT id FROM media_users")]:
                sim.state.add_user(f"viewer-{uid[-6:]}", id=uid)
            sim.state.check_real_paths = True
            cfg = base.model_copy(
                update={
                    "media_server_url": sim.url,
                    "media_server_api_key": SecretStr(sim.api_key),
                    "library_server_root": str(work / "libraries"),
                }
            )
            for _ in range(runs):
                started = time.perf_counter()
                row = await run_inline(pool, registry, cfg, "refresh-top-picks")
                top.append(time.perf_counter() - started)
                assert row["status"] == "completed", row["error"]
            top_result = row["result"]["movies"]

        data["vectors"] = await _vectors(pool)
        backup_s, restore_s, sizes = [], [], []
        for n in range(runs):
            started = time.perf_counter()
            row = await run_inline(
                pool, registry, base, "backup-database", resources=JobResources(database_url=url)
            )
            backup_s.append(time.perf_counter() - started)
            assert row["status"] == "completed" and row["result"]["verified"], row["error"]
            sizes.append(row["result"]["size_bytes"])
            name = f"restored_{n}"
            await pool.execute(f'CREATE DATABASE "{name}"')
            copy_url = urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
            started = time.perf_counter()
            await asyncio.to_thread(
                restore_database, copy_url, base.resolved_backup_dir / row["result"]["file"]
            )
            restore_s.append(time.perf_counter() - started)
            original, restored = await _counts(url), await _counts(copy_url)
            assert restored == original, (restored, original)
            await pool.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            await asyncio.sleep(1.05)  # the next backup's file name differs (it carries the second)
        return {
            "benchmark": "global",
            "what": "global jobs via run_inline, embedded PostgreSQL, simulator (Jellyfin) over HTTP",
            "runs": runs,
            "users": n_users,
            "sync_users_cold_seconds_median": round(report.median(users_cold), 3),
            "sync_users_cold_seconds_all": [round(t, 3) for t in users_cold],
            "sync_users_rerun_seconds_median": round(report.median(users_warm), 3),
            "movielens": data,
            "top_picks_seconds_median": round(report.median(top), 3),
            "top_picks_seconds_all": [round(t, 3) for t in top],
            "top_picks_result": top_result,
            "backup_seconds_median": round(report.median(backup_s), 3),
            "backup_size_mb": round(report.median(sizes) / 1_000_000, 1),
            "restore_seconds_median": round(report.median(restore_s), 3),
            "restore_verified": True,
            "load_average_1min_at_end": round(os.getloadavg()[0], 2),
            "peak_rss_mib": round(report.peak_rss_mb(), 1),
        }


def rows_of(results: dict[str, Any]) -> list[dict[str, Any]]:
    rss, runs = results["peak_rss_mib"], results["runs"]
    data = results["movielens"]
    return [
        report.seconds_row(
            f"sync-users, {results['users']:,} users, first run",
            results["sync_users_cold_seconds_median"],
            TARGET_SECONDS,
            runs=runs,
            peak_rss_mb=rss,
        ),
        report.seconds_row(
            f"sync-users, {results['users']:,} users, re-run",
            results["sync_users_rerun_seconds_median"],
            TARGET_SECONDS,
            runs=runs,
            peak_rss_mb=rss,
        ),
        report.seconds_row(
            f"refresh-top-picks, MovieLens ({data['plays']:,} plays, {data['users']} users)",
            results["top_picks_seconds_median"],
            TARGET_SECONDS,
            runs=runs,
            peak_rss_mb=rss,
        ),
        report.row(
            f"backup-database, demo-sized ({data['movies']:,} movies + vectors, {data['plays']:,} plays)",
            results["backup_seconds_median"],
            "s",
            runs=runs,
            peak_rss_mb=rss,
            measured=f"{report.format_figure(results['backup_seconds_median'], 's')}, "
            f"{results['backup_size_mb']} MB, verified",
        ),
        report.row(
            "restore of that backup into a fresh database (row counts equal)",
            results["restore_seconds_median"],
            "s",
            runs=runs,
            target="row counts equal",
            meets_target=results["restore_verified"],
            peak_rss_mb=rss,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="300 users, 20,000 ratings")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))  # warnings and up
    results = asyncio.run(_bench(args.runs, args.quick))
    details = [
        ("sync-users first run, each s", str(results["sync_users_cold_seconds_all"])),
        ("refresh-top-picks, each s", str(results["top_picks_seconds_all"])),
        ("top picks result", str(results["top_picks_result"])),
        ("backup size MB / restore s", f"{results['backup_size_mb']} / {results['restore_seconds_median']}"),
        ("1-min load average at end (2 cores)", str(results["load_average_1min_at_end"])),
    ]
    report.print_details(details)
    report.print_and_save("global", results, rows_of(results))


if __name__ == "__main__":
    main()
