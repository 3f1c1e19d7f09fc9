"""Series job benchmarks: `python -m bench.bench_series [--runs 3] [--quick]`.

Real job runs through the executor (`run_inline`, in this process) against an embedded PostgreSQL,
with the media-server simulator in its own process (`--seed movielens --tv full`: 1,500 shows,
60,283 real episodes, the generated TV history of the 671 MovieLens users; see
sidecar/simulator/tv_seed.py) so it does not share this event loop:

* sync-series into empty tables                                       target < 15 s, < 300 MB
* sync-series again, nothing changed
* series watch history, all 671 users, first run (empty plays)         target < 15 s
* the same again (incremental from the watermarks)
* generate-series-recommendations for every user                       target < 15 s
  (set-up, untimed: the movie jobs and both kinds' embeddings through the fake OpenAI server, so
  users without series plays get their movie-taste cold start as in production)
* sync-series-libraries, 100 users x 20 shows of 5 episodes (10,000 episode entries) in a second
  scratch database with generated rows, cold and again               target < 10 s, re-run 0 files

Each case reports the median wall time over `--runs`, the sidecar's CPU time (this process) and the
CPU time the simulator and PostgreSQL spent in the same window: on the shared 2-core machine the
wall time depends on the load average, the CPU times much less. Saves bench/results/series.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import psutil
import structlog
from pydantic import SecretStr

from bench import report
from bench.bench_libraries import SERVER_ROOT, _snapshot, library_settings
from bench.bench_sync import Simulator, timed
from bench.scratch import scratch_database, set_aside
from sidecar.composition import build_registry
from sidecar.jobs.executor import run_inline
from sidecar.jobs.resources import JobResources
from sidecar.settings import Settings
from sidecar.simulator import RunningSimulator, running_simulator
from sidecar.simulator.openai_server import OpenAIEmbeddingsSimulator, serve

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"sync": 15.0, "history": 15.0, "recommend": 15.0, "libraries": 10.0}
RSS_TARGET_MB = 300.0
LIBRARY_USERS, LIBRARY_SHOWS, LIBRARY_EPISODES = 100, 20, 5
SETUP_JOBS = ("sync-movies", "sync-movie-watch-history", "generate-movie-embeddings")

CASES = {
    "sync_first": "sync-series, 1,500 shows / 60,283 episodes, empty tables",
    "sync_again": "sync-series again, nothing changed",
    "history_first": "series watch history, all 671 users, first run",
    "history_again": "series watch history, all 671 users, regular again",
    "recommend": "generate-series-recommendations, every user",
}
CASE_TARGETS = {"sync_first": "sync", "history_first": "history", "recommend": "recommend"}


def _cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def _postgres_processes(data_dir: Path) -> list[psutil.Process]:
    """The postmaster of this scratch database (its -D names `data_dir`) and its backends, which live
    as long as the pool's connections."""
    wanted = str(data_dir)
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if process.info["name"] == "postgres" and any(wanted in arg for arg in cmdline):
            return [process, *process.children(recursive=True)]
    return []


@dataclass
class CpuWatch:
    """CPU seconds of the sidecar (this process), the simulator and PostgreSQL over one timed run."""

    simulator: psutil.Process | None
    database_dir: Path

    @contextlib.contextmanager
    def measure(self, into: dict[str, list[float]]) -> Iterator[None]:
        others = {"simulator": [self.simulator] if self.simulator else [], "postgres": []}
        others["postgres"] = _postgres_processes(self.database_dir)
        before = {name: _cpu_seconds(p) for name, p in others.items()}
        sidecar = time.process_time()
        yield
        into.setdefault("sidecar_cpu_s", []).append(time.process_time() - sidecar)
        for name, processes in others.items():
            into.setdefault(f"{name}_cpu_s", []).append(_cpu_seconds(processes) - before[name])


