"""A user's movie picks as library entries: `NN - Title (Year)/` with the video and a `<movie>` NFO."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sidecar.library import names
from sidecar.library.entries import BuiltEntries, EntryOptions, PickEntry, build_entries
from sidecar.movies.model import RankedMovie
from sidecar.movies.nfo import build_movie_nfo


def ranked_movie(row: Mapping[str, Any]) -> RankedMovie:
    """One row of `queries.LIBRARY_PICKS` as the entry builder's input."""
    return RankedMovie(
        movie_id=row["movie_id"],
        rank=row["rank"],
        title=row["title"],
        year=row["year"],
        original_title=row["original_title"],
        overview=row["overview"],
        tagline=row["tagline"],
        genres=tuple(row["genres"] or ()),
        studios=tuple(row["studios"] or ()),
        community_rating=row["community_rating"],
        critic_rating=row["critic_rating"],
        official_rating=row["official_rating"],
        runtime_ticks=row["runtime_ticks"],
        tmdb_id=row["tmdb_id"],
        imdb_id=row["imdb_id"],
        premiere_date=row["premiere_date"],
        path=row["path"],
        explanation=row["explanation"],
        provider_ids=dict(row["provider_ids"] or {}),
    )


def id_tag(movie: RankedMovie) -> str:
    """Tells two picks of the same title and year apart in a folder name (Jellyfin's naming)."""
    tmdb = movie.tmdb_id or movie.provider_ids.get("tmdb")
    imdb = movie.imdb_id or movie.provider_ids.get("imdb")
    return f"tmdbid-{tmdb}" if tmdb else f"imdbid-{imdb}" if imdb else movie.movie_id[:12]


def pick_entry(movie: RankedMovie) -> PickEntry:
    """`Title (Year)` with a `<movie>` NFO."""
    return PickEntry(
        item_id=movie.movie_id,
        rank=movie.rank,
        title=movie.title,
        path=movie.path,
        base_name=names.movie_base_name(movie.title, movie.year),
        id_tag=id_tag(movie),
        nfo=lambda position, width, date_added: build_movie_nfo(
            movie, position=position, width=width, date_added=date_added
        ),
    )


def movie_entries(
    rows: Sequence[Mapping[str, Any]], options: EntryOptions, anchor: dt.datetime
) -> BuiltEntries:
    return build_entries([pick_entry(ranked_movie(r)) for r in rows], options, anchor)
