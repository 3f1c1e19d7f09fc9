"""sync-movie-libraries at scale: 100 users x 50 picks, a cold write and a re-run with no changes.

What is timed: the whole job run through `run_inline` (DB reads of users and picks, NFO building,
the filesystem diff and writes, the bookkeeping rows) against a real embedded PostgreSQL and the
media-server simulator over local HTTP, in this process (library creation, policies, scan requests).
Symlink mode, every movie file really exists (checked through a path mapping).

The re-run must write nothing: counted both by the job's own `files_written` and independently by
comparing (inode, mtime) of every path under the library root before and after.

    python -m bench.bench_libraries [--runs 3] [--quick]   # saves bench/results/libraries.json

`--quick`: 20 users instead of 100.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import resource
import time
from pathlib import Path
from typing import Any

import structlog
from pydantic import SecretStr

from bench import report
from bench.scratch import scratch_database, set_aside
from sidecar.composition import build_registry
from sidecar.jobs.executor import run_inline
from sidecar.jobs.resources import JobResources
from sidecar.settings import Settings
from sidecar.simulator import RunningSimulator, running_simulator

SERVER_ROOT = "/srv/ai-picks"
TARGET_SECONDS = 5.0


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            found[os.path.join(dirpath, name)] = (st.st_ino, st.st_mtime_ns)
    return found


async def _seed(pool: Any, media: Path, users: int, picks: int, movies: int) -> list[str]:
    rng = random.Random(42)
    (media / "movies").mkdir(parents=True)
    movie_rows = []
    for i in range(movies):
        name = f"m{i:05d}.mkv"
        (media / "movies" / name).write_bytes(b"")
        movie_rows.append(
            (
                f"m{i:05d}",
                f"Movie number {i}: a title – with ünicode 🎬",
                1950 + i % 70,
                "An overview long enough to look like one. " * 4,
                ["Drama", "Thriller"],
                ["Studio"],
                {"tmdb": str(10_000 + i)},
                str(10_000 + i),
                f"tt{1_000_000 + i}",
                f"/media/movies/{name}",
            )
        )
    await pool.executemany(
        """INSERT INTO movies (id, title, year, overview, genres, studios, provider_ids, tmdb_id, imdb_id,
                               path, community_rating, runtime_ticks, content_hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 7.1, 66000000000, 'h')""",
        movie_rows,
    )
    user_ids = [f"{u:032x}" for u in range(1, users + 1)]
    await pool.executemany(
        "INSERT INTO media_users (id, name, enabled) VALUES ($1, $2, true)",
        [(uid, f"User {n}") for n, uid in enumerate(user_ids)],
    )
    rec_rows = []
    for uid in user_ids:
        for rank, idx in enumerate(rng.sample(range(movies), picks), start=1):
            rec_rows.append((uid, f"m{idx:05d}", rank, 1.0 / rank, "Because you watched something similar."))
    await pool.executemany(
        """INSERT INTO movie_recommendations (user_id, movie_id, rank, score, breakdown, explanation)
           VALUES ($1, $2, $3, $4, '{}', $5)""",
        rec_rows,
    )
    return user_ids


def library_settings(work: Path, database_url: str, media: Path) -> Settings:
    """Libraries under `work/libraries` (seen by the server at SERVER_ROOT), links to `media`."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        data_dir=work / "data",
        library_root=work / "libraries",
        library_server_root=SERVER_ROOT,
        path_mappings={"/media": str(media)},
        log_level="warning",
    )


def _populate(sim: RunningSimulator, user_ids: list[str]) -> None:
    sim.state.host_paths.add(SERVER_ROOT)  # the server host sees the library root
    sim.state.add_library("Movies", "movies", ["/media/movies"])
    for n, uid in enumerate(user_ids):
        sim.state.add_user(f"User {n}", id=uid)