async def _timed(
    runs: int,
    prepare: Callable[[], Awaitable[None]],
    run: Callable[[], Awaitable[asyncpg.Record]],
    cpu: CpuWatch,
) -> dict[str, Any]:
    figures = await timed(runs, prepare, run, cpu)
    figures["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return figures


def _progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def _pipeline_cases(runs: int) -> dict[str, Any]:
    """sync, watch history and recommendations on the generated TV data set."""
    scenarios: dict[str, Any] = {}
    registry = build_registry()
    async with (
        scratch_database("bench-series-") as (work, url, pool),
        serve(OpenAIEmbeddingsSimulator()) as openai_url,
    ):
        _progress("starting the simulator with the full TV catalogue")
        sim = Simulator("jellyfin", "movielens", "--tv", "full")
        try:
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                database_url=url,
                data_dir=work / "data",
                media_server_url=sim.url,
                media_server_api_key=SecretStr(sim.api_key),
                embedding_provider="openai",
                openai_base_url=openai_url,
                embedding_dimensions=384,
                log_level="warning",
            )
            cpu = CpuWatch(psutil.Process(sim.process.pid), work / "pg")

            def job(name: str) -> Callable[[], Awaitable[asyncpg.Record]]:
                return lambda: run_inline(pool, registry, settings, name, resources=JobResources())

            async def nothing() -> None:
                return None

            async def empty_series() -> None:
                await pool.execute("TRUNCATE series, episodes CASCADE")

            async def empty_history() -> None:
                await pool.execute("TRUNCATE episode_plays, series_user_state")
                await pool.execute("DELETE FROM watch_history_watermarks WHERE kind = 'series'")

            _progress("sync-series")
            scenarios["sync_first"] = await _timed(runs, empty_series, job("sync-series"), cpu)
            scenarios["sync_again"] = await _timed(runs, nothing, job("sync-series"), cpu)
            _progress("series watch history")
            history = job("sync-series-watch-history")
            scenarios["history_first"] = await _timed(runs, empty_history, history, cpu)
            scenarios["history_again"] = await _timed(runs, nothing, history, cpu)
            setup: dict[str, float] = {}
            for name in (*SETUP_JOBS, "generate-series-embeddings"):
                _progress(f"set-up: {name}")
                began = time.perf_counter()
                row = await job(name)()
                if row["status"] != "completed":
                    raise RuntimeError(f"set-up {name} failed: {row['error']}")
                setup[name] = round(time.perf_counter() - began, 2)
            _progress("generate-series-recommendations")
            recommend = job("generate-series-recommendations")
            scenarios["recommend"] = await _timed(runs, nothing, recommend, cpu)
            scenarios["recommend"]["setup_seconds"] = setup
        finally:
            sim.stop()
    return scenarios


async def _seed_library_rows(pool: asyncpg.Pool, media: Path, users: int) -> None:
    """Shows of 5 episodes (files that exist) and 20 picks per user, drawn from 400 shows."""
    rng = random.Random(16)
    shows = 400
    series_rows, episode_rows = [], []
    for s in range(shows):
        series_id = f"s{s:04d}"
        title = f"Show number {s}: a title – with ünicode 📺"
        series_rows.append((series_id, title, 1990 + s % 30, "An overview of the show. " * 4,
                            str(90_000 + s), f"tt{2_000_000 + s}", str(300_000 + s)))  # fmt: skip
        for e in range(1, LIBRARY_EPISODES + 1):
            name = f"{series_id}e{e:02d}.mkv"
            (media / "shows" / series_id).mkdir(parents=True, exist_ok=True)
            (media / "shows" / series_id / name).write_bytes(b"")
            episode_rows.append((f"{series_id}e{e:02d}", series_id, 1, e, f"Episode {e}",
                                 f"/media/shows/{series_id}/{name}", str(5_000_000 + s * 100 + e)))  # fmt: skip
    await pool.executemany(
        """INSERT INTO series (id, title, year, overview, genres, tmdb_id, imdb_id, tvdb_id, status,
                               content_hash, sync_hash)
           VALUES ($1, $2, $3, $4, '{Drama}', $5, $6, $7, 'Ended', 'h', 'h')""",
        series_rows,
    )
    await pool.executemany(
        """INSERT INTO episodes (id, series_id, season_number, episode_number, title, path, tmdb_id,
                                 premiere_date, runtime_ticks, content_hash, sync_hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, DATE '2020-01-01', 27000000000, 'h', 'h')""",
        episode_rows,
    )
    user_ids = [f"{u:032x}" for u in range(1, users + 1)]
    await pool.executemany(
        "INSERT INTO media_users (id, name, enabled) VALUES ($1, $2, true)",
        [(uid, f"User {n}") for n, uid in enumerate(user_ids)],
    )
    picks = [
        (uid, f"s{idx:04d}", rank, 1.0 / rank, "Because you watched something similar.")
        for uid in user_ids
        for rank, idx in enumerate(rng.sample(range(shows), LIBRARY_SHOWS), start=1)
    ]
    await pool.executemany(
        """INSERT INTO series_recommendations (user_id, series_id, rank, score, breakdown, explanation)
           VALUES ($1, $2, $3, $4, '{}', $5)""",
        picks,
    )


def _populate(sim: RunningSimulator, users: int) -> None:
    sim.state.host_paths.add(SERVER_ROOT)
    sim.state.add_library("Shows", "tvshows", ["/media/shows"])
    for n in range(users):
        sim.state.add_user(f"User {n}", id=f"{n + 1:032x}")


