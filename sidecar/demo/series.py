"""The demo's series part, after the movies: the series jobs on the simulated server's TV library,
one user's series picks and their `ai-series` folder on disk, then an episode of one of their picks
played on the simulated server, whose webhooks run that user's series chain (watch history ->
recommendations -> library), as the movie part does.

The first four steps of the series pipeline run for every user. The library step is one run scoped
to a few users (`LIBRARY_USERS`): the generated catalogue's shows have 40 episodes on average, so
20 shows for each of 671 users would be about half a million episode entries, minutes of file
writes that show nothing more than three users' folders do.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, TextIO

import asyncpg
from arq.connections import ArqRedis

from sidecar.api_client import ApiClient
from sidecar.db import create_pool
from sidecar.demo import queries
from sidecar.demo.config import DemoOptions
from sidecar.demo.library_view import LibraryChange, ShowOnDisk, read_shows, snapshot
from sidecar.demo.media import create_placeholders, episode_files
from sidecar.demo.output import DemoFailed, line, pick_title, pick_why, raise_for_failed
from sidecar.demo.watch import follow_runs, wait_until_idle
from sidecar.jobs.pipelines import queue_pipeline
from sidecar.jobs.queue import JobQueue
from sidecar.library import names
from sidecar.mediaserver.base import normalise_id
from sidecar.progress import RunsDisplay
from sidecar.simulator.runner import RunningSimulator
from sidecar.simulator.tv import SimEpisode
from sidecar.simulator.webhook_sender import WebhookSender

KIND = "series"  # the media kind's name: its pipeline, recommendations route and library rows
SINGULAR = "series"  # the key of a pick's item in GET /api/users/{id}/recommendations/series
LIBRARY_USERS = 3  # users whose series library the demo writes: the chosen one and two more
PICKS_SHOWN = 5
SHOWS_SHOWN = 5


@dataclass
class SeriesReport:
    """What the series part did, for the demo's caller (the tests)."""

    user_id: str | None = None
    user_name: str | None = None
    picks: list[str] = field(default_factory=list)  # "Title (Year)" by rank
    library_user_ids: list[str] = field(default_factory=list)  # whose series library was written
    folder: Path | None = None  # the chosen user's ai-series folder
    shows: dict[str, ShowOnDisk] = field(default_factory=dict)  # that folder before the play
    played_show: str | None = None  # "Title (Year)" of the played pick
    played_folder: str | None = None  # its folder in the library (the name sanitised)
    played_episode: str | None = None  # "S01E01"
    played_copy: bool = False  # played from the user's AI series library (a copy), not the original
    original_marked: bool = False  # the original episode now shows as played for the user on the server
    change: LibraryChange | None = None
    changed_users: list[str] = field(default_factory=list)  # ids of library users whose folder changed


@contextlib.asynccontextmanager
async def _queue(database_url: str, redis_url: str, queue_name: str) -> AsyncIterator[JobQueue]:
    """The sidecar's own queue, to queue a library run with a scope (the API has no scope)."""
    pool = await create_pool(database_url, max_size=2)  # the sidecar's codecs (JSON scope)
    redis = ArqRedis.from_url(redis_url)
    try:
        yield JobQueue(pool, redis, queue_name)
    finally:
        await redis.aclose()
        await pool.close()


def _first_episode(episodes: list[SimEpisode]) -> SimEpisode | None:
    regular = [e for e in episodes if not e.virtual and e.path and e.parent_index_number > 0]
    return min(regular, key=lambda e: (e.parent_index_number, e.index_number), default=None)


