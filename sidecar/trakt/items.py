"""Trakt's history entries and ratings as rows of `imported_plays` / `imported_ratings`.

One entry that does not parse (no id, no date, a type we do not know) is a `BadItem`: counted and
logged by the import, never the end of it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sidecar.trakt.queries import SOURCE

# Trakt's type -> the server table an entry is matched in.
HISTORY_TABLES = {"movie": "movies", "episode": "episodes"}
RATING_TABLES = {"movie": "movies", "show": "series", "episode": "episodes"}


class BadItem(ValueError):
    """One Trakt entry we cannot use; the message says why (no secret: entries carry none)."""


def _when(value: Any, what: str) -> dt.datetime:
    if not isinstance(value, str):
        raise BadItem(f"no {what}")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadItem(f"{what} {value[:40]!r} is not a date") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _id_text(value: Any) -> str | None:
    """Trakt sends TMDb/TVDB ids as numbers and IMDb ids as strings; we store text, or nothing."""
    if value is None or isinstance(value, bool) or value == "":
        return None
    if isinstance(value, int | str):
        return str(value)[:64]
    return None


def _ids(holder: Any, what: str) -> dict[str, Any]:
    if not isinstance(holder, dict) or not isinstance(holder.get("ids"), dict):
        raise BadItem(f"no {what}.ids")
    return holder["ids"]


def _provider_ids(ids: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    return _id_text(ids.get("tmdb")), _id_text(ids.get("imdb")), _id_text(ids.get("tvdb"))


def _episode_numbers(entry: dict[str, Any]) -> tuple[int, int]:
    episode = entry.get("episode")
    if not isinstance(episode, dict):
        raise BadItem("no episode")
    season, number = episode.get("season"), episode.get("number")
    if not isinstance(season, int) or not isinstance(number, int) or isinstance(season, bool):
        raise BadItem("episode without season/number")
    return season, number


def play_row(user_id: str, entry: Any) -> tuple[Any, ...]:
    """A history entry as an imported_plays row (columns of queries.PLAY_COLUMNS)."""
    if not isinstance(entry, dict):
        raise BadItem("not an object")
    history_id = entry.get("id")
    if not isinstance(history_id, int) or isinstance(history_id, bool) or not 0 < history_id < 2**63:
        raise BadItem("no history id")
    kind = entry.get("type")
    table = HISTORY_TABLES.get(kind)  # type: ignore[arg-type]
    if table is None:
        raise BadItem(f"history type {str(kind)[:20]!r}")
    watched_at = _when(entry.get("watched_at"), "watched_at")
    if kind == "movie":
        tmdb, imdb, _ = _provider_ids(_ids(entry.get("movie"), "movie"))
        return (user_id, SOURCE, history_id, table, tmdb, imdb, None, None, None, watched_at)
    season, number = _episode_numbers(entry)
    tmdb, imdb, tvdb = _provider_ids(_ids(entry.get("show"), "show"))  # the show's ids, never the episode's
    return (user_id, SOURCE, history_id, table, tmdb, imdb, tvdb, season, number, watched_at)


def rating_row(user_id: str, entry: Any) -> tuple[Any, ...]:
    """A rating as an imported_ratings row (columns of queries.RATING_COLUMNS)."""
    if not isinstance(entry, dict):
        raise BadItem("not an object")
    kind = entry.get("type")
    table = RATING_TABLES.get(kind)  # type: ignore[arg-type]
    if table is None:
        raise BadItem(f"rating type {str(kind)[:20]!r}")
    rating = entry.get("rating")
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 10:
        raise BadItem("rating is not 1-10")
    rated_at = _when(entry.get("rated_at"), "rated_at")
    own = _ids(entry.get(kind), kind)  # type: ignore[arg-type]
    key = _id_text(own.get("trakt"))
    if key is None:
        raise BadItem(f"no {kind}.ids.trakt")
    season = number = None
    if kind == "episode":
        season, number = _episode_numbers(entry)
        tmdb, imdb, tvdb = _provider_ids(_ids(entry.get("show"), "show"))
    else:
        tmdb, imdb, tvdb = _provider_ids(own)
        if kind == "movie":
            tvdb = None
    return (user_id, SOURCE, table, key, tmdb, imdb, tvdb, season, number, float(rating), rated_at)
