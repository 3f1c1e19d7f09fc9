"""MovieItem -> the row sync-movies writes, with its two hashes.

`content_hash` covers exactly what feeds the embedding text (title, original title, year, overview,
tagline, genres, studios, people names, tags): when it changes the movie needs a new embedding.
`sync_hash` covers every stored column: when it changes the row is rewritten.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sidecar.mediaserver import MovieItem


def _digest(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def content_hash(movie: MovieItem) -> str:
    return _digest(
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


def movie_row(movie: MovieItem, library_id: str | None) -> tuple[Any, ...]:
    """Values in `sync_queries.INCOMING_COLUMNS` order."""
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
    return (*values, content_hash(movie), _digest(values))
