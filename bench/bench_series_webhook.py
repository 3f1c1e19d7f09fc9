"""Series webhook loop latency: a finished episode -> that user's series library on disk.

`python -m bench.bench_series_webhook [--runs N] [--quick]`

As `bench_webhook_latency` (whose sidecar process, readiness and webhook stamping it reuses): the
simulated Jellyfin (MovieLens users with the generated TV catalogue, 60,283 episodes) runs in this
process and POSTs its webhooks in the plugin's Send-All format; the sidecar runs as its own process
(`python -m sidecar.cli up`) on embedded PostgreSQL and Valkey with the default 3 s debounce. Set-up
(untimed, inline): sync-series, series watch history, series embeddings (fake OpenAI server), series
picks for every user, then the series libraries of the event users (their episode files exist).

One event = one user finishing the first regular episode of the show at rank 2 of their series
picks. Started from their picks, the show then stays in their library and moves to the top: the
library is "updated" when that show's `tvshow.nfo` carries rank 1 in its sort title (polled every
50 ms; written by the scoped sync-series-libraries run of the chain history -> recommendations ->
library). Latency = from the PlaybackStop POST to the first poll that sees rank 1. Events come in
bursts of 5 different users 0.1 s apart (coalesced into one chain), the next burst once the previous
one's folders changed; one warm-up event is not counted. Target: p95 < 5 s including the debounce.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bench import report
from bench.bench_webhook_latency import (
    POLL_SECONDS,
    RUN_TIMES,
    TOKEN,
    _free_port,
    _progress,
    _start_sidecar,
    _wait_ready,
)
from sidecar.composition import build_registry
from sidecar.db import create_pool, migrate
from sidecar.embedded import start_postgres, start_valkey
from sidecar.jobs import schedules
from sidecar.jobs.executor import run_inline
from sidecar.jobs.resources import JobResources
from sidecar.logs import configure_logging
from sidecar.mediaserver.base import normalise_id
from sidecar.settings import Settings
from sidecar.simulator import RunningSimulator, running_simulator
from sidecar.simulator.openai_server import OpenAIEmbeddingsSimulator, serve
from sidecar.simulator.webhook_sender import WebhookSender

TARGET_P95_SECONDS = 5.0
BURST_GAP_SECONDS = 0.1
SETUP_JOBS = (
    "sync-series",
    "sync-series-watch-history",
    "generate-series-embeddings",
    "generate-series-recommendations",
)
LIBRARIES = "sync-series-libraries"
_SORT_RANK = re.compile(r"<sorttitle>(\d+) - ")

# Event users: those whose rank-2 pick has a regular episode on disk; spread over the id range.
RANK_TWO_PICKS = """
SELECT r.user_id, r.series_id FROM series_recommendations r WHERE r.rank = 2 ORDER BY r.user_id
"""
SHOW_FOLDER = """
SELECT l.folder_path FROM user_libraries l WHERE l.user_id = $1 AND l.media_type = 'series'
"""


@dataclass
class Play:
    user_id: str
    episode_id: str
    nfo: Path  # the show's tvshow.nfo in the user's folder; rank 1 in it = library updated
    sent_at: float | None = None
    seen_at: float | None = None

    @property
    def latency(self) -> float:
        assert self.sent_at is not None and self.seen_at is not None
        return self.seen_at - self.sent_at


def _rank(nfo: Path) -> int | None:
    try:
        match = _SORT_RANK.search(nfo.read_text(encoding="utf-8"))
    except OSError:
        return None  # between the temporary name and the rename
    return int(match.group(1)) if match else None


def _placeholders(sim: RunningSimulator, media: Path) -> None:
    for episode in list(sim.state.tv.episodes.values()):
        if episode.path and not episode.virtual:
            local = media / Path(episode.path).relative_to("/media")
            local.parent.mkdir(parents=True, exist_ok=True)
            local.touch()


def _show_nfos(folder: Path, *, rank: int) -> list[Path]:
    return [p for p in folder.glob("*/tvshow.nfo") if _rank(p) == rank]


def _first_episode(sim: RunningSimulator, series_id: str) -> Any:
    episodes = [
        e
        for e in sim.state.tv.episodes_of(series_id)
        if not e.virtual and e.path and e.parent_index_number > 0
    ]
    return min(episodes, key=lambda e: (e.parent_index_number, e.index_number), default=None)


async def _set_up(
    settings: Settings, sim: RunningSimulator, media: Path, count: int
) -> tuple[list[Play], dict[str, float]]:
    """The series jobs once, inline; then the libraries of `count` users whose rank-2 pick can be played."""
    assert settings.database_url is not None
    db = await create_pool(settings.database_url, max_size=4)
    registry = build_registry()
    durations: dict[str, float] = {}
    try:
        for job in SETUP_JOBS:
            began = time.perf_counter()
            row = await run_inline(db, registry, settings, job, resources=JobResources())
            if row["status"] != "completed":
                raise RuntimeError(f"set-up {job} failed: {row['error']}")
            durations[job] = round(time.perf_counter() - began, 2)
        sim_series = {normalise_id(s): s for s in sim.state.tv.series}
        candidates = [(r["user_id"], sim_series[r["series_id"]]) for r in await db.fetch(RANK_TWO_PICKS)]
        step = max(1, len(candidates) // count)
        chosen = [c for c in candidates[::step] if _first_episode(sim, c[1]) is not None][:count]
        if len(chosen) < count:
            raise RuntimeError(f"only {len(chosen)} users have a rank-2 series pick to play; need {count}")
        users = [u for u, _ in chosen]
        # Every episode file exists (a play changes the picks, and new shows must be linkable).
        began = time.perf_counter()
        await asyncio.to_thread(_placeholders, sim, media)
        durations["episode files"] = round(time.perf_counter() - began, 2)
        began = time.perf_counter()
        row = await run_inline(
            db, registry, settings, LIBRARIES, scope={"user_ids": users}, resources=JobResources()
        )
        if row["status"] != "completed":
            raise RuntimeError(f"set-up {LIBRARIES} failed: {row['error']}")
        durations[f"{LIBRARIES} ({len(users)} users)"] = round(time.perf_counter() - began, 2)
        plays = []
        for user_id, series_id in chosen:
            folder = Path(await db.fetchval(SHOW_FOLDER, user_id))
            show = sim.state.tv.series[series_id]
            nfos = _show_nfos(folder, rank=2)
            if len(nfos) != 1:
                raise RuntimeError(f"user {user_id}: no single rank-2 show folder for {show.name}: {nfos}")
            plays.append(Play(user_id, _first_episode(sim, series_id).id, nfos[0]))
        await schedules.seed(db, registry, settings.timezone)
        await db.execute("UPDATE job_schedules SET enabled = false")  # only webhooks queue runs
    finally:
        await db.close()
    return plays, durations


async def _watch(plays: list[Play], within: float) -> None:
    deadline = time.monotonic() + within
    pending = list(plays)
    while pending:
        now = time.monotonic()
        for play in [p for p in pending if _rank(p.nfo) == 1]:
            play.seen_at = now
            pending.remove(play)
        if now > deadline:
            raise RuntimeError(f"{len(pending)} series libraries not updated within {within} s")
        await asyncio.sleep(POLL_SECONDS)


def _stamp(plays: list[Play], sender: WebhookSender) -> None:
    stops = {(s.user_id, s.item_id): s for s in sender.sent if s.event == "PlaybackStop"}
    for play in plays:
        sent = stops[(play.user_id, play.episode_id)]
        if sent.status != 202:
            raise RuntimeError(f"webhook answered {sent.status}: {sent.error}")
        play.sent_at = sent.sent_at


async def _bursts(sim: RunningSimulator, sender: WebhookSender, plays: list[Play], size: int) -> None:
    for start in range(0, len(plays), size):
        burst = plays[start : start + size]
        watcher = asyncio.create_task(_watch(burst, within=300))  # generous: the box is shared
        for n, play in enumerate(burst):
            if n:
                await asyncio.sleep(BURST_GAP_SECONDS)
            sim.state.tv.record_play(play.user_id, play.episode_id)
        await sender.drain()
        await watcher
        _stamp(burst, sender)
        await asyncio.sleep(0.5)


async def _settled_run_times(db: asyncpg.Pool) -> list[asyncpg.Record]:
    """The webhook chain's runs (median wait and run time per job), once nothing is pending."""
    deadline = time.monotonic() + 60
    while await db.fetchval("SELECT count(*) FROM job_runs WHERE status IN ('queued', 'running')"):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    return list(await db.fetch(RUN_TIMES))


