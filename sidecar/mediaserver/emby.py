"""Emby 4.8/4.9: PascalCase parameters under /emby, QueryResults for users and libraries."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sidecar.mediaserver.base import Library, MediaServerError, MediaUser, ServerKind
from sidecar.mediaserver.client import DialectClient
from sidecar.mediaserver.dto import parse_user
from sidecar.mediaserver.library_options import ai_library_options

BASE_PATH = "/emby"


class EmbyClient(DialectClient):
    kind: ServerKind = "emby"
    no_collections_param: ClassVar[tuple[str, str]] = ("GroupItemsIntoCollections", False)  # type: ignore[assignment]

    def _param(self, name: str) -> str:
        return name

    def _user_items_request(self, user_id: str) -> tuple[str, dict[str, Any]]:
        return f"/Users/{user_id}/Items", {}

    async def list_users(self) -> list[MediaUser]:
        result = await self.http.get_json("/Users/Query")
        if not isinstance(result, dict) or not isinstance(result.get("Items"), list):
            raise MediaServerError("GET /Users/Query: expected a QueryResult")
        return [u for u in map(parse_user, result["Items"]) if u is not None]

    async def _virtual_folders(self) -> list[dict[str, Any]]:
        result = await self.http.get_json("/Library/VirtualFolders/Query")
        if not isinstance(result, dict) or not isinstance(result.get("Items"), list):
            raise MediaServerError("GET /Library/VirtualFolders/Query: expected a QueryResult")
        return result["Items"]

    async def _post_create_library(self, name: str, path: str, collection_type: str = "movies") -> None:
        # RefreshLibrary=false, as on Jellyfin: the caller refreshes this one library instead.
        # LibraryOptions.ContentType: Emby only (Jellyfin has no such option), series.md §4.
        await self.http.post(
            "/Library/VirtualFolders",
            None,
            {
                "Name": name,
                "CollectionType": collection_type,
                "RefreshLibrary": False,
                "Paths": [path],
                "LibraryOptions": _with_content_type(ai_library_options("emby", path), collection_type),
            },
        )

    def _add_path_request(self, library: Library, path: str) -> tuple[dict[str, Any], dict[str, Any]]:
        # Emby 4.8 names the library by its virtual-folder Id (4.1 used Name).
        return {}, {"Id": library.id, "Path": path, "PathInfo": {"Path": path}, "RefreshLibrary": False}

    def _refresh_params(self) -> dict[str, Any]:
        return {
            "Recursive": True,
            "MetadataRefreshMode": "Default",
            "ImageRefreshMode": "Default",
            "ReplaceAllMetadata": False,
            "ReplaceAllImages": False,
        }

    async def delete_library(self, library: Library) -> None:
        # Emby 4.8 OpenAPI: POST /Library/VirtualFolders/Delete with Library.RemoveVirtualFolder {Id, RefreshLibrary}.
        await self.http.post(
            "/Library/VirtualFolders/Delete", None, {"Id": library.id, "RefreshLibrary": False}
        )

    def _user_item_request(self, collection: str, user_id: str, item_id: str) -> tuple[str, dict[str, Any]]:
        return f"/Users/{user_id}/{collection}/{item_id}", {}

    def _date_played(self, when: dt.datetime) -> str:
        return when.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S")  # the spec's format: yyyyMMddHHmmss


def _with_content_type(options: dict[str, Any], collection_type: str) -> dict[str, Any]:
    """Emby's `LibraryOptions.ContentType` for a library that is not a movie library (a series
    library says `tvshows`, series.md §4); movie libraries keep the options as they are."""
    return options if collection_type == "movies" else {**options, "ContentType": collection_type}
