"""The simulated server's TV items: series, seasons, episodes, and users' data for them.

Kept beside `SimState` (as `state.tv`) rather than inside it, so the movie model stays as it is.
Events go through `state.emit` like movie events, so an attached webhook sender fires for them too.

What the real server does, and this store models:
- Seasons and episodes are children of a series folder; an episode knows its series and season
  (`SeriesId`, `SeasonId`) and its numbers (`ParentIndexNumber` = season, `IndexNumber`,
  `IndexNumberEnd`) [Jellyfin `MediaBrowser.Controller/Entities/TV/Episode.cs`].
- *Virtual* episodes exist only as metadata: aired but absent from the library ("missing") or not
  aired yet. They have `LocationType` Virtual and no path; Jellyfin's `IsMissingEpisode` is exactly
  `LocationType == Virtual` (`Episode.cs`), and `isMissing=false` / `excludeLocationTypes=Virtual` on
  `/Items` become `IsVirtualItem = false` (`Jellyfin.Api/Controllers/ItemsController.cs`).
- User data is per item on Jellyfin >= 10.11 and (assumed) Emby. The rule follows the movie
  model's `SimState.user_data_sharing` when the state has one ("item" or "provider"), unless
  `set_per_item_user_data` pins it. Shared, it is keyed as Jellyfin 10.10 did: an episode's key is its series' first key (TVDb,
  else IMDb id) plus the season and episode numbers as `SSSEEE` (`Episode.GetUserDataKeys`,
  `Series.GetUserDataKeys`), so a copy in an AI library made from our NFOs shares the original's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sidecar.simulator.model import SimUserData, utcnow

if TYPE_CHECKING:
    from sidecar.simulator.model import SimState

SERIES, SEASON, EPISODE = "Series", "Season", "Episode"
TV_TYPES = (SERIES, SEASON, EPISODE)


@dataclass
class SimSeries:
    id: str
    name: str
    library_id: str
    path: str
    original_title: str | None = None
    sort_name: str | None = None
    year: int | None = None
    end_date: dt.datetime | None = None
    status: str | None = None  # Continuing / Ended / Unreleased
    overview: str | None = None
    genres: list[str] = field(default_factory=list)
    studios: list[str] = field(default_factory=list)
    people: list[dict[str, str]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    community_rating: float | None = None
    official_rating: str | None = None
    provider_ids: dict[str, str] = field(default_factory=dict)
    air_days: list[str] = field(default_factory=list)
    air_time: str | None = None
    premiere_date: dt.datetime | None = None
    runtime_ticks: int | None = None
    date_created: dt.datetime = field(default_factory=utcnow)
    date_last_saved: dt.datetime = field(default_factory=utcnow)
    image_tag: str | None = None  # None: derived from the id when rendered
    type: str = SERIES

    @property
    def sort_key(self) -> str:
        return (self.sort_name or self.name).lower()


@dataclass
class SimSeason:
    id: str
    series_id: str
    library_id: str
    index_number: int  # 0 = specials
    name: str
    path: str | None = None
    date_created: dt.datetime = field(default_factory=utcnow)
    type: str = SEASON


@dataclass
class SimEpisode:
    id: str
    series_id: str
    season_id: str
    library_id: str
    name: str
    parent_index_number: int
    index_number: int
    index_number_end: int | None = None
    overview: str | None = None
    premiere_date: dt.datetime | None = None
    runtime_ticks: int | None = None
    community_rating: float | None = None
    provider_ids: dict[str, str] = field(default_factory=dict)
    path: str | None = None  # None for a virtual episode
    container: str = "mkv"
    virtual: bool = False
    date_created: dt.datetime = field(default_factory=utcnow)
    date_last_saved: dt.datetime = field(default_factory=utcnow)
    image_tag: str | None = None
    type: str = EPISODE

    @property
    def location_type(self) -> str:
        return "Virtual" if self.virtual else "FileSystem"


TvItem = SimSeries | SimSeason | SimEpisode


class TvStore:
    """Series, seasons and episodes of one simulated server; mutate through the methods."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self.series: dict[str, SimSeries] = {}
        self.seasons: dict[str, SimSeason] = {}
        self.episodes: dict[str, SimEpisode] = {}
        self._pinned: bool | None = None  # set_per_item_user_data; None: follow the state
        self._indexed_per_item = True  # the rule `_items_by_key` and `_user_data` are keyed by
        self._children: dict[str, list[str]] = {}  # series id -> season and episode ids
        self._user_data: dict[str, dict[str, SimUserData]] = {}  # user -> key -> data
        self._items_by_key: dict[str, set[str]] = {}
        self._version = 0
        self._sorted: dict[tuple[Any, ...], list[Any]] = {}

    # --- lookup ---------------------------------------------------------------------------------------
    def get(self, item_id: str) -> TvItem | None:
        return self.episodes.get(item_id) or self.series.get(item_id) or self.seasons.get(item_id)

    def __contains__(self, item_id: object) -> bool:
        return isinstance(item_id, str) and self.get(item_id) is not None

    def series_of(self, item: TvItem) -> SimSeries | None:
        return item if isinstance(item, SimSeries) else self.series.get(item.series_id)

    def season_of(self, episode: SimEpisode) -> SimSeason | None:
        return self.seasons.get(episode.season_id)

    def episodes_of(self, series_id: str) -> list[SimEpisode]:
        """A show's episodes in airing order (season, number); specials first as season 0."""
        key = (self._version, "episodes-of", series_id)
        cached = self._sorted.get(key)
        if cached is None:
            cached = sorted(
                (self.episodes[i] for i in self._children.get(series_id, ()) if i in self.episodes),
                key=lambda e: (e.parent_index_number, e.index_number, e.id),
            )
            self._sorted[key] = cached
        return cached

    def seasons_of(self, series_id: str) -> list[SimSeason]:
        return sorted(
            (self.seasons[i] for i in self._children.get(series_id, ()) if i in self.seasons),
            key=lambda s: s.index_number,
        )

    def listing(self, item_type: str, library_id: str | None, *, real_only: bool = False) -> list[TvItem]:
        """All items of one type (of one library, or one series' children) in the server's default
        order: series by sort name; seasons and episodes by series sort name, season, number.
        `real_only` drops virtual episodes. Cached until the next change: a client pages through
        60,000 episodes in a few hundred requests."""
        key = (self._version, item_type, library_id, real_only)
        cached = self._sorted.get(key)
        if cached is not None:
            return cached
        if real_only:
            cached = [
                i
                for i in self.listing(item_type, library_id)
                if not (isinstance(i, SimEpisode) and i.virtual)
            ]
            self._sorted[key] = cached
            return cached
        series = sorted(
            (s for s in self.series.values() if library_id is None or s.library_id == library_id),
            key=lambda s: (s.sort_key, s.id),
        )
        if library_id is not None and library_id in self.series:  # ParentId = a series
            series = [self.series[library_id]]
        out: list[TvItem]
        if item_type == SERIES:
            out = list(series)
        elif item_type == SEASON:
            out = [season for s in series for season in self.seasons_of(s.id)]
        else:
            out = [episode for s in series for episode in self.episodes_of(s.id)]
        self._sorted[key] = out
        return out

    def touch(self) -> None:
        self._version += 1
        self._sorted.clear()
        self.state.touch()

    # --- mutations ------------------------------------------------------------------------------------
    def new_id(self, key: str) -> str:
        """Jellyfin: a GUID derived from the key (as the server derives ids from paths), made with
        one md5 instead of uuid5 because a full catalogue mints 70,000 of them; Emby: a number."""
        if self.state.kind == "emby":
            return self.state.new_item_id(key)
        return hashlib.md5(f"{self.state.server_id}:{key}".encode(), usedforsecurity=False).hexdigest()

    def add_series(self, *, emit: bool = True, id: str | None = None, **fields: Any) -> SimSeries:
        series = SimSeries(id=id or self.new_id(f"series:{fields.get('path')}"), **fields)
        self.series[series.id] = series
        self._children.setdefault(series.id, [])
        self._index(series)
        self.touch()
        if emit:
            self.state.emit("item_added", item_id=series.id)
        return series

    def add_season(self, series: SimSeries, index_number: int, *, emit: bool = True, id: str | None = None,
                   path: str | None = None) -> SimSeason:  # fmt: skip
        name = "Specials" if index_number == 0 else f"Season {index_number}"
        season = SimSeason(
            id=id or self.new_id(f"season:{series.id}:{index_number}"),
            series_id=series.id, library_id=series.library_id, index_number=index_number, name=name,
            path=path, date_created=series.date_created,
        )  # fmt: skip
        self.seasons[season.id] = season
        self._children.setdefault(series.id, []).append(season.id)
        self.touch()
        if emit:
            self.state.emit("item_added", item_id=season.id)
        return season

    def add_episode(
        self, season: SimSeason, *, emit: bool = True, id: str | None = None, **fields: Any
    ) -> SimEpisode:
        key = f"episode:{season.id}:{fields.get('index_number')}:{fields.get('path')}"
        episode = SimEpisode(
            id=id or self.new_id(key), series_id=season.series_id, season_id=season.id,
            library_id=season.library_id, parent_index_number=season.index_number, **fields,
        )  # fmt: skip
        self.episodes[episode.id] = episode
        self._children.setdefault(season.series_id, []).append(episode.id)
        self._index(episode)
        self.touch()
        # The webhook plugin skips virtual items (ItemAddedNotifierEntryPoint.cs: `IsVirtualItem`).
        if emit and not episode.virtual:
            self.state.emit("item_added", item_id=episode.id)
        return episode

    def update(self, item_id: str, **changes: Any) -> TvItem:
        item = self.get(item_id)
        if item is None:
            raise KeyError(item_id)
        self._unindex(item)
        for name, value in changes.items():
            if not hasattr(item, name):
                self._index(item)
                raise AttributeError(f"{type(item).__name__} has no field {name!r}")
            setattr(item, name, value)
        self._index(item)
        if hasattr(item, "date_last_saved"):
            item.date_last_saved = utcnow()  # type: ignore[union-attr]
        self.touch()
        return item

    def remove(self, item_id: str, *, emit: bool = True) -> None:
        """Remove an item; a series or season takes its children with it (events for each)."""
        item = self.get(item_id)
        if item is None:
            return
        if isinstance(item, SimSeries):
            for child in list(self._children.get(item.id, ())):
                self.remove(child, emit=emit)
            self._children.pop(item.id, None)
            del self.series[item.id]
        elif isinstance(item, SimSeason):
            for episode in [e for e in self.episodes_of(item.series_id) if e.season_id == item.id]:
                self.remove(episode.id, emit=emit)
            del self.seasons[item.id]
            self._children.get(item.series_id, []).remove(item.id)
        else:
            del self.episodes[item.id]
            self._children.get(item.series_id, []).remove(item.id)
        key = self._unindex(item)
        if key is not None and key not in self._items_by_key:
            for data in self._user_data.values():
                data.pop(key, None)
        self.touch()
        if emit and not (isinstance(item, SimEpisode) and item.virtual):
            self.state.emit("item_removed", item_id=item.id, tv_item=item)

    # --- user data ------------------------------------------------------------------------------------
    def user_data_key(self, item: TvItem) -> str | None:
        """Where the server keeps a user's data for this item; seasons hold none here."""
        if isinstance(item, SimSeason):
            return None
        if self._indexed_per_item:
            return f"item:{item.id}"
        series = self.series_of(item)
        providers = {k.lower(): v for k, v in (series.provider_ids if series else {}).items() if v}
        base = providers.get("tvdb") or providers.get("imdb") or (series.id if series else item.id)
        if isinstance(item, SimEpisode):
            return f"{base}{item.parent_index_number:03d}{item.index_number:03d}"
        return f"series:{base}"

    @property
    def per_item_user_data(self) -> bool:
        if self._pinned is not None:
            return self._pinned
        return getattr(self.state, "user_data_sharing", "item") != "provider"

    def set_per_item_user_data(self, per_item: bool | None) -> None:
        """Pin the user-data rule (None: follow the state's `user_data_sharing` again)."""
        self._pinned = per_item
        self._follow_rule()

    def _follow_rule(self) -> None:
        """Re-key users' data when the rule changed (as a server upgrade migrates it; items that
        come to share a key keep the first one's data)."""
        wanted = self.per_item_user_data
        if wanted == self._indexed_per_item:
            return
        holders = sorted((item_id, key) for key, items in self._items_by_key.items() for item_id in items)
        self._indexed_per_item = wanted
        self._items_by_key = {}
        for item in (*self.series.values(), *self.episodes.values()):
            self._index(item)
        for user_id, by_key in self._user_data.items():
            moved: dict[str, SimUserData] = {}
            for item_id, old_key in holders:
                item = self.get(item_id)
                new_key = self.user_data_key(item) if item is not None else None
                if old_key in by_key and new_key is not None and new_key not in moved:
                    moved[new_key] = replace(by_key[old_key])  # a copy: split keys must not alias
            self._user_data[user_id] = moved

    def _index(self, item: TvItem) -> None:
        key = self.user_data_key(item)
        if key is not None:
            self._items_by_key.setdefault(key, set()).add(item.id)

    def _unindex(self, item: TvItem) -> str | None:
        key = self.user_data_key(item)
        if key is None:
            return None
        holders = self._items_by_key.get(key, set())
        holders.discard(item.id)
        if not holders:
            self._items_by_key.pop(key, None)
        return key

    def user_data_of(self, user_id: str, item_id: str) -> SimUserData | None:
        self._follow_rule()
        item = self.get(item_id)
        key = self.user_data_key(item) if item is not None else None
        return self._user_data.get(user_id, {}).get(key) if key is not None else None

    def items_with_data(self, user_id: str) -> dict[str, SimUserData]:
        """item id -> data, for every TV item this user has data for."""
        self._follow_rule()
        return {
            item_id: data
            for key, data in self._user_data.get(user_id, {}).items()
            for item_id in sorted(self._items_by_key.get(key, ()))
        }

    def data_for(self, user_id: str, item_id: str) -> SimUserData:
        self._follow_rule()
        item = self.get(item_id)
        key = self.user_data_key(item) if item is not None else None
        if key is None:
            raise KeyError(f"no series or episode {item_id}")
        return self._user_data.setdefault(user_id, {}).setdefault(key, SimUserData())

    def record_play(self, user_id: str, episode_id: str, *, at: dt.datetime | None = None, completed: bool = True,
                    position_ticks: int = 0, emit: bool = True) -> SimUserData:  # fmt: skip
        """One playback of an episode, as for movies (count at start, played when finished)."""
        data = self.data_for(user_id, episode_id)
        data.record_play(at, completed, position_ticks)
        if emit:
            self.state.emit("playback_stopped", user_id=user_id, item_id=episode_id, completed=completed)
            self.state.emit("user_data_saved", user_id=user_id, item_id=episode_id, reason="PlaybackFinished")
        return data

    def mark_played(
        self, user_id: str, item_id: str, played: bool = True, *, at: dt.datetime | None = None
    ) -> None:
        """Mark an episode, or every real episode of a series, played: one save (and event) per
        episode, as Jellyfin's `Folder.MarkPlayed` -> `BaseItem.MarkPlayed` does."""
        item = self.get(item_id)
        if isinstance(item, SimSeries):
            targets = [e.id for e in self.episodes_of(item.id) if not e.virtual]
        else:
            targets = [item_id]
        for target in targets:
            # A mark without a date stamps now even on an already played episode (kept as it was).
            self.data_for(user_id, target).mark_played(played, at or utcnow())
            self.state.emit("user_data_saved", user_id=user_id, item_id=target, reason="TogglePlayed")

    def set_favorite(self, user_id: str, item_id: str, favorite: bool = True) -> SimUserData:
        data = self.data_for(user_id, item_id)
        data.is_favorite = favorite
        self.state.emit("user_data_saved", user_id=user_id, item_id=item_id, reason="UpdateUserRating")
        return data

    # --- per-user counts (Jellyfin's Series/Folder user data) -----------------------------------------
    def series_counts(self, user_id: str | None, series_id: str) -> tuple[int, int, int]:
        """(real seasons, real episodes incl. specials, unplayed of those): `ChildCount`,
        `RecursiveItemCount` and `UnplayedItemCount` as `TV/Series.cs` computes them with a user."""
        real = [e for e in self.episodes_of(series_id) if not e.virtual]
        seasons = {e.season_id for e in real}
        played = 0
        if user_id is not None:
            for episode in real:
                data = self.user_data_of(user_id, episode.id)
                played += bool(data and data.played)
        return len(seasons), len(real), len(real) - played
