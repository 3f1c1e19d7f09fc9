"""A TMDb title as discovery stores it: read from a list answer's result, and its embedding text.

Results of `/movie/{id}/recommendations` (and `/similar`, `/tv/...`) carry `id`, `title` (tv: `name`),
`original_title` (`original_name`), `overview`, `release_date` (`first_air_date`), `genre_ids`,
`popularity`, `vote_average`, `vote_count`, `poster_path`, `original_language`, `adult`
(developer.themoviedb.org, "Movie Recommendations" / "TV Series Recommendations").
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import astuple, dataclass
from typing import Any

# TMDb's genre ids (GET /genre/movie/list and /genre/tv/list; fixed public data).
GENRES: dict[str, dict[int, str]] = {
    "movie": {
        28: "Action", 12: "Adventure", 16: "Animation", 35: "Comedy", 80: "Crime", 99: "Documentary",
        18: "Drama", 10751: "Family", 14: "Fantasy", 36: "History", 27: "Horror", 10402: "Music",
        9648: "Mystery", 10749: "Romance", 878: "Science Fiction", 10770: "TV Movie", 53: "Thriller",
        10752: "War", 37: "Western",
    },
    "tv": {
        10759: "Action & Adventure", 16: "Animation", 35: "Comedy", 80: "Crime", 99: "Documentary",
        18: "Drama", 10751: "Family", 10762: "Kids", 9648: "Mystery", 10763: "News", 10764: "Reality",
        10765: "Sci-Fi & Fantasy", 10766: "Soap", 10767: "Talk", 10768: "War & Politics", 37: "Western",
    },
}  # fmt: skip


@dataclass(frozen=True)
class TitleRow:
    """One `discovery_titles` row, in column order (see UPSERT_TITLES)."""

    media_type: str
    tmdb_id: int
    title: str
    original_title: str | None
    year: int | None
    overview: str | None
    genres: list[str]
    popularity: float | None
    vote_average: float | None
    vote_count: int | None
    poster_path: str | None
    original_language: str | None
    adult: bool
    content_hash: str

    def values(self) -> tuple[Any, ...]:
        return astuple(self)


def _year(date: Any) -> int | None:
    text = str(date or "")
    return int(text[:4]) if len(text) >= 4 and text[:4].isdigit() else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def embedding_text(title: str, year: int | None, genres: list[str], overview: str | None) -> str:
    """What the candidate's vector is made of: the same kinds of words as a server item's text."""
    head = f"{title} ({year})" if year else title
    parts = [head]
    if genres:
        parts.append("Genres: " + ", ".join(genres))
    if overview:
        parts.append(overview)
    return "\n".join(parts)


def title_row(media_type: str, result: Mapping[str, Any]) -> TitleRow | None:
    """The row of one list result; None for a result without a usable id or title."""
    tmdb_id = result.get("id")
    title = _text(result.get("title") or result.get("name"))
    if not isinstance(tmdb_id, int) or isinstance(tmdb_id, bool) or tmdb_id <= 0 or title is None:
        return None
    names = GENRES.get(media_type, {})
    genre_ids = result.get("genre_ids")
    genres = [names[g] for g in genre_ids if g in names] if isinstance(genre_ids, list) else []
    year = _year(result.get("release_date") or result.get("first_air_date"))
    overview = _text(result.get("overview"))
    text = embedding_text(title, year, genres, overview)
    votes = result.get("vote_count")
    return TitleRow(
        media_type=media_type,
        tmdb_id=tmdb_id,
        title=title,
        original_title=_text(result.get("original_title") or result.get("original_name")),
        year=year,
        overview=overview,
        genres=genres,
        popularity=_number(result.get("popularity")),
        vote_average=_number(result.get("vote_average")),
        vote_count=votes if isinstance(votes, int) and not isinstance(votes, bool) else None,
        poster_path=_text(result.get("poster_path")),
        original_language=_text(result.get("original_language")),
        adult=result.get("adult") is True,
        content_hash=hashlib.sha1(text.encode("utf-8")).hexdigest(),
    )
