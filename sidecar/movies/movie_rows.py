"""MovieItem -> the row sync-movies writes, with its two hashes.

`content_hash` covers exactly what feeds the embedding text (title, original title, year, overview,
tagline, genres, studios, people names, tags): when it changes the movie needs a new embedding.
`sync_hash` covers every stored column: when it changes the row is rewritten.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import NamedTuple

from sidecar.media.row_hash import digest
from sidecar.mediaserver import MovieItem


class MovieRow(NamedTuple):
    """One `movies` row, in the order COPY receives it (json columns as text)."""

    id: str
    library_id: str | None
    title: str
    original_title: str | None
    sort_title: str | None
    year: int | None
    overview: str | None
    tagline: str | None
    genres: list[str]
    studios: list[str]
    people: str
    tags: list[str]
    community_rating: float | None
    critic_rating: float | None
    official_rating: str | None
    runtime_ticks: int | None
    provider_ids: str
    tmdb_id: str | None
    imdb_id: str | None
    path: str | None
    image_tags: str
    premiere_date: dt.date | None
    date_added: dt.datetime | None
    content_hash: str
    sync_hash: str


COLUMNS = MovieRow._fields


def content_hash(movie: MovieItem) -> str:
    return digest(
        [
            movie.title,
            movie.original_title,
            movie.year,
            movie.overview,
            movie.tagline,
            list(movie.genres),
            list(movie.studios),
            [p.get("name") for p in movie.people],
            list(movie.tags),
        ]
    )


def movie_row(movie: MovieItem, library_id: str | None) -> MovieRow:
    people = json.dumps(list(movie.people), ensure_ascii=False)
    providers = json.dumps(movie.provider_ids, ensure_ascii=False, sort_keys=True)
    images = json.dumps(movie.image_tags, ensure_ascii=False, sort_keys=True)
    values = (
        movie.id, library_id, movie.title, movie.original_title, movie.sort_title, movie.year,
        movie.overview, movie.tagline, list(movie.genres), list(movie.studios), people, list(movie.tags),
        movie.community_rating, movie.critic_rating, movie.official_rating, movie.runtime_ticks, providers,
        movie.provider_ids.get("tmdb"), movie.provider_ids.get("imdb"), movie.path, images,
        movie.premiere_date, movie.date_added,
    )  # fmt: skip
    return MovieRow(*values, content_hash=content_hash(movie), sync_hash=digest(values))
