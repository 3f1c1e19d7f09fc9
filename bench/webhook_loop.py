"""The shared half of the webhook-loop benchmarks (movies: bench_webhook_latency; series:
bench_series_webhook): the world they run in, the sidecar as its own process, and events sent in
bursts, each timed from its webhook's POST to the change it causes on disk.

A benchmark declares its event (an `Event` subclass saying when its user's library shows the change)
and how the simulator records its play; everything else is here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from sidecar.composition import build_registry
from sidecar.db import migrate
from sidecar.embedded import start_postgres, start_valkey
from sidecar.jobs import schedules
from sidecar.jobs.executor import run_inline
from sidecar.jobs.resources import JobResources
from sidecar.logs import configure_logging
from sidecar.settings import Settings
from sidecar.simulator import RunningSimulator, running_simulator
from sidecar.simulator.openai_server import OpenAIEmbeddingsSimulator, serve
from sidecar.simulator.webhook_sender import WebhookSender

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-webhook-latency-token"
POLL_SECONDS = 0.05
BURST_GAP_SECONDS = 0.1  # between the plays of one burst: each restarts the 3 s debounce window
READY_WITHIN_SECONDS = 60.0

# The webhook chain's runs: how long each waited after it could start, and how long it ran.
RUN_TIMES = """
SELECT job, count(*) AS runs,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - greatest(queued_at, coalesce(not_before, queued_at)))) AS wait_s,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at)) AS run_s
FROM job_runs WHERE trigger = 'webhook' AND status = 'completed' GROUP BY job ORDER BY job
"""
PENDING_RUNS = "SELECT count(*) FROM job_runs WHERE status IN ('queued', 'running')"


@dataclass
class Event:
    """One user finishing one item; `updated()` says whether their library on disk shows it yet."""

    user_id: str
    item_id: str
    sent_at: float | None = field(default=None, kw_only=True)  # the PlaybackStop POST
    seen_at: float | None = field(default=None, kw_only=True)  # the first poll that saw the change

    def updated(self) -> bool:
        raise NotImplementedError

    @property
    def latency(self) -> float:
        assert self.sent_at is not None and self.seen_at is not None
        return self.seen_at - self.sent_at


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the world -------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def bench_world(work: Path, **simulator: Any) -> AsyncIterator[tuple[Settings, RunningSimulator]]:
    """Embedded PostgreSQL and Valkey, the Jellyfin simulator (`simulator` options) and the fake OpenAI
    server, with settings whose media paths map to `work/media` (where set-ups create the files)."""
    database_url, pg = start_postgres(work / "pg")
    redis_url, valkey = start_valkey(work / "valkey")
    try:
        await migrate(database_url)
        async with (
            running_simulator("jellyfin", **simulator) as sim,
            serve(OpenAIEmbeddingsSimulator()) as openai_url,
        ):
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                database_url=database_url, redis_url=redis_url, data_dir=work / "data",
                media_server_url=sim.url, media_server_api_key=sim.api_key,  # type: ignore[arg-type]
                library_root=work / "libraries", path_mappings={"/media": str(work / "media")},
                embedding_provider="openai", openai_base_url=openai_url, embedding_dimensions=384,
                log_level="warning",
            )  # fmt: skip
            configure_logging(settings)
            yield settings, sim
    finally:
        valkey.stop()
        pg.cleanup()


def _sidecar_env(settings: Settings, port: int) -> dict[str, str]:
    api_key = settings.media_server_api_key
    values = {
        "SIDECAR_DATABASE_URL": settings.database_url,
        "SIDECAR_REDIS_URL": settings.redis_url,
        "SIDECAR_DATA_DIR": str(settings.data_dir),
        "SIDECAR_HOST": "127.0.0.1",
        "SIDECAR_PORT": str(port),
        "SIDECAR_WEBHOOK_TOKEN": TOKEN,
        "SIDECAR_MEDIA_SERVER_URL": settings.media_server_url,
        "SIDECAR_MEDIA_SERVER_API_KEY": api_key.get_secret_value() if api_key else "",
        "SIDECAR_LIBRARY_ROOT": str(settings.resolved_library_root),
        "SIDECAR_PATH_MAPPINGS": json.dumps(settings.path_mappings),
        "SIDECAR_EMBEDDING_PROVIDER": "openai",
        "SIDECAR_OPENAI_BASE_URL": settings.openai_base_url,
        "SIDECAR_EMBEDDING_DIMENSIONS": str(settings.embedding_dimensions),
        "SIDECAR_LOG_LEVEL": "warning",
        "SIDECAR_LOG_FORMAT": "json",
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIDECAR_")}
    env.update({k: str(v) for k, v in values.items() if v is not None})
    env["PYTHONPATH"] = str(ROOT)
    return env


def _start(settings: Settings, port: int, work: Path) -> subprocess.Popen[bytes]:
    with (work / "sidecar.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "sidecar.cli", "up"],
            env=_sidecar_env(settings, port),
            cwd=work,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


@contextlib.asynccontextmanager
async def running_sidecar(
    settings: Settings, work: Path, db: asyncpg.Pool
) -> AsyncIterator[tuple[int, subprocess.Popen[bytes]]]:
    """`python -m sidecar.cli up` (web app and worker, as deployed) in its own process, once it
    answers and its worker beats; yields its port and process."""
    port = free_port()
    process = _start(settings, port, work)
    try:
        await _wait_ready(port, db, process)
        yield port, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


async def _wait_ready(port: int, db: asyncpg.Pool, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_WITHIN_SECONDS
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the sidecar exited with {process.returncode}")
            try:
                async with session.get(f"http://127.0.0.1:{port}/api/health") as response:
                    web_up = response.status == 200
            except aiohttp.ClientError:
                web_up = False
            if web_up and await db.fetchval("SELECT count(*) FROM worker_heartbeats"):
                return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the sidecar did not become ready within {READY_WITHIN_SECONDS:g} s")


async def timed_inline(
    db: asyncpg.Pool, settings: Settings, job: str, scope: dict[str, Any] | None = None
) -> float:
    """Run a set-up job inline in this process (not measured); its duration in seconds."""
    began = time.perf_counter()
    row = await run_inline(db, build_registry(), settings, job, scope=scope, resources=JobResources())
    if row["status"] != "completed":
        raise RuntimeError(f"set-up {job} failed: {row['error']}")
    return round(time.perf_counter() - began, 2)


async def webhooks_only(db: asyncpg.Pool, settings: Settings) -> None:
    """Only webhooks may queue runs while measuring: the schedules exist, disabled."""
    await schedules.seed(db, build_registry(), settings.timezone)
    await db.execute("UPDATE job_schedules SET enabled = false")


def send_webhooks(sim: RunningSimulator, port: int) -> WebhookSender:
    return sim.send_webhooks_to(f"http://127.0.0.1:{port}/webhooks/jellyfin", TOKEN)


# --- events ----------------------------------------------------------------------------------------

Record = Callable[[Event], None]  # makes the simulator record the event's play (and send its webhooks)


async def _watch(events: Sequence[Event], within: float) -> None:
    """Poll until every event's library shows it; stamp when each did."""
    deadline = time.monotonic() + within
    pending = list(events)
    while pending:
        now = time.monotonic()
        for event in [e for e in pending if e.updated()]:
            event.seen_at = now
            pending.remove(event)
        if now > deadline:
            raise RuntimeError(f"{len(pending)} libraries not updated within {within} s")
        await asyncio.sleep(POLL_SECONDS)


