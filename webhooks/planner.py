"""Event -> incremental runs of the existing jobs, with trigger "webhook" and a debounce.

The plan only names the job and the scope; the jobs re-fetch everything from the media server
(webhooks are hints, not truth) and chain the later steps through their follow-ups. Bursts become
one run per job: a submit joins the job's queued run, merges the scopes and pushes `not_before`
back, so the debounce window restarts with every event, up to `webhook_max_wait_seconds` after the
run's first event (a steady stream must not postpone the work forever).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

from sidecar.jobs.queue import JobQueue
from sidecar.media import history_queries
from sidecar.media.kind import MediaKind, Step
from sidecar.settings import Settings
from sidecar.system import users
from webhooks import events as ev
from webhooks import store
from webhooks.coalesce import CoalescingSubmitter
from webhooks.events import WebhookEvent
from webhooks.own_library import is_copy_of_known_item, is_own_output_item, is_unknown_item
from webhooks.queries import TAKE_OWN_MARK

log = structlog.get_logger(__name__)

# Ignore reasons (the `ignored` field of the 202 answer and webhook_events.ignored_reason).
UNKNOWN_EVENT = "unknown_event"
EVENT_NOT_HANDLED = "event_not_handled"
NOT_A_MOVIE = "not_a_movie"  # no registered media kind has this item type (the name predates series)
NOT_PLAYED_TO_COMPLETION = "not_played_to_completion"
OWN_LIBRARY = "own_library"
DUPLICATE = "duplicate"
OWN_MARK = "own_mark"  # the server's echo of a played / favourite mark the sidecar made itself
NOT_IN_CATALOGUE = "not_in_catalogue"  # deleted, and never synced: nothing to remove

# How long after its own mark the sidecar takes a matching webhook for that mark's echo. Servers send
# it within seconds; the window only bounds how long a missing echo can swallow a real toggle.
OWN_MARK_ECHO_SECONDS = 600.0

# A user's view of a movie changed in a way that can change their picks.
_WATCH_EVENTS = {ev.MARK_PLAYED, ev.MARK_UNPLAYED, ev.RATED}
# Jellyfin's UserDataSaved fires on every SaveUserData: at playback start, on *every* progress report
# with a position, and at every stop, finished or not (jellyfin/jellyfin
# `Emby.Server.Implementations/Session/SessionManager.cs`: OnPlaybackStart/OnPlaybackProgress/
# OnPlaybackStopped). Only these reasons can change a user's picks; PlaybackFinished only when the
# item ended up played. TogglePlayed/UpdateUserRating are normally mapped to mark_played/
# mark_unplayed/rated already (listed for a body without `Played`).
_ACTING_SAVE_REASONS = {"PlaybackFinished", "TogglePlayed", "UpdateUserRating", "UpdateUserData", "Import"}


@dataclass(frozen=True)
class PlannedWork:
    job: str
    scope: dict[str, Any] | None  # None: everything


@dataclass(frozen=True)
class Decision:
    work: tuple[PlannedWork, ...] = ()
    ignored: str | None = None


@dataclass(frozen=True)
class PlannedRun:
    job: str
    run_id: uuid.UUID
    not_before: dt.datetime | None


def new_submitter() -> CoalescingSubmitter:
    """The submitter for webhook work: it records each run on the events that joined it. One per
    process (the web app keeps it under `routes.SUBMITTER`; a sweep may make its own)."""
    return CoalescingSubmitter(after_submit=store.record_planned)


def kind_of(event: WebhookEvent, kinds: Sequence[MediaKind]) -> MediaKind | None:
    return next((kind for kind in kinds if kind.handles(event.item_type)), None)


def decide(event: WebhookEvent, kinds: Sequence[MediaKind]) -> Decision:
    """What this event asks for, from the event alone (the own-library check needs the database):
    the item's kind syncs it (added, changed, deleted) or its watch history (played, rated)."""
    if event.event == ev.UNKNOWN:
        return Decision(ignored=UNKNOWN_EVENT)
    if event.event == ev.USER_CHANGED:
        # Created, deleted, disabled or re-policied on the server: sync-users stores it and puts every
        # policy right at once (a new user sees every library, other users' picks included, until then).
        return Decision(work=(PlannedWork(users.JOB, None),))
    acts = event.event in (ev.ITEM_ADDED, ev.ITEM_DELETED, ev.PLAYBACK_STOPPED, ev.USER_DATA_SAVED)
    if not acts and event.event not in _WATCH_EVENTS:
        return Decision(ignored=EVENT_NOT_HANDLED)
    kind = kind_of(event, kinds)
    if kind is None:
        return Decision(ignored=NOT_A_MOVIE)
    assert event.item_id is not None  # the payload models require it for item events
    if event.event in (ev.ITEM_ADDED, ev.ITEM_DELETED):
        # Added, changed or deleted: the sync re-fetches the item and sees which it was.
        return Decision(work=(PlannedWork(kind.job(Step.SYNC), {"item_ids": [event.item_id]}),))
    if event.event == ev.PLAYBACK_STOPPED and event.played is not True:
        return Decision(ignored=NOT_PLAYED_TO_COMPLETION)
    if event.event == ev.USER_DATA_SAVED:
        if event.reason not in _ACTING_SAVE_REASONS:
            return Decision(ignored=EVENT_NOT_HANDLED)
        if event.reason == "PlaybackFinished" and event.played is not True:
            return Decision(ignored=NOT_PLAYED_TO_COMPLETION)  # stopped part-way: nothing changed
    assert event.user_id is not None
    scope = {"user_ids": [event.user_id], "item_ids": [event.item_id]}
    return Decision(work=(PlannedWork(kind.job(Step.WATCH_HISTORY), scope),))


