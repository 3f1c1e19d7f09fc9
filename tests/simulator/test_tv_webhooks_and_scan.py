"""Episode and series webhooks in both plugins' formats, and the scan of AI series folders into
copies, in both dialects."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from sidecar.simulator.model import SimState
from sidecar.simulator.scan import scan_library
from sidecar.simulator.seeds import seed_state
from sidecar.simulator.tv_library import seed_tv
from sidecar.simulator.webhook_bodies import render_webhook

KINDS = ["jellyfin", "emby"]


def _state(kind: str) -> SimState:
    state = SimState(kind)  # type: ignore[arg-type]
    seed_state(state, "sample")
    seed_tv(state, "sample")
    return state


def _capture(state: SimState, style: str) -> list[Any]:
    bodies: list[Any] = []
    state.listeners.append(lambda event: bodies.append(render_webhook(state, event, style)))  # type: ignore[arg-type]
    return bodies


def _quiet(state: SimState) -> Any:
    return next(s for s in state.tv.series.values() if s.name == "The Quiet Signal")


def test_jellyfin_episode_events_carry_the_plugins_episode_keys() -> None:
    state = _state("jellyfin")
    bodies = _capture(state, "send_all")
    series = _quiet(state)
    episode = [e for e in state.tv.episodes_of(series.id) if not e.virtual][4]
    alice = next(u.id for u in state.users.values() if u.name == "alice")
    state.tv.record_play(alice, episode.id)
    stop, saved = (b.document for b in bodies)
    assert (stop["NotificationType"], saved["NotificationType"]) == ("PlaybackStop", "UserDataSaved")
    for doc in (stop, saved):
        assert doc["ItemType"] == "Episode" and doc["ItemId"] == episode.id and doc["UserId"] == alice
        assert doc["SeriesId"] == series.id and doc["SeriesName"] == series.name
        assert doc["SeasonId"] == episode.season_id
        assert (doc["SeasonNumber"], doc["SeasonNumber00"], doc["SeasonNumber000"]) == (1, "01", "001")
        assert (doc["EpisodeNumber"], doc["EpisodeNumber00"]) == (
            episode.index_number,
            f"{episode.index_number:02d}",
        )
        assert doc["Year"] == series.year  # the show's year, not the episode's
        # Provider_* are the episode's own ids, never the show's.
        assert doc["Provider_tmdb"] == episode.provider_ids["Tmdb"] != series.provider_ids["Tmdb"]
        assert doc["Provider_tvdb"] == episode.provider_ids["Tvdb"]
    assert stop["PlayedToCompletion"] is True
    assert saved["Played"] is True and saved["SaveReason"] == "PlaybackFinished"


def test_jellyfin_template_dashes_the_series_and_season_guids() -> None:
    state = _state("jellyfin")
    bodies = _capture(state, "template")
    episode = next(e for e in state.tv.episodes.values() if not e.virtual)
    alice = next(u.id for u in state.users.values() if u.name == "alice")
    state.tv.mark_played(alice, episode.id)
    document = bodies[0].document
    assert document["SeriesId"] == str(uuid.UUID(hex=episode.series_id))
    assert document["SeasonId"] == str(uuid.UUID(hex=episode.season_id))
    assert document["Played"] == "True" and document["SaveReason"] == "TogglePlayed"


@pytest.mark.parametrize("kind", KINDS)
def test_marking_a_show_played_fires_once_per_real_episode(kind: str) -> None:
    state = _state(kind)
    bodies = _capture(state, "send_all" if kind == "jellyfin" else "json")
    series = _quiet(state)
    bob = next(u.id for u in state.users.values() if u.name == "bob")
    state.tv.mark_played(bob, series.id)
    real = [e.id for e in state.tv.episodes_of(series.id) if not e.virtual]
    names = [b.event for b in bodies]
    assert names == (["UserDataSaved"] * len(real) if kind == "jellyfin" else ["item.markplayed"] * len(real))
    ids = [b.document["ItemId"] if kind == "jellyfin" else b.document["Item"]["Id"] for b in bodies]
    assert ids == real


@pytest.mark.parametrize("kind", KINDS)
def test_new_show_sends_series_season_and_episodes_but_no_virtual_ones(kind: str) -> None:
    state = _state(kind)
    bodies = _capture(state, "send_all" if kind == "jellyfin" else "json")
    library = next(lib for lib in state.libraries if lib.collection_type == "tvshows")
    tv = state.tv
    series = tv.add_series(name="New Show", library_id=library.item_id, path="/media/shows/New Show (2026)",
                           year=2026, provider_ids={"Tmdb": "1", "Tvdb": "2"})  # fmt: skip
    season = tv.add_season(series, 1)
    tv.add_episode(season, name="Pilot", index_number=1, path="/media/shows/New Show (2026)/Season 01/x.mkv",
                   provider_ids={"Tmdb": "11"})  # fmt: skip
    tv.add_episode(season, name="Later", index_number=2, virtual=True)
    if kind == "jellyfin":
        assert [(b.event, b.document["ItemType"]) for b in bodies] == [
            ("ItemAdded", "Series"),
            ("ItemAdded", "Season"),
            ("ItemAdded", "Episode"),
        ]
        assert bodies[1].document["SeasonNumber"] == 1 and bodies[1].document["SeriesId"] == series.id
        assert bodies[2].document["Provider_tmdb"] == "11"
    else:
        assert [(b.event, b.document["Item"]["Type"]) for b in bodies] == [
            ("library.new", "Series"),
            ("library.new", "Season"),
            ("library.new", "Episode"),
        ]
        item = bodies[2].document["Item"]
        assert item["SeriesId"] == series.id and item["ParentIndexNumber"] == 1 and item["IndexNumber"] == 1
        assert item["Path"].endswith("x.mkv") and item["ProviderIds"] == {"Tmdb": "11"}


def test_emby_episode_playback_stop_is_nested_with_the_episode_dto() -> None:
    state = _state("emby")
    bodies = _capture(state, "multipart")
    episode = next(e for e in state.tv.episodes.values() if not e.virtual)
    kids = next(u.id for u in state.users.values() if u.name == "kids")
    state.tv.record_play(kids, episode.id, completed=False, position_ticks=1000)
    assert [b.event for b in bodies if b is not None] == ["playback.stop"]  # no save event on Emby
    document = bodies[0].document
    assert document["Item"]["Type"] == "Episode" and document["Item"]["SeasonName"]
    assert document["PlaybackInfo"] == {"PlayedToCompletion": False, "PositionTicks": 1000}
    assert document["User"]["Id"] == kids


# --- scanning AI series folders ---------------------------------------------------------------------
def _write_show(
    root: Path, folder: str, *, tmdb: str = "60007", tvdb: str = "250077", title: str = "Harbor Lights"
) -> Path:
    show = root / folder
    (show / "Season 01").mkdir(parents=True)
    (show / "Season 00").mkdir()
    (show / "tvshow.nfo").write_text(
        f"<tvshow><title>{title}</title><year>2019</year><sorttitle>01 - {title}</sorttitle>"
        f'<uniqueid type="tmdb">{tmdb}</uniqueid><uniqueid type="tvdb">{tvdb}</uniqueid>'
        "<genre>Drama</genre><status>Ended</status><lockdata>true</lockdata></tvshow>",
        encoding="utf-8",
    )
    for number in (1, 2):
        (show / "Season 01" / f"{title} S01E0{number}.mkv").symlink_to("/media/shows/original.mkv")
        (show / "Season 01" / f"{title} S01E0{number}.nfo").write_text(
            f"<episodedetails><title>Chapter {number}</title><season>1</season><episode>{number}</episode>"
            f'<aired>2019-03-0{number}</aired><uniqueid type="tmdb">{3_000_000 + number}</uniqueid>'
            "</episodedetails>",
            encoding="utf-8",
        )
    (show / "Season 00" / f"{title} S00E01.strm").write_text(
        "http://server/Videos/1/stream\n", encoding="utf-8"
    )
    return show


@pytest.mark.parametrize("kind", KINDS)
def test_scan_makes_series_season_and_episode_copies_from_the_nfos(kind: str, tmp_path: Path) -> None:
    state = _state(kind)
    root = tmp_path / "users" / "alice" / "ai-series"
    show = _write_show(root, "Harbor Lights (2019)")
    (root / ".tmp-Other (2020)" / "Season 01").mkdir(parents=True)
    library = state.add_library("AI Series (alice)", "tvshows", [str(root)], scans_folders=True)
    bodies = _capture(state, "send_all" if kind == "jellyfin" else "json")
    result = scan_library(state, library)
    tv = state.tv
    copies = [s for s in tv.series.values() if s.library_id == library.item_id]
    assert [s.name for s in copies] == ["Harbor Lights"]
    copy = copies[0]
    assert copy.provider_ids == {"Tmdb": "60007", "Tvdb": "250077"} and copy.status == "Ended"
    assert copy.sort_name == "01 - Harbor Lights" and copy.path == str(show)
    episodes = tv.episodes_of(copy.id)
    assert [(e.parent_index_number, e.index_number, e.name) for e in episodes] == [
        (0, 1, "Harbor Lights S00E01"), (1, 1, "Chapter 1"), (1, 2, "Chapter 2")
    ]  # fmt: skip
    assert episodes[1].provider_ids == {"Tmdb": "3000001"} and episodes[0].container == "strm"
    assert len(result.added) == 1 + 2 + 3 and len(bodies) == 6
    assert scan_library(state, library).added == []  # nothing changed: nothing new


@pytest.mark.parametrize("kind", KINDS)
def test_scan_removes_gone_shows_and_a_renamed_folder_makes_new_items(kind: str, tmp_path: Path) -> None:
    state = _state(kind)
    root = tmp_path / "ai-series"
    show = _write_show(root, "Harbor Lights (2019)")
    library = state.add_library("AI Series (bob)", "tvshows", [str(root)], scans_folders=True)
    scan_library(state, library)
    tv = state.tv
    first_ids = {e.id for e in tv.episodes.values() if e.library_id == library.item_id}
    os.rename(show, root / "01 - Harbor Lights (2019)")
    result = scan_library(state, library)
    second_ids = {e.id for e in tv.episodes.values() if e.library_id == library.item_id}
    assert len(second_ids) == 3 and not first_ids & second_ids
    assert first_ids <= set(result.removed)
    (root / "01 - Harbor Lights (2019)" / "Season 01" / "Harbor Lights S01E02.mkv").unlink()
    scan_library(state, library)
    assert len([e for e in tv.episodes.values() if e.library_id == library.item_id]) == 2


@pytest.mark.parametrize("per_item", [True, False])
def test_a_copys_play_is_the_copys_own_unless_keys_are_shared(per_item: bool, tmp_path: Path) -> None:
    """Jellyfin >= 10.11: per item, so the original stays unplayed; 10.10: the copy (same show
    ids from tvshow.nfo, same numbers) shares the original's data."""
    state = _state("jellyfin")
    tv = state.tv
    tv.set_per_item_user_data(per_item)
    original_show = next(s for s in tv.series.values() if s.name == "Harbor Lights")
    original = next(
        e for e in tv.episodes_of(original_show.id) if (e.parent_index_number, e.index_number) == (1, 1)
    )
    root = tmp_path / "ai-series"
    _write_show(root, "Harbor Lights (2019)", tvdb=original_show.provider_ids["Tvdb"])
    library = state.add_library("AI Series (bob)", "tvshows", [str(root)], scans_folders=True)
    scan_library(state, library)
    copy = next(
        e for e in tv.episodes.values()
        if e.library_id == library.item_id and (e.parent_index_number, e.index_number) == (1, 1)
    )  # fmt: skip
    bob = next(u.id for u in state.users.values() if u.name == "bob")
    tv.record_play(bob, copy.id, emit=False)
    shared = tv.user_data_of(bob, original.id)
    assert tv.user_data_of(bob, copy.id).played  # type: ignore[union-attr]
    assert (shared is not None and shared.played) == (not per_item)
