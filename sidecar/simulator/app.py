"""The simulator's HTTP surface: every endpoint the sidecar uses, in the Jellyfin or the Emby dialect.

Jellyfin: no path prefix, `Authorization: MediaBrowser Token="…"` (plus the legacy carriers while
`legacy_auth` is on, as in 10.11), arrays for /Users and /Library/VirtualFolders. Emby: the same under
/emby (also served without it, like the real server), `X-Emby-Token` or `api_key`, QueryResults
without StartIndex. Every request is recorded (method, route template, query, auth carrier, body,
status) so tests can check the clients against the OpenAPI specs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sidecar.mediaserver.dto import parse_datetime
from sidecar.simulator.faults import Faults
from sidecar.simulator.images import poster_png
from sidecar.simulator.model import Kind, SimMovie, SimState, SimUser, SimUserData
from sidecar.simulator.parental import item_visible
from sidecar.simulator.query import query_bool as _bool
from sidecar.simulator.query import query_list as _split
from sidecar.simulator.render import (
    render_movie,
    render_public_info,
    render_user,
    render_user_data,
    render_virtual_folder,
)
from sidecar.simulator.scan import queue_library_refresh, restart_full_scan
from sidecar.simulator.seeds import seed_state
from sidecar.simulator.tv_app import TvQueries
from sidecar.simulator.tv_library import seed_tv
from sidecar.simulator.tv_render import render_tv_item

EMBY_PREFIX = "/emby"
ANONYMOUS_ROUTES = {"/System/Info/Public"}
# Jellyfin serves item images without a token (ImageController.GetItemImage); Emby wants its key.
JELLYFIN_ANONYMOUS_ROUTES = {"/Items/{itemId}/Images/{imageType}"}
RECORD_KEY = web.RequestKey("record", object)
BODY_KEY = web.RequestKey("body", object)
_TOKEN_PART = re.compile(r'Token="?([^",]+)"?', re.IGNORECASE)


@dataclass
class RecordedRequest:
    method: str
    path: str  # as sent, with any /emby prefix
    route: str | None  # the route template without the prefix, e.g. /Users/{userId}/Policy
    query: list[tuple[str, str]]
    auth: str | None  # which carrier held the key: "MediaBrowser", "X-Emby-Token", "api_key", ...
    body: Any = None
    status: int | None = None
    at: float = field(default_factory=time.monotonic)
    response: Any = None  # the JSON sent back, kept only when `record_responses` is on


def _norm(value: str) -> str:
    compact = value.replace("-", "").lower()
    return compact if len(compact) == 32 else value


def _parse_date_played(value: str) -> dt.datetime | None:
    """Jellyfin sends ISO-8601; Emby documents yyyyMMddHHmmss."""
    if value.isdigit() and len(value) == 14:
        return dt.datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
    return parse_datetime(value)


# jellyfin/jellyfin `Emby.Server.Implementations/IO/ManagedFileSystem.cs` (_invalidPathCharacters).
_INVALID_FILENAME_CHARS = frozenset('"<>|:*?\\/') | {chr(c) for c in range(32)}
_NAME_12 = re.compile(r"\S(?:.*\S)?")  # ^(?:\S(?:.*\S)?)$ in v12.0 LibraryStructureController.cs


def jellyfin_valid_filename(name: str) -> str:
    """Every invalid path character becomes a space (nothing is collapsed or trimmed afterwards)."""
    return "".join(" " if char in _INVALID_FILENAME_CHARS else char for char in name)


class MediaServerSimulator:
    """State + faults + recorded requests, and the aiohttp app that serves them."""

    def __init__(
        self,
        kind: Kind,
        *,
        seed: str | int | None = "sample",
        api_key: str | None = None,
        tv: str | None = None,
    ) -> None:
        """`tv`: also serve a TV library, "sample" (six shows) or "full" (~1,500 shows, `tv_seed`)."""
        self.kind: Kind = kind
        self.state = SimState(kind)
        if seed is not None:
            seed_state(self.state, seed)
        if tv is not None:
            seed_tv(self.state, tv)
        self.tv = TvQueries(self.state)
        self.api_key = api_key or secrets.token_hex(16)
        self.faults = Faults()
        self.requests: list[RecordedRequest] = []
        self.legacy_auth = True  # Jellyfin 10.11 default; 12.0 turns it off
        self.record_responses = False
        self.shuffle_ties = True  # see `_shuffled`
        self.rng = random.Random(f"ties:{kind}:{seed}")
        self._orders: dict[tuple[Any, ...], tuple[list[SimMovie], list[tuple[int, int]]]] = {}
        self.local_address = "http://127.0.0.1"

    # --- recording helpers ------------------------------------------------------------------------------
    def requests_to(self, route: str, method: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.requests if r.route == route and (method is None or r.method == method)]

    # --- auth -------------------------------------------------------------------------------------------
    def _auth_carrier(self, request: web.Request) -> tuple[str | None, str | None]:
        """(carrier, token) as the real server would find them, in its lookup order."""
        headers = request.headers
        query = {k.lower(): v for k, v in request.query.items()}
        if self.kind == "jellyfin":
            auth = headers.get("Authorization", "")
            scheme = auth.split(" ", 1)[0]
            if scheme == "MediaBrowser" or (self.legacy_auth and scheme == "Emby"):
                match = _TOKEN_PART.search(auth)
                if match:
                    return scheme, match.group(1)
            if self.legacy_auth and headers.get("X-Emby-Token"):
                return "X-Emby-Token", headers["X-Emby-Token"]
            if "apikey" in query:
                return "ApiKey", query["apikey"]
            if self.legacy_auth and "api_key" in query:
                return "api_key", query["api_key"]
            return None, None
        if headers.get("X-Emby-Token"):
            return "X-Emby-Token", headers["X-Emby-Token"]
        for name in ("X-Emby-Authorization", "Authorization"):
            match = _TOKEN_PART.search(headers.get(name, ""))
            if match:
                return name, match.group(1)
        if "api_key" in query:
            return "api_key", query["api_key"]
        return None, None

    # --- middleware ---------------------------------------------------------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        resource = request.match_info.route.resource
        canonical = resource.canonical if resource is not None else None
        if canonical and self.kind == "emby" and canonical.startswith(EMBY_PREFIX + "/"):
            canonical = canonical[len(EMBY_PREFIX) :]
        body = None
        if request.can_read_body:
            raw = await request.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
        carrier, token = self._auth_carrier(request)
        record = RecordedRequest(
            request.method, request.path, canonical, list(request.query.items()), carrier, body
        )
        self.requests.append(record)
        request[RECORD_KEY] = record
        request[BODY_KEY] = body
        response = await self._respond(request, handler, canonical, token)
        record.status = response.status
        if self.record_responses and isinstance(response, web.Response) and response.body is not None:
            if response.content_type == "application/json":
                record.response = json.loads(response.body)  # type: ignore[arg-type]
        return response

    async def _respond(
        self, request: web.Request, handler: Any, canonical: str | None, token: str | None
    ) -> web.StreamResponse:
        if self.faults.latency_seconds:
            await asyncio.sleep(self.faults.latency_seconds)
        anonymous = ANONYMOUS_ROUTES | (JELLYFIN_ANONYMOUS_ROUTES if self.kind == "jellyfin" else set())
        if canonical not in anonymous and canonical is not None:
            if self.faults.reject_auth or token is None or not secrets.compare_digest(token, self.api_key):
                return self._error(401, "Unauthorized")
        path = request.path
        if self.kind == "emby" and path.startswith(EMBY_PREFIX + "/"):
            path = path[len(EMBY_PREFIX) :]
        fault = self.faults.take(request.method, path, {k.lower(): v for k, v in request.query.items()})
        if fault is not None and fault.after_commit:
            committed = await self._handle(request, handler)
            if fault.hang_seconds:
                await asyncio.sleep(fault.hang_seconds)
            return self._error(fault.status, "injected fault") if fault.status else committed
        if fault is not None:
            await fault.wait()
            if fault.status:
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
                return self._error(fault.status, "injected fault", headers=headers)
        return await self._handle(request, handler)

    async def _handle(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as exc:
            return self._error(exc.status, exc.text or exc.reason)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
        if self.kind == "jellyfin" and status not in (401, 429) and status < 500:
            return web.json_response(
                {"type": "about:blank", "title": message, "status": status}, status=status, headers=headers
            )
        return web.Response(status=status, text=message, headers=headers)

    # --- app --------------------------------------------------------------------------------------------
    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        if self.kind == "jellyfin":
            routes = [
                web.get("/System/Info/Public", self.public_info),
                web.get("/Users", self.list_users),
                web.get("/Users/{userId}", self.get_user),
                web.post("/Users/{userId}/Policy", self.set_policy),
                web.get("/Library/VirtualFolders", self.list_folders),
                web.post("/Library/VirtualFolders", self.create_folder),
                web.delete("/Library/VirtualFolders", self.delete_folder),
                web.post("/Library/VirtualFolders/Paths", self.add_folder_path),
                web.get("/Items", self.items),
                web.get("/Items/{itemId}", self.get_item),
                web.get("/Shows/{seriesId}/Episodes", self.show_episodes),
                web.get("/Items/{itemId}/Images/{imageType}", self.get_image),
                web.post("/Items/{itemId}/Refresh", self.refresh_item),
                web.post("/Library/Refresh", self.refresh_all),
                # PlaystateController / UserLibraryController (10.11): the user in the query; the
                # /Users/{userId}/... forms are the obsolete aliases, still served.
                web.post("/UserPlayedItems/{itemId}", self.mark_played),
                web.delete("/UserPlayedItems/{itemId}", self.mark_unplayed),
                web.post("/Users/{userId}/PlayedItems/{itemId}", self.mark_played),
                web.post("/UserFavoriteItems/{itemId}", self.mark_favorite),
                web.delete("/UserFavoriteItems/{itemId}", self.unmark_favorite),
                web.post("/Users/{userId}/FavoriteItems/{itemId}", self.mark_favorite),
            ]
            app.add_routes(routes)
            return app
        for prefix in (EMBY_PREFIX, ""):
            app.add_routes(
                [
                    web.get(prefix + "/System/Info/Public", self.public_info),
                    web.get(prefix + "/Users/Query", self.list_users),
                    web.get(prefix + "/Users/{Id}", self.get_user),
                    web.post(prefix + "/Users/{Id}/Policy", self.set_policy),
                    web.get(prefix + "/Library/VirtualFolders/Query", self.list_folders),
                    web.post(prefix + "/Library/VirtualFolders", self.create_folder),
                    web.post(prefix + "/Library/VirtualFolders/Delete", self.delete_folder),
                    web.post(prefix + "/Library/VirtualFolders/Paths", self.add_folder_path),
                    web.get(prefix + "/Items", self.items),
                    web.get(prefix + "/Users/{UserId}/Items", self.items),
                    web.get(prefix + "/Users/{UserId}/Items/{Id}", self.get_item),
                    web.get(prefix + "/Shows/{Id}/Episodes", self.show_episodes),
                    web.get(prefix + "/Items/{Id}/Images/{Type}", self.get_image),
                    web.post(prefix + "/Items/{Id}/Refresh", self.refresh_item),
                    web.post(prefix + "/Library/Refresh", self.refresh_all),
                    web.post(prefix + "/Users/{UserId}/PlayedItems/{Id}", self.mark_played),
                    web.delete(prefix + "/Users/{UserId}/PlayedItems/{Id}", self.mark_unplayed),
                    web.post(prefix + "/Users/{UserId}/PlayedItems/{Id}/Delete", self.mark_unplayed),
                    web.post(prefix + "/Users/{UserId}/FavoriteItems/{Id}", self.mark_favorite),
                    web.delete(prefix + "/Users/{UserId}/FavoriteItems/{Id}", self.unmark_favorite),
                    web.post(prefix + "/Users/{UserId}/FavoriteItems/{Id}/Delete", self.unmark_favorite),
                ]
            )
        return app

    # --- handlers -----------------------------------------------------------------------------------------
    def _query(self, request: web.Request) -> dict[str, str]:
        return {k.lower(): v for k, v in request.query.items()}

    def _result(self, items: list[Any], total: int, start: int) -> dict[str, Any]:
        if self.kind == "jellyfin":
            return {"Items": items, "TotalRecordCount": total, "StartIndex": start}
        return {"Items": items, "TotalRecordCount": total}

    def _user_or_404(self, raw_id: str) -> SimUser:
        user = self.state.users.get(_norm(raw_id))
        if user is None:
            raise web.HTTPNotFound(text="User not found")
        return user

    async def public_info(self, request: web.Request) -> web.Response:
        return web.json_response(render_public_info(self.state, self.local_address))

    async def list_users(self, request: web.Request) -> web.Response:
        q = self._query(request)
        users = list(self.state.users.values())
        hidden, disabled = _bool(q.get("ishidden")), _bool(q.get("isdisabled"))
        if hidden is not None:
            users = [u for u in users if bool(u.policy.get("IsHidden")) == hidden]
        if disabled is not None:
            users = [u for u in users if bool(u.policy.get("IsDisabled")) == disabled]
        rendered = [render_user(self.state, u) for u in users]
        if self.kind == "jellyfin":
            return web.json_response(rendered)
        start = int(q.get("startindex") or 0)
        limit = int(q["limit"]) if q.get("limit") else len(rendered)
        return web.json_response(self._result(rendered[start : start + limit], len(rendered), start))

    async def get_user(self, request: web.Request) -> web.Response:
        user = self._user_or_404(request.match_info.get("userId") or request.match_info["Id"])
        return web.json_response(render_user(self.state, user))

    async def set_policy(self, request: web.Request) -> web.Response:
        user = self._user_or_404(request.match_info.get("userId") or request.match_info["Id"])
        policy = request[BODY_KEY]
        if not isinstance(policy, dict):
            raise web.HTTPBadRequest(text="User policy was not supplied.")
        required = ["AuthenticationProviderId"] + (
            ["PasswordResetProviderId"] if self.kind == "jellyfin" else []
        )
        missing = [k for k in required if not policy.get(k)] or [k for k in user.policy if k not in policy]
        if missing:
            raise web.HTTPBadRequest(text=f"incomplete policy, missing: {', '.join(sorted(missing))}")
        user.policy = dict(policy)
        self.state.policy_updates.append((user.id, dict(policy)))
        return web.Response(status=204)

    async def list_folders(self, request: web.Request) -> web.Response:
        folders = [render_virtual_folder(self.state, lib) for lib in self.state.libraries]
        if self.kind == "jellyfin":
            return web.json_response(folders)
        return web.json_response(self._result(folders, len(folders), 0))

    async def create_folder(self, request: web.Request) -> web.Response:
        q, body = self._query(request), request[BODY_KEY] if isinstance(request[BODY_KEY], dict) else {}
        options = body.get("LibraryOptions") if isinstance(body.get("LibraryOptions"), dict) else {}
        from_options = [p.get("Path") for p in options.get("PathInfos") or [] if isinstance(p, dict)]
        if self.kind == "jellyfin":
            name = q.get("name", "")
            collection_type = q.get("collectiontype")
            paths = _split(q.get("paths")) or [p for p in from_options if p]
            refresh = _bool(q.get("refreshlibrary"))
        else:
            name = str(body.get("Name") or q.get("name") or "")
            collection_type = body.get("CollectionType") or q.get("collectiontype")
            paths = list(body.get("Paths") or []) or [p for p in from_options if p]
            refresh = bool(body.get("RefreshLibrary"))
        if not name.strip():
            raise web.HTTPBadRequest(text="name is required")
        if self.kind == "jellyfin":
            # 12.0 validates the name (LibraryStructureController.AddVirtualFolder's [RegularExpression]);
            # every version then stores GetValidFilename(name.Trim()) (LibraryManager.AddVirtualFolder).
            if self.state.version_at_least(12) and not _NAME_12.fullmatch(name):
                raise web.HTTPBadRequest(text="Library name cannot be empty or have leading/trailing spaces.")
            name = jellyfin_valid_filename(name.strip())
        missing = [p for p in paths if not self.state.path_exists(p)]
        if missing:
            raise web.HTTPBadRequest(text=f"The specified path does not exist: {missing[0]}")
        existing = {lib.name.lower() for lib in self.state.libraries}
        if name.lower() in existing:
            if self.kind == "emby":
                raise web.HTTPBadRequest(text=f"There is already a media library with the name {name}.")
            n = 2
            while f"{name}{n}".lower() in existing:
                n += 1
            name = f"{name}{n}"  # Jellyfin silently creates Name2, Name3, ...
        # Created through the API: the sidecar's own libraries, whose folders a refresh scans.
        library = self.state.add_library(name, collection_type, paths, scans_folders=True)
        if refresh:
            self.state.refresh_requests.append(
                {"item_id": library.item_id, "library": name, "reason": "create"}
            )
            restart_full_scan(self.state)
        return web.Response(status=204)

    async def delete_folder(self, request: web.Request) -> web.Response:
        """Jellyfin: DELETE ?name= (LibraryStructureController.RemoveVirtualFolder; an unknown name is
        a FileNotFoundException, answered 404). Emby 4.8: POST /Delete with {Id} (RemoveVirtualFolder)."""
        q, body = self._query(request), request[BODY_KEY] if isinstance(request[BODY_KEY], dict) else {}
        if self.kind == "jellyfin":
            library = next((lib for lib in self.state.libraries if lib.name == q.get("name")), None)
        else:
            library = next(
                (lib for lib in self.state.libraries if lib.folder_id == str(body.get("Id"))), None
            )
        if library is None:
            raise web.HTTPNotFound(text="The media folder does not exist")
        self.state.remove_library(library)
        return web.Response(status=204)

    async def add_folder_path(self, request: web.Request) -> web.Response:
        q, body = self._query(request), request[BODY_KEY] if isinstance(request[BODY_KEY], dict) else {}
        path = body.get("Path") or (body.get("PathInfo") or {}).get("Path")
        if self.kind == "jellyfin":
            library = next((lib for lib in self.state.libraries if lib.name == body.get("Name")), None)
            refresh = _bool(q.get("refreshlibrary"))
        else:
            library = next(
                (lib for lib in self.state.libraries if lib.folder_id == str(body.get("Id"))), None
            )
            refresh = bool(body.get("RefreshLibrary"))
        if library is None:
            raise web.HTTPNotFound(text="library not found")
        if not path or not self.state.path_exists(path):
            raise web.HTTPNotFound(text=f"The path does not exist: {path}")
        if path not in library.locations:
            library.locations.append(path)
            self.state.host_paths.add(path)
        if refresh:
            self.state.refresh_requests.append(
                {"item_id": library.item_id, "library": library.name, "reason": "add-path"}
            )
            restart_full_scan(self.state)
        return web.Response(status=204)

    async def refresh_item(self, request: web.Request) -> web.Response:
        raw = request.match_info.get("itemId") or request.match_info["Id"]
        item_id = _norm(raw)
        library = self.state.library(item_id)
        if library is None and item_id not in self.state.movies and item_id not in self.state.tv:
            raise web.HTTPNotFound(text="Item to refresh not found.")
        self.state.refresh_requests.append(
            {
                "item_id": item_id,
                "library": library.name if library else None,
                "reason": "refresh",
                "params": dict(request.query),
            }
        )
        if library is not None:
            queue_library_refresh(self.state, library)
        return web.Response(status=204)

    async def refresh_all(self, request: web.Request) -> web.Response:
        restart_full_scan(self.state)
        return web.Response(status=204)

    async def get_item(self, request: web.Request) -> web.Response:
        user, item_id = self._request_user(request), self._item_id(request)
        if item_id in self.state.tv:
            rendered = self.tv.get_item(item_id, user)
            if rendered is None:
                raise web.HTTPNotFound(text="Item not found")
            return web.json_response(rendered)
        movie = self._visible_movie(user, item_id)
        data = self.state.user_data_of(user.id, movie.id)
        all_fields = {"originaltitle", "datecreated", "sortname", "path", "overview", "taglines", "genres",
                      "providerids", "parentid", "people", "studios", "tags"}  # fmt: skip
        return web.json_response(
            render_movie(self.state, movie, all_fields, user_data=data, with_user_data=True)
        )

    def _request_user(self, request: web.Request) -> SimUser:
        """The user named in the path or the query; 400 without one, 404 for an unknown one."""
        q = self._query(request)
        raw_user = request.match_info.get("userId") or request.match_info.get("UserId") or q.get("userid")
        if not raw_user:
            # An API key has no user of its own: Jellyfin's GetUserById(empty) fails.
            raise web.HTTPBadRequest(text="userId is required with an API key")
        return self._user_or_404(raw_user)

    @staticmethod
    def _item_id(request: web.Request) -> str:
        return _norm(request.match_info.get("itemId") or request.match_info["Id"])

    def _visible_movie(self, user: SimUser, item_id: str) -> SimMovie:
        movie = self.state.movies.get(item_id)
        if movie is None or not self._visible(user, movie):
            raise web.HTTPNotFound(text="Item not found")
        return movie

    def _user_item(self, request: web.Request) -> tuple[SimUser, SimMovie]:
        """The user (path or query) and a movie they can see; 404 otherwise, as the servers answer."""
        user = self._request_user(request)
        return user, self._visible_movie(user, self._item_id(request))

    def _user_data_answer(self, user: SimUser, movie: SimMovie) -> web.Response:
        data = self.state.user_data_of(user.id, movie.id)
        return web.json_response(render_user_data(self.state, movie, data))

    # --- played marks and favourites -------------------------------------------------------------------------
    async def mark_played(self, request: web.Request) -> web.Response:
        """PlaystateController.MarkPlayedItem -> BaseItem.MarkPlayed: Played, PlayCount >= 1 (one
        more with datePlayed), position reset, UserDataSaved(TogglePlayed) / Emby item.markplayed.
        The same route marks episodes and series (a series: every real episode, Folder.MarkPlayed)."""
        raw_date = self._query(request).get("dateplayed")
        at = _parse_date_played(raw_date) if raw_date else None
        if raw_date and at is None:
            raise web.HTTPBadRequest(text=f"invalid datePlayed: {raw_date}")
        if self._item_id(request) in self.state.tv:
            return self._mark_tv_played(request, at)
        user, movie = self._user_item(request)
        self.state.mark_played(user.id, movie.id, True, at=at, count_play=at is not None)
        return self._user_data_answer(user, movie)

    def _mark_tv_played(self, request: web.Request, at: dt.datetime | None) -> web.Response:
        user, tv = self._request_user(request), self.state.tv
        item = tv.get(self._item_id(request))
        library = self.state.library(item.library_id) if item is not None else None
        if item is None or library is None or not self.state.can_see(user, library):
            raise web.HTTPNotFound(text="Item not found")
        tv.mark_played(user.id, item.id, True, at=at)
        rendered = render_tv_item(self.state, item, set(), user_id=user.id, with_user_data=True, images=False)
        return web.json_response(rendered.get("UserData") or {})

    async def mark_unplayed(self, request: web.Request) -> web.Response:
        user, movie = self._user_item(request)
        self.state.mark_played(user.id, movie.id, False)
        return self._user_data_answer(user, movie)

    async def mark_favorite(self, request: web.Request) -> web.Response:
        """UserLibraryController.MarkFavorite: SaveReason UpdateUserRating (Emby: item.rate)."""
        user, movie = self._user_item(request)
        self.state.set_favorite(user.id, movie.id, True)
        return self._user_data_answer(user, movie)

    async def unmark_favorite(self, request: web.Request) -> web.Response:
        user, movie = self._user_item(request)
        self.state.set_favorite(user.id, movie.id, False)
        return self._user_data_answer(user, movie)

    async def show_episodes(self, request: web.Request) -> web.Response:
        q = self._query(request)
        raw_user = q.get("userid")
        user = self._user_or_404(raw_user) if raw_user else None
        series_id = _norm(request.match_info.get("seriesId") or request.match_info["Id"])
        answer = self.tv.show_episodes(series_id, q, user)
        if answer is None:
            raise web.HTTPNotFound(text="Series not found")
        return web.json_response(self._result(*answer))

    async def get_image(self, request: web.Request) -> web.Response:
        kind = request.match_info.get("imageType") or request.match_info["Type"]
        item_id = _norm(request.match_info.get("itemId") or request.match_info["Id"])
        movie = self.state.movies.get(item_id)
        # Every series, season and episode renders a Primary tag (tv_render.image_tag); movies may have none.
        has_image = (
            movie.image_tag is not None if movie is not None else self.state.tv.get(item_id) is not None
        )
        if kind.lower() != "primary" or not has_image:
            raise web.HTTPNotFound(text="Image not found")
        return web.Response(body=poster_png(item_id), content_type="image/png")

    def _visible(self, user: SimUser, movie: SimMovie) -> bool:
        """The user's policy: the movie's library, then its parental rating and tags (`parental.py`)."""
        library = self.state.library(movie.library_id)
        if library is not None and not self.state.can_see(user, library):
            return False
        return item_visible(
            user.policy, rating=movie.official_rating, tags=movie.tags, item_type="Movie",
            emby=self.state.kind == "emby",
        )  # fmt: skip

    async def items(self, request: web.Request) -> web.Response:
        q = self._query(request)
        state = self.state
        raw_user = request.match_info.get("UserId") or q.get("userid")
        user = self._user_or_404(raw_user) if raw_user else None
        start = int(q.get("startindex") or 0)
        limit = int(q["limit"]) if q.get("limit") else None
        types = [t.lower() for t in _split(q.get("includeitemtypes"))]
        ids = [_norm(i) for i in _split(q.get("ids"))]
        parent = _norm(q["parentid"]) if q.get("parentid") else None
        recursive = bool(_bool(q.get("recursive")))
        if self.tv.wants(types, ids, parent):
            tv_items, total = self.tv.items(q, user, types, ids, parent, recursive, start, limit)
            return web.json_response(self._result(tv_items, total, start))
        if types and "movie" not in types:
            return web.json_response(self._result([], 0, start))
        if ids:
            movies = [state.movies[i] for i in ids if i in state.movies]
            if parent:
                movies = [m for m in movies if m.library_id == parent]
        elif not recursive:
            # Movies sit in their own folders below the library: only a recursive query reaches them.
            return web.json_response(self._result([], 0, start))
        else:
            movies = self._catalog_order(parent, q)
        presorted = not ids
        filters = {f.lower() for f in _split(q.get("filters"))}
        played = _bool(q.get("isplayed"))
        played = True if "isplayed" in filters else False if "isunplayed" in filters else played
        favorite = True if "isfavorite" in filters else _bool(q.get("isfavorite"))
        # item id -> data; a copy and its original share theirs (one user-data key), so ask the state.
        user_data: dict[str, SimUserData] = state.items_with_data(user.id) if user else {}
        if user is not None:
            hidden = {lib.item_id for lib in state.libraries if not state.can_see(user, lib)}
            if (played or favorite) and not ids:  # walk the user's own data, not the whole catalog
                movies = [state.movies[i] for i in user_data if i in state.movies]
                presorted = False
            if hidden:
                movies = [m for m in movies if m.library_id not in hidden]
            movies = [m for m in movies if self._visible(user, m)]  # parental rating and tags
            if parent and (played or favorite):
                movies = [m for m in movies if m.library_id == parent]
            if played is not None:
                movies = [m for m in movies if (m.id in user_data and user_data[m.id].played) == played]
            if favorite is not None:
                movies = [
                    m for m in movies if (m.id in user_data and user_data[m.id].is_favorite) == favorite
                ]
        min_saved = q.get("mindatelastsaved")
        if min_saved:
            threshold = parse_datetime(min_saved)
            if threshold is not None:
                movies = [m for m in movies if m.date_last_saved >= threshold]
        if not presorted:
            movies = self._sorted(self._shuffled(movies), q, user_data)
        total = len(movies)
        page = movies[start : start + limit] if limit is not None else movies[start:]
        fields = {f.lower() for f in _split(q.get("fields"))}
        with_user_data = user is not None and _bool(q.get("enableuserdata")) is not False
        images = _bool(q.get("enableimages")) is not False
        rendered = [
            render_movie(
                state, m, fields, user_data=user_data.get(m.id), with_user_data=with_user_data, images=images
            )
            for m in page
        ]
        return web.json_response(self._result(rendered, total, start))

    # --- order --------------------------------------------------------------------------------------------
    # The servers order by the requested keys only (Jellyfin: SortName is followed by Name, nothing
    # else; no SortBy means SortName) and leave ties to the database, which may return them in any
    # order on each request (jellyfin/jellyfin `Jellyfin.Server.Implementations/Item/
    # BaseItemRepository.cs` ApplyOrder). With `shuffle_ties` the simulator shuffles every tie anew
    # per request, so offset paging over ties can repeat or skip items, as on a real server.
    def _shuffled(self, movies: list[SimMovie]) -> list[SimMovie]:
        if not self.shuffle_ties or len(movies) < 2:
            return movies
        out = list(movies)
        self.rng.shuffle(out)
        return out  # a stable sort afterwards keeps the random order within ties

    def _catalog_order(self, parent: str | None, q: dict[str, str]) -> list[SimMovie]:
        """A library's (or all) movies in the requested order, ties shuffled; sorted once per change."""
        key = (
            self.state.catalog_version,
            parent,
            q.get("sortby", "").lower(),
            q.get("sortorder", "").lower(),
        )
        cached = self._orders.get(key)
        if cached is None:
            if self._orders and next(iter(self._orders))[0] != key[0]:
                self._orders.clear()
            movies = self._sorted(list(self.state.sorted_movies(parent)), q, {})
            tie = self._tie_key(q)
            groups, begin = [], 0
            for index in range(1, len(movies) + 1):
                if index == len(movies) or tie(movies[index]) != tie(movies[begin]):
                    if index - begin > 1:
                        groups.append((begin, index))
                    begin = index
            cached = self._orders[key] = (movies, groups)
        movies, groups = cached
        if not self.shuffle_ties or not groups:
            return movies
        out = list(movies)
        for begin, end in groups:
            tied = out[begin:end]
            self.rng.shuffle(tied)
            out[begin:end] = tied
        return out

    def _tie_key(self, q: dict[str, str]) -> Any:
        keys = [k.lower() for k in _split(q.get("sortby"))] or ["sortname"]
        parts = [self._sort_key(k, {}) for k in keys]
        return lambda m: tuple(part(m) for part in parts)

    def _sorted(self, movies: list[SimMovie], q: dict[str, str], user_data: dict[str, Any]) -> list[SimMovie]:
        keys = [k.lower() for k in _split(q.get("sortby"))]
        orders = [o.lower() for o in _split(q.get("sortorder"))]
        if not keys:
            return movies
        result = list(movies)
        for index in range(len(keys) - 1, -1, -1):  # stable sorts, last key first
            key = keys[index]
            descending = (
                orders[index] if index < len(orders) else (orders[-1] if orders else "")
            ) == "descending"
            result.sort(key=self._sort_key(key, user_data), reverse=descending)
        return result

    @staticmethod
    def _sort_key(key: str, user_data: dict[str, Any]) -> Any:
        never = dt.datetime.min.replace(tzinfo=dt.UTC)
        if key == "dateplayed":
            return lambda m: (user_data[m.id].last_played or never) if m.id in user_data else never
        if key == "datecreated":
            return lambda m: m.date_created
        if key in ("productionyear", "premieredate"):
            return lambda m: m.year or 0
        if key == "communityrating":
            return lambda m: m.community_rating or 0.0
        if key == "playcount":
            return lambda m: user_data[m.id].play_count if m.id in user_data else 0
        return lambda m: (m.sort_key, m.name.lower())  # SortName, then Name (ApplyOrder)
