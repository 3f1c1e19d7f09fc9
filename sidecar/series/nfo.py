"""`tvshow.nfo` and episode NFOs for a user's AI series library (series.md §4), built as XML trees.

The AI libraries fetch no metadata, so every entry carries its own: the show's NFO with the
original's uniqueids (tmdb/imdb/tvdb), the rank in `sorttitle` and `dateadded`, the explanation
first in `plot`, `lockdata`; each episode's NFO with its numbers, air date and its **own** ids.
Not written: `premiered` (duplicate "recently released" rows) and `episodeguide` (no handler).
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from sidecar.library.nfo import TICKS_PER_MINUTE, add, document, format_rating, plot

JELLYFIN_SERIES_STATUSES = {"Continuing", "Ended", "Unreleased"}  # SeriesStatus.cs


def _document(root: ET.Element) -> bytes:
    add(root, "lockdata", "true")
    return document(root)


def _unique_ids(root: ET.Element, ids: Mapping[str, str | None]) -> None:
    first = True
    for kind in ("tmdb", "tvdb", "imdb"):
        value = ids.get(kind)
        if value:
            add(root, "uniqueid", value, type=kind, **({"default": "true"} if first else {}))
            first = False


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def build_tvshow_nfo(show: Mapping[str, Any], *, position: int, width: int, date_added: dt.datetime) -> bytes:
    root = ET.Element("tvshow")
    add(root, "title", show["title"])
    add(root, "originaltitle", show.get("original_title") or show["title"])
    add(root, "sorttitle", f"{position:0{width}d} - {show['title']}")
    add(root, "year", show.get("year"))
    add(root, "plot", plot(show.get("explanation"), show.get("overview")))
    add(root, "outline", show.get("overview"))
    for genre in show.get("genres") or ():
        add(root, "genre", genre)
    for studio in show.get("studios") or ():
        add(root, "studio", studio)
    add(root, "mpaa", show.get("official_rating"))
    if show.get("community_rating") is not None:
        add(root, "rating", format_rating(show["community_rating"]))
    if show.get("status") in JELLYFIN_SERIES_STATUSES:
        add(root, "status", show["status"])
    _unique_ids(root, {k: show.get(f"{k}_id") for k in ("tmdb", "tvdb", "imdb")})
    add(root, "dateadded", _stamp(date_added))
    return _document(root)


def build_episode_nfo(show_title: str, episode: Mapping[str, Any], *, date_added: dt.datetime) -> bytes:
    root = ET.Element("episodedetails")
    add(root, "title", episode.get("title"))
    add(root, "showtitle", show_title)
    add(root, "season", episode.get("season"))
    add(root, "episode", episode.get("episode"))
    add(root, "episodenumberend", episode.get("episode_end"))
    add(root, "aired", episode.get("aired"))
    add(root, "plot", episode.get("overview"))
    if episode.get("runtime_ticks"):
        add(root, "runtime", round(episode["runtime_ticks"] / TICKS_PER_MINUTE))
    _unique_ids(root, {k: episode.get(f"{k}_id") for k in ("tmdb", "tvdb", "imdb")})
    add(root, "dateadded", _stamp(date_added))
    return _document(root)
