"""Job-API latency under polling load: many dashboards polling while a real job runs.

    python -m bench.bench_api [--runs 3] [--quick] [--dashboards 50]

Processes, all on this machine: embedded PostgreSQL and Valkey; the production web app
(`sidecar.composition.web_app`, API key required) in one child process; a real ARQ worker
(`sidecar.composition.worker`) in another, kept busy with `sync-movie-watch-history` (variant full,
all 671 MovieLens users) against the media-server simulator in a third, so a run is always writing
progress and log lines while it is polled; this process is the load generator.

History before the first poll: 3,000 finished runs over the six jobs, 10 log lines each (30,000
lines), about what months of webhooks and schedules leave behind.

Each run has two phases:
* dashboards: `--dashboards` dashboards, each one fetching GET /api/jobs and GET /api/queue together
  (as the Jobs page, sidecar/static/app.js, does), then GET /api/runs/{id} and
  GET /api/runs/{id}/logs?after=<cursor> of the running run together (a log-follow view), then
  waiting 2 s (the page's POLL_MS) before the next poll. Staggered over the first 2 s; about 100
  requests/s at 50 dashboards. Latency is per request, from send to last byte.
* saturated: 32 clients issuing the same four requests back to back: the most the API serves while
  the job runs. Not held against the target.

Target: p99 < 100 ms for every endpoint with 50 dashboards polling (well under a poll interval and
the ~100 ms at which an update stops feeling immediate), no errors.
Results: bench/results/api.json (medians over runs; peak RSS of the web process).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import multiprocessing
import random
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import structlog
from pydantic import SecretStr

from bench import report
from bench.bench_sync import Simulator

API_KEY = "bench-api-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
POLL_SECONDS = 2.0
TARGET_P99_MS = 100.0
SATURATING_CLIENTS = 32
HISTORY_RUNS = 3_000
LOGS_PER_RUN = 10
BUSY_JOB = "sync-movie-watch-history"
ENDPOINTS = ("GET /api/jobs", "GET /api/queue", "GET /api/runs/{id}", "GET /api/runs/{id}/logs?after=")

INSERT_RUN = """
INSERT INTO job_runs (id, job, variant, trigger, status, queued_at, started_at, finished_at, current_step,
                      items_processed, items_total, items_failed, result, error)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
"""
INSERT_LOG = "INSERT INTO job_run_logs (run_id, ts, level, message, data) VALUES ($1, $2, $3, $4, $5)"


# --- the service, in child processes -----------------------------------------------------------------
def _settings(database_url: str, redis_url: str, data_dir: str, sim: tuple[str, str] | None = None) -> Any:
    from sidecar.settings import Settings

    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        redis_url=redis_url,
        data_dir=Path(data_dir),
        api_key=SecretStr(API_KEY),
        log_level="warning",
        log_format="json",
        media_server_url=sim[0] if sim else None,
        media_server_api_key=SecretStr(sim[1]) if sim else None,
    )


def _serve_web(database_url: str, redis_url: str, data_dir: str, ready: Any) -> None:
    asyncio.run(_serve_web_async(database_url, redis_url, data_dir, ready))


async def _serve_web_async(database_url: str, redis_url: str, data_dir: str, ready: Any) -> None:
    from aiohttp import web

    from sidecar.composition import web_app
    from sidecar.logs import configure_logging

    settings = _settings(database_url, redis_url, data_dir)
    configure_logging(settings)
    app = web_app(settings, database_url=database_url, redis_url=redis_url)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    ready.send(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
    await asyncio.Event().wait()  # until terminated


def _work(database_url: str, redis_url: str, data_dir: str, sim: tuple[str, str]) -> None:
    asyncio.run(_work_async(database_url, redis_url, data_dir, sim))


async def _work_async(database_url: str, redis_url: str, data_dir: str, sim: tuple[str, str]) -> None:
    from sidecar import composition
    from sidecar.logs import configure_logging

    settings = _settings(database_url, redis_url, data_dir, sim)
    configure_logging(settings)
    worker = composition.worker(
        settings, database_url=database_url, redis_url=redis_url, handle_signals=False
    )
    await worker.async_run()


# --- history -------------------------------------------------------------------------------------------
async def seed_history(database_url: str, runs: int, logs_per_run: int) -> None:
    """Finished runs of every job over the last weeks, each with its log lines."""
    from sidecar.composition import build_registry
    from sidecar.db import create_pool

    jobs = [d.name for d in build_registry()]
    rng = random.Random(7)
    now = dt.datetime.now(dt.UTC)
    run_rows, log_rows = [], []
    for n in range(runs):
        run_id = uuid.uuid4()
        queued = now - dt.timedelta(minutes=15 * (runs - n) + 5)
        started = queued + dt.timedelta(seconds=rng.uniform(0, 30))
        finished = started + dt.timedelta(seconds=rng.uniform(1, 600))
        status = rng.choices(("completed", "failed", "cancelled"), weights=(90, 7, 3))[0]
        total = rng.randint(1, 9_000)
        run_rows.append(
            (
                run_id,
                jobs[n % len(jobs)],
                "regular",
                rng.choice(("schedule", "webhook", "manual", "pipeline")),
                status,
                queued,
                started,
                finished,
                "Done",
                total,
                total,
                rng.randint(0, 3),
                {"processed": total, "added": rng.randint(0, 50), "updated": rng.randint(0, 200)},
                "the media server answered 503; check that it is running" if status == "failed" else None,
            )
        )
        for line in range(logs_per_run):
            log_rows.append(
                (
                    run_id,
                    started + dt.timedelta(seconds=line),
                    "warning" if line == logs_per_run - 1 and status != "completed" else "info",
                    f"step {line + 1} of {logs_per_run}: processed a page of items",
                    {"page": line + 1, "items": 500},
                )
            )
    pool = await create_pool(database_url, max_size=2)
    try:
        async with pool.acquire() as conn, conn.transaction():
            await conn.executemany(INSERT_RUN, run_rows)
            await conn.executemany(INSERT_LOG, log_rows)
        await pool.execute("ANALYZE job_runs, job_run_logs")
    finally:
        await pool.close()


# --- load generation -----------------------------------------------------------------------------------
@dataclass
class Samples:
    """What one phase saw: latencies per endpoint (ms), failures, and signs the job was live."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {e: [] for e in ENDPOINTS})
    errors: int = 0
    polls: int = 0
    polls_with_running_run: int = 0
    progress_seen: set[tuple[str, int]] = field(default_factory=set)
    runs_seen: set[str] = field(default_factory=set)

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())


