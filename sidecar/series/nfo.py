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

from sidecar.library.nfo import TICKS_PER_MINUTE, XML_DECLARATION, add_text

JELLYFIN_SERIES_STATUSES = {"Continuing", "Ended", "Unreleased"}  # SeriesStatus.cs


def _document(root: ET.Element) -> bytes:
    add_text(root, "lockdata", "true")
    ET.indent(root, space="  ")
    return (XML_DECLARATION + ET.tostring(root, encoding="unicode") + "\n").encode("utf-8")


def _unique_ids(root: ET.Element, ids: Mapping[str, str | None]) -> None:
    first = True
    for kind in ("tmdb", "tvdb", "imdb"):
        value = ids.get(kind)
        if value:
            add_text(root, "uniqueid", value, type=kind, **({"default": "true"} if first else {}))
            first = False


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def build_tvshow_nfo(show: Mapping[str, Any], *, position: int, width: int, date_added: dt.datetime) -> bytes:
    root = ET.Element("tvshow")
    add_text(root, "title", show["title"])
    add_text(root, "originaltitle", show.get("original_title") or show["title"])
    add_text(root, "sorttitle", f"{position:0{width}d} - {show['title']}")
    add_text(root, "year", show.get("year"))
    plot = [p.strip() for p in (show.get("explanation"), show.get("overview")) if p and p.strip()]
    add_text(root, "plot", "\n\n".join(plot) or None)
    add_text(root, "outline", show.get("overview"))
    for genre in show.get("genres") or ():
        add_text(root, "genre", genre)
    for studio in show.get("studios") or ():
        add_text(root, "studio", studio)
    add_text(root, "mpaa", show.get("official_rating"))
    if show.get("community_rating") is not None:
        add_text(root, "rating", f"{show['community_rating']:.1f}")
    if show.get("status") in JELLYFIN_SERIES_STATUSES:
        add_text(root, "status", show["status"])
    _unique_ids(root, {k: show.get(f"{k}_id") for k in ("tmdb", "tvdb", "imdb")})
    add_text(root, "dateadded", _stamp(date_added))
    return _document(root)


def build_episode_nfo(show_title: str, episode: Mapping[str, Any], *, date_added: dt.datetime) -> bytes:
    root = ET.Element("episodedetails")
    add_text(root, "title", episode.get("title"))
    add_text(root, "showtitle", show_title)
    add_text(root, "season", episode.get("season"))
    add_text(root, "episode", episode.get("episode"))
    add_text(root, "episodenumberend", episode.get("episode_end"))
    add_text(root, "aired", episode.get("aired"))
    add_text(root, "plot", episode.get("overview"))
    if episode.get("runtime_ticks"):
        add_text(root, "runtime", round(episode["runtime_ticks"] / TICKS_PER_MINUTE))
    _unique_ids(root, {k: episode.get(f"{k}_id") for k in ("tmdb", "tvdb", "imdb")})
    add_text(root, "dateadded", _stamp(date_added))
    return _document(root)