async def _measure_once(work: Path, quick: bool) -> dict[str, Any]:
    bursts, size = (2, 5) if quick else (4, 5)
    _progress("starting PostgreSQL, Valkey and the simulator with the full TV catalogue")
    database_url, pg = start_postgres(work / "pg")
    redis_url, valkey = start_valkey(work / "valkey")
    process: subprocess.Popen[bytes] | None = None
    try:
        await migrate(database_url)
        async with (
            running_simulator("jellyfin", seed="movielens", tv="full") as sim,
            serve(OpenAIEmbeddingsSimulator()) as openai_url,
        ):
            media = work / "media"
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                database_url=database_url, redis_url=redis_url, data_dir=work / "data",
                media_server_url=sim.url, media_server_api_key=sim.api_key,  # type: ignore[arg-type]
                library_root=work / "libraries", path_mappings={"/media": str(media)},
                embedding_provider="openai", openai_base_url=openai_url, embedding_dimensions=384,
                log_level="warning",
            )  # fmt: skip
            configure_logging(settings)
            began = time.perf_counter()
            plays, setup = await _set_up(settings, sim, media, 1 + bursts * size)
            _progress(f"set-up done in {time.perf_counter() - began:.1f} s: {setup}")
            db = await create_pool(database_url, max_size=2)
            try:
                port = _free_port()
                process = _start_sidecar(settings, port, work)
                await _wait_ready(port, db, process)
                _progress("sidecar ready; sending")
                sender = sim.send_webhooks_to(f"http://127.0.0.1:{port}/webhooks/jellyfin", TOKEN)
                await _bursts(sim, sender, plays[:1], size=1)  # warm-up, not counted
                await _bursts(sim, sender, plays[1:], size=size)
                peak_rss = report.peak_rss_mb(process.pid)
                chain = [
                    {
                        k: (round(float(r[k]), 3) if k.endswith("_s") else r[k])
                        for k in ("job", "runs", "wait_s", "run_s")
                    }
                    for r in await _settled_run_times(db)
                ]
            finally:
                await db.close()
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        valkey.stop()
        pg.cleanup()
    return {
        "setup_job_seconds": setup,
        "warm_up_seconds": round(plays[0].latency, 3),
        "latencies": [round(p.latency, 3) for p in plays[1:]],
        "peak_rss_mb": round(peak_rss, 1),
        "burst_size": size,
        "webhook_runs_median": chain,
    }


