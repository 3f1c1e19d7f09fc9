"""Webhook ingest: throughput, latency and loss of `POST /webhooks/jellyfin` on real storage.

`python -m bench.bench_webhooks [--events 5000] [--concurrency 32] [--runs 3] [--quick]`
(`--quick`: 1,000 events per phase)

The receiver runs in its own process (a real aiohttp server on 127.0.0.1, embedded PostgreSQL and
Valkey, the production code path: token check, bounded read, parse, store, coalesced submit). This
process is the load generator: an aiohttp client sending PlaybackStop events (played to completion,
each with its own timestamp so none is a duplicate) with bounded concurrency. After each run the
stored rows are counted in Postgres: lost = sent - stored. Medians over the runs are reported and
saved to bench/results/webhooks_ingest.json.

Two phases per run: saturated (closed loop, `--concurrency` senders back to back) gives the
throughput; paced (open loop at `--rate` events/s, default the 500/s target) gives the latency a
server sees at that load. A closed loop at saturation only measures queueing (latency =
concurrency / throughput), so its latencies are reported too but not held against the target.

Targets: >= 500 events/s, p99 < 50 ms at 500 events/s, 0 lost.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import psutil
from aiohttp import web
from pydantic import SecretStr

from bench import report

FIXTURE = Path(__file__).parent.parent / "tests" / "fixtures" / "jellyfin-webhook-playbackstop.json"
TOKEN = "bench-webhook-token"
TARGET_EVENTS_PER_SECOND = 500.0
TARGET_P99_MS = 50.0


def _serve(database_url: str, redis_url: str, data_dir: str, ready: Any) -> None:
    """The receiver process: the webhook routes on a real aiohttp server."""
    asyncio.run(_serve_async(database_url, redis_url, Path(data_dir), ready))


async def _serve_async(database_url: str, redis_url: str, data_dir: Path, ready: Any) -> None:
    from arq import create_pool
    from arq.connections import RedisSettings

    from sidecar.api.keys import DB, QUEUE, REGISTRY, SETTINGS
    from sidecar.composition import MEDIA_KINDS, build_registry
    from sidecar.db import create_pool as create_db_pool
    from sidecar.jobs.queue import JobQueue
    from sidecar.logs import configure_logging
    from sidecar.settings import Settings
    from webhooks.routes import setup_routes

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        redis_url=redis_url,
        data_dir=data_dir,
        webhook_token=SecretStr(TOKEN),
        log_level="warning",
        log_format="json",
    )
    configure_logging(settings)
    db = await create_db_pool(database_url, max_size=10)
    redis = await create_pool(RedisSettings.from_dsn(redis_url))
    app = web.Application()
    app[SETTINGS] = settings
    app[DB] = db
    app[QUEUE] = JobQueue(db, redis, settings.queue_name)
    app[REGISTRY] = build_registry()
    setup_routes(app, MEDIA_KINDS)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    ready.send(port)
    try:
        await asyncio.Event().wait()  # until terminated
    finally:
        await runner.cleanup()


def _events(count: int, run: int) -> list[bytes]:
    """PlaybackStop bodies, each its own delivery: 50 users, 1,000 movies, distinct timestamps."""
    template = json.loads(FIXTURE.read_text())
    start = dt.datetime(2026, 11, 22, 21, 0, tzinfo=dt.UTC) + dt.timedelta(days=run)
    bodies = []
    for n in range(count):
        moment = start + dt.timedelta(milliseconds=n)
        document = {
            **template,
            "UserId": f"{(n % 50) + 1:032x}",
            "ItemId": f"{(n % 1000) + 1:032x}",
            "UtcTimestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z",
        }
        bodies.append(json.dumps(document).encode())
    return bodies


async def _send(
    session: aiohttp.ClientSession, port: int, body: bytes, since: float, latencies: list[float]
) -> bool:
    """One delivery; its latency counts from `since` (its start, or its scheduled time when paced)."""
    url = f"http://127.0.0.1:{port}/webhooks/jellyfin"
    headers = {"Content-Type": "application/json", "X-Webhook-Token": TOKEN}
    async with session.post(url, data=body, headers=headers) as response:
        await response.read()
        ok = response.status == 202
    latencies.append((time.perf_counter() - since) * 1000)
    return ok


async def _saturate(port: int, bodies: list[bytes], concurrency: int) -> tuple[list[float], int, float]:
    """Closed loop: `concurrency` senders back to back. Returns (latencies ms, non-202, wall s)."""
    latencies: list[float] = []
    failures = 0
    pending = iter(bodies)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def sender() -> None:
            nonlocal failures
            for body in pending:
                if not await _send(session, port, body, time.perf_counter(), latencies):
                    failures += 1

        began = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        wall = time.perf_counter() - began
    return latencies, failures, wall


async def _paced(port: int, bodies: list[bytes], rate: float, max_in_flight: int) -> tuple[list[float], int]:
    """Open loop at a fixed rate; latency from each event's scheduled send time, so a server that
    falls behind is charged for the wait (no coordinated omission)."""
    latencies: list[float] = []
    outcomes: list[bool] = []
    in_flight = asyncio.Semaphore(max_in_flight)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=max_in_flight)) as session:

        async def one(body: bytes, scheduled: float) -> None:
            async with in_flight:
                outcomes.append(await _send(session, port, body, scheduled, latencies))

        tasks = []
        began = time.perf_counter()
        for n, body in enumerate(bodies):
            scheduled = began + n / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(body, scheduled)))
        await asyncio.gather(*tasks)
    return latencies, outcomes.count(False)


def _latency_summary(latencies: list[float]) -> dict[str, float]:
    return {
        "p50": round(report.percentile(latencies, 0.50), 2),
        "p90": round(report.percentile(latencies, 0.90), 2),
        "p99": round(report.percentile(latencies, 0.99), 2),
        "max": round(max(latencies), 2),
    }


def _tree_cpu_seconds(process: psutil.Process) -> float:
    """CPU time of a process, its live children, and the children it has already reaped."""
    total = 0.0
    for proc in [process, *process.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
        if proc is process:
            total += times.children_user + times.children_system
    return total


class CpuMeter:
    """CPU seconds spent per part (receiver, PostgreSQL, Valkey, load generator): a figure this
    noisy shared machine cannot blur the way it blurs wall-clock throughput and latency."""

    def __init__(self, receiver_pid: int, pgdata: str) -> None:
        self.parts = {"receiver": psutil.Process(receiver_pid)}
        me = psutil.Process()
        for proc in psutil.process_iter(["cmdline"]):
            cmdline = " ".join(proc.info["cmdline"] or [])
            if "postgres" in cmdline and f"-D {pgdata}" in cmdline:
                self.parts["postgres"] = proc
        for child in me.children():
            if "valkey" in child.name():
                self.parts["valkey"] = child

    def sample(self) -> dict[str, float]:
        values = {name: _tree_cpu_seconds(proc) for name, proc in self.parts.items()}
        own = os.times()
        values["load_generator"] = own.user + own.system
        return values

    @staticmethod
    def per_event_ms(before: dict[str, float], after: dict[str, float], events: int) -> dict[str, float]:
        spent = {name: (after[name] - before[name]) * 1000 / events for name in before}
        spent["total"] = sum(spent.values())
        return {name: round(value, 3) for name, value in spent.items()}


async def _stored_counts(db: asyncpg.Connection) -> dict[str, int]:
    row = await db.fetchrow(
        "SELECT count(*) AS stored, count(*) FILTER (WHERE status = 'planned') AS planned,"
        " (SELECT count(*) FROM job_runs WHERE status = 'queued') AS queued_runs FROM webhook_events"
    )
    return dict(row)


async def _bench(
    database_url: str, port: int, events: int, concurrency: int, rate: float, runs: int, cpu: CpuMeter
) -> list[dict[str, Any]]:
    db = await asyncpg.connect(database_url)
    results = []
    try:
        await _saturate(port, _events(200, 2 * runs + 1), concurrency)  # warm-up: connections, caches
        for run in range(runs):
            await db.execute("TRUNCATE webhook_events, job_runs CASCADE")
            bodies = _events(events, 2 * run)
            cpu_before = cpu.sample()
            latencies, failures, wall = await _saturate(port, bodies, concurrency)
            cpu_after = cpu.sample()
            counts = await _stored_counts(db)
            saturated = {
                "sent": len(bodies),
                "non_202": failures,
                **counts,
                "lost": len(bodies) - counts["stored"],
                "wall_seconds": round(wall, 3),
                "events_per_second": round(len(bodies) / wall, 1),
                "latency_ms": _latency_summary(latencies),
                "cpu_ms_per_event": CpuMeter.per_event_ms(cpu_before, cpu_after, len(bodies)),
            }

            await db.execute("TRUNCATE webhook_events, job_runs CASCADE")
            bodies = _events(events, 2 * run + 1)
            latencies, failures = await _paced(port, bodies, rate, max_in_flight=4 * concurrency)
            counts = await _stored_counts(db)
            paced = {
                "sent": len(bodies),
                "rate_per_second": rate,
                "non_202": failures,
                **counts,
                "lost": len(bodies) - counts["stored"],
                "latency_ms": _latency_summary(latencies),
            }
            results.append({"saturated": saturated, "paced": paced})
    finally:
        await db.close()
    return results


def _print_table(runs: list[dict[str, Any]]) -> None:
    print(
        f"{'run':>4} {'phase':>10} {'events/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'stored':>7} {'lost':>5}"
    )
    for n, run in enumerate(runs, 1):
        for phase in ("saturated", "paced"):
            r = run[phase]
            rate = r.get("events_per_second", r.get("rate_per_second"))
            lat = r["latency_ms"]
            print(
                f"{n:>4} {phase:>10} {rate:>9.1f} {lat['p50']:>8.2f} {lat['p90']:>8.2f} {lat['p99']:>8.2f} "
                f"{lat['max']:>8.2f} {r['stored']:>7} {r['lost']:>5}"
            )


def rows_of(results: dict[str, Any]) -> list[dict[str, Any]]:
    median, runs = results["median"], len(results["runs"])
    rss = results["peak_rss_mb"]["receiver"]
    events, rate = results["events_per_phase"], results["rate_per_second"]
    return [
        report.row(
            f"webhook ingest, saturated ({results['concurrency']} senders, {events:,} events)",
            median["events_per_second"],
            "events/s",
            runs=runs,
            target=f">= {TARGET_EVENTS_PER_SECOND:.0f} events/s",
            meets_target=median["events_per_second"] >= TARGET_EVENTS_PER_SECOND,
            peak_rss_mb=rss,
        ),
        report.row(
            f"webhook ingest, p99 latency paced at {rate:.0f} events/s ({events:,} events)",
            median["p99_ms"],
            "ms",
            runs=runs,
            target=f"< {TARGET_P99_MS:.0f} ms",
            meets_target=median["p99_ms"] < TARGET_P99_MS,
            peak_rss_mb=rss,
            measured=f"p99 {report.format_figure(median['p99_ms'], 'ms')} (p50 {median['p50_ms']:.0f})",
        ),
        report.row(
            "webhook ingest, events lost (worst run, both phases)",
            median["lost"],
            "events",
            runs=runs,
            target="0",
            meets_target=median["lost"] == 0,
            peak_rss_mb=rss,
            measured=f"{median['lost']} lost",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=None, help="events per phase and run (default 5000)")
    parser.add_argument("--concurrency", type=int, default=32, help="senders in the throughput phase")
    parser.add_argument(
        "--rate", type=float, default=TARGET_EVENTS_PER_SECOND, help="events/s in the latency phase"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1,000 events per phase")
    args = parser.parse_args()
    args.events = args.events or (1000 if args.quick else 5000)

    from sidecar.db import migrate
    from sidecar.embedded import start_postgres, start_valkey

    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as tmp:
        data_dir = Path(tmp)
        database_url, pg = start_postgres(data_dir)
        redis_url, valkey = start_valkey(data_dir)
        server = None
        try:
            asyncio.run(migrate(database_url))
            context = multiprocessing.get_context("spawn")
            ours, theirs = context.Pipe()
            server = context.Process(target=_serve, args=(database_url, redis_url, str(data_dir), theirs))
            server.start()
            if not ours.poll(60):
                raise SystemExit("the receiver did not start within 60 s")
            port = ours.recv()
            cpu = CpuMeter(server.pid, str(data_dir / "postgres"))  # type: ignore[arg-type]
            runs = asyncio.run(
                _bench(database_url, port, args.events, args.concurrency, args.rate, args.runs, cpu)
            )
            server_rss = report.peak_rss_mb(server.pid)
        finally:
            if server is not None and server.is_alive():
                server.terminate()
                server.join(10)
            valkey.stop()
            pg.cleanup()

    median = {
        "events_per_second": report.median(r["saturated"]["events_per_second"] for r in runs),
        "p50_ms": report.median(r["paced"]["latency_ms"]["p50"] for r in runs),
        "p99_ms": report.median(r["paced"]["latency_ms"]["p99"] for r in runs),
        "saturated_p50_ms": report.median(r["saturated"]["latency_ms"]["p50"] for r in runs),
        "saturated_p99_ms": report.median(r["saturated"]["latency_ms"]["p99"] for r in runs),
        "lost": max(r[phase]["lost"] for r in runs for phase in ("saturated", "paced")),
        "cpu_ms_per_event": {
            part: report.median(r["saturated"]["cpu_ms_per_event"][part] for r in runs)
            for part in runs[0]["saturated"]["cpu_ms_per_event"]
        },
    }
    results = {
        "benchmark": "webhooks_ingest",
        "what": "POST /webhooks/jellyfin PlaybackStop (played to completion, 50 users x 1,000 movies, "
        "distinct timestamps) into a real aiohttp server with embedded PostgreSQL + Valkey, from a "
        "separate load-generator process. Throughput: closed loop with `concurrency` senders. "
        "Latency: open loop at `rate` events/s, measured from each event's scheduled send time.",
        "events_per_phase": args.events,
        "concurrency": args.concurrency,
        "rate_per_second": args.rate,
        "runs": runs,
        "median": median,
        "targets": {
            "events_per_second": f">= {TARGET_EVENTS_PER_SECOND}",
            "p99_ms": f"< {TARGET_P99_MS} at {args.rate:.0f} events/s",
            "lost": 0,
        },
        "met": {
            "events_per_second": median["events_per_second"] >= TARGET_EVENTS_PER_SECOND,
            "p99_ms": median["p99_ms"] < TARGET_P99_MS,
            "lost": median["lost"] == 0,
        },
        "peak_rss_mb": {
            "receiver": round(server_rss, 1),
            "load_generator": round(report.peak_rss_mb(), 1),
        },
        "machine": report.machine_info(),
        "measured_at": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
    }
    print(
        f"webhook ingest: {args.events} events per phase x {args.runs} runs; "
        f"saturated = {args.concurrency} senders, paced = {args.rate:.0f} events/s"
    )
    _print_table(runs)
    print(
        f"median: {median['events_per_second']:.1f} events/s saturated (target >= {TARGET_EVENTS_PER_SECOND:.0f}); "
        f"at {args.rate:.0f}/s p50 {median['p50_ms']:.2f} ms, p99 {median['p99_ms']:.2f} ms "
        f"(target < {TARGET_P99_MS:.0f}); lost {median['lost']} (target 0)"
    )
    cpu_line = ", ".join(f"{part} {ms:.2f}" for part, ms in median["cpu_ms_per_event"].items())
    print(f"CPU ms per event (saturated phase): {cpu_line}")
    print(
        f"peak RSS: receiver {results['peak_rss_mb']['receiver']} MB, "
        f"load generator {results['peak_rss_mb']['load_generator']} MB; load average {results['machine']['load_average']}"
    )
    report.print_and_save("webhooks_ingest", results, rows_of(results))


if __name__ == "__main__":
    main()
