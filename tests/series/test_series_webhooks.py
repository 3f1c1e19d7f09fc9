"""Episode and series webhooks in both plugins' formats, planned by the generic planner and run with
their follow-ups: a finished episode becomes series watch history -> recommendations -> that user's
series library; a show or episode added becomes a scoped sync-series. Jellyfin's `Provider_*` keys on
an episode are the episode's own ids, so they match episodes, never shows."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from sidecar.composition import MEDIA_KINDS
from sidecar.settings import Settings
from sidecar.simulator.webhook_bodies import DEFAULT_STYLE, render_webhook
from tests.series.test_series_pipeline import KINDS, SERIES_JOBS, Setup, _picks, _run, _setup, _states
from webhooks.emby import parse_emby
from webhooks.events import WebhookEvent
from webhooks.jellyfin import parse_jellyfin
from webhooks.planner import decide_with_library_check


def _listen(setup: Setup) -> list[WebhookEvent]:
    """Every webhook the simulated server sends from now on, parsed as the receiver would."""
    parse = parse_jellyfin if setup.sim.kind == "jellyfin" else parse_emby
    events: list[WebhookEvent] = []

    def on_event(event: Any) -> None:
        body = render_webhook(setup.sim.state, event, DEFAULT_STYLE[setup.sim.kind])
        if body is not None and isinstance(body.document, dict):
            events.append(parse(body.document))

    setup.sim.state.listeners.append(on_event)
    return events


async def _handle(db: asyncpg.Pool, run_job: Any, setup: Setup, events: list[WebhookEvent]) -> list[str]:
    """Plan each event, coalesce the work per job as the submitter would, run it with its follow-ups;
    returns the jobs run in order."""
    scopes: dict[str, dict[str, list[str]]] = {}
    for event in events:
        decision = await decide_with_library_check(db, setup.settings, MEDIA_KINDS, event)
        for work in decision.work:
            merged = scopes.setdefault(work.job, {})
            for key, values in work.scope.items():
                merged[key] = sorted({*merged.get(key, []), *values})
    ran: list[str] = []
    pending = list(scopes.items())
    while pending:
        job, scope = pending.pop(0)
        result = await _run(run_job, setup, job, scope=scope, trigger="webhook")
        ran.append(job)
        pending += [(f["job"], f["scope"]) for f in result.get("follow_ups", [])]
    return ran


@pytest.mark.parametrize("kind", KINDS)
async def test_finished_episode_reaches_the_users_library(
    kind: str, db: asyncpg.Pool, settings: Settings, tmp_path: Path, run_job: Any
) -> None:
    async with _setup(kind, settings, tmp_path) as setup:
        tv = setup.sim.state.tv
        for job in SERIES_JOBS:
            await _run(run_job, setup, job)
        kids = setup.users["kids"]
        picked = (await _picks(db, kids))[0]
        title = await db.fetchval("SELECT title FROM series WHERE id = $1", picked)
        episode = next(e for e in tv.episodes_of(picked) if not e.virtual and e.parent_index_number)
        events = _listen(setup)
        tv.record_play(kids, episode.id)  # PlaybackStop (played to completion) + UserDataSaved
        assert events and all(e.item_type == "Episode" for e in events)
        if kind == "jellyfin":  # the episode's own ids, not the show's
            assert events[0].tmdb_id == episode.provider_ids["Tmdb"]
        ran = await _handle(db, run_job, setup, events)
        assert ran == [
            "sync-series-watch-history",
            "generate-series-recommendations",
            "sync-series-libraries",
        ]
        states = await _states(db, kids)
        assert states[title][0] == "watching"
        # Started from their picks: the show stays in the library, at the top of the list.
        assert (await _picks(db, kids))[0] == picked
        shown = {ET.parse(p / "tvshow.nfo").findtext("title") for p in setup.root("kids").iterdir()}
        assert title in shown  # by the NFO title: folder names are sanitised ("Rosa? / Part" ...)


@pytest.mark.parametrize("kind", KINDS)
async def test_added_show_and_episode_are_synced_by_scope(
    kind: str, db: asyncpg.Pool, settings: Settings, tmp_path: Path, run_job: Any
) -> None:
    async with _setup(kind, settings, tmp_path) as setup:
        tv = setup.sim.state.tv
        await _run(run_job, setup, "sync-series")
        events = _listen(setup)
        library = next(lib.item_id for lib in setup.sim.state.libraries if lib.collection_type == "tvshows")
        show = tv.add_series(name="Night Ferry", library_id=library, path="/media/shows/Night Ferry (2024)",
                             year=2024, provider_ids={"Tmdb": "999", "Tvdb": "998"})  # fmt: skip
        season = tv.add_season(show, 1)
        episode = tv.add_episode(season, name="Crossing", index_number=1,
                                 path="/media/shows/Night Ferry (2024)/Season 01/Night Ferry S01E01.mkv")  # fmt: skip
        assert events
        await _handle(db, run_job, setup, events)
        row = await db.fetchrow("SELECT title, tmdb_id FROM series WHERE id = $1", show.id)
        assert row is not None and tuple(row) == ("Night Ferry", "999")
        stored = await db.fetchrow("SELECT series_id, season_number FROM episodes WHERE id = $1", episode.id)
        assert stored is not None and tuple(stored) == (show.id, 1)
        # Removed on the server: the delete event marks it removed (the sync asks the server first).
        events.clear()
        tv.remove(episode.id)
        await _handle(db, run_job, setup, events)
        assert await db.fetchval("SELECT removed_at FROM episodes WHERE id = $1", episode.id) is not None


@pytest.mark.parametrize("kind", KINDS)
async def test_the_scans_announcements_of_our_copies_plan_nothing(
    kind: str, db: asyncpg.Pool, settings: Settings, tmp_path: Path, run_job: Any
) -> None:
    """Writing a library makes the server add (and later drop) a copy of every show and episode in it.
    Jellyfin's announcements name no path or library; a copy's provider ids are its original's, so an
    unknown id with a known show's or episode's ids is ours, and a deleted id never synced removes
    nothing. None of them may queue a run (each delayed the next webhook chain on the one worker)."""
    async with _setup(kind, settings, tmp_path) as setup:
        for job in SERIES_JOBS[:-1]:
            await _run(run_job, setup, job)
        events = _listen(setup)
        await _run(run_job, setup, "sync-series-libraries")
        await setup.sim.state.settle()  # the refresh's scan made the copies
        shows_and_episodes = ("Series", "Episode")  # seasons too, which no kind syncs
        added = [e for e in events if e.event == "item_added" and e.item_type in shows_and_episodes]
        assert {e.item_type for e in added} == set(shows_and_episodes)
        for event in added:
            decision = await decide_with_library_check(db, setup.settings, MEDIA_KINDS, event)
            assert not decision.work and decision.ignored == "own_library", event

        events.clear()
        await db.execute("DELETE FROM series_recommendations WHERE user_id = $1", setup.users["kids"])
        await _run(run_job, setup, "sync-series-libraries")
        await setup.sim.state.settle()  # the copies of the kids' shows are gone
        deleted = [e for e in events if e.event == "item_deleted" and e.item_type in shows_and_episodes]
        assert {e.item_type for e in deleted} == set(shows_and_episodes)
        reason = "not_in_catalogue" if kind == "jellyfin" else "own_library"  # Emby names the path
        for event in deleted:
            decision = await decide_with_library_check(db, setup.settings, MEDIA_KINDS, event)
            assert not decision.work and decision.ignored == reason, event
