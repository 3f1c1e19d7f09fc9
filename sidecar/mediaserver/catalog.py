"""Catalogue and user-data calls for any item type (`items.ItemType`): one implementation for
movies, series and episodes, in both dialects.

Mixed into `DialectClient`, whose dialect hooks (`_param`, `_user_items_request`) and helpers
(`_params`, `_get_items`) it uses. Listings are paged (`paging.iter_pages`): a page is parsed and
handed over before the window moves on, so a 200,000-episode library never sits in memory.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sidecar.mediaserver.base import Library, UserState, normalise_id
from sidecar.mediaserver.items import EPISODE, EPISODE_FIELDS, ItemType, UserItemData, parse_user_item_data
from sidecar.mediaserver.paging import FetchPage, iter_pages, iter_pages_sequential

if TYPE_CHECKING:
    from sidecar.mediaserver.client import DialectClient

T = TypeVar("T")
S = TypeVar("S", bound=UserState)
IDS_PER_REQUEST = 100  # ~3.3 kB of ids in a URL: far below any server's limit
INCREMENTAL_FIRST_PAGE = 50  # a regular history walk usually stops within the newest few plays
# With user data: the path tells copies in the AI libraries apart; numbers and show come unasked.
# Path and ProviderIds tell the sidecar's own copies apart and name their originals.
USER_DATA_FIELDS = "Path,ProviderIds"


class ItemPage(list[T], Generic[T]):
    """One page of parsed items, with where it sits in the listing. `skipped` holds the ids the
    client dropped (virtual episodes on Emby): a job checking that a listing was complete counts
    them as seen, since the server's TotalRecordCount includes them."""

    def __init__(
        self, items: Iterable[T], *, library_id: str, start: int, total: int, skipped: tuple[str, ...] = ()
    ) -> None:
        super().__init__(items)
        self.library_id = library_id
        self.start = start
        self.total = total
        self.skipped = skipped


async def played_since(
    fetch: FetchPage, page_size: int, since: dt.datetime, parse: Callable[[list[dict[str, Any]]], list[S]]
) -> AsyncIterator[list[S]]:
    """An incremental walk of plays listed newest first (movies and any item type share it): pages
    read one at a time, the newest first page small, stopping at the first play older than `since`
    (or without a date)."""
    first = max(1, min(INCREMENTAL_FIRST_PAGE, page_size))
    async for page in iter_pages_sequential(fetch, page_size=page_size, first_page_size=first):
        data = parse(page)
        newer = [d for d in data if d.last_played_at is not None and d.last_played_at >= since]
        if newer:
            yield newer
        if len(newer) < len(data):
            return


