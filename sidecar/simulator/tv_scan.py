"""A scan of the sidecar's AI series folders into copies, as `scan.py` does for AI movie folders.

The sidecar writes `users/<user>/ai-series/Title (Year)/tvshow.nfo` and `Season NN/` folders with
one entry per episode (`Title SxxEyy[-Eyy].ext`, a symlink or `.strm`) and its `<episodedetails>`
NFO beside it, then refreshes that library. The server then holds a Series copy per show folder, a
Season per season folder and an Episode copy per entry, named from the NFOs (the AI libraries fetch
no metadata), with the NFOs' `<uniqueid>`s as provider ids and the entry as the path.

Jellyfin's rules modelled here: a season folder is `Season NN`, `Season N`, `SNN` or `Specials`
(season 0) (`Emby.Naming/TV/SeasonPathParser.cs`); an episode's numbers come from the NFO, else from
an `SxxEyy[-Eyy]` file name (`Emby.Naming/Common/NamingOptions.cs`); `tvshow.nfo` is read by
`SeriesNfoParser`, `<basename>.nfo` beside an episode by `EpisodeNfoParser`
(`MediaBrowser.XbmcMetadata/Parsers/`). Ids derive from paths (Jellyfin) or are numbered (Emby), so a
renamed show folder makes new items. Folders starting with a dot (the sidecar's temporary ones) are
skipped. Additions and removals emit events, so an attached webhook sender fires as after a scan.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from typing import Any

from sidecar.simulator.model import SimLibrary, SimState
from sidecar.simulator.scan import (
    TICKS_PER_MINUTE,
    VIDEO_EXTENSIONS,
    ScanResult,
    _int,
    _text,
    nfo_all,
    nfo_provider_ids,
    nfo_root,
    nfo_texts,
)
from sidecar.simulator.tv import SimEpisode

_SEASON_FOLDER = re.compile(r"^(?:season\s*(?P<a>\d+)|s(?P<b>\d+)|(?P<specials>specials))$", re.IGNORECASE)
_EPISODE_NAME = re.compile(
    r"s(?P<season>\d{1,3})e(?P<episode>\d{1,4})(?:-?e(?P<end>\d{1,4}))?", re.IGNORECASE
)
_SHOW_FOLDER = re.compile(r"^(?P<title>.+?)\s*\((?P<year>\d{4})\)$")
_SHOW_FIELDS = ("name", "original_title", "sort_name", "year", "overview", "genres", "tags", "studios",
                "official_rating", "status", "provider_ids")  # fmt: skip
_EPISODE_FIELDS = ("name", "index_number", "index_number_end", "overview", "premiere_date", "runtime_ticks",
                   "provider_ids")  # fmt: skip


_EMPTY: dict[str, Any] = {"genres": [], "tags": [], "studios": [], "provider_ids": {}}


def _changes(item: object, fields: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """What differs between an item and the fields its files give now (absent = empty)."""
    wanted = {name: fields.get(name, _EMPTY.get(name)) for name in names}
    return {name: value for name, value in wanted.items() if getattr(item, name) != value}


def read_show_nfo(path: str) -> dict[str, Any]:
    """Series fields from a `<tvshow>` NFO ({} when missing or broken)."""
    root = nfo_root(path, "tvshow")
    if root is None:
        return {}
    fields: dict[str, Any] = {"provider_ids": nfo_provider_ids(root)}
    fields.update(nfo_texts(root, (("title", "name"), ("originaltitle", "original_title"), ("sorttitle", "sort_name"),
                                   ("plot", "overview"), ("mpaa", "official_rating"), ("status", "status"))))  # fmt: skip
    for tag, name in (("genre", "genres"), ("tag", "tags"), ("studio", "studios")):
        fields[name] = nfo_all(root, tag)
    if fields.get("status") not in (None, "Continuing", "Ended", "Unreleased"):
        del fields["status"]  # Jellyfin logs and ignores a status it cannot parse
    return fields


def read_episode_nfo(path: str) -> dict[str, Any]:
    """Episode fields from an `<episodedetails>` NFO ({} when missing or broken)."""
    root = nfo_root(path, "episodedetails")
    if root is None:
        return {}
    fields: dict[str, Any] = {"provider_ids": nfo_provider_ids(root)}
    for tag, name in (("title", "name"), ("plot", "overview")):
        value = _text(root, tag)
        if value is not None:
            fields[name] = value
    for tag, name in (
        ("season", "season"),
        ("episode", "index_number"),
        ("episodenumberend", "index_number_end"),
    ):
        number = _int(_text(root, tag))
        if number is not None:
            fields[name] = number
    runtime = _int(_text(root, "runtime"))
    if runtime:
        fields["runtime_ticks"] = runtime * TICKS_PER_MINUTE
    aired = _text(root, "aired")
    if aired:
        try:
            fields["premiere_date"] = dt.datetime.combine(dt.date.fromisoformat(aired), dt.time(0), dt.UTC)
        except ValueError:
            pass
    return fields


def _season_number(folder_name: str) -> int | None:
    match = _SEASON_FOLDER.match(folder_name.strip())
    if match is None:
        return None
    return 0 if match.group("specials") else int(match.group("a") or match.group("b"))


def _listdir(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def _episodes_in(season_folder: str, season: int) -> dict[str, dict[str, Any]]:
    """entry path -> episode fields, for every video entry of one season folder."""
    names = _listdir(season_folder)
    found: dict[str, dict[str, Any]] = {}
    for name in names:
        stem, extension = os.path.splitext(name)
        path = os.path.join(season_folder, name)
        if extension.lower() not in VIDEO_EXTENSIONS or not os.path.lexists(path):
            continue
        fields: dict[str, Any] = {"name": stem, "provider_ids": {}}
        numbers = _EPISODE_NAME.search(stem)
        if numbers:
            fields["index_number"] = int(numbers.group("episode"))
            if numbers.group("end"):
                fields["index_number_end"] = int(numbers.group("end"))
        if f"{stem}.nfo" in names:
            fields.update(read_episode_nfo(os.path.join(season_folder, f"{stem}.nfo")))
        fields.pop("season", None)  # the season folder decides
        if "index_number" not in fields:
            continue  # a file the TV resolver cannot number is not an episode
        fields["path"] = path
        fields["container"] = extension.lstrip(".").lower()
        found[path] = fields
    return found


def shows_on_disk(library: SimLibrary) -> dict[str, dict[str, Any]]:
    """show folder -> {"fields", "seasons": {season folder: (number, {entry path: fields})}}."""
    shows: dict[str, dict[str, Any]] = {}
    for location in library.locations:
        for child in _listdir(location):
            folder = os.path.join(location, child)
            if child.startswith(".") or not os.path.isdir(folder):
                continue
            named = _SHOW_FOLDER.match(child)
            fields: dict[str, Any] = {"name": named.group("title") if named else child, "provider_ids": {}}
            if named:
                fields["year"] = int(named.group("year"))
            nfo = os.path.join(folder, "tvshow.nfo")
            if os.path.exists(nfo):
                fields.update(read_show_nfo(nfo))
            seasons: dict[str, tuple[int, dict[str, dict[str, Any]]]] = {}
            for name in _listdir(folder):
                number = _season_number(name)
                season_folder = os.path.join(folder, name)
                if number is not None and not name.startswith(".") and os.path.isdir(season_folder):
                    episodes = _episodes_in(season_folder, number)
                    if episodes:
                        seasons[season_folder] = (number, episodes)
            shows[folder] = {"fields": fields, "seasons": seasons}
    return shows


def apply_tv_scan(state: SimState, library: SimLibrary, on_disk: dict[str, dict[str, Any]]) -> ScanResult:
    """Bring the library's series, seasons and episodes in line with its folders (`shows_on_disk`)."""
    result = ScanResult(library.name)
    tv = state.tv
    held = {s.path: s for s in list(tv.series.values()) if s.library_id == library.item_id}
    for path, series in held.items():
        if path not in on_disk:
            result.removed.extend(e.id for e in tv.episodes_of(series.id))
            tv.remove(series.id)
            result.removed.append(series.id)
    for folder, show in on_disk.items():
        series = held.get(folder)
        if series is None:
            series = tv.add_series(id=tv.new_id(f"path:{folder}"), library_id=library.item_id, path=folder,
                                   **show["fields"])  # fmt: skip
            result.added.append(series.id)
        else:
            changes = _changes(series, show["fields"], _SHOW_FIELDS)
            if changes:
                tv.update(series.id, **changes)
                result.updated.append(series.id)
        _sync_seasons(state, series.id, show["seasons"], result)
    state.scan_results.append(result)
    return result


