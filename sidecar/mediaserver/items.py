"""Item types as values: what differs between listing movies, series and episodes.

The generic catalogue calls (`catalog.py`) take an `ItemType`, so a media kind names its types
(`MOVIE`; `SERIES` + `EPISODE`) instead of getting its own copy of every method. Each type says
which libraries hold it, which `Fields` to ask for, the stable sort to page by, and how to parse
one DTO; `real_only` types (episodes) also drop virtual items (missing or not yet aired).

Server facts used here: the season number of an episode is its
`ParentIndexNumber`; `SeriesId`, `SeriesName`, `IndexNumber`, `IndexNumberEnd` and `LocationType`
come back without asking; Jellyfin's `isMissing=false` removes virtual episodes on the server, Emby
documents no such filter so the client drops `LocationType == "Virtual"` or a missing `Path` itself;
`People` is never requested on episode pages (slow on Jellyfin 10.11, jellyfin#14961).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sidecar.mediaserver.base import MovieItem, UserState, normalise_id
from sidecar.mediaserver.dto import (
    MOVIE_FIELDS,
    _int_or_none,
    _names,
    _number_or_none,
    _people,
    _str_or_none,
    parse_datetime,
    parse_movie,
    provider_ids,
    user_state,
)

SERIES_FIELDS = ("DateCreated", "Genres", "OriginalTitle", "Overview", "Path", "People", "ProviderIds",
                 "SortName", "Studios", "Tags")  # fmt: skip
EPISODE_FIELDS = ("DateCreated", "Overview", "Path", "ProviderIds")  # never People (see above)


def _id(item: dict[str, Any], key: str = "Id") -> str | None:
    raw = item.get(key)
    if not isinstance(raw, str | int) or raw == "":
        return None
    return normalise_id(str(raw))


@dataclass(frozen=True)
class SeriesItem:
    id: str
    title: str
    original_title: str | None = None
    sort_title: str | None = None
    year: int | None = None
    end_date: dt.date | None = None
    status: str | None = None  # Continuing / Ended / Unreleased
    overview: str | None = None
    genres: tuple[str, ...] = ()
    studios: tuple[str, ...] = ()  # first = network
    people: tuple[dict[str, str], ...] = ()  # {"name", "type", "role"}
    tags: tuple[str, ...] = ()
    community_rating: float | None = None
    official_rating: str | None = None
    provider_ids: dict[str, str] = field(default_factory=dict)  # keys lowercased
    path: str | None = None
    premiere_date: dt.date | None = None
    date_added: dt.datetime | None = None
    image_tags: dict[str, str] = field(default_factory=dict)
    library_id: str | None = None


@dataclass(frozen=True)
class EpisodeItem:
    id: str
    series_id: str | None
    season_number: int | None  # ParentIndexNumber; 0 = specials
    episode_number: int | None  # IndexNumber
    episode_number_end: int | None = None  # IndexNumberEnd (a double episode)
    title: str = ""
    series_title: str | None = None
    season_id: str | None = None
    overview: str | None = None
    premiere_date: dt.date | None = None
    runtime_ticks: int | None = None
    provider_ids: dict[str, str] = field(default_factory=dict)  # the episode's own ids
    path: str | None = None
    location_type: str | None = None
    date_added: dt.datetime | None = None
    library_id: str | None = None

    @property
    def is_virtual(self) -> bool:
        """Missing or not yet aired: only metadata on the server, nothing to play or link."""
        return self.location_type == "Virtual" or not self.path


def parse_series(item: dict[str, Any], library_id: str | None = None) -> SeriesItem | None:
    item_id = _id(item)
    if item_id is None:
        return None
    premiere, end = parse_datetime(item.get("PremiereDate")), parse_datetime(item.get("EndDate"))
    images = item.get("ImageTags") if isinstance(item.get("ImageTags"), dict) else {}
    return SeriesItem(
        id=item_id,
        title=_str_or_none(item.get("Name")) or _str_or_none(item.get("OriginalTitle")) or item_id,
        original_title=_str_or_none(item.get("OriginalTitle")),
        sort_title=_str_or_none(item.get("SortName")),
        year=_int_or_none(item.get("ProductionYear")),
        end_date=end.date() if end else None,
        status=_str_or_none(item.get("Status")),
        overview=_str_or_none(item.get("Overview")),
        genres=_names(item.get("Genres")) or _names(item.get("GenreItems")),
        studios=_names(item.get("Studios")),
        people=_people(item.get("People")),
        tags=_names(item.get("Tags")) or _names(item.get("TagItems")),
        community_rating=_number_or_none(item.get("CommunityRating")),
        official_rating=_str_or_none(item.get("OfficialRating")),
        provider_ids=provider_ids(item),
        path=_str_or_none(item.get("Path")),
        premiere_date=premiere.date() if premiere else None,
        date_added=parse_datetime(item.get("DateCreated")),
        image_tags={str(k): str(v) for k, v in images.items()},
        library_id=library_id,
    )


def parse_episode(item: dict[str, Any], library_id: str | None = None) -> EpisodeItem | None:
    item_id = _id(item)
    if item_id is None:
        return None
    premiere = parse_datetime(item.get("PremiereDate"))
    return EpisodeItem(
        id=item_id,
        series_id=_id(item, "SeriesId"),
        season_number=_int_or_none(item.get("ParentIndexNumber")),
        episode_number=_int_or_none(item.get("IndexNumber")),
        episode_number_end=_int_or_none(item.get("IndexNumberEnd")),
        title=_str_or_none(item.get("Name")) or item_id,
        series_title=_str_or_none(item.get("SeriesName")),
        season_id=_id(item, "SeasonId"),
        overview=_str_or_none(item.get("Overview")),
        premiere_date=premiere.date() if premiere else None,
        runtime_ticks=_int_or_none(item.get("RunTimeTicks")),
        provider_ids=provider_ids(item),
        path=_str_or_none(item.get("Path")),
        location_type=_str_or_none(item.get("LocationType")),
        date_added=parse_datetime(item.get("DateCreated")),
        library_id=library_id,
    )


@dataclass(frozen=True)
class UserItemData(UserState):
    """One user's state for one item of any type (the server's UserData), with what identifies an
    episode without another request (its show and numbers, returned unasked)."""

    user_id: str
    item_id: str
    item_type: str
    runtime_ticks: int | None = None
    path: str | None = None  # tells the sidecar's own copies apart
    series_id: str | None = None
    season_number: int | None = None
    episode_number: int | None = None
    provider_ids: dict[str, str] = field(default_factory=dict)  # a copy's name its original

    @property
    def played_fraction(self) -> float:
        """How far into an unfinished play (0 when unknown); Jellyfin resets positions under 5 %."""
        if not self.runtime_ticks or self.position_ticks <= 0:
            return 0.0
        return min(1.0, self.position_ticks / self.runtime_ticks)


def parse_user_item_data(user_id: str, item: dict[str, Any]) -> UserItemData | None:
    item_id, data = _id(item), item.get("UserData")
    if item_id is None or not isinstance(data, dict):
        return None
    return UserItemData(
        user_id=normalise_id(user_id),
        item_id=item_id,
        item_type=str(item.get("Type") or ""),
        **user_state(data),
        runtime_ticks=_int_or_none(item.get("RunTimeTicks")),
        path=_str_or_none(item.get("Path")),
        series_id=_id(item, "SeriesId"),
        season_number=_int_or_none(item.get("ParentIndexNumber")),
        episode_number=_int_or_none(item.get("IndexNumber")),
        provider_ids=provider_ids(item),
    )


@dataclass(frozen=True)
class ItemType:
    """One server item type as the catalogue calls need it."""

    name: str  # BaseItemKind: "Movie", "Series", "Episode"
    library_types: tuple[str | None, ...]  # collection types holding it (None = mixed)
    fields: tuple[str, ...]  # Fields for catalogue pages
    sort_by: str  # a stable order to page by
    parse: Callable[[dict[str, Any], str | None], Any]
    real_only: bool = False  # drop virtual items (missing / future episodes)

    def is_virtual(self, item: dict[str, Any]) -> bool:
        return self.real_only and (item.get("LocationType") == "Virtual" or not item.get("Path"))


MOVIE = ItemType("Movie", ("movies", None), MOVIE_FIELDS, "SortName", parse_movie)
SERIES = ItemType("Series", ("tvshows", None), SERIES_FIELDS, "SortName", parse_series)
EPISODE = ItemType(
    "Episode", ("tvshows", None), EPISODE_FIELDS, "SeriesSortName,ParentIndexNumber,IndexNumber,SortName",
    parse_episode, real_only=True,
)  # fmt: skip

__all__ = [
    "EPISODE",
    "MOVIE",
    "SERIES",
    "EpisodeItem",
    "ItemType",
    "MovieItem",
    "SeriesItem",
    "UserItemData",
    "parse_episode",
    "parse_series",
    "parse_user_item_data",
]
