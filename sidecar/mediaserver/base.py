"""One async interface over both media servers; the jobs never see a dialect.

Ids are normalised on the way in: Jellyfin GUIDs become 32-hex lowercase (the server sends dashed
and undashed forms), Emby ids stay numeric strings (items) or 32-hex (users).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Collection, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from sidecar.mediaserver.catalog import ItemPage
    from sidecar.mediaserver.items import ItemType, UserItemData

ServerKind = Literal["jellyfin", "emby"]


class MediaServerError(Exception):
    """Any failure talking to the media server; the message says what to check."""


class MediaServerAuthError(MediaServerError):
    """401/403: never retried; jobs fail at once with 'the media server rejected the API key'."""


_GUID_HEX = re.compile(r"[0-9a-f]{32}")


def normalise_id(value: str) -> str:
    """Jellyfin GUIDs in any form -> 32-hex lowercase; other ids (Emby numbers) unchanged.

    Called for every id of every page (several per played item), so the hex check is one regex
    match, not a character loop (that loop was a third of a watch-history run's CPU)."""
    compact = value.replace("-", "").lower()
    if len(compact) == 32 and _GUID_HEX.fullmatch(compact):
        return compact
    return value


@dataclass(frozen=True)
class ServerInfo:
    kind: ServerKind
    id: str
    name: str
    version: str


@dataclass(frozen=True)
class UserAccess:
    """What the server's policy lets a user see (UserPolicy on both servers).

    `enabled_folders` are library guids (Jellyfin: ItemId; Emby: Guid), meaningful only when
    `enable_all_folders` is off. Parental rating is the server's numeric scale (`None` = no limit).
    Emby has no AllowedTags: its BlockedTags are an allow-list when IsTagBlockingModeInclusive is on,
    and are reported here as `allowed_tags`.
    """

    enable_all_folders: bool = True
    enabled_folders: tuple[str, ...] = ()
    max_parental_rating: int | None = None
    blocked_tags: tuple[str, ...] = ()
    allowed_tags: tuple[str, ...] = ()
    block_unrated_items: tuple[str, ...] = ()  # item kinds ("Movie", ...) hidden when unrated

    def hides_from(self, library_guids: Collection[str]) -> bool:
        """Whether the server may hide some item of these libraries from the user (then what they see
        is asked, not assumed). Folders count only when one of these libraries is not enabled: our
        own visibility pass turns "all folders" into an explicit list for everyone."""
        if self.max_parental_rating is not None or self.blocked_tags or self.allowed_tags:
            return True
        if self.block_unrated_items:
            return True
        return not self.enable_all_folders and not set(library_guids) <= set(self.enabled_folders)

    @classmethod
    def from_json(cls, stored: Mapping[str, Any] | None) -> UserAccess:
        """The stored form (`media_users.access`) back; nothing stored = no restriction known."""
        if not stored:
            return cls()
        known = {f.name for f in fields(cls)}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in stored.items() if k in known}
        return cls(**values)


@dataclass(frozen=True)
class MediaUser:
    id: str
    name: str
    is_admin: bool
    is_disabled: bool
    is_hidden: bool = False
    last_activity_at: dt.datetime | None = None  # LastActivityDate (else LastLoginDate)
    # The complete Policy as listed (both servers list it with each user): one listing instead of a
    # GET per user when every user's policy is needed. Empty when the answer had none.
    policy: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    access: UserAccess = field(default_factory=UserAccess)


@dataclass(frozen=True)
class Library:
    """A virtual folder. Emby has three ids: `id` (virtual folder), `item_id` (for /Items and refresh),
    `guid` (for user policies); on Jellyfin all three are the library's ItemId."""

    id: str
    item_id: str
    guid: str
    name: str
    collection_type: str | None
    locations: tuple[str, ...] = ()


