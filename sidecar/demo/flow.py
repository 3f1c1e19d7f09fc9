"""The demo, step by step, against a real sidecar (web + worker) and a simulated media server.

1. empty the demo's database, queue and libraries; start the simulator (MovieLens by default) with
   its media moved under the demo directory as placeholder files;
2. start the sidecar's web and worker in this process, with settings built here;
3. run the movie pipeline through the API, showing each run's progress;
4. pick a user, show their top picks, play some of them from that user's AI Picks library on the
   simulated server (the copies its scan made, which share the originals' watch state), which sends
   its real webhooks to the sidecar; wait for that user's incremental chain to finish;
5. show what changed in that user's library folder (and that nobody else's changed);
6. with a TV library on the simulated server, the same for series (`series.py`): the series jobs,
   a user's series picks and folder, an episode played, that user's series chain; then the URLs.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import asyncpg

from sidecar.api_client import ApiClient
from sidecar.composition import build_registry
from sidecar.demo import queries
from sidecar.demo.config import DemoOptions, demo_settings, new_secret
from sidecar.demo.library_view import LibraryChange, snapshot
from sidecar.demo.media import create_placeholders, relocate_media
from sidecar.demo.output import DemoFailed, line, pick_title, pick_why, raise_for_failed
from sidecar.demo.reset import reset_demo_state
from sidecar.demo.series import KIND as SERIES_KIND
from sidecar.demo.series import SeriesDemo, SeriesReport
from sidecar.demo.services import RunningServices, running_services
from sidecar.demo.watch import follow_runs
from sidecar.mediaserver.base import normalise_id
from sidecar.progress import RunsDisplay, format_duration
from sidecar.service import serving
from sidecar.simulator import running_simulator
from sidecar.simulator.runner import RunningSimulator
from sidecar.simulator.webhook_sender import WebhookSender

TOP_PICKS_SHOWN = 5
CHANGES_SHOWN = 8


@dataclass
class DemoReport:
    """What the demo did, for its caller (the CLI's exit code, the tests)."""

    library_root: Path
    api_url: str = ""
    jobs_page_url: str = ""
    user_id: str | None = None
    user_name: str | None = None
    played: list[str] = field(default_factory=list)
    played_copies: int = 0  # plays of the copies in the user's AI Picks library (not of the originals)
    originals_marked: int = 0  # of the played picks, originals now marked played on the server
    change: LibraryChange | None = None
    changed_users: list[str] = field(default_factory=list)  # ids of users whose folder changed
    timings: dict[str, float] = field(default_factory=dict)  # phase -> seconds
    series: SeriesReport | None = None  # the series part, when the simulated server has TV


@dataclass(frozen=True)
class DemoUser:
    id: str
    name: str
    folder: Path
    library_item_id: str | None  # the user's AI Picks library on the server
    picks: int
    played: int


class _Phases:
    """Wall time per phase, for the closing summary."""

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.timings[name] = time.monotonic() - started


async def _prepare_simulator(sim: RunningSimulator, options: DemoOptions) -> int:
    files = relocate_media(sim.state, options.media_dir)
    await asyncio.to_thread(create_placeholders, files)
    return len(files)


async def _users(database_url: str) -> list[DemoUser]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(queries.USER_LIBRARIES)
    finally:
        await conn.close()
    return [
        DemoUser(r["id"], r["name"], Path(r["folder_path"]), r["library_item_id"], r["picks"], r["played"])
        for r in rows
    ]


async def _planned_runs(database_url: str) -> list[str]:
    """The runs the webhooks were planned into: each event records them before it is answered. Not
    "the runs with trigger webhook": an event may join a run a schedule had already queued."""
    conn = await asyncpg.connect(database_url)
    try:
        return [str(r["run_id"]) for r in await conn.fetch(queries.PLANNED_RUN_IDS, None)]
    finally:
        await conn.close()


def _choose_user(users: list[DemoUser], wanted: str | None) -> DemoUser:
    if wanted is not None:
        for user in users:
            if user.name.lower() == wanted.lower():
                return user
        names = ", ".join(u.name for u in users[:10])
        raise DemoFailed(f"no user named {wanted!r} has a library; some that do: {names}")
    with_picks = [u for u in users if u.picks]
    if not with_picks:
        raise DemoFailed("the pipeline gave nobody any picks, so there is no library to change")
    return with_picks[0]  # most picks, then fewest plays: a short history shows a change best


async def _user_picks(api: ApiClient, user_id: str) -> list[dict[str, Any]]:
    status, body = await api.call("GET", f"/api/users/{user_id}/recommendations")
    if status != 200:
        raise DemoFailed(f"GET /api/users/{user_id}/recommendations answered {status}")
    return body["recommendations"]


def _sim_ids(sim: RunningSimulator) -> tuple[dict[str, str], dict[str, str]]:
    """The sidecar stores normalised ids; the simulator keeps its own spelling."""
    users = {normalise_id(user_id): user_id for user_id in sim.state.users}
    movies = {normalise_id(movie_id): movie_id for movie_id in sim.state.movies}
    return users, movies


def _copies_in_library(sim: RunningSimulator, library_item_id: str | None) -> dict[str, str]:
    """TMDb id -> item id of each copy the server's scan made in this AI Picks library."""
    if library_item_id is None:
        return {}
    wanted = normalise_id(library_item_id)
    return {
        movie.provider_ids["Tmdb"]: movie.id
        for movie in sim.state.movies.values()
        if normalise_id(movie.library_id) == wanted and movie.provider_ids.get("Tmdb")
    }


def _print_change(out: TextIO, user: DemoUser, change: LibraryChange, played: set[str]) -> None:
    line(out, f"{user.name}'s library {user.folder}:")
    line(out, f"  {len(change.before)} entries before, {len(change.after)} after")
    for rank, title in change.removed[:CHANGES_SHOWN]:
        note = "  (just watched)" if title in played else ""
        line(out, f"  - {rank:02d} - {title}{note}")
    for rank, title in change.added[:CHANGES_SHOWN]:
        line(out, f"  + {rank:02d} - {title}")
    hidden = max(0, len(change.removed) - CHANGES_SHOWN) + max(0, len(change.added) - CHANGES_SHOWN)
    if hidden:
        line(out, f"  … and {hidden} more")
    if change.moved:
        line(out, f"  {change.moved} other entries moved up or down")


async def _serve_until_interrupted(out: TextIO) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    line(out, "Serving until Ctrl-C.")
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    line(out, "stopping")


def _tv_catalogue(seed: str | int) -> str | None:
    """The simulated server's TV library: the generated catalogue watched by the MovieLens users, the
    six scripted shows of the sample seed, none beside synthetic movies."""
    return {"movielens": "full", "sample": "sample"}.get(str(seed))


def _series_pipeline() -> tuple[str, ...]:
    steps = build_registry().pipeline(SERIES_KIND)
    assert steps is not None, "the series kind is not in composition.MEDIA_KINDS"
    return steps


def _print_intro(out: TextIO, options: DemoOptions, sim: RunningSimulator, movie_files: int) -> None:
    line(out, "AI Picks sidecar demo")
    line(out, f"  data dir      {options.data_dir} (emptied: every demo starts fresh)")
    line(
        out,
        f"  media server  simulated {sim.kind.capitalize()} {sim.state.version} at {sim.url}: "
        f"{len(sim.state.movies)} movies ({movie_files} placeholder files under {options.media_dir}), "
        f"{len(sim.state.tv.series)} TV shows, {len(sim.state.users)} users",
    )
    line(out, "  embeddings    local all-MiniLM-L6-v2 (no OpenAI key needed)")


def _print_summary(out: TextIO, report: DemoReport, api_key: str | None) -> None:
    line(out, f"libraries:  {report.library_root}")
    line(out, f"API:        {report.api_url}")
    line(out, f"Jobs page:  {report.jobs_page_url}")
    if api_key:
        line(out, f"API key:    {api_key}  (send as 'Authorization: Bearer <key>')")
    spent = ", ".join(f"{name} {format_duration(int(s * 1000))}" for name, s in report.timings.items())
    line(out, f"timings:    {spent}")


@dataclass
class _LiveDemo:
    """The demo once everything runs: the API, the simulator, and what has been seen so far."""

    out: TextIO
    options: DemoOptions
    api: ApiClient
    sim: RunningSimulator
    database_url: str
    webhook_token: str
    worker_stopped: asyncio.Event
    report: DemoReport
    sender: WebhookSender | None = None  # the simulated server's webhooks to the sidecar, once attached

    async def run_pipeline(self) -> dict[str, Any]:
        """The five-step movie pipeline, shown as it runs; returns the library step's result."""
        status, body = await self.api.call("POST", "/api/pipelines/movies")
        if status >= 400:
            raise DemoFailed(f"the movie pipeline could not be queued: {body['error']['message']}")
        runs = await follow_runs(
            self.api,
            [run["id"] for run in body["runs"]],
            RunsDisplay(self.out, tty=self.options.tty),
            worker_stopped=self.worker_stopped,
        )
        raise_for_failed(runs)
        return runs[-1]["result"] or {}

    async def run_job(self, name: str) -> dict[str, Any]:
        """One job, shown as it runs; returns its result."""
        status, body = await self.api.call("POST", f"/api/jobs/{name}/runs")
        if status >= 400:
            raise DemoFailed(f"{name} could not be queued: {body['error']['message']}")
        runs = await follow_runs(
            self.api,
            [body["run"]["id"]],
            RunsDisplay(self.out, tty=self.options.tty),
            worker_stopped=self.worker_stopped,
        )
        raise_for_failed(runs)
        return runs[-1]["result"] or {}

    async def enrich(self, urls: dict[str, str]) -> None:
        """`--with-services`: the catalogue first, then TMDb/OMDb metadata, so the pipeline's
        embeddings are made from the enriched text."""
        line(self.out, "Outside services (simulated): " + ", ".join(f"{n} {u}" for n, u in urls.items()))
        await self.run_job("sync-movies")
        result = await self.run_job("enrich-metadata")
        line(
            self.out,
            f"metadata enriched: {result.get('enriched', 0)} items from TMDb ({result.get('requests', 0)} "
            f"requests), {result.get('omdb_enriched', 0)} with OMDb ratings",
        )
        line(self.out)

    async def discover(self) -> None:
        """`--with-services`: suggestions of titles the server lacks, from the simulated TMDb."""
        result = await self.run_job("generate-discovery-suggestions")
        line(
            self.out,
            f"discovery: {result.get('suggestions_written', 0)} suggestions of titles not on the server for "
            f"{result.get('users_processed', 0)} users ({result.get('tmdb_requests', 0)} TMDb requests); "
            "each user's are on the Jobs page, with a Request button (simulated Jellyseerr)",
        )
        line(self.out)

    async def show_user_and_play(self) -> None:
        out, report = self.out, self.report
        users = await _users(self.database_url)
        user = _choose_user(users, self.options.user)
        report.user_id, report.user_name = user.id, user.name
        picks = await _user_picks(self.api, user.id)
        watched = f"{user.played} movie{'' if user.played == 1 else 's'} watched"
        line(out, f"{user.name} ({watched}, {len(picks)} picks); top picks now:")
        for pick in picks[:TOP_PICKS_SHOWN]:
            why = pick_why(pick)
            line(out, f"  {pick['rank']:2d}. {pick_title(pick)}" + (f"  ({why})" if why else ""))
        folders = {u.id: u.folder for u in users}
        before = await asyncio.to_thread(snapshot, folders)
        with _Phases(report.timings).phase("plays to library"):
            report.played = await self.play(user, picks[: self.options.plays])
            await self.follow_webhook_chain()
        after = await asyncio.to_thread(snapshot, folders)
        report.changed_users = [uid for uid in folders if before[uid] != after[uid]]
        report.change = LibraryChange(before[user.id], after[user.id])
        report.originals_marked = self.originals_played(user, picks[: self.options.plays])
        line(out)
        line(
            out,
            f"originals marked played for {user.name} on the simulated server: "
            f"{report.originals_marked} of {len(report.played)} (the server keeps watch state per item)",
        )
        if report.change.changed:
            _print_change(out, user, report.change, set(report.played))
        else:
            line(out, f"{user.name}'s picks did not change, so neither did the library {user.folder}")
        others = [u for u in users if u.id != user.id]
        others_changed = [u.name for u in others if u.id in report.changed_users]
        unchanged = f"other users' libraries: {len(others) - len(others_changed)} unchanged"
        line(out, unchanged + (f", changed: {', '.join(others_changed)}" if others_changed else ""))

    def webhooks(self) -> WebhookSender:
        """The simulated server's webhooks to the sidecar (attached once: a second sender would send
        every event twice)."""
        if self.sender is None:
            url = f"{self.api.base}/webhooks/{self.sim.kind}"
            self.sender = self.sim.send_webhooks_to(url, self.webhook_token)
        return self.sender

    async def play(self, user: DemoUser, chosen: list[dict[str, Any]]) -> list[str]:
        """Finished plays on the simulated server, which reports them by webhook like the real one."""
        sim = self.sim
        sim_users, sim_movies = _sim_ids(sim)
        webhook_url = f"{self.api.base}/webhooks/{sim.kind}"
        sender = self.webhooks()
        line(
            self.out,
            f"{user.name} watches {len(chosen)} of them from their AI Picks library "
            f"on the simulated {sim.kind.capitalize()} server:",
        )
        copies = _copies_in_library(sim, user.library_item_id)
        for pick in chosen:
            original = sim_movies[pick["movie"]["id"]]
            copy = copies.get(sim.state.movies[original].provider_ids.get("Tmdb", ""))
            # The copy shares the original's watch state; without one (not scanned) play the original.
            sim.state.record_play(sim_users[user.id], copy or original, completed=True)
            self.report.played_copies += copy is not None
            line(
                self.out,
                f"  ▶ {pick_title(pick)}" + ("" if copy else "  (no copy in the library: the original)"),
            )
        await sender.drain()
        statuses: dict[str, int] = {}
        for sent in sender.sent:
            key = str(sent.status) if sent.status is not None else f"failed ({sent.error})"
            statuses[key] = statuses.get(key, 0) + 1
        answered = ", ".join(f"{count} × {status}" for status, count in statuses.items())
        line(self.out, f"the server sent {len(sender.sent)} webhooks to {webhook_url}: {answered}")
        if not any(sent.status == 202 for sent in sender.sent):
            raise DemoFailed(f"no webhook was accepted by {webhook_url} ({answered})")
        return [pick_title(pick) for pick in chosen]

    def originals_played(self, user: DemoUser, chosen: list[dict[str, Any]]) -> int:
        """How many of the played picks' originals the server now shows as played for the user: the
        sidecar marks them (SIDECAR_MARK_ORIGINALS_PLAYED) after counting the copies' plays."""
        sim_users, sim_movies = _sim_ids(self.sim)
        states = [
            self.sim.state.user_data_of(sim_users[user.id], sim_movies[pick["movie"]["id"]])
            for pick in chosen
        ]
        return sum(1 for state in states if state is not None and state.played)

    async def follow_webhook_chain(self) -> None:
        """sync-movie-watch-history -> generate-movie-recommendations -> sync-movie-libraries."""
        first_runs = await _planned_runs(self.database_url)
        if not first_runs:
            raise DemoFailed("the webhooks were answered but planned no run; see the Jobs page and the log")
        chain = await follow_runs(
            self.api,
            first_runs,
            RunsDisplay(self.out, tty=self.options.tty),
            with_follow_ups=True,
            timeout_seconds=self.options.chain_timeout_seconds,
            worker_stopped=self.worker_stopped,
        )
        raise_for_failed(chain)


async def demo_session(
    options: DemoOptions,
    database_url: str,
    redis_url: str,
    out: TextIO,
    *,
    timings: dict[str, float] | None = None,
) -> DemoReport:
    """The whole demo on the given PostgreSQL and Redis/Valkey (which it empties first)."""
    report = DemoReport(library_root=options.library_root / "users", timings=dict(timings or {}))
    phases = _Phases(report.timings)
    async with contextlib.AsyncExitStack() as stack:
        with phases.phase("start"):
            await reset_demo_state(database_url, redis_url, options.library_root)
            sim = await stack.enter_async_context(
                running_simulator(options.kind, seed=options.seed, tv=_tv_catalogue(options.seed))
            )
            movie_files = await _prepare_simulator(sim, options)
            services = RunningServices()
            if options.with_services:
                services = await stack.enter_async_context(running_services(sim.state))
            webhook_token = new_secret()
            api_key = new_secret() if options.needs_api_key else None
            settings = demo_settings(
                options,
                database_url=database_url,
                redis_url=redis_url,
                media_server_url=sim.url,
                media_server_api_key=sim.api_key,
                webhook_token=webhook_token,
                api_key=api_key,
                services=services.settings,
            )
            service = await stack.enter_async_context(
                serving(settings, database_url, redis_url, port=options.port)
            )
        assert service.web_url is not None
        report.api_url, report.jobs_page_url = f"{service.web_url}/api/jobs", f"{service.web_url}/"
        api = ApiClient(settings, service.web_url)
        live = _LiveDemo(out, options, api, sim, database_url, webhook_token, service.stopped, report)
        _print_intro(out, options, sim, movie_files)
        line(out, f"  sidecar       {service.web_url} (web + worker in this process)")
        line(out)
        if options.with_services:
            await live.enrich(services.urls)
        line(out, "Movie pipeline:")
        with phases.phase("pipeline"):
            libraries = await live.run_pipeline()
        line(
            out,
            f"libraries written: {report.library_root} ({libraries.get('users', 0)} users, "
            f"{libraries.get('entries_written', 0)} entries)",
        )
        line(out)
        if options.with_services:
            await live.discover()
        await live.show_user_and_play()
        if sim.state.tv.series:
            line(out)
            series = SeriesDemo(
                out, options, api, sim, live.webhooks(), database_url, redis_url, settings.queue_name,
                _series_pipeline(), service.stopped,
            )  # fmt: skip
            with phases.phase("series"):
                report.series = await series.run(report.user_id)
        line(out)
        _print_summary(out, report, api_key)
        if options.serve:
            await _serve_until_interrupted(out)
    return report
