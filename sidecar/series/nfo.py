"""`tvshow.nfo` and episode NFOs for a user's AI series library (series.md §4), built field by field.

The AI libraries fetch no metadata, so every entry carries its own: the show's NFO with the
original's uniqueids (tmdb/imdb/tvdb), the rank in `sorttitle` and `dateadded`, the explanation
first in `plot`, `lockdata`; each episode's NFO with its numbers, air date and its **own** ids.
Not written: `premiered` (duplicate "recently released" rows) and `episodeguide` (no handler).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sidecar.library.nfo import TICKS_PER_MINUTE, Nfo, format_rating, plot

JELLYFIN_SERIES_STATUSES = {"Continuing", "Ended", "Unreleased"}  # SeriesStatus.cs


def _document(nfo: Nfo) -> bytes:
    nfo.add("lockdata", "true")
    return nfo.to_bytes()


def _unique_ids(nfo: Nfo, ids: Mapping[str, str | None]) -> None:
    first = True
    for kind in ("tmdb", "tvdb", "imdb"):
        value = ids.get(kind)
        if value:
            nfo.add("uniqueid", value, type=kind, **({"default": "true"} if first else {}))
            first = False


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def build_tvshow_nfo(show: Mapping[str, Any], *, position: int, width: int, date_added: dt.datetime) -> bytes:
    nfo = Nfo("tvshow")
    nfo.add("title", show["title"])
    nfo.add("originaltitle", show.get("original_title") or show["title"])
    nfo.add("sorttitle", f"{position:0{width}d} - {show['title']}")
    nfo.add("year", show.get("year"))
    nfo.add("plot", plot(show.get("explanation"), show.get("overview")))
    nfo.add("outline", show.get("overview"))
    for genre in show.get("genres") or ():
        nfo.add("genre", genre)
    for studio in show.get("studios") or ():
        nfo.add("studio", studio)
    nfo.add("mpaa", show.get("official_rating"))
    if show.get("community_rating") is not None:
        nfo.add("rating", format_rating(show["community_rating"]))
    if show.get("status") in JELLYFIN_SERIES_STATUSES:
        nfo.add("status", show["status"])
    _unique_ids(nfo, {k: show.get(f"{k}_id") for k in ("tmdb", "tvdb", "imdb")})
    nfo.add("dateadded", _stamp(date_added))
    return _document(nfo)


def build_episode_nfo(show_title: str, episode: Mapping[str, Any], *, date_added: dt.datetime) -> bytes:
    nfo = Nfo("episodedetails")
    nfo.add("title", episode.get("title"))
    nfo.add("showtitle", show_title)
    nfo.add("season", episode.get("season"))
    nfo.add("episode", episode.get("episode"))
    nfo.add("episodenumberend", episode.get("episode_end"))
    nfo.add("aired", episode.get("aired"))
    nfo.add("plot", episode.get("overview"))
    if episode.get("runtime_ticks"):
        nfo.add("runtime", round(episode["runtime_ticks"] / TICKS_PER_MINUTE))
    _unique_ids(nfo, {k: episode.get(f"{k}_id") for k in ("tmdb", "tvdb", "imdb")})
    nfo.add("dateadded", _stamp(date_added))
    return _document(nfo)