@dataclass
class Dashboard:
    run_id: str | None = None
    after: int = 0


async def _get(session: aiohttp.ClientSession, url: str, endpoint: str, samples: Samples) -> Any:
    started = time.perf_counter()
    async with session.get(url, headers=AUTH) as response:
        body = await response.json() if response.status == 200 else await response.read()
        ok = response.status == 200
    samples.latencies[endpoint].append((time.perf_counter() - started) * 1000)
    if not ok:
        samples.errors += 1
        return None
    return body


async def poll_once(session: aiohttp.ClientSession, base: str, board: Dashboard, samples: Samples) -> None:
    """One refresh: the cards and the queue together, then the running run and its new log lines."""
    _, queue = await asyncio.gather(
        _get(session, f"{base}/api/jobs", ENDPOINTS[0], samples),
        _get(session, f"{base}/api/queue", ENDPOINTS[1], samples),
    )
    samples.polls += 1
    running = queue.get("running") if queue else None
    if not running:
        return
    samples.polls_with_running_run += 1
    if running["id"] != board.run_id:
        board.run_id, board.after = running["id"], 0
    run, logs = await asyncio.gather(
        _get(session, f"{base}/api/runs/{board.run_id}", ENDPOINTS[2], samples),
        _get(session, f"{base}/api/runs/{board.run_id}/logs?after={board.after}", ENDPOINTS[3], samples),
    )
    if logs:
        board.after = logs["next_after"]
    if run:
        samples.runs_seen.add(run["id"])
        samples.progress_seen.add((run["id"], run["progress"]["items_processed"]))


async def dashboards(base: str, count: int, seconds: float) -> tuple[Samples, float]:
    """`count` dashboards, each its own client (as browsers are), polling every POLL_SECONDS."""
    samples = Samples()
    began = time.perf_counter()
    end = began + seconds

    async def one(index: int) -> None:
        connector = aiohttp.TCPConnector(limit=6)  # a browser's connections per host
        async with aiohttp.ClientSession(connector=connector) as session:
            await asyncio.sleep(index * POLL_SECONDS / count)
            board = Dashboard()
            while time.perf_counter() < end:
                await poll_once(session, base, board, samples)
                await asyncio.sleep(POLL_SECONDS)

    await asyncio.gather(*(one(i) for i in range(count)))
    return samples, time.perf_counter() - began


