"""Simulator events -> the webhook bodies each server really sends (Jellyfin webhook plugin, Emby).

Jellyfin (plugin, Generic destination) has two modes: "Send All Properties" (flat PascalCase dict,
32-hex GUIDs, JSON booleans, `text/plain` content type) and a template (what our suggested template
renders: every value a string, dashed GUIDs, `"True"`). Emby sends nested JSON, either as
`application/json` or as `multipart/form-data` with the JSON in the field `data`.

A body is None when the real server would send nothing for that event (Emby has no event for the
user-data save that ends a playback; `playback.stop` carries it).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp

from sidecar.simulator.model import Event, SimMovie, SimState, SimUserData
from sidecar.simulator.render import net_datetime, render_movie

Style = Literal["send_all", "template", "json", "multipart"]
DEFAULT_STYLE: dict[str, Style] = {"jellyfin": "send_all", "emby": "json"}
STYLES: dict[str, tuple[Style, ...]] = {"jellyfin": ("send_all", "template"), "emby": ("json", "multipart")}

_JELLYFIN_TYPES = {
    "item_added": "ItemAdded",
    "item_removed": "ItemDeleted",
    "playback_stopped": "PlaybackStop",
    "user_data_saved": "UserDataSaved",
}
_EMBY_ITEM_FIELDS = {
    "originaltitle", "datecreated", "sortname", "path", "overview", "taglines", "genres", "providerids",
    "parentid", "studios", "tags",
}  # fmt: skip
_TICKS_PER_SECOND = 10_000_000


@dataclass(frozen=True)
class WebhookBody:
    event: str  # the server's own event name (NotificationType / Event)
    document: dict[str, Any]  # what the receiver's json.loads gives back
    style: Style

    def as_request(self) -> dict[str, Any]:
        """Keyword arguments for `aiohttp.ClientSession.post` (body and content type as the server sends)."""
        text = json.dumps(self.document, separators=(",", ":"))
        if self.style == "multipart":
            form = aiohttp.FormData()
            form.add_field("data", text, content_type="text/plain; charset=utf-8")
            return {"data": form}
        content_type = "application/json" if self.style == "json" else "text/plain; charset=utf-8"
        return {"data": text.encode(), "headers": {"Content-Type": content_type}}


def render_webhook(state: SimState, event: Event, style: Style) -> WebhookBody | None:
    movie = event.get("movie") or state.movies.get(event.get("item_id") or "")
    if movie is None:
        from sidecar.simulator.tv_webhooks import render_tv_webhook  # builds on this module

        return render_tv_webhook(state, event, style)
    if state.kind == "jellyfin":
        return _jellyfin(state, event, movie, style)
    return _emby(state, event, movie, style)


# --- Jellyfin ------------------------------------------------------------------------------------------
def _clock(ticks: int) -> str:
    seconds = ticks // _TICKS_PER_SECOND
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def jellyfin_item_block(
    name: str, item_id: str, item_type: str, overview: str | None, runtime_ticks: int | None
) -> dict[str, Any]:
    """The plugin's item keys every item type starts with (`DataObjectHelpers.AddBaseItemData`)."""
    now = dt.datetime.now(dt.UTC)
    data: dict[str, Any] = {
        "Timestamp": now.astimezone().isoformat(),
        "UtcTimestamp": net_datetime(now),
        "Name": name,
        "ItemId": item_id,
        "ItemType": item_type,
    }
    if overview:
        data["Overview"] = overview
    if runtime_ticks:
        data["RunTimeTicks"] = runtime_ticks
        data["RunTime"] = _clock(runtime_ticks)
    return data


def _jellyfin(state: SimState, event: Event, movie: SimMovie, style: Style) -> WebhookBody | None:
    item = jellyfin_item_block(movie.name, movie.id, "Movie", movie.overview, movie.runtime_ticks)
    if movie.year is not None:
        item["Year"] = movie.year
    if movie.genres:
        item["Genres"] = ", ".join(movie.genres)
    for provider, value in movie.provider_ids.items():
        item[f"Provider_{provider.lower()}"] = value
    user_id = event.get("user_id")
    user_data = (state.user_data_of(user_id, movie.id) or SimUserData()) if user_id is not None else None
    return jellyfin_body(state, event, item, user_data, style)


