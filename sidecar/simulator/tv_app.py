"""The simulator's TV queries: `/Items` for Series/Season/Episode and `/Shows/{id}/Episodes`.

Behaviour modelled on Jellyfin 10.11 (`Jellyfin.Api/Controllers/ItemsController.cs`,
`TvShowsController.cs`) and the Emby 4.8 OpenAPI spec:
- `/Items?ParentId=<library>&Recursive=true&IncludeItemTypes=Episode` lists every episode of the
  library; without `Recursive` only direct children come back (series of a library, seasons of a
  series, episodes of a season).
- Jellyfin `isMissing=false` (or `excludeLocationTypes=Virtual`) drops virtual episodes, missing and
  future alike (both become `IsVirtualItem = false`). Emby documents no such filter: virtual
  episodes come back with `LocationType: "Virtual"` and no `Path`, and the client must drop them.
- `/Shows/{id}/Episodes` called with an API key includes missing episodes unless `isMissing=false`
  is sent (Jellyfin `shouldIncludeMissingEpisodes = ... || User.GetIsApiKey()`); Emby has no filter.
- A user-scoped query applies the user's libraries and returns user data; `IsPlayed`/`IsFavorite`
  read the item's own data (per item on 10.11, `tv.py`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sidecar.mediaserver.dto import parse_datetime
from sidecar.simulator.model import SimState, SimUser, SimUserData
from sidecar.simulator.parental import item_visible
from sidecar.simulator.query import query_bool as _bool
from sidecar.simulator.query import query_list as _split
from sidecar.simulator.tv import EPISODE, SEASON, SERIES, TV_TYPES, SimEpisode, SimSeason, SimSeries, TvItem
from sidecar.simulator.tv_render import ALL_FIELDS, render_tv_item

_TV_TYPES_LOWER = {t.lower(): t for t in TV_TYPES}
# Sorts the default listing already satisfies (series sort name, season, episode number).
_PRESORTED = {
    (),
    ("sortname",),
    ("seriessortname", "parentindexnumber", "indexnumber", "sortname"),
    ("seriessortname", "parentindexnumber", "indexnumber"),
    ("seriessortname", "sortname"),
}
_NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)


class TvQueries:
    """Answers the TV part of the simulator's HTTP surface (the app routes requests here)."""

    def __init__(self, state: SimState) -> None:
        self.state = state

    # --- routing --------------------------------------------------------------------------------------
    def wants(self, types: list[str], ids: list[str], parent: str | None) -> bool:
        """Is this /Items query about TV items (typed TV, a TV parent, or TV ids)?"""
        tv = self.state.tv
        if types:
            return any(t in _TV_TYPES_LOWER for t in types)
        if parent is not None:
            library = self.state.library(parent)
            if library is not None:
                return library.collection_type == "tvshows"
            return parent in tv.series or parent in tv.seasons
        return bool(ids) and all(i in tv for i in ids)

    # --- /Items ---------------------------------------------------------------------------------------
    def items(
        self, q: dict[str, str], user: SimUser | None, types: list[str], ids: list[str], parent: str | None,
        recursive: bool, start: int, limit: int | None,
    ) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
        state, tv = self.state, self.state.tv
        wanted = [_TV_TYPES_LOWER[t] for t in types if t in _TV_TYPES_LOWER] or list(TV_TYPES)
        user_data = tv.items_with_data(user.id) if user else {}
        played = _bool(q.get("isplayed"))
        filters = {f.lower() for f in _split(q.get("filters"))}
        played = True if "isplayed" in filters else False if "isunplayed" in filters else played
        favorite = True if "isfavorite" in filters else _bool(q.get("isfavorite"))
        items: list[TvItem]
        presorted = True
        if ids:
            items = [item for item in (tv.get(i) for i in ids) if item is not None and item.type in wanted]
            presorted = False
        elif user is not None and (played or favorite or "isresumable" in filters):
            # Walk the user's own data, not the whole catalogue (as the movie handler does).
            items = [i for i in (tv.get(k) for k in user_data) if i is not None and i.type in wanted]
            presorted = False
        else:
            items = self._children(wanted, parent, recursive, self._real_only(q))
        if parent is not None and not presorted:
            items = [i for i in items if self._under(i, parent)]
        if user is not None:
            hidden = {lib.item_id for lib in state.libraries if not state.can_see(user, lib)}
            if hidden:
                items = [i for i in items if i.library_id not in hidden]
            items = [i for i in items if self.policy_allows(user, i)]
            if played is not None:
                items = [i for i in items if self._played(i, user_data, user.id) == played]
            if favorite is not None:
                items = [i for i in items if (i.id in user_data and user_data[i.id].is_favorite) == favorite]
            if "isresumable" in filters:
                items = [i for i in items if i.id in user_data and user_data[i.id].position_ticks > 0]
        if not presorted or self._missing_only(q):
            items = self._location_filters(q, items)
        min_saved = parse_datetime(q.get("mindatelastsaved"))
        if min_saved is not None:
            items = [i for i in items if getattr(i, "date_last_saved", _NEVER) >= min_saved]
        sort = tuple(k.lower() for k in _split(q.get("sortby")))
        if not (presorted and sort in _PRESORTED and q.get("sortorder", "").lower() in ("", "ascending")):
            items = self._sorted(items, sort, _split(q.get("sortorder")), user_data)
        total = len(items)
        page = items[start : start + limit] if limit is not None else items[start:]
        return self._render(q, page, user, user_data), total

    def policy_allows(self, user: SimUser, item: TvItem) -> bool:
        """The user's parental rating and tags (series.md §2 "Visibility": a user-scoped query applies
        them, Jellyfin `InternalItemsQuery.SetUser`). Seasons and episodes inherit the show's rating and
        tags (Jellyfin filters on the inherited rating and inherited tags), so a hidden show hides its
        episodes too."""
        series = item if isinstance(item, SimSeries) else self.state.tv.series.get(item.series_id)
        if series is None:
            return True
        return item_visible(user.policy, rating=series.official_rating, tags=series.tags, item_type=item.type,
                            emby=self.state.kind == "emby")  # fmt: skip

    def _real_only(self, q: dict[str, str]) -> bool:
        """Jellyfin: `isMissing=false` or `excludeLocationTypes=Virtual` (both `IsVirtualItem = false`)."""
        excluded = {v.lower() for v in _split(q.get("excludelocationtypes"))}
        return self.state.kind == "jellyfin" and (_bool(q.get("ismissing")) is False or "virtual" in excluded)

    def _missing_only(self, q: dict[str, str]) -> bool:
        return self.state.kind == "jellyfin" and _bool(q.get("ismissing")) is True

    def _location_filters(self, q: dict[str, str], items: list[TvItem]) -> list[TvItem]:
        if self.state.kind != "jellyfin":
            return items  # Emby 4.8 documents neither filter: virtual episodes come back
        missing = _bool(q.get("ismissing"))
        excluded = {v.lower() for v in _split(q.get("excludelocationtypes"))}
        if missing is False or "virtual" in excluded:
            return [i for i in items if not (isinstance(i, SimEpisode) and i.virtual)]
        if missing is True:
            return [i for i in items if isinstance(i, SimEpisode) and i.virtual]
        return items

    def _children(
        self, wanted: list[str], parent: str | None, recursive: bool, real_only: bool
    ) -> list[TvItem]:
        tv = self.state.tv
        if parent is not None and parent in tv.seasons:
            season = tv.seasons[parent]
            if EPISODE not in wanted:
                return []
            return [
                e
                for e in tv.episodes_of(season.series_id)
                if e.season_id == season.id and not (real_only and e.virtual)
            ]
        if parent is not None and parent in tv.series:
            kinds = wanted if recursive else [SEASON]
            return [
                i
                for kind in (SEASON, EPISODE)
                if kind in kinds
                for i in tv.listing(kind, parent, real_only=real_only)
            ]
        if not recursive:  # a library's direct children are its series
            return list(tv.listing(SERIES, parent)) if SERIES in wanted and parent is not None else []
        if len(wanted) == 1:
            return tv.listing(wanted[0], parent, real_only=real_only)
        return [
            i
            for kind in (SERIES, SEASON, EPISODE)
            if kind in wanted
            for i in tv.listing(kind, parent, real_only=real_only)
        ]

    def _under(self, item: TvItem, parent: str) -> bool:
        if item.library_id == parent or item.id == parent:
            return True
        if isinstance(item, SimEpisode | SimSeason) and item.series_id == parent:
            return True
        return isinstance(item, SimEpisode) and item.season_id == parent

    def _played(self, item: TvItem, user_data: dict[str, SimUserData], user_id: str) -> bool:
        if isinstance(item, SimSeries):
            _, total, unplayed = self.state.tv.series_counts(user_id, item.id)
            return total > 0 and unplayed == 0
        return item.id in user_data and user_data[item.id].played

    def _sorted(
        self, items: list[TvItem], keys: tuple[str, ...], orders: list[str], user_data: dict[str, SimUserData]
    ) -> list[TvItem]:
        tv = self.state.tv
        result = list(items)
        for index in range(len(keys) - 1, -1, -1):  # stable sorts, last key first
            key = keys[index]
            order = orders[index] if index < len(orders) else (orders[-1] if orders else "")
            result.sort(key=_sort_key(key, tv, user_data), reverse=order.lower() == "descending")
        return result

    def _render(
        self, q: dict[str, str], page: list[TvItem], user: SimUser | None, user_data: dict[str, SimUserData]
    ) -> list[dict[str, Any]]:
        fields = {f.lower() for f in _split(q.get("fields"))}
        with_user_data = user is not None and _bool(q.get("enableuserdata")) is not False
        images = _bool(q.get("enableimages")) is not False
        return [
            render_tv_item(
                self.state,
                item,
                fields,
                user_id=user.id if user else None,
                user_data=user_data.get(item.id),
                with_user_data=with_user_data,
                images=images,
            )
            for item in page
        ]

    # --- /Shows/{id}/Episodes ---------------------------------------------------------------------------
    def show_episodes(
        self, series_id: str, q: dict[str, str], user: SimUser | None
    ) -> tuple[list[dict[str, Any]], int, int] | None:
        """(rendered page, total, start), or None when there is no such series (a 404)."""
        tv = self.state.tv
        series = tv.series.get(series_id)
        if series is None:
            return None
        library = self.state.library(series.library_id)
        if user is not None and library is not None and not self.state.can_see(user, library):
            return None
        if user is not None and not self.policy_allows(user, series):
            return None
        episodes: list[TvItem] = list(tv.episodes_of(series.id))
        season_number = q.get("season")
        if season_number not in (None, ""):
            episodes = [
                e
                for e in episodes
                if isinstance(e, SimEpisode) and str(e.parent_index_number) == season_number
            ]
        if q.get("seasonid"):
            episodes = [e for e in episodes if isinstance(e, SimEpisode) and e.season_id == q["seasonid"]]
        episodes = self._location_filters(q, episodes)
        start = int(q.get("startindex") or 0)
        limit = int(q["limit"]) if q.get("limit") else None
        page = episodes[start : start + limit] if limit is not None else episodes[start:]
        user_data = tv.items_with_data(user.id) if user else {}
        return self._render(q, page, user, user_data), len(episodes), start

    # --- one item ----------------------------------------------------------------------------------------
    def get_item(self, item_id: str, user: SimUser) -> dict[str, Any] | None:
        item = self.state.tv.get(item_id)
        if item is None:
            return None
        library = self.state.library(item.library_id)
        if library is not None and not self.state.can_see(user, library):
            return None
        if not self.policy_allows(user, item):
            return None
        data = self.state.tv.user_data_of(user.id, item.id)
        return render_tv_item(
            self.state, item, set(ALL_FIELDS), user_id=user.id, user_data=data, with_user_data=True
        )


def _sort_key(key: str, tv: Any, user_data: dict[str, SimUserData]) -> Any:
    def series_name(item: TvItem) -> str:
        series = tv.series_of(item)
        return series.sort_key if series is not None else ""

    if key == "dateplayed":
        return lambda i: (user_data[i.id].last_played or _NEVER) if i.id in user_data else _NEVER
    if key == "datecreated":
        return lambda i: i.date_created
    if key == "premieredate":
        return lambda i: getattr(i, "premiere_date", None) or _NEVER
    if key == "seriessortname":
        return series_name
    if key == "parentindexnumber":
        return lambda i: getattr(i, "parent_index_number", -1)
    if key == "indexnumber":
        return lambda i: getattr(i, "index_number", -1)
    if key == "playcount":
        return lambda i: user_data[i.id].play_count if i.id in user_data else 0
    return lambda i: (getattr(i, "sort_key", None) or i.name.lower(), i.id)