def summarise(measured: list[dict[str, Any]]) -> dict[str, Any]:
    latencies = [x for m in measured for x in m["latencies"]]
    p50, p95 = report.median(latencies), report.percentile(latencies, 0.95)
    rss = max(m["peak_rss_mb"] for m in measured)
    case = f"finished episode -> series library on disk, {{}} ({len(latencies)} events, bursts of 5, debounce 3 s)"
    rows = [
        report.row(case.format("p50"), p50, "s", runs=len(measured), peak_rss_mb=rss),
        report.row(
            case.format("p95"), p95, "s", runs=len(measured), target=f"< {TARGET_P95_SECONDS:g} s",
            meets_target=p95 < TARGET_P95_SECONDS, peak_rss_mb=rss,
        ),
    ]  # fmt: skip
    return {
        "benchmark": "series_webhook",
        "what": "simulated Jellyfin PlaybackStop of an episode of the user's rank-2 series pick -> that "
        "show's tvshow.nfo in the user's folder at rank 1; sidecar = `python -m sidecar.cli up` in its own "
        "process, embedded PostgreSQL + Valkey, MovieLens users with the generated TV catalogue",
        "p50_seconds": round(p50, 3),
        "p95_seconds": round(p95, 3),
        "max_seconds": round(max(latencies), 3),
        "meets_target": p95 < TARGET_P95_SECONDS,
        "peak_rss_mb_sidecar": rss,
        "runs": measured,
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=1, help="measured rounds, each with its own set-up")
    parser.add_argument("--quick", action="store_true", help="10 events instead of 20")
    args = parser.parse_args(argv)
    measured = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="bench-series-webhook-") as work:
            measured.append(asyncio.run(_measure_once(Path(work), args.quick)))
    summary = summarise(measured)
    print(f"set-up (not measured): {[m['setup_job_seconds'] for m in measured]}")
    print(f"webhook runs, median wait and run time: {[m['webhook_runs_median'] for m in measured]}")
    report.print_and_save("series_webhook", summary, summary["rows"])
    return summary


if __name__ == "__main__":
    main()
