"""InMemoryMediaServer: a small in-memory stand-in for the media server's library/user endpoints.

It implements the `MediaServerClient` protocol (library management part) with the real servers'
semantics that the library job depends on, so tests fail where a real server would:

* a duplicate library name makes `Name2`, `Name3`... (Jellyfin, `LibraryManager.AddVirtualFolder`);
* a library path must exist on the server host, else 400 on create / 404 on add-path;
* a policy write must be complete: Jellyfin requires `AuthenticationProviderId` and
  `PasswordResetProviderId`, and neither server accepts a policy missing fields it had;
* Jellyfin returns `EnabledFolders` as dashed GUIDs; Emby libraries have three ids (numeric `Id`,
  numeric `ItemId`, 32-hex `Guid`) and policies use the `Guid`;
* a new library is visible to users with `EnableAllFolders=true`.

To be replaced by the real simulator (sidecar/simulator) once the branches are merged.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import os
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from sidecar.mediaserver.base import (
    Library,
    MediaServerError,
    MediaUser,
    MovieItem,
    ServerInfo,
    ServerKind,
    UserMovieData,
    normalise_id,
)

JELLYFIN_AUTH_PROVIDER = "Jellyfin.Server.Implementations.Users.DefaultAuthenticationProvider"
JELLYFIN_RESET_PROVIDER = "Jellyfin.Server.Implementations.Users.DefaultPasswordResetProvider"


def _dashed(guid: str) -> str:
    return str(uuid.UUID(hex=guid))


class InMemoryMediaServer:
    """Libraries, users and policies of one fake server. `host_path` maps a server path to where the
    "server host" would find it locally (identity by default), for the path-must-exist rule."""

    def __init__(self, kind: ServerKind = "jellyfin", host_path: Callable[[str], str] = lambda p: p) -> None:
        self.kind: ServerKind = kind
        self._host_path = host_path
        self._libraries: list[Library] = []
        self._users: list[MediaUser] = []
        self._policies: dict[str, dict[str, Any]] = {}
        self._numbers = itertools.count(100)
        # what the job did, for assertions
        self.created: list[str] = []
        self.refreshed: list[str] = []  # library item ids
        self.policy_writes: list[tuple[str, dict[str, Any]]] = []
        self.closed = False

    # --- test set-up --------------------------------------------------------------------------------
    def add_library(self, name: str, path: str, collection_type: str | None = "movies") -> Library:
        library = self._new_library(name, path, collection_type)
        self._libraries.append(library)
        return library

    def add_user(
        self,
        name: str,
        *,
        user_id: str | None = None,
        enable_all_folders: bool = True,
        enabled_folders: Sequence[str] = (),
    ) -> str:
        user_id = user_id or uuid.uuid4().hex
        self._users.append(MediaUser(id=user_id, name=name, is_admin=False, is_disabled=False))
        policy: dict[str, Any] = {
            "IsAdministrator": False,
            "IsHidden": False,
            "IsDisabled": False,
            "EnableAllFolders": enable_all_folders,
            "EnabledFolders": [self._policy_form(g) for g in enabled_folders],
            "EnableMediaPlayback": True,
            "BlockedTags": [],
            "EnableContentDeletion": False,
        }
        if self.kind == "jellyfin":
            policy["AuthenticationProviderId"] = JELLYFIN_AUTH_PROVIDER
            policy["PasswordResetProviderId"] = JELLYFIN_RESET_PROVIDER
            policy["SyncPlayAccess"] = "CreateAndJoinGroups"
        else:
            policy["EnableSubtitleDownloading"] = False
        self._policies[user_id] = policy
        return user_id

    def delete_library(self, name: str) -> None:
        """What an admin deleting the library in the dashboard does."""
        self._libraries = [lib for lib in self._libraries if lib.name != name]

    def visible_libraries(self, user_id: str) -> set[str]:
        """Names of the libraries this user sees, as the server decides it from the policy."""
        policy = self._policies[user_id]
        if policy["EnableAllFolders"]:
            return {lib.name for lib in self._libraries}
        enabled = {normalise_id(f) for f in policy["EnabledFolders"]}
        return {lib.name for lib in self._libraries if normalise_id(lib.guid) in enabled}

    def policy(self, user_id: str) -> dict[str, Any]:
        return copy.deepcopy(self._policies[user_id])

    # --- MediaServerClient: the parts sync-movie-libraries uses ----------------------------------------
    async def server_info(self) -> ServerInfo:
        return ServerInfo(
            kind=self.kind, id=uuid.uuid5(uuid.NAMESPACE_DNS, self.kind).hex, name="double", version="0"
        )

    async def list_users(self) -> list[MediaUser]:
        return list(self._users)

    async def list_libraries(self) -> list[Library]:
        return list(self._libraries)

    async def create_library(self, name: str, path: str) -> Library:
        if not self._exists_on_host(path):
            raise MediaServerError(f"HTTP 400 creating library {name!r}: the path {path} does not exist")
        taken = {lib.name.casefold() for lib in self._libraries}
        final = name
        for n in itertools.count(2):
            if final.casefold() not in taken:
                break
            final = f"{name}{n}"
        library = self._new_library(final, path, "movies")
        self._libraries.append(library)
        self.created.append(final)
        return library

    async def add_library_path(self, library: Library, path: str) -> None:
        if not self._exists_on_host(path):
            raise MediaServerError(f"HTTP 404 adding {path}: the path does not exist")
        for i, lib in enumerate(self._libraries):
            if lib.id == library.id:
                self._libraries[i] = Library(
                    lib.id, lib.item_id, lib.guid, lib.name, lib.collection_type, (*lib.locations, path)
                )
                return
        raise MediaServerError(f"HTTP 404: no library {library.name!r}")

    async def get_user_policy(self, user_id: str) -> dict[str, Any]:
        if user_id not in self._policies:
            raise MediaServerError(f"HTTP 404: no user {user_id}")
        return copy.deepcopy(self._policies[user_id])

    async def set_user_policy(self, user_id: str, policy: dict[str, Any]) -> None:
        current = self._policies.get(user_id)
        if current is None:
            raise MediaServerError(f"HTTP 404: no user {user_id}")
        missing = current.keys() - policy.keys()
        if missing:
            raise MediaServerError(f"HTTP 400: partial policy, missing {sorted(missing)}")
        if self.kind == "jellyfin" and not (
            policy.get("AuthenticationProviderId") and policy.get("PasswordResetProviderId")
        ):
            raise MediaServerError(
                "HTTP 400: AuthenticationProviderId and PasswordResetProviderId are required"
            )
        stored = copy.deepcopy(policy)
        stored["EnabledFolders"] = [self._policy_form(f) for f in policy.get("EnabledFolders") or []]
        self._policies[user_id] = stored
        self.policy_writes.append((user_id, copy.deepcopy(policy)))

    async def refresh_library(self, library: Library) -> None:
        if not any(lib.item_id == library.item_id for lib in self._libraries):
            raise MediaServerError(f"HTTP 404: no item {library.item_id}")
        self.refreshed.append(library.item_id)

    async def close(self) -> None:
        self.closed = True

    # --- the rest of the protocol (not used by the library job) ---------------------------------------
    async def iter_movies(self, library_ids: list[str]) -> AsyncIterator[list[MovieItem]]:
        return
        yield []

    async def get_movies(self, item_ids: list[str]) -> list[MovieItem]:
        return []

    async def iter_played_movies(
        self, user_id: str, since: dt.datetime | None = None
    ) -> AsyncIterator[list[UserMovieData]]:
        return
        yield []

    async def get_user_movie_data(self, user_id: str, item_ids: list[str]) -> list[UserMovieData]:
        return []

    # --- internals ------------------------------------------------------------------------------------
    def _new_library(self, name: str, path: str, collection_type: str | None) -> Library:
        guid = uuid.uuid4().hex
        if self.kind == "jellyfin":
            return Library(guid, guid, guid, name, collection_type, (path,))
        return Library(
            str(next(self._numbers)), str(next(self._numbers)), guid, name, collection_type, (path,)
        )

    def _exists_on_host(self, path: str) -> bool:
        return os.path.isdir(self._host_path(path))

    def _policy_form(self, guid: str) -> str:
        return _dashed(normalise_id(guid)) if self.kind == "jellyfin" else normalise_id(guid)