async def saturate(base: str, clients: int, seconds: float) -> tuple[Samples, float]:
    """`clients` loops polling back to back, no pause."""
    samples = Samples()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=2 * clients)) as session:
        began = time.perf_counter()
        end = began + seconds

        async def one() -> None:
            board = Dashboard()
            while time.perf_counter() < end:
                await poll_once(session, base, board, samples)

        await asyncio.gather(*(one() for _ in range(clients)))
        return samples, time.perf_counter() - began


async def keep_busy(session: aiohttp.ClientSession, base: str, stop: asyncio.Event) -> None:
    """Always one run of the busy job running and one queued behind it (a POST joins a queued run)."""
    while not stop.is_set():
        async with session.post(
            f"{base}/api/jobs/{BUSY_JOB}/runs", json={"variant": "full"}, headers=AUTH
        ) as response:
            await response.read()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def run_to_completion(
    session: aiohttp.ClientSession, base: str, job: str, limit_seconds: float
) -> dict[str, Any]:
    async with session.post(f"{base}/api/jobs/{job}/runs", headers=AUTH) as response:
        run = (await response.json())["run"]
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        async with session.get(f"{base}/api/runs/{run['id']}", headers=AUTH) as response:
            run = await response.json()
        if run["status"] in ("completed", "failed", "cancelled"):
            if run["status"] != "completed":
                raise RuntimeError(f"{job} ended {run['status']}: {run['error']}")
            return run
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{job} did not finish within {limit_seconds:.0f} s")


def _phase_summary(samples: Samples, wall: float) -> dict[str, Any]:
    return {
        "requests": samples.requests,
        "requests_per_second": round(samples.requests / wall, 1),
        "errors": samples.errors,
        "polls": samples.polls,
        "polls_with_running_run": samples.polls_with_running_run,
        "running_runs_seen": len(samples.runs_seen),
        "progress_values_seen": len(samples.progress_seen),
        "latency_ms": {
            endpoint: {
                "count": len(values),
                "p50": round(report.percentile(values, 0.50), 2),
                "p99": round(report.percentile(values, 0.99), 2),
                "max": round(max(values), 2),
            }
            for endpoint, values in samples.latencies.items()
            if values
        },
    }


async def measure(
    base: str, runs: int, count: int, paced_seconds: float, saturated_seconds: float
) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session:
        synced = await run_to_completion(session, base, "sync-movies", limit_seconds=120)
        stop = asyncio.Event()
        busy = asyncio.create_task(keep_busy(session, base, stop))
        try:
            await asyncio.sleep(1.0)  # the first busy run starts
            await saturate(base, 8, 2.0)  # warm-up: connections, plans, caches
            measured = []
            for _ in range(runs):
                paced = _phase_summary(*await dashboards(base, count, paced_seconds))
                saturated = _phase_summary(*await saturate(base, SATURATING_CLIENTS, saturated_seconds))
                measured.append({"dashboards": paced, "saturated": saturated})
        finally:
            stop.set()
            await busy
    return {"movies_synced": synced["result"], "runs": measured}


# --- orchestration -------------------------------------------------------------------------------------
def bench(runs: int, count: int, paced_seconds: float, saturated_seconds: float) -> dict[str, Any]:
    from sidecar.db import migrate
    from sidecar.embedded import start_postgres, start_valkey

    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        data_dir = Path(tmp)
        database_url, pg = start_postgres(data_dir)
        redis_url, valkey = start_valkey(data_dir)
        processes: list[multiprocessing.process.BaseProcess] = []
        sim = None
        try:
            asyncio.run(migrate(database_url))
            asyncio.run(seed_history(database_url, HISTORY_RUNS, LOGS_PER_RUN))
            sim = Simulator("jellyfin", "movielens")
            context = multiprocessing.get_context("spawn")
            ours, theirs = context.Pipe()
            web = context.Process(target=_serve_web, args=(database_url, redis_url, tmp, theirs))
            web.start()
            processes.append(web)
            worker = context.Process(
                target=_work, args=(database_url, redis_url, tmp, (sim.url, sim.api_key))
            )
            worker.start()
            processes.append(worker)
            if not ours.poll(60):
                raise RuntimeError("the web app did not start within 60 s")
            base = f"http://127.0.0.1:{ours.recv()}"
            measured = asyncio.run(measure(base, runs, count, paced_seconds, saturated_seconds))
            measured["peak_rss_mb"] = {
                "web": round(report.peak_rss_mb(web.pid), 1),
                "worker": round(report.peak_rss_mb(worker.pid), 1),
                "load_generator": round(report.peak_rss_mb(), 1),
            }
        finally:
            for process in processes:
                process.terminate()
                process.join(10)
                if process.is_alive():
                    process.kill()
            if sim is not None:
                sim.stop()
            valkey.stop()
            pg.cleanup()
    return measured


