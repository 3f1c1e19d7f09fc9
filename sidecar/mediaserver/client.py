"""What Jellyfin and Emby share: the /Items queries, paging, user data and library calls.

The two dialect classes override only what differs (parameter casing, where per-user items live,
the list endpoints, library bodies). Parameter names are written in PascalCase here and turned into
each server's spelling by `_param` (Jellyfin's OpenAPI uses camelCase, Emby's PascalCase).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable
from dataclasses import replace
from typing import Any, ClassVar

import structlog

from sidecar.mediaserver.base import (
    Library,
    MediaServerAuthError,
    MediaServerError,
    MediaUser,
    MovieItem,
    ServerInfo,
    ServerKind,
    UserMovieData,
)
from sidecar.mediaserver.catalog import (
    IDS_PER_REQUEST,
    USER_DATA_FIELDS,
    CatalogCalls,
    chunks,
    played_since,
)
from sidecar.mediaserver.dto import MOVIE_FIELDS, parse_library, parse_movie, parse_user_data
from sidecar.mediaserver.http import MediaServerHttp, MediaServerStatusError
from sidecar.mediaserver.items import MOVIE
from sidecar.mediaserver.paging import (
    FetchPage,
    IncompleteListingError,
    Page,
    iter_pages_checked,
)

log = structlog.get_logger(__name__)

# Sort keys both servers know (Jellyfin ItemSortBy, Emby's documented list; neither sorts by Id):
# after the name, year and date added leave almost no ties for offset paging to trip over.
STABLE_SORT = "SortName,ProductionYear,DateCreated"


class MoviePage(list[MovieItem]):
    """One page of movies, with the size of the whole listing it belongs to (for progress) and, on
    the last page, whether the listing was complete."""

    def __init__(self, movies: Iterable[MovieItem], *, library_id: str, start: int, total: int) -> None:
        super().__init__(movies)
        self.library_id = library_id
        self.start = start
        self.total = total
        self.complete: bool | None = None


class DialectClient(CatalogCalls):
    """Shared implementation of `MediaServerClient`; see `JellyfinClient` and `EmbyClient`.
    The item-type-generic catalogue calls (series, episodes) come from `catalog.CatalogCalls`."""

    kind: ServerKind
    # Extra /Items parameters that stop box sets from replacing movies in listings.
    no_collections_param: ClassVar[tuple[str, str]]

    def __init__(self, http: MediaServerHttp, *, page_size: int, concurrency: int) -> None:
        self.http = http
        self.page_size = page_size
        self.concurrency = concurrency
        self._libraries: list[Library] | None = None
        self.server_version = ""  # as probed by `open_client` (e.g. "10.11.11"); "" when not probed

    # --- dialect hooks --------------------------------------------------------------------------------
    def _param(self, name: str) -> str:
        raise NotImplementedError

    def _user_items_request(self, user_id: str) -> tuple[str, dict[str, Any]]:
        """Path and extra parameters for /Items seen by one user."""
        raise NotImplementedError

    async def list_users(self) -> list[MediaUser]:
        raise NotImplementedError

    async def _virtual_folders(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def _post_create_library(self, name: str, path: str, collection_type: str = "movies") -> None:
        raise NotImplementedError

    def _add_path_request(self, library: Library, path: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Query parameters and JSON body for POST /Library/VirtualFolders/Paths."""
        raise NotImplementedError

    def _refresh_params(self) -> dict[str, Any]:
        raise NotImplementedError

    async def delete_library(self, library: Library) -> None:
        raise NotImplementedError

    def _user_item_request(self, collection: str, user_id: str, item_id: str) -> tuple[str, dict[str, Any]]:
        """Path and query for POST to one of a user's item lists ("PlayedItems", "FavoriteItems")."""
        raise NotImplementedError

    def _date_played(self, when: dt.datetime) -> str:
        raise NotImplementedError

    # --- helpers ----------------------------------------------------------------------------------------
    def _params(self, **values: Any) -> dict[str, Any]:
        return {self._param(k): v for k, v in values.items() if v is not None}

    def _movie_query(self, **extra: Any) -> dict[str, Any]:
        return self._type_query(MOVIE, **extra)  # one query rule for every item type

    async def _get_items(self, path: str, params: dict[str, Any], start: int, limit: int) -> dict[str, Any]:
        page = {**params, **self._params(StartIndex=start, Limit=limit)}
        result = await self.http.get_json(path, page)
        if not isinstance(result, dict):
            raise MediaServerError(f"GET {path}: expected a QueryResult object")
        return result

    # --- identity ---------------------------------------------------------------------------------------
    async def server_info(self) -> ServerInfo:
        info = await self.http.get_json("/System/Info/Public", anonymous=True)
        if not isinstance(info, dict):
            raise MediaServerError("GET /System/Info/Public: unexpected answer")
        return ServerInfo(
            kind=self.kind,
            id=str(info.get("Id") or ""),
            name=str(info.get("ServerName") or ""),
            version=str(info.get("Version") or ""),
        )

    async def list_libraries(self) -> list[Library]:
        libraries = [lib for lib in map(parse_library, await self._virtual_folders()) if lib is not None]
        self._libraries = libraries
        return libraries

    # --- catalog -----------------------------------------------------------------------------------------
    async def iter_movies(self, library_ids: list[str]) -> AsyncIterator[list[MovieItem]]:
        """Every movie of these libraries (their ItemIds), page by page, in a stable order, each
        once (`iter_pages_checked`). The last page of a library says whether its listing was
        complete; the caller confirms anything it did not see before calling it removed."""
        for library_id in library_ids:
            params = self._movie_query(
                ParentId=library_id,
                Fields=",".join(MOVIE_FIELDS),
                SortBy=STABLE_SORT,
                SortOrder="Ascending",
                ImageTypeLimit=1,
            )

            async def fetch(start: int, limit: int, params: dict[str, Any] = params) -> dict[str, Any]:
                return await self._get_items("/Items", params, start, limit)

            async for page in iter_pages_checked(fetch, page_size=self.page_size):
                movies = [m for m in (parse_movie(i, library_id) for i in page if _is_movie(i)) if m]
                if page.complete is False:
                    log.warning("a movie listing changed while it was paged", library=library_id,
                                counted=page.total)  # fmt: skip
                out = MoviePage(movies, library_id=library_id, start=page.start, total=page.total)
                out.complete = page.complete
                yield out

    async def get_movies(self, item_ids: list[str]) -> list[MovieItem]:
        """These ids if they are movies in a movie (or mixed) library, tagged with that library: the
        generic lookup (catalog.get_items) with the movie type, which asks and parses as this did."""
        return await self.get_items(MOVIE, item_ids)

    # --- per-user data -----------------------------------------------------------------------------------
    async def iter_played_movies(
        self, user_id: str, since: dt.datetime | None = None
    ) -> AsyncIterator[list[UserMovieData]]:
        """Played movies, most recently played first. With `since`, pages are read one at a time and
        the walk stops at the first play older than `since` (or without a date)."""
        path, extra = self._user_items_request(user_id)
        params = self._movie_query(
            IsPlayed=True, SortBy=f"DatePlayed,{STABLE_SORT}", SortOrder="Descending,Ascending",
            EnableUserData=True, EnableImages=False, Fields=USER_DATA_FIELDS, **extra,
        )  # fmt: skip

        async def fetch(start: int, limit: int) -> dict[str, Any]:
            return await self._get_items(path, params, start, limit)

        if since is None:
            async for page in _checked(fetch, self.page_size, f"played movies of user {user_id}"):
                yield self._user_data_page(user_id, page)
            return
        async for newer in played_since(
            fetch, self.page_size, since, lambda p: self._user_data_page(user_id, p)
        ):
            yield newer

    async def iter_favorite_movies(
        self, user_id: str, *, unplayed_only: bool = False
    ) -> AsyncIterator[list[UserMovieData]]:
        """Favourite movies: cheap to re-read on every regular history sync. `unplayed_only` when
        the caller also reads the complete played list (that one carries the played favourites)."""
        path, extra = self._user_items_request(user_id)
        params = self._movie_query(
            IsFavorite=True, IsPlayed=False if unplayed_only else None, SortBy=STABLE_SORT,
            SortOrder="Ascending", EnableUserData=True, EnableImages=False, Fields=USER_DATA_FIELDS, **extra,
        )  # fmt: skip

        async def fetch(start: int, limit: int) -> dict[str, Any]:
            return await self._get_items(path, params, start, limit)

        async for page in _checked(fetch, self.page_size, f"favourite movies of user {user_id}"):
            yield self._user_data_page(user_id, page)

    async def get_user_movie_data(self, user_id: str, item_ids: list[str]) -> list[UserMovieData]:
        path, extra = self._user_items_request(user_id)
        out: list[UserMovieData] = []
        for ids in chunks(list(dict.fromkeys(item_ids)), IDS_PER_REQUEST):
            params = self._movie_query(
                Ids=",".join(ids), EnableUserData=True, EnableImages=False, Fields=USER_DATA_FIELDS, **extra
            )
            result = await self.http.get_json(path, params)
            items = result.get("Items", []) if isinstance(result, dict) else []
            out.extend(self._user_data_page(user_id, items))
        return out

    def _user_data_page(self, user_id: str, items: Iterable[dict[str, Any]]) -> list[UserMovieData]:
        return [d for d in (parse_user_data(user_id, i) for i in items if _is_movie(i)) if d is not None]

    # --- library management ------------------------------------------------------------------------------
    async def create_library(self, name: str, path: str, collection_type: str = "movies") -> Library:
        """Create it, then find it: the one new library holding `path` (Jellyfin may have named it
        Name2). A create is never blindly repeated: when its answer is lost (timeout, 5xx) the
        server may have done it, so the libraries are re-read and only what is missing is made."""
        before = {lib.id for lib in await self.list_libraries()}
        for attempt in range(self.http.retries + 1):
            try:
                await self._post_create_library(name, path, collection_type)
                failure: MediaServerError | None = None
            except (MediaServerAuthError, MediaServerStatusError):
                raise  # refused: nothing was made
            except MediaServerError as exc:
                failure = exc
            libraries = await self.list_libraries()
            created = _created_library(libraries, before, name, path)
            if created is not None:
                if path not in created.locations:  # made, but the answer was lost before its folder
                    await self.add_library_path(created, path)
                    return replace(created, locations=(*created.locations, path))
                return created
            if failure is None:
                raise MediaServerError(
                    f"library {name!r} was created but is not listed with folder {path!r}; "
                    "check the media server's log"
                )
            log.warning("creating a library failed and nothing was made; trying again",
                        library=name, attempt=attempt + 1, problem=str(failure))  # fmt: skip
        assert failure is not None
        raise failure

    async def add_library_path(self, library: Library, path: str) -> None:
        """Link `path` to the library once: after a lost answer, re-read and link only if missing."""
        params, body = self._add_path_request(library, path)
        for attempt in range(self.http.retries + 1):
            try:
                await self.http.post("/Library/VirtualFolders/Paths", params, body)
                return
            except (MediaServerAuthError, MediaServerStatusError):
                raise
            except MediaServerError as exc:
                failure = exc
            current = next((lib for lib in await self.list_libraries() if lib.id == library.id), None)
            if current is not None and path in current.locations:
                return
            log.warning("adding a library folder failed and it is not linked; trying again",
                        library=library.name, attempt=attempt + 1, problem=str(failure))  # fmt: skip
        raise failure

    async def get_user_policy(self, user_id: str) -> dict[str, Any]:
        user = await self.http.get_json(f"/Users/{user_id}")
        if not isinstance(user, dict) or not isinstance(user.get("Policy"), dict):
            raise MediaServerError(f"GET /Users/{user_id}: the answer has no Policy")
        return dict(user["Policy"])

    async def set_user_policy(self, user_id: str, policy: dict[str, Any]) -> None:
        await self.http.post(f"/Users/{user_id}/Policy", None, policy, idempotent=True)  # a full replace

    async def refresh_library(self, library: Library) -> None:
        # Queued by the server and answered at once; a second one in the queue changes nothing.
        await self.http.post(f"/Items/{library.item_id}/Refresh", self._refresh_params(), idempotent=True)

    # --- played marks -------------------------------------------------------------------------------------
    async def mark_played(self, user_id: str, item_id: str, *, played_at: dt.datetime | None = None) -> None:
        """Mark the item played for the user (the server fires its UserDataSaved/TogglePlayed or
        item.markplayed webhook). With `played_at` the server also counts one play at that time, so
        only a mark without a date is safe to repeat."""
        path, params = self._user_item_request("PlayedItems", user_id, item_id)
        if played_at is not None:
            params[self._param("DatePlayed")] = self._date_played(played_at)
        await self.http.post(path, params, idempotent=played_at is None)

    async def mark_favorite(self, user_id: str, item_id: str) -> None:
        path, params = self._user_item_request("FavoriteItems", user_id, item_id)
        await self.http.post(path, params, idempotent=True)

    async def scan_all_libraries(self) -> None:
        """POST /Library/Refresh: queue the server's full "Scan Media Library" task."""
        await self.http.post("/Library/Refresh", idempotent=True)

    async def close(self) -> None:
        await self.http.close()


async def _checked(fetch: FetchPage, page_size: int, what: str) -> AsyncIterator[Page]:
    """A checked walk that raises when it stayed incomplete: its caller replaces (deletes) rows by
    what it saw, so a listing that missed items must not count as the whole truth."""
    async for page in iter_pages_checked(fetch, page_size=page_size):
        if page.complete is False:
            raise IncompleteListingError(
                f"the {what} changed while they were read ({page.total} counted, fewer returned); "
                "the next run reads them again"
            )
        yield page


def _created_library(libraries: list[Library], before: set[str], name: str, path: str) -> Library | None:
    """The library a create made: new since `before`, by its folder, else by its name."""
    new = [lib for lib in libraries if lib.id not in before]
    with_path = [lib for lib in new if path in lib.locations]
    named = [lib for lib in new if lib.name == name]
    chosen = [lib for lib in with_path if lib.name == name] or with_path or named
    return chosen[-1] if chosen else None


def _is_movie(item: dict[str, Any]) -> bool:
    return item.get("Type", "Movie") == "Movie"
