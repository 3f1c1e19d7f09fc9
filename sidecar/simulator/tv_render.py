"""TV items -> the BaseItemDto JSON each server sends for a Series, Season or Episode.

Modelled on Jellyfin's `Emby.Server.Implementations/Dto/DtoService.cs` (10.11): returned without
asking are `Status`, `AirDays`, `AirTime`, `EndDate` (series), `SeriesId`, `SeriesName`, `SeasonId`,
`SeasonName`, `IndexNumber`, `ParentIndexNumber`, `IndexNumberEnd`, `SeriesPrimaryImageTag`
(episodes), plus the common `ProductionYear`, `PremiereDate`, `OfficialRating`, `CommunityRating`,
`RunTimeTicks`, `LocationType`; optional ones only when asked for in `Fields`, as for movies.
`ChildCount` / `RecursiveItemCount` and the series' `UnplayedItemCount` / `PlayedPercentage` need a
user (`AttachUserSpecificInfo`, `Folder.FillUserDataDtoValues`). Emby 4.8 documents the same names
minus `AirTime`, `VideoType` and the blurhashes. A virtual episode has `LocationType` Virtual and no
`Path`, `Container` or media type; there is no `IsMissing` property on any DTO.
"""

from __future__ import annotations

import zlib
from typing import Any

from sidecar.simulator.model import SimState, SimUserData
from sidecar.simulator.render import (
    _name_id,
    net_datetime,
    put_numbers,
    put_placement,
    put_rating_and_overview,
    render_user_data,
    start_dto,
)
from sidecar.simulator.tv import SimEpisode, SimSeason, SimSeries, TvItem

ALL_FIELDS = frozenset(
    {"originaltitle", "datecreated", "sortname", "path", "overview", "genres", "providerids", "parentid",
     "people", "studios", "tags", "childcount", "recursiveitemcount"}
)  # fmt: skip


def image_tag(item: TvItem) -> str:
    tag = getattr(item, "image_tag", None)
    return tag or f"{zlib.crc32(item.id.encode()):08x}" * 4


def _common_tail(state: SimState, item: TvItem, out: dict[str, Any], images: bool) -> None:
    jellyfin = state.kind == "jellyfin"
    if images:
        tag = image_tag(item)
        out["ImageTags"] = {"Primary": tag}
        out["BackdropImageTags"] = []
        if jellyfin:
            out["ImageBlurHashes"] = {"Primary": {tag: "dA8qm_-;00009F?bIU%M?vofM{WB"}}


def _names(state: SimState, values: list[str]) -> list[dict[str, Any]]:
    return [{"Name": v, "Id": _name_id(state.kind, v)} for v in values]


def _person_type(state: SimState, kind: str) -> str:
    # Emby 4.8's PersonType has no Creator (Jellyfin's PersonKind has): its TMDb import files a
    # show's creators as producers [U].
    return "Producer" if kind == "Creator" and state.kind == "emby" else kind


def _metadata(state: SimState, item: SimSeries, fields: set[str], out: dict[str, Any]) -> None:
    jellyfin = state.kind == "jellyfin"
    if "genres" in fields:
        out["Genres"] = list(item.genres)
        out["GenreItems"] = _names(state, item.genres)
    if "studios" in fields:
        out["Studios"] = _names(state, item.studios)
    if "people" in fields:
        out["People"] = [
            {
                "Name": p["Name"],
                "Id": _name_id("jellyfin", p["Name"]) if jellyfin else str(_name_id("emby", p["Name"])),
                **({"Role": p["Role"]} if p.get("Role") else {}),
                "Type": _person_type(state, p.get("Type", "Unknown")),
            }
            for p in item.people
        ]
    if "tags" in fields:
        if jellyfin:
            out["Tags"] = list(item.tags)
        else:
            out["TagItems"] = _names(state, item.tags)


def render_series(
    state: SimState, series: SimSeries, fields: set[str], *, user_id: str | None = None,
    user_data: SimUserData | None = None, with_user_data: bool = False, images: bool = True,
) -> dict[str, Any]:  # fmt: skip
    jellyfin = state.kind == "jellyfin"
    out = start_dto(state, fields, name=series.name, item_id=series.id, date_created=series.date_created,
                    original_title=series.original_title)  # fmt: skip
    if "sortname" in fields:
        out["SortName"] = series.sort_name or series.name
    if series.premiere_date is not None:
        out["PremiereDate"] = net_datetime(series.premiere_date)
    if "path" in fields:
        out["Path"] = series.path
    put_rating_and_overview(state, out, fields, series.official_rating, series.overview)
    put_numbers(out, series.community_rating, series.runtime_ticks, series.year)
    put_placement(out, fields, series.provider_ids, folder=True, parent_id=series.library_id, type_="Series")
    _metadata(state, series, fields, out)
    # Counts only in the user-specific pass (DtoService.AttachUserSpecificInfo needs a user).
    counts = state.tv.series_counts(user_id, series.id) if user_id is not None else None
    if counts is not None and "childcount" in fields:
        out["ChildCount"] = counts[0]
    if counts is not None and "recursiveitemcount" in fields and with_user_data:
        out["RecursiveItemCount"] = counts[1]
    if with_user_data and counts is not None:
        data = render_user_data(state, series, user_data)  # type: ignore[arg-type]
        _, total, unplayed = counts
        data["UnplayedItemCount"] = unplayed
        if total:
            data["PlayedPercentage"] = round(100 * (total - unplayed) / total, 2)
        data["Played"] = total > 0 and unplayed == 0  # Folder.IsPlayed: every real child played
        out["UserData"] = data
    if series.status:
        out["Status"] = series.status
    out["AirDays"] = list(series.air_days)
    if jellyfin and series.air_time:
        out["AirTime"] = series.air_time
    if series.end_date is not None:
        out["EndDate"] = net_datetime(series.end_date)
    _common_tail(state, series, out, images)
    out["LocationType"] = "FileSystem"
    return out


