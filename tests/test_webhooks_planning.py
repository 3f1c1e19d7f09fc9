"""Planning against the real database: coalesced submits, re-planning stored events, own-library checks."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import asyncpg

from sidecar.composition import MEDIA_KINDS
from sidecar.jobs.queue import JobQueue
from sidecar.library.paths import in_library_root
from sidecar.media.history_queries import RECORD_OWN_MARK
from sidecar.series import SERIES
from sidecar.settings import Settings
from tests.factory import add_item, add_user, add_user_library
from tests.webhook_support import fixture_json, queued_runs, stored_events
from webhooks import own_library, planner, store
from webhooks.coalesce import CoalescingSubmitter
from webhooks.emby import parse_emby
from webhooks.jellyfin import parse_jellyfin


async def test_concurrent_submits_keep_every_id(db: asyncpg.Pool, settings: Settings) -> None:
    queue = JobQueue(db, None, settings.queue_name)
    submitter = CoalescingSubmitter()
    ids = [str(n) for n in range(200)]
    start = dt.datetime.now(dt.UTC)
    rows = await asyncio.gather(
        *(
            submitter.submit(
                queue,
                "sync-movies",
                scope={"item_ids": [i]},
                not_before=start + dt.timedelta(milliseconds=n),
            )
            for n, i in enumerate(ids)
        )
    )
    [run] = await queued_runs(db, "sync-movies")
    assert {row["id"] for row in rows} == {run["id"]}
    assert run["scope"] == {"item_ids": sorted(ids)}
    assert run["not_before"] == start + dt.timedelta(milliseconds=199)


async def test_a_failed_submit_reaches_every_waiter(db: asyncpg.Pool, settings: Settings) -> None:
    class BrokenQueue(JobQueue):
        async def submit(self, *args: object, **kwargs: object) -> tuple[asyncpg.Record, bool]:
            raise OSError("connection refused")

    submitter = CoalescingSubmitter()
    queue = BrokenQueue(db, None, settings.queue_name)
    results = await asyncio.gather(
        *(
            submitter.submit(queue, "sync-movies", scope={"item_ids": [str(n)]}, not_before=None)
            for n in range(5)
        ),
        return_exceptions=True,
    )
    assert all(isinstance(r, OSError) for r in results)
    # The next event after the failure gets a fresh attempt.
    real = JobQueue(db, None, settings.queue_name)
    row = await submitter.submit(real, "sync-movies", scope={"item_ids": ["9"]}, not_before=None)
    assert row["scope"] == {"item_ids": ["9"]}


async def test_stored_but_unplanned_events_are_planned_by_the_sweep(
    db: asyncpg.Pool, settings: Settings
) -> None:
    """The process stopped between storing the event and queuing its run: the sweep queues it."""
    event = parse_jellyfin(fixture_json("jellyfin-webhook-playbackstop.json"))
    stored = await store.store_event(
        db, event, body=b"{}", content_type="application/json", ignored_reason=None
    )
    ignored = parse_jellyfin({**fixture_json("jellyfin-webhook-playbackstop.json"), "ItemType": "Episode"})
    await store.store_event(db, ignored, body=b"{}", content_type=None, ignored_reason=planner.NOT_A_MOVIE)
    assert await queued_runs(db) == []

    queue = JobQueue(db, None, settings.queue_name)
    replanned = await planner.replan_unplanned(
        db, queue, planner.new_submitter(), settings, MEDIA_KINDS, older_than_seconds=0
    )
    assert replanned == 1
    [run] = await queued_runs(db, "sync-movie-watch-history")
    assert run["scope"] == {"user_ids": [event.user_id], "item_ids": [event.item_id]}
    row = await db.fetchrow("SELECT status, planned_run_ids FROM webhook_events WHERE id = $1", stored.id)
    assert (row["status"], row["planned_run_ids"]) == ("planned", [run["id"]])
    assert (
        await planner.replan_unplanned(
            db, queue, planner.new_submitter(), settings, MEDIA_KINDS, older_than_seconds=0
        )
        == 0
    )
    assert len(await stored_events(db)) == 2


def test_own_output_path(settings: Settings, tmp_path: Path) -> None:
    root = settings.resolved_library_root
    configured = settings.model_copy(
        update={"library_server_root": "D:\\AI Picks", "path_mappings": {"/srv/jf-view": str(root)}}
    )
    assert in_library_root(f"{root}/users/alice/x.mkv", configured)
    assert in_library_root(str(root), configured)
    assert in_library_root("D:\\AI Picks\\users\\alice\\x.strm", configured)
    assert in_library_root("/srv/jf-view/users/alice/x.mkv", configured)
    assert not in_library_root(f"{root}-old/x.mkv", configured)
    assert not in_library_root("/mnt/media/Movies/Arrival (2016)/Arrival (2016).mkv", configured)
    assert not in_library_root("/srv/jf-view-2/x.mkv", configured)


async def test_item_in_a_registered_ai_library_is_ours_by_its_folder_not_its_parent_id(
    db: asyncpg.Pool, settings: Settings
) -> None:
    """An item under the server-side folder of one of our libraries (user_libraries) is ours even when
    the library root setting does not cover it. Its ParentId is its own folder (as the real servers
    send it), so a ParentId equal to one of our library ids proves nothing."""
    library_new = fixture_json("emby-webhook-library-new.json")
    inside = parse_emby({**library_new, "Item": {
        **library_new["Item"], "ParentId": "88001",
        "Path": "/x/users/alice/ai-movies/Arrival (2016)/Arrival (2016).strm"}})  # fmt: skip
    own_library._library_paths_cache.clear()
    assert not await own_library.is_own_output_item(db, settings, inside)
    await add_user(db, "u1", "alice")
    await add_user_library(
        db, "u1", folder_name="alice", server_path="/x/users/alice/ai-movies", library_id="9001",
        library_item_id="3147", library_guid="abc",
    )  # fmt: skip
    own_library._library_paths_cache.clear()  # a new library is seen after the cache's TTL
    assert await own_library.is_own_output_item(db, settings, inside)
    # The original movie, whose parent id happens to be our library's id: not ours.
    outside = parse_emby({**library_new, "Item": {**library_new["Item"], "ParentId": "3147"}})
    assert not await own_library.is_own_output_item(db, settings, outside)


async def test_a_steady_stream_cannot_push_the_start_back_forever(
    db: asyncpg.Pool, settings: Settings
) -> None:
    """Each event restarts the debounce window, but a run starts at most `max_slide` after its first
    window: events 1 s apart with a 3 s debounce would otherwise postpone it for as long as they come."""
    queue = JobQueue(db, None, settings.queue_name)
    submitter = CoalescingSubmitter()
    start = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    debounce, max_slide = dt.timedelta(seconds=3), dt.timedelta(seconds=7)
    for second in range(30):  # one play per second, for half a minute
        row = await submitter.submit(
            queue,
            "sync-movie-watch-history",
            scope={"user_ids": [f"u{second}"]},
            not_before=start + dt.timedelta(seconds=second) + debounce,
            max_slide=max_slide,
        )
    [run] = await queued_runs(db, "sync-movie-watch-history")
    assert row["id"] == run["id"] and len(run["scope"]["user_ids"]) == 30
    assert run["not_before"] == start + debounce + max_slide

    # The run starts; the next event opens a new window with the full debounce (not the old cap).
    await db.execute("UPDATE job_runs SET status = 'running', started_at = now() WHERE id = $1", run["id"])
    later = start + dt.timedelta(seconds=31) + debounce
    await submitter.submit(
        queue, "sync-movie-watch-history", scope={"user_ids": ["v"]}, not_before=later, max_slide=max_slide
    )
    [second_run] = await queued_runs(db, "sync-movie-watch-history")
    assert second_run["not_before"] == later and second_run["scope"] == {"user_ids": ["v"]}


# --- plays of the copies inside our own libraries ----------------------------------------------------
MATRIX_TMDB = "603"


async def _store_movie(db: asyncpg.Pool, movie_id: str, tmdb: str | None, imdb: str | None) -> None:
    await add_item(db, movie_id, title="The Matrix", tmdb_id=tmdb, imdb_id=imdb)


async def test_a_play_of_an_ai_library_copy_counts_for_the_original_movie(
    db: asyncpg.Pool, settings: Settings
) -> None:
    """Jellyfin: the copy is an unknown item id with the original's provider ids (from our NFO)."""
    original = "0123456789abcdef0123456789abcdef"
    await _store_movie(db, original, MATRIX_TMDB, "tt0133093")
    copy_play = parse_jellyfin(fixture_json("jellyfin-webhook-playbackstop.json"))  # ItemId is not `original`
    assert copy_play.item_id != original and copy_play.tmdb_id == MATRIX_TMDB

    decision = await planner.decide_with_library_check(db, settings, MEDIA_KINDS, copy_play)
    [work] = decision.work
    assert work.job == "sync-movie-watch-history"
    # the copy too: per-item watch state (Jellyfin >= 10.11) keeps the play on the copy alone
    assert work.scope == {"user_ids": [copy_play.user_id], "item_ids": [original, copy_play.item_id]}

    # A play of the original itself is planned as it came; so is one of a movie the sync has not seen.
    await _store_movie(db, copy_play.item_id, MATRIX_TMDB, "tt0133093")
    [same] = (await planner.decide_with_library_check(db, settings, MEDIA_KINDS, copy_play)).work
    assert same.scope["item_ids"] == [copy_play.item_id]