def _sync_seasons(state: SimState, series_id: str, seasons: dict[str, tuple[int, dict[str, dict[str, Any]]]],
                  result: ScanResult) -> None:  # fmt: skip
    tv = state.tv
    series = tv.series[series_id]
    held_seasons = {s.path: s for s in tv.seasons_of(series_id)}
    held_episodes: dict[str, SimEpisode] = {e.path: e for e in tv.episodes_of(series_id) if e.path}
    wanted_entries = {path for _, entries in seasons.values() for path in entries}
    for path, episode in held_episodes.items():
        if path not in wanted_entries:
            tv.remove(episode.id)
            result.removed.append(episode.id)
    for path, season in held_seasons.items():
        if path not in seasons:
            tv.remove(season.id)
            result.removed.append(season.id)
    for folder, (number, entries) in sorted(seasons.items(), key=lambda kv: kv[1][0]):
        season = held_seasons.get(folder)
        if season is None:
            season = tv.add_season(series, number, id=tv.new_id(f"path:{folder}"), path=folder)
            result.added.append(season.id)
        for path, fields in entries.items():
            episode = held_episodes.get(path)
            if episode is None:
                added = tv.add_episode(season, id=tv.new_id(f"path:{path}"), **fields)
                result.added.append(added.id)
                continue
            changes = _changes(episode, fields, _EPISODE_FIELDS)
            if changes:
                tv.update(episode.id, **changes)
                result.updated.append(episode.id)
