"""Jellyfin 10.9-12: camelCase parameters, no path prefix, arrays for users and libraries."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sidecar.mediaserver.base import Library, MediaServerError, MediaUser, ServerKind
from sidecar.mediaserver.client import DialectClient
from sidecar.mediaserver.dto import parse_user
from sidecar.mediaserver.library_options import ai_library_options


class JellyfinClient(DialectClient):
    kind: ServerKind = "jellyfin"
    no_collections_param: ClassVar[tuple[str, str]] = ("CollapseBoxSetItems", False)  # type: ignore[assignment]

    def _param(self, name: str) -> str:
        return name[0].lower() + name[1:]

    def _user_items_request(self, user_id: str) -> tuple[str, dict[str, Any]]:
        # An API key has no user: user data needs `userId` (the /Users/{id}/Items form is obsolete).
        return "/Items", {"UserId": user_id}

    async def list_users(self) -> list[MediaUser]:
        users = await self.http.get_json("/Users")
        if not isinstance(users, list):
            raise MediaServerError("GET /Users: expected an array of users")
        return [u for u in map(parse_user, users) if u is not None]

    async def _virtual_folders(self) -> list[dict[str, Any]]:
        folders = await self.http.get_json("/Library/VirtualFolders")
        if not isinstance(folders, list):
            raise MediaServerError("GET /Library/VirtualFolders: expected an array")
        return folders

    async def _post_create_library(self, name: str, path: str, collection_type: str = "movies") -> None:
        # refreshLibrary=false: true restarts the server's full scan of every library
        # (LibraryManager.AddVirtualFolder -> StartScanInBackground -> CancelIfRunningAndQueue<
        # RefreshMediaLibraryTask>); the caller refreshes this one library instead.
        await self.http.post(
            "/Library/VirtualFolders",
            {"name": name, "collectionType": collection_type, "refreshLibrary": False},
            {"LibraryOptions": ai_library_options("jellyfin", path)},
        )

    def _add_path_request(self, library: Library, path: str) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"refreshLibrary": False}, {"Name": library.name, "PathInfo": {"Path": path}}

    def _refresh_params(self) -> dict[str, Any]:
        return {
            "metadataRefreshMode": "Default",
            "imageRefreshMode": "Default",
            "replaceAllMetadata": False,
            "replaceAllImages": False,
        }

    async def delete_library(self, library: Library) -> None:
        # Jellyfin.Api/Controllers/LibraryStructureController.cs RemoveVirtualFolder: DELETE by name;
        # no refresh: the folder's items simply leave with it.
        await self.http.request(
            "DELETE", "/Library/VirtualFolders", params={"name": library.name, "refreshLibrary": False}
        )

    def _user_item_request(self, collection: str, user_id: str, item_id: str) -> tuple[str, dict[str, Any]]:
        # POST /UserPlayedItems/{itemId}?userId= (PlaystateController), /UserFavoriteItems/{itemId}
        # (UserLibraryController); the /Users/{userId}/... forms are obsolete.
        return f"/User{collection}/{item_id}", {"userId": user_id}

    def _date_played(self, when: dt.datetime) -> str:
        return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