async def test_emby_play_inside_our_library_is_mapped_not_ignored_but_its_library_new_is(
    db: asyncpg.Pool, settings: Settings
) -> None:
    copy_path = (
        f"{settings.resolved_library_root}/users/alice/ai-movies/01 - The Matrix (1999)/The Matrix.mkv"
    )
    await _store_movie(db, "48000", None, "tt0133093")  # only an IMDb id: the fallback key
    play_doc = fixture_json("emby-webhook-playback-stop.json")
    play_doc["Item"] = {**play_doc["Item"], "Path": copy_path, "ProviderIds": {"Imdb": "tt0133093"}}
    play = parse_emby(play_doc)
    [work] = (await planner.decide_with_library_check(db, settings, MEDIA_KINDS, play)).work
    assert work.scope == {"user_ids": [play.user_id], "item_ids": ["48000", play.item_id]}

    added_doc = fixture_json("emby-webhook-library-new.json")
    added_doc["Item"] = {**added_doc["Item"], "Path": copy_path}
    decision = await planner.decide_with_library_check(db, settings, MEDIA_KINDS, parse_emby(added_doc))
    assert decision.ignored == planner.OWN_LIBRARY and not decision.work


# --- the echo of the sidecar's own marks --------------------------------------------------------------
async def test_the_echo_of_the_sidecars_own_mark_is_ignored_once(
    db: asyncpg.Pool, settings: Settings
) -> None:
    """Per-item watch state: the sidecar marks an original played (sidecar.media.copies records the
    mark first); the server's TogglePlayed / item.markplayed for it plans nothing, once."""
    doc = fixture_json("jellyfin-webhook-userdatasaved.json")
    doc.update(SaveReason="TogglePlayed", Played=True)
    event = parse_jellyfin(doc)
    assert event.event == "mark_played"
    await _store_movie(db, event.item_id, MATRIX_TMDB, "tt0133093")
    await db.execute(RECORD_OWN_MARK, event.user_id, event.item_id, True, False)

    echo = await planner.decide_with_library_check(db, settings, MEDIA_KINDS, event)
    assert echo.ignored == planner.OWN_MARK and not echo.work
    # The user toggling it themselves afterwards is real again.
    [work] = (await planner.decide_with_library_check(db, settings, MEDIA_KINDS, event)).work
    assert work.job == "sync-movie-watch-history"
    # A favourite was never marked by us: its rating event is planned.
    doc.update(SaveReason="UpdateUserRating")
    rated = parse_jellyfin(doc)
    assert (await planner.decide_with_library_check(db, settings, MEDIA_KINDS, rated)).work