def _stamp_sent(events: Sequence[Event], sender: WebhookSender) -> None:
    """Each event's start: the PlaybackStop POST of that user and item (the first of its two POSTs)."""
    stops = {(s.user_id, s.item_id): s for s in sender.sent if s.event == "PlaybackStop"}
    for event in events:
        sent = stops[(event.user_id, event.item_id)]
        if sent.status != 202:
            raise RuntimeError(f"webhook answered {sent.status}: {sent.error}")
        event.sent_at = sent.sent_at


async def _send_and_watch(
    events: Sequence[Event], record: Record, sender: WebhookSender, gap: float, within: float
) -> None:
    watcher = asyncio.create_task(_watch(events, within))
    for n, event in enumerate(events):
        if n:
            await asyncio.sleep(gap)
        record(event)
    await sender.drain()
    await watcher
    _stamp_sent(events, sender)


async def bursts(
    events: Sequence[Event], record: Record, sender: WebhookSender, size: int, within: float = 60
) -> None:
    """Bursts of `size` users BURST_GAP_SECONDS apart (coalesced into one chain); the next burst once
    every library of the previous one changed."""
    for start in range(0, len(events), size):
        await _send_and_watch(events[start : start + size], record, sender, BURST_GAP_SECONDS, within)
        await asyncio.sleep(0.5)


async def steady(
    events: Sequence[Event], record: Record, sender: WebhookSender, gap: float, within: float = 90
) -> None:
    """One event every `gap` seconds, never letting the debounce window close."""
    await _send_and_watch(events, record, sender, gap, within)


async def settle(db: asyncpg.Pool, within: float = 60) -> None:
    """Wait until no run is queued or running (an entry changes on disk while its run still writes)."""
    deadline = time.monotonic() + within
    while await db.fetchval(PENDING_RUNS):
        if time.monotonic() > deadline:
            raise RuntimeError(f"webhook runs still pending {within:g} s after the last event")
        await asyncio.sleep(0.2)


async def run_times(db: asyncpg.Pool) -> list[dict[str, Any]]:
    """The webhook chain's completed runs: median wait after they could start and run time, per job."""
    return [
        {"job": r["job"], "runs": r["runs"], "wait_s": round(r["wait_s"], 3), "run_s": round(r["run_s"], 3)}
        for r in await db.fetch(RUN_TIMES)
    ]


MeasureOnce = Callable[[Path, bool], Awaitable[dict[str, Any]]]


def measure_rounds(
    argv: list[str] | None, doc: str | None, quick_help: str, measure: MeasureOnce
) -> list[dict[str, Any]]:
    """A benchmark's command line: `--runs N` rounds, each `measure(work dir, quick)` with its own
    set-up in a fresh temporary folder; prints each round's set-up and chain medians."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1, help="measured rounds, each with its own set-up")
    parser.add_argument("--quick", action="store_true", help=quick_help)
    args = parser.parse_args(argv)
    measured = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="bench-webhook-loop-") as work:
            measured.append(asyncio.run(measure(Path(work), args.quick)))
    print(f"set-up (not measured): {[m['setup_job_seconds'] for m in measured]}")
    print(
        f"webhook runs, median wait after not_before and run time: {[m['webhook_runs_median'] for m in measured]}"
    )
    return measured