async def decide_with_library_check(
    db: asyncpg.Pool, settings: Settings, kinds: Sequence[MediaKind], event: WebhookEvent
) -> Decision:
    """`decide`, plus what needs the database: our own libraries and the copies in them.

    An item announced inside an AI Picks library is ignored (writing a library must not trigger
    syncs). A *play* of such a copy is real, though, and the most common way a pick gets watched: the
    copy is another item with the original's provider ids (from our NFO). The run is planned for the
    original and the copy: Jellyfin >= 10.11 (and, we assume, Emby) keep user data per item, so only
    the copy holds the play, and the watch-history step counts it for the original
    (`sidecar.media.copies`).
    """
    decision = decide(event, kinds)
    if not decision.work or event.event == ev.USER_CHANGED:
        return decision
    kind = kind_of(event, kinds)
    assert kind is not None  # decide() planned work, so a kind handles the item
    if event.event in (ev.ITEM_ADDED, ev.ITEM_DELETED):
        # A library write makes the server announce every copy it added or dropped: none may queue a run.
        if await is_own_output_item(db, settings, event):
            return Decision(ignored=OWN_LIBRARY)
        if event.event == ev.ITEM_ADDED and await is_copy_of_known_item(db, kind, event):
            return Decision(ignored=OWN_LIBRARY)
        if event.event == ev.ITEM_DELETED and await is_unknown_item(db, kind, event):
            return Decision(ignored=NOT_IN_CATALOGUE)
        return decision
    if await _is_own_mark_echo(db, event):
        return Decision(ignored=OWN_MARK)
    original = await db.fetchval(
        kind.sql(history_queries.ORIGINAL_ITEM), event.item_id, event.tmdb_id, event.imdb_id
    )
    if original is None or original == event.item_id:
        return decision  # an item we know, or one the sync has not seen yet (the run re-reads it)
    scope = {"user_ids": [event.user_id], "item_ids": [original, event.item_id]}
    return Decision(work=(PlannedWork(kind.job(Step.WATCH_HISTORY), scope),))


async def _is_own_mark_echo(db: asyncpg.Pool, event: WebhookEvent) -> bool:
    """Whether this is the server's answer to a mark the sidecar made (sidecar.media.copies): a
    played mark comes back as TogglePlayed / item.markplayed, a favourite as UpdateUserRating /
    item.rate. Each recorded mark is taken once, so a real toggle after the echo is planned."""
    played, favourite = event.event == ev.MARK_PLAYED, event.event == ev.RATED
    if not (played or favourite):
        return False
    row = await db.fetchval(
        TAKE_OWN_MARK, event.user_id, event.item_id, played, favourite, OWN_MARK_ECHO_SECONDS
    )
    return row is not None


async def queue_work(
    queue: JobQueue,
    submitter: CoalescingSubmitter,
    settings: Settings,
    work: tuple[PlannedWork, ...],
    event_id: uuid.UUID | None = None,
) -> list[PlannedRun]:
    """Submit each planned job (joining its queued run) with the debounce as `not_before`.

    With `event_id`, the submitter records the run on the stored event (once per coalesced batch)."""
    not_before = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=settings.webhook_debounce_seconds)
    # A steady stream of events may delay a run by at most the configured maximum wait.
    max_slide = dt.timedelta(
        seconds=max(0.0, settings.webhook_max_wait_seconds - settings.webhook_debounce_seconds)
    )
    planned = []
    for item in work:
        row = await submitter.submit(
            queue,
            item.job,
            trigger="webhook",
            scope=item.scope,
            not_before=not_before,
            tag=event_id,
            max_slide=max_slide,
        )
        planned.append(PlannedRun(item.job, row["id"], row["not_before"]))
    return planned


async def replan_unplanned(
    db: asyncpg.Pool,
    queue: JobQueue,
    submitter: CoalescingSubmitter,
    settings: Settings,
    kinds: Sequence[MediaKind],
    *,
    older_than_seconds: float = 60.0,
) -> int:
    """Queue the runs of events that were stored but never planned (the web process stopped in
    between, or Postgres failed right after the insert). For a periodic sweep; returns the count."""
    count = 0
    for row in await store.unplanned_events(db, older_than_seconds=older_than_seconds):
        decision = await decide_with_library_check(db, settings, kinds, store.event_from_row(row))
        if decision.work:
            await queue_work(queue, submitter, settings, decision.work, row["id"])
        else:
            await store.mark_planned_without_runs(db, row["id"])
        count += 1
    if count:
        log.info("queued the runs of webhook events that were stored but not planned", events=count)
    return count
