"""A user's movie picks as library entries: `NN - Title (Year)/` with the video and a `<movie>` NFO."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sidecar.library.entries import BuiltEntries, EntryOptions, build_entries
from sidecar.library.model import RankedMovie


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


def movie_entries(
    rows: Sequence[Mapping[str, Any]], options: EntryOptions, anchor: dt.datetime
) -> BuiltEntries:
    return build_entries([ranked_movie(r) for r in rows], options, anchor)
