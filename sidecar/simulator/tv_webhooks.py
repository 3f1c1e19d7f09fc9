"""Webhook bodies for series, seasons and episodes, in both plugins' formats.

Jellyfin (webhook plugin v21, `Jellyfin.Plugin.Webhook/Helpers/DataObjectHelpers.cs`): after the
common item keys, a Season adds `SeriesName`, `Year` (the series' year), `SeriesId` and
`SeasonNumber`/`00`/`000`; an Episode adds `SeriesName`, `SeriesId`, `SeasonId`,
`SeriesPremiereDate` (yyyy-MM-dd), `SeasonNumber*` (from the *season* item's IndexNumber),
`EpisodeNumber*`, `EpisodeNumberEnd*`, `Year` (the series' year) and `AirTime`. The `Provider_*`
keys are the item's own provider ids: on an episode event they are the episode's ids, never the
show's. ItemAdded/ItemDeleted skip virtual items (`ItemAddedNotifierEntryPoint.cs`).
Emby sends the item as its DTO (`Item.SeriesName`, `SeriesId`, `SeasonId`, `SeasonName`,
`IndexNumber`, `ParentIndexNumber`, `Path`, `ProviderIds`) in the usual nested document.
"""

from __future__ import annotations

from typing import Any

from sidecar.simulator.model import Event, SimState
from sidecar.simulator.tv import SimEpisode, SimSeason, SimSeries, TvItem
from sidecar.simulator.tv_render import render_tv_item
from sidecar.simulator.webhook_bodies import (
    Style,
    WebhookBody,
    emby_body,
    jellyfin_body,
    jellyfin_item_block,
)

_EMBY_FIELDS = {"originaltitle", "datecreated", "sortname", "path", "overview", "genres", "providerids",
                "parentid", "studios", "tags"}  # fmt: skip


def render_tv_webhook(state: SimState, event: Event, style: Style) -> WebhookBody | None:
    item: TvItem | None = event.get("tv_item") or state.tv.get(event.get("item_id") or "")
    if item is None:
        return None
    if isinstance(item, SimEpisode) and item.virtual:
        return None  # the plugin never reports virtual items; Emby neither [U]
    user_id = event.get("user_id")
    user_data = state.tv.user_data_of(user_id, item.id) if user_id else None
    if state.kind == "jellyfin":
        return jellyfin_body(state, event, _jellyfin_item(state, item), user_data, style)
    rendered = render_tv_item(state, item, _EMBY_FIELDS)
    return emby_body(state, event, rendered, item.type, user_data, style)


def _numbers(prefix: str, value: int) -> dict[str, Any]:
    return {prefix: value, f"{prefix}00": f"{value:02d}", f"{prefix}000": f"{value:03d}"}


def _jellyfin_item(state: SimState, item: TvItem) -> dict[str, Any]:
    tv = state.tv
    series = tv.series_of(item)
    overview = item.overview if isinstance(item, SimSeries | SimEpisode) else None
    runtime = item.runtime_ticks if isinstance(item, SimSeries | SimEpisode) else None
    data = jellyfin_item_block(item.name, item.id, item.type, overview, runtime)
    if isinstance(item, SimSeries):
        if item.year is not None:
            data["Year"] = item.year
        if item.premiere_date is not None:
            data["PremiereDate"] = item.premiere_date.strftime("%Y-%m-%d")
        if item.genres:
            data["Genres"] = ", ".join(item.genres)
    elif isinstance(item, SimEpisode):
        if item.premiere_date is not None:
            data["Year"] = item.premiere_date.year
            data["PremiereDate"] = item.premiere_date.strftime("%Y-%m-%d")
        if series is not None:
            data["SeriesName"] = series.name
            data["SeriesId"] = series.id
        data["SeasonId"] = item.season_id
        if series is not None and series.premiere_date is not None:
            data["SeriesPremiereDate"] = series.premiere_date.strftime("%Y-%m-%d")
        season = tv.season_of(item)
        if season is not None:
            data.update(_numbers("SeasonNumber", season.index_number))
        data.update(_numbers("EpisodeNumber", item.index_number))
        if item.index_number_end is not None:
            data.update(_numbers("EpisodeNumberEnd", item.index_number_end))
        if series is not None and series.year is not None:
            data["Year"] = series.year  # the plugin overwrites the episode's year with the show's
        if series is not None and series.air_time:
            data["AirTime"] = series.air_time
    elif isinstance(item, SimSeason) and series is not None:
        data["SeriesName"] = series.name
        if series.year is not None:
            data["Year"] = series.year
        data["SeriesId"] = series.id
        data.update(_numbers("SeasonNumber", item.index_number))
    providers = item.provider_ids if isinstance(item, SimSeries | SimEpisode) else {}
    for provider, value in providers.items():
        data[f"Provider_{provider.lower()}"] = value  # the item's own ids
    return data
