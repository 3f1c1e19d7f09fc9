"""Sync benchmarks: `python -m bench.bench_sync [--runs 3] [--quick]`.

Scenarios (each a real job run through the executor, against an embedded PostgreSQL, with the
simulator in its own process so it does not share an event loop with the sidecar):

* MovieLens full sync (9,066 movies) into an empty table            target < 5 s
* 60,000 synthetic movies, full sync into an empty table             target < 30 s (+ peak RSS)
* watch history for all 671 MovieLens users, regular, first run      target < 10 s
* the same, regular again (incremental from the watermarks)

Medians over `--runs` runs; a table on stdout and bench/results/sync.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

import asyncpg
import psutil
from pydantic import SecretStr

from bench import report
from sidecar.composition import build_registry
from sidecar.db import create_pool, migrate
from sidecar.embedded import start_postgres
from sidecar.jobs.executor import run_inline
from sidecar.settings import Settings

TARGETS_S = {
    "movielens_full_sync": 5,
    "watch_history_671_users_regular_first": 10,
    "watch_history_671_users_regular_again": 10,
    "synthetic_full_sync": 30,
}
CASE_NAMES = {
    "movielens_full_sync": "sync-movies full, MovieLens 9,066 movies, empty table",
    "movielens_resync_unchanged": "sync-movies again, MovieLens 9,066 unchanged",
    "watch_history_671_users_regular_first": "watch history, all 671 users, first run (100,004 plays)",
    "watch_history_671_users_regular_again": "watch history, all 671 users, regular again",
}


class Simulator:
    """The simulator in a child process (`python -m sidecar.simulator`)."""

    def __init__(self, kind: str, seed: str, *options: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sidecar.simulator", "--kind", kind, "--seed", seed, *options],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().split()
        if not line or line[0] != "READY":
            self.process.kill()
            raise RuntimeError("the simulator did not start")
        self.url, self.api_key = line[1], line[2]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


class PeakRss:
    """Samples this process's RSS every 20 ms while a scenario runs."""

    def __init__(self) -> None:
        self.peak = 0
        self._proc = psutil.Process()
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, self._proc.memory_info().rss)
            await asyncio.sleep(0.02)

    def __enter__(self) -> PeakRss:
        self.peak = self._proc.memory_info().rss
        self._task = asyncio.get_running_loop().create_task(self._sample())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


class CpuMeasure(Protocol):
    def measure(self, into: dict[str, list[float]]) -> contextlib.AbstractContextManager[None]: ...


async def timed(
    runs: int,
    prepare: Callable[[], Awaitable[None]],
    run: Callable[[], Awaitable[asyncpg.Record]],
    cpu: CpuMeasure | None = None,
) -> dict[str, Any]:
    """Median wall time and peak RSS of `runs` job runs (each after `prepare`); with `cpu`, also the
    median of each CPU time it measures (`<name>_median`)."""
    seconds, peaks, result = [], [], None
    cpu_times: dict[str, list[float]] = {}
    for _ in range(runs):
        await prepare()
        with PeakRss() as rss, cpu.measure(cpu_times) if cpu else contextlib.nullcontext():
            started = time.perf_counter()
            row = await run()
            seconds.append(time.perf_counter() - started)
        peaks.append(rss.peak)
        if row["status"] != "completed":
            raise RuntimeError(f"run {row['job']} ended {row['status']}: {row['error']}")
        result = row["result"]
    figures = {
        "median_s": round(report.median(seconds), 3),
        "runs_s": [round(s, 3) for s in seconds],
        "peak_rss_mb": round(max(peaks) / 2**20, 1),
        "result": result,
    }
    for name, values in cpu_times.items():
        figures[f"{name}_median"] = round(report.median(values), 2)
    return figures


async def main(runs: int, quick: bool) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    database_url, pg = start_postgres(data_dir)
    await migrate(database_url)
    db = await create_pool(database_url, max_size=10)
    registry = build_registry()
    scenarios: dict[str, Any] = {}

    def settings_for(sim: Simulator) -> Settings:
        return Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=database_url,
            data_dir=data_dir,
            media_server_url=sim.url,
            media_server_api_key=SecretStr(sim.api_key),
        )

    async def truncate() -> None:
        await db.execute("TRUNCATE movie_plays, media_users, movies CASCADE")

    try:
        lens = Simulator("jellyfin", "movielens")
        try:
            settings = settings_for(lens)

            async def sync() -> asyncpg.Record:
                return await run_inline(db, registry, settings, "sync-movies")

            scenarios["movielens_full_sync"] = await timed(runs, truncate, sync)

            async def unchanged() -> None:
                return None

            scenarios["movielens_resync_unchanged"] = await timed(runs, unchanged, sync)

            async def history() -> asyncpg.Record:
                return await run_inline(db, registry, settings, "sync-movie-watch-history")

            async def reset_history() -> None:
                await db.execute("TRUNCATE movie_plays, media_users CASCADE")

            scenarios["watch_history_671_users_regular_first"] = await timed(runs, reset_history, history)
            scenarios["watch_history_671_users_regular_again"] = await timed(runs, unchanged, history)
        finally:
            lens.stop()

        synthetic_count = 10_000 if quick else 60_000
        big = Simulator("emby", str(synthetic_count))
        try:
            settings = settings_for(big)

            async def big_sync() -> asyncpg.Record:
                return await run_inline(db, registry, settings, "sync-movies")

            key = f"synthetic_{synthetic_count}_full_sync"
            scenarios[key] = await timed(runs, truncate, big_sync)
        finally:
            big.stop()
    finally:
        await db.close()
        pg.cleanup()
    for name, figures in scenarios.items():
        target = TARGETS_S.get("synthetic_full_sync" if name.startswith("synthetic_") else name)
        if target is not None:
            figures["target_s"] = target
    return {"benchmark": "sync", "runs": runs, "scenarios": scenarios}


def rows_of(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, figures in results["scenarios"].items():
        if name.startswith("synthetic_"):
            count = int(name.split("_")[1])
            case = f"sync-movies full, {count:,} synthetic movies (Emby), empty table"
        else:
            case = CASE_NAMES[name]
        target = figures.get("target_s")
        rows.append(
            report.row(
                case,
                figures["median_s"],
                "s",
                runs=len(figures["runs_s"]),
                target="" if target is None else f"< {target} s",
                meets_target=None if target is None else figures["median_s"] < target,
                peak_rss_mb=figures["peak_rss_mb"],
            )
        )
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="10,000 synthetic movies instead of 60,000")
    args = parser.parse_args()
    results = asyncio.run(main(args.runs, args.quick))
    report.print_and_save("sync", results, rows_of(results))
