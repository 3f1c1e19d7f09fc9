"""Server JSON (PascalCase DTOs, the same core names on both servers) -> our dataclasses.

Tolerant on purpose: a missing or oddly typed optional field becomes None/empty instead of failing
a whole page, because one strange item must never stop a sync.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sidecar.mediaserver.base import (
    Library,
    MediaUser,
    MovieItem,
    UserAccess,
    UserMovieData,
    normalise_id,
)

# The catalog fields the jobs use (movies table + embedding text). Always returned without asking:
# Name, Id, Type, RunTimeTicks, ProductionYear, PremiereDate, CommunityRating, CriticRating,
# OfficialRating, ImageTags.
MOVIE_FIELDS = (
    "DateCreated",
    "Genres",
    "OriginalTitle",
    "Overview",
    "Path",
    "People",
    "ProviderIds",
    "SortName",
    "Studios",
    "Taglines",
    "Tags",
)


def provider_ids(item: dict[str, Any]) -> dict[str, str]:
    """ProviderIds with lower-cased keys (`tmdb`, `imdb`, `tvdb`, ...), empty values dropped."""
    raw = item.get("ProviderIds") if isinstance(item.get("ProviderIds"), dict) else {}
    return {str(k).lower(): str(v) for k, v in raw.items() if v not in (None, "")}


def parse_datetime(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    if parsed.year <= 1:  # .NET DateTime.MinValue stands for "never"
        return None
    return parsed


def _str_or_none(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _number_or_none(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _names(values: Any) -> tuple[str, ...]:
    """Strings, or objects with a Name (Studios, GenreItems, TagItems)."""
    if not isinstance(values, list):
        return ()
    out: list[str] = []
    for value in values:
        name = value.get("Name") if isinstance(value, dict) else value
        if isinstance(name, str) and name.strip() and name.strip() not in out:
            out.append(name.strip())
    return tuple(out)


def _people(values: Any) -> tuple[dict[str, str], ...]:
    if not isinstance(values, list):
        return ()
    people = []
    for person in values:
        if not isinstance(person, dict) or not isinstance(person.get("Name"), str):
            continue
        entry = {"name": person["Name"], "type": str(person.get("Type") or "Unknown")}
        if isinstance(person.get("Role"), str) and person["Role"]:
            entry["role"] = person["Role"]
        people.append(entry)
    return tuple(people)


def parse_movie(item: dict[str, Any], library_id: str | None = None) -> MovieItem | None:
    """A movie DTO -> MovieItem; None when it has no id (nothing can be done with it)."""
    raw_id = item.get("Id")
    if not isinstance(raw_id, str | int) or raw_id == "":
        return None
    item_id = normalise_id(str(raw_id))
    title = _str_or_none(item.get("Name")) or _str_or_none(item.get("OriginalTitle")) or item_id
    taglines = item.get("Taglines")
    tags = _names(item.get("Tags")) or _names(item.get("TagItems"))
    providers = provider_ids(item)
    image_tags = item.get("ImageTags") if isinstance(item.get("ImageTags"), dict) else {}
    premiere = parse_datetime(item.get("PremiereDate"))
    return MovieItem(
        id=item_id,
        title=title,
        original_title=_str_or_none(item.get("OriginalTitle")),
        sort_title=_str_or_none(item.get("SortName")),
        year=_int_or_none(item.get("ProductionYear")),
        overview=_str_or_none(item.get("Overview")),
        tagline=_str_or_none(taglines[0]) if isinstance(taglines, list) and taglines else None,
        genres=_names(item.get("Genres")) or _names(item.get("GenreItems")),
        studios=_names(item.get("Studios")),
        people=_people(item.get("People")),
        tags=tags,
        community_rating=_number_or_none(item.get("CommunityRating")),
        critic_rating=_number_or_none(item.get("CriticRating")),
        official_rating=_str_or_none(item.get("OfficialRating")),
        runtime_ticks=_int_or_none(item.get("RunTimeTicks")),
        provider_ids=providers,
        path=_str_or_none(item.get("Path")),
        image_tags={str(k): str(v) for k, v in image_tags.items()},
        premiere_date=premiere.date() if premiere else None,
        date_added=parse_datetime(item.get("DateCreated")),
        library_id=library_id,
    )


def user_state(data: dict[str, Any]) -> dict[str, Any]:
    """A UserData object -> the `UserState` fields; the one reading of it for every item type."""
    rating = _number_or_none(data.get("Rating"))
    return {
        "played": bool(data.get("Played")),
        "play_count": _int_or_none(data.get("PlayCount")) or 0,
        "last_played_at": parse_datetime(data.get("LastPlayedDate")),
        "is_favorite": bool(data.get("IsFavorite")),
        "user_rating": None if rating is None else max(0.0, min(10.0, rating)),
        "position_ticks": _int_or_none(data.get("PlaybackPositionTicks")) or 0,
    }


def parse_user_data(user_id: str, item: dict[str, Any]) -> UserMovieData | None:
    raw_id = item.get("Id")
    data = item.get("UserData")
    if not isinstance(raw_id, str | int) or not isinstance(data, dict):
        return None
    return UserMovieData(
        user_id=normalise_id(user_id),
        movie_id=normalise_id(str(raw_id)),
        **user_state(data),
        path=_str_or_none(item.get("Path")),
        provider_ids=provider_ids(item),
    )


def _strings(values: Any) -> tuple[str, ...]:
    if not isinstance(values, list):
        return ()
    return tuple(str(v).strip() for v in values if isinstance(v, str | int) and str(v).strip())


def parse_user_access(policy: dict[str, Any]) -> UserAccess:
    """UserPolicy -> what the user may see. A missing EnableAllFolders means all (server default)."""
    blocked = _strings(policy.get("BlockedTags"))
    inclusive = policy.get("IsTagBlockingModeInclusive") is True  # Emby: BlockedTags is an allow-list
    return UserAccess(
        enable_all_folders=policy.get("EnableAllFolders") is not False,
        enabled_folders=tuple(normalise_id(f) for f in _strings(policy.get("EnabledFolders"))),
        max_parental_rating=_int_or_none(policy.get("MaxParentalRating")),
        blocked_tags=() if inclusive else blocked,
        allowed_tags=blocked if inclusive else _strings(policy.get("AllowedTags")),
        block_unrated_items=_strings(policy.get("BlockUnratedItems")),
    )


def parse_user(user: dict[str, Any]) -> MediaUser | None:
    if not isinstance(user.get("Id"), str):
        return None
    policy = user.get("Policy") if isinstance(user.get("Policy"), dict) else {}
    return MediaUser(
        id=normalise_id(user["Id"]),
        name=str(user.get("Name") or user["Id"]),
        is_admin=bool(policy.get("IsAdministrator")),
        is_disabled=bool(policy.get("IsDisabled")),
        is_hidden=bool(policy.get("IsHidden")),
        last_activity_at=parse_datetime(user.get("LastActivityDate"))
        or parse_datetime(user.get("LastLoginDate")),
        policy=dict(policy),
        access=parse_user_access(policy),
    )


def parse_library(folder: dict[str, Any]) -> Library | None:
    """VirtualFolderInfo; Jellyfin has only ItemId, Emby adds Id (folder) and Guid (for policies)."""
    item_id = folder.get("ItemId")
    if item_id in (None, ""):
        return None
    item_id = normalise_id(str(item_id))
    locations = folder.get("Locations") if isinstance(folder.get("Locations"), list) else []
    return Library(
        id=normalise_id(str(folder.get("Id") or item_id)),
        item_id=item_id,
        guid=normalise_id(str(folder.get("Guid") or item_id)),
        name=str(folder.get("Name") or ""),
        collection_type=_str_or_none(folder.get("CollectionType")),
        locations=tuple(str(p) for p in locations),
    )