def jellyfin_body(
    state: SimState, event: Event, item: dict[str, Any], user_data: SimUserData | None, style: Style
) -> WebhookBody | None:
    """Base keys + the item block + the user/playback keys of the event, in the plugin's order."""
    notification = _JELLYFIN_TYPES.get(event["type"])
    if notification is None:
        return None
    data: dict[str, Any] = {
        "ServerId": state.server_id,
        "ServerName": state.server_name,
        "ServerVersion": state.version,
        "NotificationType": notification,
        **item,
    }
    user_id = event.get("user_id")
    if user_id is not None:
        user = state.users.get(user_id)
        user_data = user_data or SimUserData()
        data["UserId"] = user_id
        data["NotificationUsername"] = user.name if user else ""
        data["PlaybackPositionTicks"] = user_data.position_ticks
        data["PlaybackPosition"] = _clock(user_data.position_ticks)
        if event["type"] == "playback_stopped":
            data.update(
                PlayedToCompletion=bool(event.get("completed")), DeviceName="Simulator", ClientName="sim"
            )
        else:
            # Every SaveUserData fires it (progress reports too), with the item's own data and the
            # reason: jellyfin-plugin-webhook `Notifiers/UserDataSavedNotifier/
            # UserDataSavedNotifierEntryPoint.cs`; reasons from jellyfin `Session/SessionManager.cs`,
            # `Jellyfin.Api/Controllers/{Playstate,UserLibrary}Controller.cs`.
            data.update(
                Rating=user_data.rating or 0,
                PlayCount=user_data.play_count,
                Favorite=user_data.is_favorite,
                Played=user_data.played,
                SaveReason=event.get("reason") or "UpdateUserData",
            )
            if user_data.last_played is not None:
                data["LastPlayedDate"] = net_datetime(user_data.last_played)
    if style == "template":
        data = {"Source": "jellyfin", **{key: _template_text(key, value) for key, value in data.items()}}
    return WebhookBody(notification, data, style)


def _template_text(key: str, value: Any) -> str:
    """What Handlebars renders: every value quoted, GUIDs dashed ("D"), booleans as .NET's True/False."""
    if key in ("ItemId", "UserId", "SeriesId", "SeasonId"):  # Guid values: "D" format in templates
        return str(uuid.UUID(hex=value))
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


# --- Emby ----------------------------------------------------------------------------------------------
def _emby_event(event: Event, user_data: SimUserData | None) -> str | None:
    kind = event["type"]
    if kind == "item_added":
        return "library.new"
    if kind == "item_removed":
        return "library.deleted"
    if kind == "playback_stopped":
        return "playback.stop"
    reason = event.get("reason")
    if reason == "TogglePlayed":
        return "item.markplayed" if user_data is not None and user_data.played else "item.markunplayed"
    if reason == "UpdateUserRating":
        return "item.rate"
    return None  # the save at the end of a playback: Emby sends playback.stop only


def _emby(state: SimState, event: Event, movie: SimMovie, style: Style) -> WebhookBody | None:
    user_id = event.get("user_id")
    user_data = state.user_data_of(user_id, movie.id) if user_id else None
    return emby_body(state, event, render_movie(state, movie, _EMBY_ITEM_FIELDS), "Movie", user_data, style)


def emby_body(
    state: SimState, event: Event, item: dict[str, Any], type_label: str, user_data: SimUserData | None,
    style: Style,
) -> WebhookBody | None:  # fmt: skip
    """The nested Emby document around an item rendered as its DTO."""
    user_id = event.get("user_id")
    user = state.users.get(user_id) if user_id else None
    name = _emby_event(event, user_data)
    if name is None:
        return None
    who, title = (user.name if user else "someone"), item.get("Name", "")
    titles = {
        "library.new": f"New {type_label} added to {state.server_name}: {title}",
        "library.deleted": f"{title} was deleted from {state.server_name}",
        "playback.stop": f"{who} has finished playing {title} on Simulator",
        "item.markplayed": f"{who} marked {title} as played",
        "item.markunplayed": f"{who} marked {title} as unplayed",
        "item.rate": f"{who} rated {title}",
    }
    document: dict[str, Any] = {
        "Title": titles[name],
        "Date": net_datetime(dt.datetime.now(dt.UTC)),
        "Event": name,
    }
    if user is not None:
        document["User"] = {"Name": user.name, "Id": user.id}
    document["Item"] = item
    document["Server"] = {"Name": state.server_name, "Id": state.server_id, "Version": state.version}
    if name == "playback.stop":
        document["Session"] = {"Client": "Simulator", "DeviceName": "Simulator", "Id": uuid.uuid4().hex}
        document["PlaybackInfo"] = {
            "PlayedToCompletion": bool(event.get("completed")),
            "PositionTicks": user_data.position_ticks if user_data else 0,
        }
    return WebhookBody(name, document, style)