async def _bench(runs: int, users: int, picks: int, movies: int) -> dict[str, Any]:
    async with scratch_database("bench-libraries-") as (work, url, pool):
        media = work / "media"
        user_ids = await _seed(pool, media, users, picks, movies)
        root = work / "libraries"
        settings = library_settings(work, url, media)
        registry = build_registry()
        cold, warm, warm_files, warm_touched, cold_results = [], [], [], [], []
        cold_cpu, warm_cpu, cold_sys = [], [], []
        stack = contextlib.AsyncExitStack()
        for _ in range(runs):
            set_aside(root, work)  # not deleted: see set_aside
            await pool.execute("TRUNCATE user_libraries")
            sim = await stack.enter_async_context(running_simulator("jellyfin", seed=None))
            _populate(sim, user_ids)
            run_settings = settings.model_copy(
                update={"media_server_url": sim.url, "media_server_api_key": SecretStr(sim.api_key)}
            )
            os.sync()  # the seeded files and the set-up's writes are on disk before the clock starts
            sys_before = resource.getrusage(resource.RUSAGE_SELF).ru_stime
            started, cpu = time.perf_counter(), time.process_time()
            row = await run_inline(
                pool, registry, run_settings, "sync-movie-libraries", resources=JobResources()
            )
            cold.append(time.perf_counter() - started)
            cold_sys.append(resource.getrusage(resource.RUSAGE_SELF).ru_stime - sys_before)
            cold_cpu.append(time.process_time() - cpu)
            assert row["status"] == "completed", row["error"]
            cold_results.append(row["result"])
            before = _snapshot(root)
            started, cpu = time.perf_counter(), time.process_time()
            row = await run_inline(
                pool, registry, run_settings, "sync-movie-libraries", resources=JobResources()
            )
            warm.append(time.perf_counter() - started)
            warm_cpu.append(time.process_time() - cpu)
            assert row["status"] == "completed", row["error"]
            after = _snapshot(root)
            warm_files.append(row["result"]["files_written"])
            warm_touched.append(
                sum(1 for p, s in after.items() if before.get(p) != s) + len(before.keys() - after)
            )
        await stack.aclose()
        result = cold_results[-1]
        return {
            "benchmark": "libraries",
            "what": "sync-movie-libraries via run_inline, embedded PostgreSQL, media-server simulator over "
            "local HTTP in the same process, symlink mode",
            "users": users,
            "picks_per_user": picks,
            "movies": movies,
            "runs": runs,
            "cold_seconds_median": round(report.median(cold), 3),
            "cold_seconds_all": [round(t, 3) for t in cold],
            "cold_sidecar_cpu_seconds_median": round(report.median(cold_cpu), 3),
            "cold_sidecar_kernel_cpu_seconds_median": round(report.median(cold_sys), 3),
            "load_average_1min_at_end": round(os.getloadavg()[0], 2),
            "cold_entries_written": result["entries_written"],
            "cold_files_written": result["files_written"],
            "cold_libraries_created": result["libraries_created"],
            "cold_policies_updated": result["policies_updated"],
            "rerun_seconds_median": round(report.median(warm), 3),
            "rerun_seconds_all": [round(t, 3) for t in warm],
            "rerun_sidecar_cpu_seconds_median": round(report.median(warm_cpu), 3),
            "rerun_files_written": max(warm_files),
            "rerun_paths_touched": max(warm_touched),
            "target_seconds": TARGET_SECONDS,
            "meets_target": report.median(cold) < TARGET_SECONDS and max(warm_files) == 0,
            "peak_rss_mib": round(report.peak_rss_mb(), 1),
        }


def rows_of(results: dict[str, Any]) -> list[dict[str, Any]]:
    size = f"{results['users']} users x {results['picks_per_user']} picks"
    rss, runs = results["peak_rss_mib"], results["runs"]
    unchanged = results["rerun_files_written"] == 0 and results["rerun_paths_touched"] == 0
    return [
        report.seconds_row(
            f"libraries {size}, cold write (symlinks + NFO)",
            results["cold_seconds_median"],
            TARGET_SECONDS,
            runs=runs,
            peak_rss_mb=rss,
        ),
        report.row(
            f"libraries {size}, re-run with no changes",
            results["rerun_seconds_median"],
            "s",
            runs=runs,
            target="0 files written",
            meets_target=unchanged,
            peak_rss_mb=rss,
            measured=f"{report.format_figure(results['rerun_seconds_median'], 's')}, "
            f"{results['rerun_files_written']} written",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--users", type=int, default=None, help="default 100 (20 with --quick)")
    parser.add_argument("--picks", type=int, default=50)
    parser.add_argument("--movies", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="20 users instead of 100")
    args = parser.parse_args()
    users = args.users or (20 if args.quick else 100)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))  # warnings and up
    results = asyncio.run(_bench(args.runs, users, args.picks, args.movies))
    details = [
        ("cold write, each run s", str(results["cold_seconds_all"])),
        (
            "cold sidecar CPU s (user+sys / sys), median",
            f"{results['cold_sidecar_cpu_seconds_median']} / {results['cold_sidecar_kernel_cpu_seconds_median']}",
        ),
        (
            "cold entries / files written",
            f"{results['cold_entries_written']} / {results['cold_files_written']}",
        ),
        (
            "libraries created / policies",
            f"{results['cold_libraries_created']} / {results['cold_policies_updated']}",
        ),
        ("re-run, each run s", str(results["rerun_seconds_all"])),
        ("re-run sidecar CPU s, median", str(results["rerun_sidecar_cpu_seconds_median"])),
        ("re-run paths touched (inode/mtime)", str(results["rerun_paths_touched"])),
        ("1-min load average at end (2 cores)", str(results["load_average_1min_at_end"])),
    ]
    report.print_details(details)
    report.print_and_save("libraries", results, rows_of(results))


if __name__ == "__main__":
    main()