async def test_an_old_or_another_users_mark_is_not_an_echo(db: asyncpg.Pool, settings: Settings) -> None:
    doc = fixture_json("emby-webhook-item-markplayed.json")
    event = parse_emby(doc)
    assert event.event == "mark_played"
    await _store_movie(db, event.item_id, MATRIX_TMDB, "tt0133093")
    await db.execute(RECORD_OWN_MARK, "someone-else", event.item_id, True, False)
    assert (await planner.decide_with_library_check(db, settings, MEDIA_KINDS, event)).work

    await db.execute(RECORD_OWN_MARK, event.user_id, event.item_id, True, False)
    age = dt.timedelta(seconds=planner.OWN_MARK_ECHO_SECONDS + 60)
    await db.execute("UPDATE own_marks SET marked_at = now() - $1::interval", age)
    assert (await planner.decide_with_library_check(db, settings, MEDIA_KINDS, event)).work


# --- announcements of copies (Jellyfin names no path) -------------------------------------------------
async def test_an_unknown_item_with_a_known_items_ids_is_a_copy_of_the_same_type_only(
    db: asyncpg.Pool, settings: Settings
) -> None:
    """ItemAdded of an id we do not hold with the TMDb id of a movie we do: our copy, no run. The ids
    are compared within the item's own type: an episode's TMDb id is another numbering than a show's."""
    await _store_movie(db, "m-original", MATRIX_TMDB, None)
    await add_item(db, "s-show", kind=SERIES, title="Show", tmdb_id="1399", sync_hash="h")
    copy = parse_jellyfin({**fixture_json("jellyfin-webhook-itemadded.json"), "Provider_tmdb": MATRIX_TMDB})
    assert (
        await planner.decide_with_library_check(db, settings, MEDIA_KINDS, copy)
    ).ignored == planner.OWN_LIBRARY
    new_film = parse_jellyfin(fixture_json("jellyfin-webhook-itemadded.json"))  # ids nobody holds
    [work] = (await planner.decide_with_library_check(db, settings, MEDIA_KINDS, new_film)).work
    assert work.job == "sync-movies"
    episode = parse_jellyfin({**fixture_json("jellyfin-webhook-itemadded.json"), "ItemType": "Episode",
                              "Provider_tmdb": "1399", "Provider_imdb": None})  # fmt: skip
    [work] = (await planner.decide_with_library_check(db, settings, MEDIA_KINDS, episode)).work
    assert work.job == "sync-series"


async def test_a_deleted_item_the_catalogue_never_held_plans_nothing(
    db: asyncpg.Pool, settings: Settings
) -> None:
    doc = {**fixture_json("jellyfin-webhook-itemadded.json"), "NotificationType": "ItemDeleted"}
    never_synced = parse_jellyfin(doc)
    decision = await planner.decide_with_library_check(db, settings, MEDIA_KINDS, never_synced)
    assert decision.ignored == planner.NOT_IN_CATALOGUE and not decision.work
    await _store_movie(db, never_synced.item_id or "", "329865", None)
    [work] = (await planner.decide_with_library_check(db, settings, MEDIA_KINDS, never_synced)).work
    assert work.job == "sync-movies" and work.scope == {"item_ids": [never_synced.item_id]}