async def _library_case(runs: int, users: int) -> dict[str, Any]:
    """sync-series-libraries cold, then again with nothing changed (0 files written)."""
    registry = build_registry()
    cold: list[float] = []
    warm: list[float] = []
    cold_cpu: list[float] = []
    warm_cpu: list[float] = []
    warm_files: list[int] = []
    touched: list[int] = []
    result: dict[str, Any] = {}
    async with scratch_database("bench-series-libraries-") as (work, url, pool):
        media = work / "media"
        await _seed_library_rows(pool, media, users)
        root = work / "libraries"
        settings = library_settings(work, url, media)
        for _ in range(runs):
            set_aside(root, work)  # not deleted: see set_aside
            await pool.execute("TRUNCATE user_libraries")
            async with running_simulator("jellyfin", seed=None) as sim:
                _populate(sim, users)
                run_settings = settings.model_copy(
                    update={"media_server_url": sim.url, "media_server_api_key": SecretStr(sim.api_key)}
                )
                os.sync()

                async def libraries(run_settings: Settings = run_settings) -> asyncpg.Record:
                    return await run_inline(
                        pool, registry, run_settings, "sync-series-libraries", resources=JobResources()
                    )

                started, cpu = time.perf_counter(), time.process_time()
                row = await libraries()
                cold.append(time.perf_counter() - started)
                cold_cpu.append(time.process_time() - cpu)
                assert row["status"] == "completed", row["error"]
                result = dict(row["result"])
                before = _snapshot(root)
                started, cpu = time.perf_counter(), time.process_time()
                row = await libraries()
                warm.append(time.perf_counter() - started)
                warm_cpu.append(time.process_time() - cpu)
                assert row["status"] == "completed", row["error"]
                after = _snapshot(root)
                warm_files.append(row["result"]["files_written"])
                touched.append(
                    sum(1 for p, s in after.items() if before.get(p) != s) + len(before.keys() - after)
                )
    return {
        "users": users,
        "shows_per_user": LIBRARY_SHOWS,
        "episodes_per_show": LIBRARY_EPISODES,
        "cold_median_s": round(report.median(cold), 3),
        "cold_runs_s": [round(s, 3) for s in cold],
        "cold_sidecar_cpu_s_median": round(report.median(cold_cpu), 2),
        "cold_result": result,
        "rerun_median_s": round(report.median(warm), 3),
        "rerun_runs_s": [round(s, 3) for s in warm],
        "rerun_sidecar_cpu_s_median": round(report.median(warm_cpu), 2),
        "rerun_files_written": max(warm_files),
        "rerun_paths_touched": max(touched),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "peak_rss_mb": round(report.peak_rss_mb(), 1),
    }


def _cpu_note(figures: dict[str, Any]) -> str:
    parts = [
        f"{label} {figures[key]:.1f}"
        for label, key in (
            ("sidecar", "sidecar_cpu_s_median"),
            ("simulator", "simulator_cpu_s_median"),
            ("PostgreSQL", "postgres_cpu_s_median"),
        )
        if key in figures
    ]
    return f" (CPU s: {', '.join(parts)})" if parts else ""


def rows_of(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, figures in results.get("scenarios", {}).items():
        target_key = CASE_TARGETS.get(name)
        limit = TARGETS[target_key] if target_key else None
        meets = None
        target = ""
        if limit is not None:
            meets = figures["median_s"] < limit
            target = f"< {limit:g} s"
            if name == "sync_first":
                meets = meets and figures["peak_rss_mb"] < RSS_TARGET_MB
                target += f", < {RSS_TARGET_MB:g} MB"
        rows.append(
            report.row(
                CASES[name],
                figures["median_s"],
                "s",
                runs=len(figures["runs_s"]),
                target=target,
                meets_target=meets,
                peak_rss_mb=figures["peak_rss_mb"],
                measured=report.format_figure(figures["median_s"], "s") + _cpu_note(figures),
            )
        )
    libraries = results.get("libraries")
    if libraries:
        size = f"{libraries['users']} users x {libraries['shows_per_user']} shows x {libraries['episodes_per_show']} episodes"
        runs = len(libraries["cold_runs_s"])
        rows.append(
            report.seconds_row(
                f"sync-series-libraries, {size}, cold",
                libraries["cold_median_s"],
                TARGETS["libraries"],
                runs=runs,
                peak_rss_mb=libraries["peak_rss_mb"],
            )
        )
        unchanged = libraries["rerun_files_written"] == 0 and libraries["rerun_paths_touched"] == 0
        rows.append(
            report.row(
                f"sync-series-libraries, {size}, re-run with no changes",
                libraries["rerun_median_s"],
                "s",
                runs=runs,
                target="0 files written",
                meets_target=unchanged,
                peak_rss_mb=libraries["peak_rss_mb"],
                measured=f"{report.format_figure(libraries['rerun_median_s'], 's')}, "
                f"{libraries['rerun_files_written']} written",
            )
        )
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="20 library users; one run of the rest")
    parser.add_argument("--only", choices=["pipeline", "libraries"], help="one half of the cases")
    args = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))  # warnings and up
    results: dict[str, Any] = {
        "benchmark": "series",
        "runs": args.runs,
        "load_average_at_start": os.getloadavg(),
    }
    if args.only != "libraries":
        results["scenarios"] = asyncio.run(_pipeline_cases(1 if args.quick else args.runs))
    if args.only != "pipeline":
        results["libraries"] = asyncio.run(_library_case(args.runs, 20 if args.quick else LIBRARY_USERS))
    report.print_and_save("series", results, rows_of(results))
    return results


if __name__ == "__main__":
    main()
