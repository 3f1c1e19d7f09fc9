"""The simulated server's state: libraries, movies, users (with policies), per-user data.

Dialect-neutral: ids are minted in the server's style (Jellyfin 32-hex GUIDs, Emby numeric item ids)
but rendering to JSON happens in `render.py`. Mutations notify `listeners` with small event dicts so
a webhook sender can be plugged in later.

User data is stored per *user-data key*. Which key depends on the server (`SimState.version`,
`user_data_sharing`):

* Jellyfin >= 10.11 (the default) and Emby: per item. `UserDataManager.SaveUserData` writes rows
  under the item's own id and `GetUserDataInternal` reads only `ItemId == item.Id`
  (jellyfin/jellyfin `Emby.Server.Implementations/Library/UserDataManager.cs`, v10.11.11), so a copy
  of a movie in an AI Picks library has its *own* played state: playing the copy does not mark the
  original. Emby is closed source; per item is the safe assumption.
* Jellyfin 10.10 and older (`version="10.10.7"`, or `user_data_sharing="provider"` for an Emby that
  shares): per `Video.GetUserDataKeys`, the TMDb id, else the IMDb id, else the item id. A movie and
  its copy made from our NFO (same TMDb id) then share played state, play count, favourite, rating.

Every read goes through `user_data_of`, every write through `data_for`, every listing through
`items_with_data`.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import inspect
import itertools
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sidecar.simulator.policies import default_policy

Kind = Literal["jellyfin", "emby"]
UserDataSharing = Literal["item", "provider"]
Event = dict[str, Any]
Listener = Callable[[Event], Any]
_ID_NAMESPACE = uuid.UUID("6d1f3c0e-9a7b-4c55-8f0e-2b7f1c9d4e21")


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")[:3] if part.isdigit())


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class SimLibrary:
    name: str
    item_id: str  # Jellyfin: the only id; Emby: the id for /Items and refresh
    folder_id: str  # Emby VirtualFolderInfo.Id
    guid: str  # Emby id used in user policies
    collection_type: str | None
    locations: list[str]
    # Created through the API (the sidecar's AI Picks libraries): a refresh scans its folders on disk
    # (`scan.py`). Seeded libraries keep their seeded items.
    scans_folders: bool = False


@dataclass
class SimMovie:
    id: str
    name: str
    library_id: str
    original_title: str | None = None
    sort_name: str | None = None
    year: int | None = None
    overview: str | None = None
    taglines: list[str] = field(default_factory=list)
    genres: list[str] = field(default_factory=list)
    studios: list[str] = field(default_factory=list)
    people: list[dict[str, str]] = field(default_factory=list)  # {"Name", "Type", "Role"?}
    tags: list[str] = field(default_factory=list)
    community_rating: float | None = None
    critic_rating: float | None = None
    official_rating: str | None = None
    runtime_ticks: int | None = None
    provider_ids: dict[str, str] = field(default_factory=dict)
    path: str | None = None
    container: str = "mkv"
    premiere_date: dt.datetime | None = None
    date_created: dt.datetime = field(default_factory=utcnow)
    date_last_saved: dt.datetime = field(default_factory=utcnow)
    image_tag: str | None = None

    @property
    def sort_key(self) -> str:
        return (self.sort_name or self.name).lower()


@dataclass
class SimUserData:
    played: bool = False
    play_count: int = 0
    last_played: dt.datetime | None = None
    is_favorite: bool = False
    rating: float | None = None
    position_ticks: int = 0

    # The two rules below hold for every item type; movies (model.py) and episodes (tv.py) share them.
    def record_play(self, at: dt.datetime | None, completed: bool, position_ticks: int) -> None:
        """One playback: the count goes up at start, `played` only when finished (as on Jellyfin)."""
        self.play_count += 1
        self.last_played = at or utcnow()
        if completed:
            self.played, self.position_ticks = True, 0
        else:
            self.position_ticks = position_ticks

    def mark_played(self, played: bool, at: dt.datetime | None, count_play: bool = False) -> None:
        """TogglePlayed. `count_play` is the API's datePlayed: one more play at `at`
        (jellyfin/jellyfin `MediaBrowser.Controller/Entities/BaseItem.cs` MarkPlayed)."""
        self.played = played
        if played:
            self.play_count = max(1, self.play_count + (1 if count_play else 0))
            self.last_played = at or self.last_played or utcnow()
        else:
            self.play_count, self.last_played = 0, None
        self.position_ticks = 0


@dataclass
class SimUser:
    id: str
    name: str
    policy: dict[str, Any]
    date_created: dt.datetime = field(default_factory=utcnow)
    last_login: dt.datetime | None = None


class SimState:
    """Everything the simulated server knows; mutate it through the methods so caches stay right."""

    def __init__(self, kind: Kind, *, server_id: str | None = None, server_name: str | None = None) -> None:
        self.kind: Kind = kind
        self.server_id = server_id or uuid.uuid5(_ID_NAMESPACE, f"server:{kind}").hex
        self.server_name = server_name or ("sim-jellyfin" if kind == "jellyfin" else "sim-emby")
        self._version_text = "10.11.11" if kind == "jellyfin" else "4.9.1.90"
        # "item" (Jellyfin >= 10.11, Emby) or "provider" (Jellyfin <= 10.10): see the module docstring.
        self._sharing: UserDataSharing = "item"
        self.libraries: list[SimLibrary] = []
        self.movies: dict[str, SimMovie] = {}
        self.users: dict[str, SimUser] = {}
        self._user_data: dict[str, dict[str, SimUserData]] = {}  # user id -> user-data key -> data
        self.host_paths: set[str] = set()  # folders that exist "on the server host"
        self.check_real_paths = True  # also accept folders that exist on this machine
        self.listeners: list[Listener] = []
        # Library-management calls, recorded so tests can assert them.
        self.refresh_requests: list[dict[str, Any]] = []
        # Every (re)start of the server's full "Scan Media Library" task: `POST /Library/Refresh`,
        # and a create or add-path with refreshLibrary=true (see scan.py).
        self.library_scans: list[dt.datetime] = []
        # The server's background work (queued refreshes, full scans), run one at a time after the
        # request that asked for it has been answered; `settle()` waits for it.
        self.task_delay_seconds = 0.0
        self._tasks: collections.deque[Callable[[], Any]] = collections.deque()
        self._task_runner: asyncio.Task[None] | None = None
        self.busy_libraries: set[str] = set()  # item ids with a refresh queued or running
        self.scan_results: list[Any] = []  # scan.ScanResult of every folder scan, in order
        self.policy_updates: list[tuple[str, dict[str, Any]]] = []
        self._pending: set[asyncio.Future[Any]] = set()
        self._numeric_ids = itertools.count(60000)
        self._version = 0
        self._sorted: dict[tuple[int, str | None], list[SimMovie]] = {}
        self._items_by_key: dict[str, set[str]] = {}  # user-data key -> the items holding it
        self._folder_ids: dict[str, str] = {}  # Emby: folder path -> numeric id
        from sidecar.simulator.tv import TvStore  # tv.py builds on this module

        self.tv = TvStore(self)  # series, seasons, episodes (tv.py)

    # --- server version -----------------------------------------------------------------------------
    @property
    def version(self) -> str:
        return self._version_text

    @version.setter
    def version(self, value: str) -> None:
        """Set the server version; Jellyfin's user-data sharing follows it (10.10 shared by key)."""
        self._version_text = value
        if self.kind == "jellyfin":
            self.user_data_sharing = "provider" if _version_tuple(value) < (10, 11) else "item"

    def version_at_least(self, major: int, minor: int = 0) -> bool:
        return _version_tuple(self._version_text) >= (major, minor)

    @property
    def user_data_sharing(self) -> UserDataSharing:
        return self._sharing

    @user_data_sharing.setter
    def user_data_sharing(self, value: UserDataSharing) -> None:
        """Switch how user data is keyed, moving existing data to the new keys (as a server upgrade
        migrates it; items that come to share a key keep the first one's data)."""
        holders = {item_id: key for key, items in self._items_by_key.items() for item_id in items}
        self._sharing = value
        self._items_by_key = {}
        for movie in self.movies.values():
            self._index(movie)
        for user_id, by_key in self._user_data.items():
            moved: dict[str, SimUserData] = {}
            for item_id, old_key in sorted(holders.items()):
                if old_key in by_key and item_id in self.movies:
                    moved.setdefault(self.user_data_key(self.movies[item_id]), by_key[old_key])
            self._user_data[user_id] = moved

    # --- ids ----------------------------------------------------------------------------------------
    def new_item_id(self, key: str) -> str:
        if self.kind == "emby":
            candidate = str(next(self._numeric_ids))
            while candidate in self.movies:
                candidate = str(next(self._numeric_ids))
            return candidate
        return uuid.uuid5(_ID_NAMESPACE, f"{self.server_id}:item:{key}").hex

    def folder_id(self, movie: SimMovie) -> str:
        """The id of the folder that holds the movie's file: what the server sends as its ParentId.

        A movie's parent is the physical folder it sits in, not the library (jellyfin/jellyfin
        `MediaBrowser.Controller/Entities/BaseItem.cs` ParentId, set by the resolver's folder walk in
        `Emby.Server.Implementations/Library/LibraryManager.cs`; folder ids come from their paths).
        Only a movie without a path hangs directly under its library here.
        """
        if not movie.path:
            return movie.library_id
        folder = movie.path.replace("\\", "/").rsplit("/", 1)[0]
        if self.kind == "jellyfin":
            return self.new_guid(f"folder:{folder}")
        known = self._folder_ids.get(folder)
        if known is None:
            known = self._folder_ids[folder] = str(next(self._numeric_ids))
        return known

    def new_guid(self, key: str) -> str:
        return uuid.uuid5(_ID_NAMESPACE, f"{self.server_id}:{key}").hex

    @property
    def catalog_version(self) -> int:
        """Changes with every mutation of the catalog (for caches of orders)."""
        return self._version

    def touch(self) -> None:
        self._version += 1
        self._sorted.clear()

    # --- events -------------------------------------------------------------------------------------
    def emit(
        self, event_type: str, *, item_id: str | None = None, user_id: str | None = None, **details: Any
    ) -> None:
        """Tell listeners; `details` carry what a webhook needs beyond the ids (e.g. the save reason)."""
        event = {"type": event_type, "user_id": user_id, "item_id": item_id, "at": utcnow().isoformat()}
        event.update(details)
        for listener in list(self.listeners):
            outcome = listener(event)
            if inspect.isawaitable(outcome):
                task = asyncio.ensure_future(outcome)
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)

    # --- background tasks -----------------------------------------------------------------------------
    def run_later(self, task: Callable[[], Any]) -> None:
        """Queue server work to run after the current request has been answered, in order."""
        self._tasks.append(task)
        if self._task_runner is None or self._task_runner.done():
            self._task_runner = asyncio.get_running_loop().create_task(self._run_tasks())

    async def _run_tasks(self) -> None:
        while self._tasks:
            await asyncio.sleep(self.task_delay_seconds)
            outcome = self._tasks.popleft()()
            if inspect.isawaitable(outcome):  # work that leaves the loop free meanwhile (a scan)
                await outcome

    async def settle(self) -> None:
        """Wait until the queued server work and the listeners' deliveries it caused are done."""
        while (self._task_runner is not None and not self._task_runner.done()) or self._pending:
            if self._task_runner is not None and not self._task_runner.done():
                await asyncio.shield(self._task_runner)
            if self._pending:
                await asyncio.gather(*list(self._pending), return_exceptions=True)

    # --- libraries ----------------------------------------------------------------------------------
    def add_library(
        self,
        name: str,
        collection_type: str | None,
        locations: list[str],
        *,
        item_id: str | None = None,
        scans_folders: bool = False,
    ) -> SimLibrary:
        if self.kind == "emby":
            lib_item_id = item_id or str(next(self._numeric_ids))
            folder_id = str(next(self._numeric_ids))
        else:
            lib_item_id = folder_id = item_id or self.new_guid(f"library:{name}")
        library = SimLibrary(
            name=name,
            item_id=lib_item_id,
            folder_id=folder_id,
            guid=self.new_guid(f"library-guid:{name}") if self.kind == "emby" else lib_item_id,
            collection_type=collection_type,
            locations=list(locations),
            scans_folders=scans_folders,
        )
        self.libraries.append(library)
        self.host_paths.update(locations)
        self.touch()
        return library

    def library(self, item_id: str) -> SimLibrary | None:
        return next((lib for lib in self.libraries if lib.item_id == item_id), None)

    def remove_library(self, library: SimLibrary) -> None:
        """The virtual folder and the items scanned from it go; the folders on disk stay (as on the
        real servers: Jellyfin's LibraryManager.RemoveVirtualFolder deletes only its own config)."""
        self.libraries.remove(library)
        for movie_id in [m.id for m in self.movies.values() if m.library_id == library.item_id]:
            del self.movies[movie_id]
        self.touch()

    def path_exists(self, path: str) -> bool:
        if path in self.host_paths or any(path.startswith(p.rstrip("/") + "/") for p in self.host_paths):
            return True
        return self.check_real_paths and os.path.isdir(path)

    # --- movies ---------------------------------------------------------------------------------------
    def add_movie(self, *, emit: bool = True, id: str | None = None, **fields: Any) -> SimMovie:
        """Add a movie (fields as in SimMovie); `library_id` defaults to the first movie library."""
        if "library_id" not in fields:
            fields["library_id"] = next(
                lib.item_id for lib in self.libraries if lib.collection_type == "movies"
            )
        key = f"{fields.get('name')}:{fields.get('year')}:{len(self.movies)}"
        movie = SimMovie(id=id or self.new_item_id(key), **fields)
        if movie.image_tag is None:
            movie.image_tag = self.new_guid(f"image:{movie.id}")
        replaced = self.movies.get(movie.id)
        if replaced is not None:
            self._unindex(replaced)
        self.movies[movie.id] = movie
        self._index(movie)
        self.touch()
        if emit:
            self.emit("item_added", item_id=movie.id)
        return movie

    def update_movie(self, item_id: str, **changes: Any) -> SimMovie:
        movie = self.movies[item_id]
        self._unindex(movie)
        for name, value in changes.items():
            if not hasattr(movie, name):
                self._index(movie)
                raise AttributeError(f"SimMovie has no field {name!r}")
            setattr(movie, name, value)
        self._index(movie)
        movie.date_last_saved = utcnow()
        self.touch()
        return movie

    def remove_movie(self, item_id: str) -> None:
        movie = self.movies.pop(item_id)
        key = self._unindex(movie)
        self.touch()
        if key not in self._items_by_key:  # another item with the same key keeps the shared data
            for data in self._user_data.values():
                data.pop(key, None)
        self.emit("item_removed", item_id=item_id, movie=movie)  # gone from state; the webhook still names it

    def sorted_movies(self, library_id: str | None) -> list[SimMovie]:
        """All movies (of one library) by sort name; cached until the next mutation."""
        key = (self._version, library_id)
        cached = self._sorted.get(key)
        if cached is None:
            movies = [m for m in self.movies.values() if library_id is None or m.library_id == library_id]
            cached = sorted(movies, key=lambda m: (m.sort_key, m.name.lower()))  # ties: insertion order
            self._sorted[key] = cached
        return cached

    # --- users ----------------------------------------------------------------------------------------
    def add_user(
        self,
        name: str,
        *,
        id: str | None = None,
        is_admin: bool = False,
        is_disabled: bool = False,
        enabled_folders: list[str] | None = None,
    ) -> SimUser:
        policy = default_policy(
            self.kind, is_admin=is_admin, is_disabled=is_disabled, enabled_folders=enabled_folders
        )
        user = SimUser(id=id or self.new_guid(f"user:{name}"), name=name, policy=policy)
        self.users[user.id] = user
        self._user_data.setdefault(user.id, {})
        return user

    def set_user_disabled(self, user_id: str, disabled: bool = True) -> None:
        self.users[user_id].policy["IsDisabled"] = disabled

    def remove_user(self, user_id: str) -> None:
        del self.users[user_id]
        self._user_data.pop(user_id, None)

    def can_see(self, user: SimUser, library: SimLibrary) -> bool:
        if user.policy.get("EnableAllFolders", True):
            return True
        wanted = library.guid if self.kind == "emby" else library.item_id
        return wanted in (user.policy.get("EnabledFolders") or [])

    # --- user data ------------------------------------------------------------------------------------
    def user_data_key(self, movie: SimMovie) -> str:
        """Where the server keeps a user's data for this item: the item itself (Jellyfin >= 10.11,
        Emby), or (Jellyfin 10.10) its TMDb id, else IMDb id, else item id.

        Prefixed here so an Emby numeric item id can never equal another movie's TMDb id.
        """
        if self._sharing == "item":
            return f"item:{movie.id}"
        providers = {name.lower(): value for name, value in movie.provider_ids.items() if value}
        if providers.get("tmdb"):
            return f"tmdb:{providers['tmdb']}"
        if providers.get("imdb"):
            return f"imdb:{providers['imdb']}"
        return f"item:{movie.id}"

    def _index(self, movie: SimMovie) -> None:
        self._items_by_key.setdefault(self.user_data_key(movie), set()).add(movie.id)

    def _unindex(self, movie: SimMovie) -> str:
        key = self.user_data_key(movie)
        holders = self._items_by_key.get(key, set())
        holders.discard(movie.id)
        if not holders:
            self._items_by_key.pop(key, None)
        return key

    def user_data_of(self, user_id: str, item_id: str) -> SimUserData | None:
        """This user's data for this item (shared with every item of the same key), if any."""
        movie = self.movies.get(item_id)
        if movie is None:
            return None
        return self._user_data.get(user_id, {}).get(self.user_data_key(movie))

    def items_with_data(self, user_id: str) -> dict[str, SimUserData]:
        """item id -> data, for every item this user has data for (copies included)."""
        return {
            item_id: data
            for key, data in self._user_data.get(user_id, {}).items()
            for item_id in sorted(self._items_by_key.get(key, ()))
        }

    def data_for(self, user_id: str, item_id: str) -> SimUserData:
        """The data to change for this user and item (created empty when missing)."""
        movie = self.movies.get(item_id)
        if movie is None:
            raise KeyError(f"no movie {item_id}")
        return self._user_data.setdefault(user_id, {}).setdefault(self.user_data_key(movie), SimUserData())

    def record_play(
        self,
        user_id: str,
        item_id: str,
        *,
        at: dt.datetime | None = None,
        completed: bool = True,
        position_ticks: int = 0,
        emit: bool = True,
    ) -> SimUserData:
        """One playback: the count goes up at start, `played` only when finished (as on Jellyfin)."""
        data = self.data_for(user_id, item_id)
        data.record_play(at, completed, position_ticks)
        if emit:
            self.emit("playback_stopped", user_id=user_id, item_id=item_id, completed=completed)
            self.emit("user_data_saved", user_id=user_id, item_id=item_id, reason="PlaybackFinished")
        return data

    def mark_played(
        self,
        user_id: str,
        item_id: str,
        played: bool = True,
        *,
        at: dt.datetime | None = None,
        count_play: bool = False,
    ) -> SimUserData:
        """TogglePlayed. `count_play` is the API's datePlayed: one more play at `at`
        (jellyfin/jellyfin `MediaBrowser.Controller/Entities/BaseItem.cs` MarkPlayed)."""
        data = self.data_for(user_id, item_id)
        data.mark_played(played, at, count_play)
        self.emit("user_data_saved", user_id=user_id, item_id=item_id, reason="TogglePlayed")
        return data

    def set_favorite(self, user_id: str, item_id: str, favorite: bool = True) -> SimUserData:
        data = self.data_for(user_id, item_id)
        data.is_favorite = favorite
        self.emit("user_data_saved", user_id=user_id, item_id=item_id, reason="UpdateUserRating")
        return data

    def set_rating(self, user_id: str, item_id: str, rating: float | None) -> SimUserData:
        data = self.data_for(user_id, item_id)
        data.rating = rating
        self.emit("user_data_saved", user_id=user_id, item_id=item_id, reason="UpdateUserRating")
        return data
