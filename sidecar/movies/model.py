"""What one movie library entry is made from: a recommended movie, with its metadata, at a rank."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RankedMovie:
    """One row of a user's picks joined with the movie (the fields the NFO and the link need)."""

    movie_id: str
    rank: int
    title: str
    year: int | None = None
    original_title: str | None = None
    overview: str | None = None
    tagline: str | None = None
    genres: tuple[str, ...] = ()
    studios: tuple[str, ...] = ()
    community_rating: float | None = None
    critic_rating: float | None = None
    official_rating: str | None = None
    runtime_ticks: int | None = None
    tmdb_id: str | None = None
    imdb_id: str | None = None
    premiere_date: dt.date | None = None
    path: str | None = None  # as the media server sees it
    explanation: str | None = None
    provider_ids: dict[str, str] = field(default_factory=dict)