@dataclass
class SeriesDemo:
    out: TextIO
    options: DemoOptions
    api: ApiClient
    sim: RunningSimulator
    sender: WebhookSender
    database_url: str
    redis_url: str
    queue_name: str
    steps: tuple[str, ...]  # the series pipeline, library step last
    worker_stopped: asyncio.Event
    report: SeriesReport = field(default_factory=SeriesReport)
    picks: list[dict[str, Any]] = field(default_factory=list)  # the chosen user's, as the API answers
    library_item_id: str | None = None  # the chosen user's series library on the server

    def _display(self) -> RunsDisplay:
        return RunsDisplay(self.out, tty=self.options.tty)

    async def _fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.database_url)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    async def _follow(self, run_ids: list[str], *, with_follow_ups: bool = False) -> None:
        runs = await follow_runs(
            self.api,
            run_ids,
            self._display(),
            with_follow_ups=with_follow_ups,
            timeout_seconds=self.options.chain_timeout_seconds if with_follow_ups else None,
            worker_stopped=self.worker_stopped,
        )
        raise_for_failed(runs)

    async def run(self, preferred_user_id: str | None) -> SeriesReport:
        tv = self.sim.state.tv
        real = sum(1 for e in tv.episodes.values() if not e.virtual)
        line(self.out, f"Series pipeline ({len(tv.series)} shows, {real} episodes on the simulated server):")
        async with _queue(self.database_url, self.redis_url, self.queue_name) as queue:
            chain, _ = await queue_pipeline(queue, self.steps[:-1])
            await self._follow([str(run["id"]) for run in chain])
            users = await self._library_users(preferred_user_id)
            await self._write_libraries(queue, users)
        await self._show_user()
        line(self.out)
        await self._play_and_follow()
        return self.report

    async def _library_users(self, preferred_user_id: str | None) -> list[asyncpg.Record]:
        """The chosen user (the movie part's, or --user, when they have series picks; else the one
        with the most) first, then the next users by picks."""
        rows = await self._fetch(queries.SERIES_PICK_USERS)
        if not rows:
            raise DemoFailed("the series pipeline gave nobody any picks; see the Jobs page")
        wanted = self.options.user.lower() if self.options.user else None
        chosen = next(
            (r for r in rows if (r["name"].lower() == wanted if wanted else r["id"] == preferred_user_id)),
            rows[0],
        )
        others = [r for r in rows if r["id"] != chosen["id"]]
        return [chosen, *others[: LIBRARY_USERS - 1]]

    async def _write_libraries(self, queue: JobQueue, users: list[asyncpg.Record]) -> None:
        ids = [r["id"] for r in users]
        self.report.user_id, self.report.user_name = ids[0], users[0]["name"]
        self.report.library_user_ids = ids
        picked = {r["series_id"] for r in await self._fetch(queries.SERIES_PICKED, ids)}
        sim_series = {normalise_id(s): s for s in self.sim.state.tv.series}
        files = episode_files(self.sim.state, {sim_series[s] for s in picked if s in sim_series})
        await asyncio.to_thread(create_placeholders, files)
        names = ", ".join(r["name"] for r in users)
        line(self.out, f"series libraries for {names} ({len(files)} episode files linked):")
        run, _ = await queue.submit(self.steps[-1], trigger="pipeline", scope={"user_ids": ids})
        await self._follow([str(run["id"])])

    async def _show_user(self) -> None:
        report, out = self.report, self.out
        status, body = await self.api.call("GET", f"/api/users/{report.user_id}/recommendations/{KIND}")
        if status != 200:
            raise DemoFailed(f"GET /api/users/{report.user_id}/recommendations/{KIND} answered {status}")
        picks = body["recommendations"]
        report.picks = [pick_title(p, SINGULAR) for p in picks]
        self.picks = picks
        line(out)
        line(out, f"{report.user_name}'s series picks ({len(picks)}):")
        for pick in picks[:PICKS_SHOWN]:
            why = pick_why(pick)
            line(out, f"  {pick['rank']:2d}. {pick_title(pick, SINGULAR)}" + (f"  ({why})" if why else ""))
        folders = await self._folders()
        report.folder = folders[report.user_id]
        report.shows = await asyncio.to_thread(read_shows, report.folder)
        seasons = sum(s.seasons for s in report.shows.values())
        episodes = sum(s.episodes for s in report.shows.values())
        line(out, f"{report.user_name}'s series library {report.folder}:")
        line(
            out,
            f"  {len(report.shows)} shows, {seasons} season folders, {episodes} episodes (symlink + NFO each)",
        )
        for name, show in sorted(report.shows.items(), key=lambda kv: kv[1].rank)[:SHOWS_SHOWN]:
            seasons_text = f"{show.seasons} season{'' if show.seasons == 1 else 's'}"
            line(out, f"  {show.rank:02d} - {name}/  {seasons_text}, {show.episodes} episodes")

    async def _folders(self) -> dict[str, Path]:
        rows = await self._fetch(queries.SERIES_FOLDERS, self.report.library_user_ids)
        return {r["user_id"]: Path(r["folder_path"]) for r in rows}

    def _episode_to_play(self, pick: dict[str, Any]) -> tuple[str, SimEpisode, SimEpisode | None]:
        """(sim user id, the original episode, its copy in the user's AI series library if scanned)."""
        tv = self.sim.state.tv
        sim_users = {normalise_id(u): u for u in self.sim.state.users}
        sim_series = {normalise_id(s): s for s in tv.series}
        original = tv.series[sim_series[pick[SINGULAR]["id"]]]
        episode = _first_episode(tv.episodes_of(original.id))
        if episode is None:
            raise DemoFailed(f"{original.name} has no episode to play on the simulated server")
        library = self.library_item_id
        # The scan made the copy from the pick's folder in the user's library (not every show has a
        # TMDb id to match by).
        copies = [
            s for s in tv.series.values()
            if library and normalise_id(s.library_id) == library
            and s.path and PurePosixPath(s.path).name == self.report.played_folder
        ]  # fmt: skip
        for copy in copies:
            for candidate in tv.episodes_of(copy.id):
                if (candidate.parent_index_number, candidate.index_number) == (
                    episode.parent_index_number,
                    episode.index_number,
                ):
                    return sim_users[self.report.user_id or ""], episode, candidate
        return sim_users[self.report.user_id or ""], episode, None

    async def _play_and_follow(self) -> None:
        report, out = self.report, self.out
        picks = self.picks
        pick = picks[1] if len(picks) > 1 else picks[0]  # not the first: its move to the top shows
        rows = await self._fetch(queries.SERIES_LIBRARY_ITEM, report.user_id)
        if rows and rows[0]["library_item_id"]:
            self.library_item_id = normalise_id(rows[0]["library_item_id"])
        report.played_show = pick_title(pick, SINGULAR)
        report.played_folder = names.movie_base_name(pick[SINGULAR]["title"], pick[SINGULAR]["year"])
        user, episode, copy = self._episode_to_play(pick)
        report.played_episode = f"S{episode.parent_index_number:02d}E{episode.index_number:02d}"
        report.played_copy = copy is not None
        where = "their AI Picks series library" if copy else "the main library (no copy scanned)"
        line(out, f"{report.user_name} watches {report.played_show} {report.played_episode} from {where}:")
        folders = await self._folders()
        before = await asyncio.to_thread(snapshot, folders)
        since = (await self._fetch(queries.DATABASE_NOW))[0]["now"]
        played = copy or episode
        self.sim.state.tv.record_play(user, played.id, completed=True)
        await self.sender.drain()
        fresh = [s for s in self.sender.sent if s.item_id == played.id]
        answered = sorted({str(s.status) for s in fresh})
        line(out, f"the server sent {len(fresh)} webhooks about the episode: answered {', '.join(answered)}")
        if not any(s.status == 202 for s in fresh):
            raise DemoFailed(f"no webhook about the episode was accepted ({', '.join(answered)})")
        planned = [str(r["run_id"]) for r in await self._fetch(queries.PLANNED_RUN_IDS, since)]
        if not planned:
            raise DemoFailed("the episode's webhooks planned no run; see the Jobs page and the log")
        await self._follow(planned, with_follow_ups=True)
        await wait_until_idle(self.api, timeout_seconds=self.options.chain_timeout_seconds)
        after = await asyncio.to_thread(snapshot, folders)
        report.changed_users = [uid for uid in folders if before[uid] != after[uid]]
        report.change = LibraryChange(before[report.user_id], after[report.user_id])
        original = self.sim.state.tv.user_data_of(user, episode.id)
        report.original_marked = original is not None and original.played
        self._print_change()

    def _print_change(self) -> None:
        report, out = self.report, self.out
        change = report.change
        assert change is not None
        line(out)
        name = report.played_folder or ""
        was, now = change.before.get(name), change.after.get(name)
        if was is not None and now is not None and was != now:
            line(out, f"{report.user_name}'s series library: {name} moved from {was:02d} to {now:02d}")
            line(out, "  (a show started from the AI library stays at the top until finished or dropped)")
        for rank, title in change.added:
            line(out, f"  + {rank:02d} - {title}")
        for rank, title in change.removed:
            line(out, f"  - {rank:02d} - {title}")
        if not change.changed:
            line(out, f"{report.user_name}'s series library did not change")
        if report.played_copy:
            marked = "marked played" if report.original_marked else "NOT marked played"
            line(out, f"the original episode on the simulated server: {marked} for {report.user_name}")
        others = [u for u in report.library_user_ids if u != report.user_id]
        unchanged = len([u for u in others if u not in report.changed_users])
        line(out, f"other users' series libraries: {unchanged} of {len(others)} unchanged")