def render_season(
    state: SimState, season: SimSeason, fields: set[str], *, with_user_data: bool = False, images: bool = True
) -> dict[str, Any]:
    series = state.tv.series.get(season.series_id)
    out: dict[str, Any] = {"Name": season.name, "ServerId": state.server_id, "Id": season.id}
    if "datecreated" in fields:
        out["DateCreated"] = net_datetime(season.date_created)
    if "sortname" in fields:
        out["SortName"] = f"{season.index_number:03d} - {season.name}"
    if "path" in fields and season.path:
        out["Path"] = season.path
    if series is not None and series.year is not None:
        out["ProductionYear"] = series.year
    out["IndexNumber"] = season.index_number
    out["IsFolder"] = True
    if "parentid" in fields:
        out["ParentId"] = season.series_id
    out["Type"] = "Season"
    if with_user_data:
        out["UserData"] = {"PlaybackPositionTicks": 0, "PlayCount": 0, "IsFavorite": False, "Played": False}
        if state.kind == "jellyfin":
            out["UserData"].update(Key=season.id, ItemId=season.id)
    if series is not None:
        out["SeriesName"] = series.name
        out["SeriesId"] = series.id
    _common_tail(state, season, out, images)
    out["LocationType"] = "FileSystem"
    return out


def render_episode(
    state: SimState, episode: SimEpisode, fields: set[str], *, user_data: SimUserData | None = None,
    with_user_data: bool = False, images: bool = True,
) -> dict[str, Any]:  # fmt: skip
    jellyfin = state.kind == "jellyfin"
    series = state.tv.series.get(episode.series_id)
    season = state.tv.seasons.get(episode.season_id)
    out = start_dto(state, fields, name=episode.name, item_id=episode.id, date_created=episode.date_created)
    if not episode.virtual:
        out["Container"] = episode.container
    if "sortname" in fields:
        out["SortName"] = f"{episode.parent_index_number:03d} - {episode.index_number:04d} - {episode.name}"
    if episode.premiere_date is not None:
        out["PremiereDate"] = net_datetime(episode.premiere_date)
    if "path" in fields and episode.path and not episode.virtual:
        out["Path"] = episode.path
    show_rating = series.official_rating if series is not None else None  # episodes carry their show's
    put_rating_and_overview(state, out, fields, show_rating, episode.overview)
    year = episode.premiere_date.year if episode.premiere_date is not None else None
    put_numbers(out, episode.community_rating, episode.runtime_ticks, year)
    out["IndexNumber"] = episode.index_number
    if episode.index_number_end is not None:
        out["IndexNumberEnd"] = episode.index_number_end
    out["ParentIndexNumber"] = episode.parent_index_number
    put_placement(
        out, fields, episode.provider_ids, folder=False, parent_id=episode.season_id, type_="Episode"
    )
    if with_user_data:
        out["UserData"] = render_user_data(state, episode, user_data)  # type: ignore[arg-type]
        if jellyfin:
            out["UserData"]["Key"] = (state.tv.user_data_key(episode) or episode.id).removeprefix("item:")
    if series is not None:
        out["SeriesName"] = series.name
        out["SeriesId"] = series.id
        out["SeriesPrimaryImageTag"] = image_tag(series)
    out["SeasonId"] = episode.season_id
    if season is not None:
        out["SeasonName"] = season.name
    if jellyfin and not episode.virtual:
        out["VideoType"] = "VideoFile"
    _common_tail(state, episode, out, images)
    out["LocationType"] = episode.location_type
    if not episode.virtual:
        out["MediaType"] = "Video"
    return out


def render_tv_item(
    state: SimState, item: TvItem, fields: set[str], *, user_id: str | None = None,
    user_data: SimUserData | None = None, with_user_data: bool = False, images: bool = True,
) -> dict[str, Any]:  # fmt: skip
    if isinstance(item, SimEpisode):
        return render_episode(
            state, item, fields, user_data=user_data, with_user_data=with_user_data, images=images
        )
    if isinstance(item, SimSeason):
        return render_season(state, item, fields, with_user_data=with_user_data, images=images)
    return render_series(
        state,
        item,
        fields,
        user_id=user_id,
        user_data=user_data,
        with_user_data=with_user_data,
        images=images,
    )
