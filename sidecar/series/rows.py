"""SeriesItem / EpisodeItem -> the rows sync-series writes, each with its two hashes.

`content_hash` covers what feeds the embedding text (series only: episodes are not embedded, so
theirs covers the episode's metadata just to mark a change); `sync_hash` covers every stored column.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import NamedTuple

from sidecar.media.row_hash import digest
from sidecar.mediaserver.items import EpisodeItem, SeriesItem


class SeriesRow(NamedTuple):
    """One `series` row, in the order COPY receives it (json columns as text)."""

    id: str
    library_id: str | None
    title: str
    original_title: str | None
    sort_title: str | None
    year: int | None
    end_year: int | None
    status: str | None
    overview: str | None
    genres: list[str]
    studios: list[str]
    people: str
    tags: list[str]
    community_rating: float | None
    official_rating: str | None
    provider_ids: str
    tmdb_id: str | None
    imdb_id: str | None
    tvdb_id: str | None
    path: str | None
    premiere_date: dt.date | None
    date_added: dt.datetime | None
    content_hash: str
    sync_hash: str


class EpisodeRow(NamedTuple):
    """One `episodes` row (the episode's own provider ids)."""

    id: str
    series_id: str
    library_id: str | None
    season_number: int | None
    episode_number: int | None
    episode_number_end: int | None
    title: str
    overview: str | None
    premiere_date: dt.date | None
    runtime_ticks: int | None
    path: str | None
    provider_ids: str
    tmdb_id: str | None
    imdb_id: str | None
    tvdb_id: str | None
    date_added: dt.datetime | None
    content_hash: str
    sync_hash: str


SERIES_COLUMNS = SeriesRow._fields
EPISODE_COLUMNS = EpisodeRow._fields


def series_content_hash(show: SeriesItem) -> str:
    return digest(
        [
            show.title,
            show.original_title,
            show.year,
            show.end_date,
            show.overview,
            list(show.genres),
            list(show.studios),
            [p.get("name") for p in show.people],
            list(show.tags),
        ]
    )


def series_row(show: SeriesItem, library_id: str | None) -> SeriesRow:
    people = json.dumps(list(show.people), ensure_ascii=False)
    providers = json.dumps(show.provider_ids, ensure_ascii=False, sort_keys=True)
    ids = show.provider_ids
    values = (
        show.id, library_id, show.title, show.original_title, show.sort_title, show.year,
        show.end_date.year if show.end_date else None, show.status, show.overview, list(show.genres),
        list(show.studios), people, list(show.tags), show.community_rating, show.official_rating,
        providers, ids.get("tmdb"), ids.get("imdb"), ids.get("tvdb"), show.path, show.premiere_date,
        show.date_added,
    )  # fmt: skip
    return SeriesRow(*values, content_hash=series_content_hash(show), sync_hash=digest(values))


def episode_row(episode: EpisodeItem, library_id: str | None) -> EpisodeRow:
    providers = json.dumps(episode.provider_ids, ensure_ascii=False, sort_keys=True)
    ids = episode.provider_ids
    values = (
        episode.id, episode.series_id or "", library_id, episode.season_number, episode.episode_number,
        episode.episode_number_end, episode.title, episode.overview, episode.premiere_date,
        episode.runtime_ticks, episode.path, providers, ids.get("tmdb"), ids.get("imdb"), ids.get("tvdb"),
        episode.date_added,
    )  # fmt: skip
    hashed = digest(values)
    return EpisodeRow(*values, content_hash=hashed, sync_hash=hashed)