def chunks(values: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


class CatalogCalls:
    """The generic calls; `self` is a `DialectClient`."""

    def _type_query(self: DialectClient, item_type: ItemType, **extra: Any) -> dict[str, Any]:
        first: dict[str, Any] = {}
        if item_type.name == "Movie":
            name, value = self.no_collections_param  # box sets must not replace movies
            first[name] = value  # before the caller's values: the movie calls' query order
        if item_type.real_only and self.kind == "jellyfin":
            extra["IsMissing"] = False  # Emby documents no such parameter (filtered below)
        return self._params(IncludeItemTypes=item_type.name, Recursive=True, **first, **extra)

    def _parse_page(
        self, item_type: ItemType, items: Iterable[dict[str, Any]], library_id: str | None
    ) -> tuple[list[Any], tuple[str, ...]]:
        kept: list[Any] = []
        skipped: list[str] = []
        for raw in items:
            if raw.get("Type", item_type.name) != item_type.name:
                continue
            parsed = item_type.parse(raw, library_id)
            if parsed is None:
                continue
            if item_type.is_virtual(raw):
                skipped.append(parsed.id)
                continue
            kept.append(parsed)
        return kept, tuple(skipped)

    async def list_libraries_for(self: DialectClient, item_type: ItemType) -> list[Library]:
        """The libraries that can hold this type (movies: movie and mixed; series: tvshows and mixed)."""
        return [lib for lib in await self.list_libraries() if lib.collection_type in item_type.library_types]

    async def iter_items(
        self: DialectClient, item_type: ItemType, library_ids: list[str]
    ) -> AsyncIterator[ItemPage[Any]]:
        """Every item of this type in these libraries (their ItemIds), page by page in a stable order;
        virtual items dropped for `real_only` types. Raises on any failed page."""
        for library_id in library_ids:
            params = self._type_query(
                item_type, ParentId=library_id, Fields=",".join(item_type.fields), SortBy=item_type.sort_by,
                SortOrder="Ascending", ImageTypeLimit=1,
            )  # fmt: skip

            async def fetch(start: int, limit: int, params: dict[str, Any] = params) -> dict[str, Any]:
                return await self._get_items("/Items", params, start, limit)

            async for page in iter_pages(fetch, page_size=self.page_size, concurrency=self.concurrency):
                kept, skipped = self._parse_page(item_type, page, library_id)
                yield ItemPage(
                    kept, library_id=library_id, start=page.start, total=page.total, skipped=skipped
                )

    async def get_items(self: DialectClient, item_type: ItemType, item_ids: list[str]) -> list[Any]:
        """These ids if they still exist, are of this type and sit in a library that holds it (tagged
        with that library); missing ids are simply absent, virtual ones too for `real_only` types."""
        if not item_ids:
            return []
        libraries = self._libraries if self._libraries is not None else await self.list_libraries()
        candidates = [lib for lib in libraries if lib.collection_type in item_type.library_types]
        semaphore = asyncio.Semaphore(self.concurrency)

        async def fetch(library: Library, ids: list[str]) -> list[Any]:
            params = self._type_query(
                item_type, ParentId=library.item_id, Ids=",".join(ids), Fields=",".join(item_type.fields),
                ImageTypeLimit=1,
            )  # fmt: skip
            async with semaphore:
                result = await self.http.get_json("/Items", params)
            items = result.get("Items", []) if isinstance(result, dict) else []
            return self._parse_page(item_type, items, library.item_id)[0]

        unique = list(dict.fromkeys(item_ids))
        jobs = [fetch(lib, ids) for lib in candidates for ids in chunks(unique, IDS_PER_REQUEST)]
        found: dict[str, Any] = {}
        for parsed in await asyncio.gather(*jobs):
            for item in parsed:
                found.setdefault(item.id, item)
        return list(found.values())

    async def iter_series_episodes(
        self: DialectClient, series_id: str, *, user_id: str | None = None
    ) -> AsyncIterator[ItemPage[Any]]:
        """One show's real episodes via `/Shows/{id}/Episodes`, page by page (with `user_id`, user
        data comes back too). Called with an API key the server includes missing episodes unless
        told not to (Jellyfin `isMissing=false`); Emby has no filter, so virtual ones are dropped here."""
        extra: dict[str, Any] = {"IsMissing": False} if self.kind == "jellyfin" else {}
        params = self._params(
            UserId=user_id, Fields=",".join(EPISODE_FIELDS), EnableUserData=user_id is not None, **extra
        )

        async def fetch(start: int, limit: int) -> dict[str, Any]:
            return await self._get_items(f"/Shows/{series_id}/Episodes", params, start, limit)

        async for page in iter_pages_sequential(fetch, page_size=self.page_size):
            kept, skipped = self._parse_page(EPISODE, page, None)
            yield ItemPage(kept, library_id="", start=page.start, total=page.total, skipped=skipped)

    # --- per-user data -----------------------------------------------------------------------------------
    def _user_query(
        self: DialectClient, item_type: ItemType, user_id: str, **extra: Any
    ) -> tuple[str, dict[str, Any]]:
        path, scoped = self._user_items_request(user_id)
        base = {k: v for k, v in extra.items() if v is not None}
        params = self._params(
            IncludeItemTypes=item_type.name, Recursive=True, EnableUserData=True, EnableImages=False,
            Fields=USER_DATA_FIELDS, **base, **scoped,
        )  # fmt: skip
        return path, params

    def _user_data(
        self, user_id: str, item_type: ItemType, items: Iterable[dict[str, Any]]
    ) -> list[UserItemData]:
        return [
            d
            for d in (
                parse_user_item_data(user_id, i)
                for i in items
                if i.get("Type", item_type.name) == item_type.name
            )
            if d is not None
        ]

    async def iter_played_items(
        self: DialectClient, item_type: ItemType, user_id: str, since: dt.datetime | None = None
    ) -> AsyncIterator[list[UserItemData]]:
        """Played items of this type seen by this user (their copies included), most recently played
        first. With `since`, pages are read one at a time and the walk stops at the first play older
        than `since` (or without a date)."""
        path, params = self._user_query(
            item_type, user_id, IsPlayed=True, SortBy="DatePlayed", SortOrder="Descending"
        )

        async def fetch(start: int, limit: int) -> dict[str, Any]:
            return await self._get_items(path, params, start, limit)

        if since is None:
            async for page in iter_pages(fetch, page_size=self.page_size, concurrency=self.concurrency):
                yield self._user_data(user_id, item_type, page)
            return
        async for newer in played_since(
            fetch, self.page_size, since, lambda p: self._user_data(user_id, item_type, p)
        ):
            yield newer

    async def iter_resumable_items(
        self: DialectClient, item_type: ItemType, user_id: str
    ) -> AsyncIterator[list[UserItemData]]:
        """Items this user has started and not finished (`Filters=IsResumable`)."""
        path, params = self._user_query(item_type, user_id, Filters="IsResumable", SortBy="DatePlayed",
                                        SortOrder="Descending")  # fmt: skip

        async def fetch(start: int, limit: int) -> dict[str, Any]:
            return await self._get_items(path, params, start, limit)

        async for page in iter_pages(fetch, page_size=self.page_size, concurrency=self.concurrency):
            yield self._user_data(user_id, item_type, page)

    async def iter_favourite_items(
        self: DialectClient, item_type: ItemType, user_id: str, *, unplayed_only: bool = False
    ) -> AsyncIterator[list[UserItemData]]:
        """Items of this type the user marked favourite (`IsFavorite=true`); `unplayed_only` when the
        caller also reads the complete played list (that one carries the played favourites)."""
        path, params = self._user_query(
            item_type, user_id, IsFavorite=True, IsPlayed=False if unplayed_only else None,
            SortBy=item_type.sort_by, SortOrder="Ascending",
        )  # fmt: skip

        async def fetch(start: int, limit: int) -> dict[str, Any]:
            return await self._get_items(path, params, start, limit)

        async for page in iter_pages(fetch, page_size=self.page_size, concurrency=self.concurrency):
            yield self._user_data(user_id, item_type, page)

    async def iter_visible_ids(
        self: DialectClient, item_type: ItemType, user_id: str
    ) -> AsyncIterator[list[str]]:
        """Ids of the items of this type that the server shows this user: its own answer to the
        user's policy (libraries, parental rating, blocked and allowed tags), so the sidecar never
        re-implements a rating scale or a tag rule. Raises on any failed page (a partial list would
        hide items the user may see)."""
        path, scoped = self._user_items_request(user_id)
        params = self._params(
            IncludeItemTypes=item_type.name, Recursive=True, EnableUserData=False, EnableImages=False,
            SortBy=item_type.sort_by, SortOrder="Ascending", **scoped,
        )  # fmt: skip

        async def fetch(start: int, limit: int) -> dict[str, Any]:
            return await self._get_items(path, params, start, limit)

        async for page in iter_pages(fetch, page_size=self.page_size, concurrency=self.concurrency):
            yield [normalise_id(str(raw["Id"])) for raw in page if isinstance(raw.get("Id"), str | int)]

    async def get_user_item_data(
        self: DialectClient, item_type: ItemType, user_id: str, item_ids: list[str]
    ) -> list[UserItemData]:
        """This user's data for these items (ids the user cannot see are absent)."""
        out: list[UserItemData] = []
        for ids in chunks(list(dict.fromkeys(item_ids)), IDS_PER_REQUEST):
            path, params = self._user_query(item_type, user_id, Ids=",".join(ids))
            result = await self.http.get_json(path, params)
            items = result.get("Items", []) if isinstance(result, dict) else []
            out.extend(self._user_data(user_id, item_type, items))
        return out