@dataclass(frozen=True)
class MovieItem:
    id: str
    title: str
    original_title: str | None = None
    sort_title: str | None = None
    year: int | None = None
    overview: str | None = None
    tagline: str | None = None
    genres: tuple[str, ...] = ()
    studios: tuple[str, ...] = ()
    people: tuple[dict[str, str], ...] = ()  # {"name", "type", "role"}
    tags: tuple[str, ...] = ()
    community_rating: float | None = None
    critic_rating: float | None = None
    official_rating: str | None = None
    runtime_ticks: int | None = None
    provider_ids: dict[str, str] = field(default_factory=dict)  # keys lowercased
    path: str | None = None
    image_tags: dict[str, str] = field(default_factory=dict)
    premiere_date: dt.date | None = None
    date_added: dt.datetime | None = None
    library_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class UserState:
    """The server's UserData fields, the same for every item type; declared once so that the movie
    and the any-type records below cannot drift apart (keyword-only: subclasses keep their own order)."""

    played: bool
    play_count: int
    last_played_at: dt.datetime | None
    is_favorite: bool
    user_rating: float | None  # 0-10
    position_ticks: int


@dataclass(frozen=True)
class UserMovieData(UserState):
    """One user's state for one movie (the server's UserData)."""

    user_id: str
    movie_id: str
    # As the server sees it: tells the sidecar's own copies (items in its AI Picks libraries) apart.
    path: str | None = None
    provider_ids: Mapping[str, str] = field(default_factory=dict)  # a copy's name its original


class MediaServerClient(Protocol):
    kind: ServerKind

    async def server_info(self) -> ServerInfo: ...

    async def list_users(self) -> list[MediaUser]: ...

    async def list_libraries(self) -> list[Library]: ...

    def iter_movies(self, library_ids: list[str]) -> AsyncIterator[list[MovieItem]]:
        """Every movie of these libraries, one page at a time. Raises on any failed page."""
        ...

    async def get_movies(self, item_ids: list[str]) -> list[MovieItem]:
        """These items if they still exist and are movies (missing ids are simply absent)."""
        ...

    def iter_played_movies(
        self, user_id: str, since: dt.datetime | None = None
    ) -> AsyncIterator[list[UserMovieData]]:
        """Played movies, most recently played first; stops at `since` when given."""
        ...

    async def get_user_movie_data(self, user_id: str, item_ids: list[str]) -> list[UserMovieData]: ...

    # --- any item type (catalog.py): MOVIE, SERIES, EPISODE from items.py ---------------------------
    async def list_libraries_for(self, item_type: ItemType) -> list[Library]: ...

    def iter_items(self, item_type: ItemType, library_ids: list[str]) -> AsyncIterator[ItemPage[Any]]:
        """Every real item of this type, page by page; `page.skipped` = virtual ids dropped."""
        ...

    async def get_items(self, item_type: ItemType, item_ids: list[str]) -> list[Any]: ...

    def iter_series_episodes(
        self, series_id: str, *, user_id: str | None = None
    ) -> AsyncIterator[ItemPage[Any]]: ...

    def iter_played_items(
        self, item_type: ItemType, user_id: str, since: dt.datetime | None = None
    ) -> AsyncIterator[list[UserItemData]]: ...

    def iter_resumable_items(
        self, item_type: ItemType, user_id: str
    ) -> AsyncIterator[list[UserItemData]]: ...

    def iter_favourite_items(
        self, item_type: ItemType, user_id: str, *, unplayed_only: bool = False
    ) -> AsyncIterator[list[UserItemData]]: ...

    async def get_user_item_data(
        self, item_type: ItemType, user_id: str, item_ids: list[str]
    ) -> list[UserItemData]: ...

    # --- library management (sync-movie-libraries) ---------------------------------------------------
    async def create_library(self, name: str, path: str, collection_type: str = "movies") -> Library:
        """Create a movie library with one folder; check `list_libraries` first (Jellyfin makes Name2)."""
        ...

    async def add_library_path(self, library: Library, path: str) -> None: ...

    async def get_user_policy(self, user_id: str) -> dict[str, Any]: ...

    async def set_user_policy(self, user_id: str, policy: dict[str, Any]) -> None:
        """Send the complete policy back (the servers reject partial ones)."""
        ...

    async def refresh_library(self, library: Library) -> None:
        """Scan this library only."""
        ...

    async def delete_library(self, library: Library) -> None:
        """Remove the virtual folder (the files on disk are the sidecar's to remove)."""
        ...

    # --- played marks (a copy's play carried to the original) ------------------------------------------
    async def mark_played(self, user_id: str, item_id: str, *, played_at: dt.datetime | None = None) -> None:
        """Mark the item played for the user; `played_at` also counts one play at that time."""
        ...

    async def mark_favorite(self, user_id: str, item_id: str) -> None: ...

    async def close(self) -> None: ...
