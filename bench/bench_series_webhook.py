"""Series webhook loop latency: a finished episode -> that user's series library on disk.

`python -m bench.bench_series_webhook [--runs N] [--quick]`

As `bench_webhook_latency` (both share bench/webhook_loop.py: the world, the sidecar process, bursts): the
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

import asyncio
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import report
from bench.webhook_loop import (
    Event,
    bench_world,
    bursts,
    measure_rounds,
    progress,
    run_times,
    running_sidecar,
    send_webhooks,
    settle,
    timed_inline,
    webhooks_only,
)
from sidecar.db import create_pool
from sidecar.mediaserver.base import normalise_id
from sidecar.settings import Settings
from sidecar.simulator import RunningSimulator

TARGET_P95_SECONDS = 5.0
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
class Play(Event):
    """An episode of the user's rank-2 show finished: updated once that show's tvshow.nfo says rank 1."""

    nfo: Path

    def updated(self) -> bool:
        return _rank(self.nfo) == 1


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
    settings: Settings, sim: RunningSimulator, count: int
) -> tuple[list[Play], dict[str, float]]:
    """The series jobs once, inline; then the libraries of `count` users whose rank-2 pick can be played."""
    assert settings.database_url is not None
    db = await create_pool(settings.database_url, max_size=4)
    try:
        durations = {job: await timed_inline(db, settings, job) for job in SETUP_JOBS}
        sim_series = {normalise_id(s): s for s in sim.state.tv.series}
        candidates = [(r["user_id"], sim_series[r["series_id"]]) for r in await db.fetch(RANK_TWO_PICKS)]
        step = max(1, len(candidates) // count)
        chosen = [c for c in candidates[::step] if _first_episode(sim, c[1]) is not None][:count]
        if len(chosen) < count:
            raise RuntimeError(f"only {len(chosen)} users have a rank-2 series pick to play; need {count}")
        users = [u for u, _ in chosen]
        # Every episode file exists (a play changes the picks, and new shows must be linkable).
        began = time.perf_counter()
        await asyncio.to_thread(_placeholders, sim, Path(settings.path_mappings["/media"]))
        durations["episode files"] = round(time.perf_counter() - began, 2)
        scope = {"user_ids": users}
        durations[f"{LIBRARIES} ({len(users)} users)"] = await timed_inline(db, settings, LIBRARIES, scope)
        plays = []
        for user_id, series_id in chosen:
            folder = Path(await db.fetchval(SHOW_FOLDER, user_id))
            show = sim.state.tv.series[series_id]
            nfos = _show_nfos(folder, rank=2)
            if len(nfos) != 1:
                raise RuntimeError(f"user {user_id}: no single rank-2 show folder for {show.name}: {nfos}")
            plays.append(Play(user_id, _first_episode(sim, series_id).id, nfos[0]))
        await webhooks_only(db, settings)
    finally:
        await db.close()
    return plays, durations


async def _measure_once(work: Path, quick: bool) -> dict[str, Any]:
    n_bursts, size = (2, 5) if quick else (4, 5)
    progress("starting PostgreSQL, Valkey and the simulator with the full TV catalogue")
    async with bench_world(work, seed="movielens", tv="full") as (settings, sim):
        began = time.perf_counter()
        plays, setup = await _set_up(settings, sim, 1 + n_bursts * size)
        progress(f"set-up done in {time.perf_counter() - began:.1f} s: {setup}")
        assert settings.database_url is not None
        db = await create_pool(settings.database_url, max_size=2)
        try:
            async with running_sidecar(settings, work, db) as (port, process):
                progress("sidecar ready; sending")
                sender = send_webhooks(sim, port)

                def record(play: Event) -> None:
                    sim.state.tv.record_play(play.user_id, play.item_id)

                # generous limits: the box is shared
                await bursts(plays[:1], record, sender, size=1, within=300)  # warm-up, not counted
                await bursts(plays[1:], record, sender, size=size, within=300)
                peak_rss = report.peak_rss_mb(process.pid)
                await settle(db)
                chain = await run_times(db)
        finally:
            await db.close()
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
    summary = summarise(measure_rounds(argv, __doc__, "10 events instead of 20", _measure_once))
    report.print_and_save("series_webhook", summary, summary["rows"])
    return summary


if __name__ == "__main__":
    main()
