"""Simulator events -> the webhook bodies each server really sends (spec/mediaserver.md §1.4–1.5, §2.3).

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
        return None
    if state.kind == "jellyfin":
        return _jellyfin(state, event, movie, style)
    return _emby(state, event, movie, style)


# --- Jellyfin ------------------------------------------------------------------------------------------
def _clock(ticks: int) -> str:
    seconds = ticks // _TICKS_PER_SECOND
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _jellyfin(state: SimState, event: Event, movie: SimMovie, style: Style) -> WebhookBody | None:
    notification = _JELLYFIN_TYPES.get(event["type"])
    if notification is None:
        return None
    now = dt.datetime.now(dt.UTC)
    data: dict[str, Any] = {
        "ServerId": state.server_id,
        "ServerName": state.server_name,
        "ServerVersion": state.version,
        "NotificationType": notification,
        "Timestamp": now.astimezone().isoformat(),
        "UtcTimestamp": net_datetime(now),
        "Name": movie.name,
        "ItemId": movie.id,
        "ItemType": "Movie",
    }
    if movie.overview:
        data["Overview"] = movie.overview
    if movie.runtime_ticks:
        data["RunTimeTicks"] = movie.runtime_ticks
        data["RunTime"] = _clock(movie.runtime_ticks)
    if movie.year is not None:
        data["Year"] = movie.year
    if movie.genres:
        data["Genres"] = ", ".join(movie.genres)
    for provider, value in movie.provider_ids.items():
        data[f"Provider_{provider.lower()}"] = value
    user_id = event.get("user_id")
    if user_id is not None:
        user = state.users.get(user_id)
        user_data = state.user_data_of(user_id, movie.id) or SimUserData()
        data["UserId"] = user_id
        data["NotificationUsername"] = user.name if user else ""
        data["PlaybackPositionTicks"] = user_data.position_ticks
        data["PlaybackPosition"] = _clock(user_data.position_ticks)
        if event["type"] == "playback_stopped":
            data.update(
                PlayedToCompletion=bool(event.get("completed")), DeviceName="Simulator", ClientName="sim"
            )
        else:
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
    if key in ("ItemId", "UserId"):
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
    user = state.users.get(user_id) if user_id else None
    user_data = state.user_data_of(user_id, movie.id) if user_id else None
    name = _emby_event(event, user_data)
    if name is None:
        return None
    item = render_movie(state, movie, _EMBY_ITEM_FIELDS)
    who = user.name if user else "someone"
    titles = {
        "library.new": f"New Movie added to {state.server_name}: {movie.name}",
        "library.deleted": f"{movie.name} was deleted from {state.server_name}",
        "playback.stop": f"{who} has finished playing {movie.name} on Simulator",
        "item.markplayed": f"{who} marked {movie.name} as played",
        "item.markunplayed": f"{who} marked {movie.name} as unplayed",
        "item.rate": f"{who} rated {movie.name}",
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