def summarise(measured: dict[str, Any], count: int) -> dict[str, Any]:
    def med(phase: str, endpoint: str, key: str) -> float:
        return report.median(r[phase]["latency_ms"][endpoint][key] for r in measured["runs"])

    return {
        "dashboards": {
            endpoint: {
                "p50_ms": med("dashboards", endpoint, "p50"),
                "p99_ms": med("dashboards", endpoint, "p99"),
            }
            for endpoint in ENDPOINTS
        },
        "dashboards_requests_per_second": report.median(
            r["dashboards"]["requests_per_second"] for r in measured["runs"]
        ),
        "saturated_requests_per_second": report.median(
            r["saturated"]["requests_per_second"] for r in measured["runs"]
        ),
        "saturated_p99_ms": report.median(
            max(v["p99"] for v in r["saturated"]["latency_ms"].values()) for r in measured["runs"]
        ),
        "errors": sum(r[p]["errors"] for r in measured["runs"] for p in ("dashboards", "saturated")),
        "dashboards_count": count,
    }


def rows_of(results: dict[str, Any]) -> list[dict[str, Any]]:
    median, runs = results["median"], len(results["runs"])
    rss = results["peak_rss_mb"]["web"]
    count = median["dashboards_count"]
    rows = [
        report.row(
            f"job API {endpoint}, {count} dashboards polling every 2 s, job running",
            figures["p99_ms"],
            "ms",
            runs=runs,
            target=f"p99 < {TARGET_P99_MS:.0f} ms",
            meets_target=figures["p99_ms"] < TARGET_P99_MS,
            peak_rss_mb=rss,
            measured=f"p99 {report.format_figure(figures['p99_ms'], 'ms')} (p50 {figures['p50_ms']:.1f})",
        )
        for endpoint, figures in median["dashboards"].items()
    ]
    rows.append(
        report.row(
            f"job API, {count} dashboards: requests served, errors",
            median["dashboards_requests_per_second"],
            "requests/s",
            runs=runs,
            target="0 errors",
            meets_target=median["errors"] == 0,
            peak_rss_mb=rss,
            measured=f"{median['dashboards_requests_per_second']:.0f} requests/s, {median['errors']} errors",
        )
    )
    rows.append(
        report.row(
            f"job API saturated, {SATURATING_CLIENTS} clients back to back, job running",
            median["saturated_requests_per_second"],
            "requests/s",
            runs=runs,
            peak_rss_mb=rss,
            measured=f"{median['saturated_requests_per_second']:.0f} requests/s (p99 {median['saturated_p99_ms']:.0f} ms)",
        )
    )
    return rows


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))  # warnings and up
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dashboards", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=None, help="dashboard phase per run (default 12)")
    parser.add_argument(
        "--saturated-seconds", type=float, default=None, help="saturated phase per run (default 5)"
    )
    parser.add_argument("--quick", action="store_true", help="5 s + 3 s phases")
    args = parser.parse_args()
    paced = args.seconds or (5.0 if args.quick else 12.0)
    saturated = args.saturated_seconds or (3.0 if args.quick else 5.0)
    measured = bench(args.runs, args.dashboards, paced, saturated)
    results = {
        "benchmark": "api",
        "what": __doc__.split("\n\n", 2)[2].strip() if __doc__ else "",
        "dashboards": args.dashboards,
        "poll_seconds": POLL_SECONDS,
        "phase_seconds": {"dashboards": paced, "saturated": saturated},
        "history": {"runs": HISTORY_RUNS, "log_lines": HISTORY_RUNS * LOGS_PER_RUN},
        **measured,
        "median": summarise(measured, args.dashboards),
        "machine": report.machine_info(),
    }
    for n, run in enumerate(measured["runs"], 1):
        for phase in ("dashboards", "saturated"):
            p = run[phase]
            latency = ", ".join(f"{e} p99 {v['p99']:.1f}" for e, v in p["latency_ms"].items())
            print(
                f"run {n} {phase}: {p['requests_per_second']:.0f} req/s, {p['errors']} errors, "
                f"running run in {p['polls_with_running_run']}/{p['polls']} polls, "
                f"{p['progress_values_seen']} progress values; {latency}"
            )
    report.print_and_save("api", results, rows_of(results))


if __name__ == "__main__":
    main()
