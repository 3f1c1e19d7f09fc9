"""Emby native webhook payloads (Emby Premiere, 4.7 and later).

Nested PascalCase JSON with the event in `Event` ("library.new", "playback.stop", ...). Unknown
keys are accepted everywhere: Emby adds fields between versions and leaves null ones out.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sidecar.mediaserver.base import normalise_id
from webhooks import events as ev
from webhooks.errors import PayloadError, validated
from webhooks.events import WebhookEvent
from webhooks.fields import OptionalBool, OptionalInt, OptionalText, OptionalTimestamp

_EVENTS: dict[str, str] = {
    "library.new": ev.ITEM_ADDED,
    "library.deleted": ev.ITEM_DELETED,
    "playback.start": ev.PLAYBACK_STARTED,
    "playback.progress": ev.PLAYBACK_PROGRESS,
    "playback.pause": ev.PLAYBACK_PAUSED,
    "playback.unpause": ev.PLAYBACK_UNPAUSED,
    "playback.stop": ev.PLAYBACK_STOPPED,
    "playback.scrobble": ev.PLAYBACK_STOPPED,  # the server's "played to the end": always played
    "item.markplayed": ev.MARK_PLAYED,
    "item.markunplayed": ev.MARK_UNPLAYED,
    "item.rate": ev.RATED,
    "item.markfavorite": ev.RATED,
    "item.unmarkfavorite": ev.RATED,
    "user.authenticated": ev.SESSION,
    "user.authenticationfailed": ev.SESSION,
}
# Families of events the sidecar knows about but never acts on.
_PREFIX_EVENTS = {"user.": ev.USER_CHANGED, "system.": ev.SYSTEM, "plugins.": ev.SYSTEM}
_ITEM_EVENTS = {
    name for name, event in _EVENTS.items() if name.startswith(("library.", "playback.", "item."))
}
_USER_ITEM_EVENTS = {name for name in _ITEM_EVENTS if not name.startswith("library.")}

_MODEL_CONFIG = ConfigDict(extra="allow", coerce_numbers_to_str=True, populate_by_name=True)


class EmbyUser(BaseModel):
    model_config = _MODEL_CONFIG
    id: OptionalText = Field(None, alias="Id")
    name: OptionalText = Field(None, alias="Name")


class EmbyItem(BaseModel):
    model_config = _MODEL_CONFIG
    id: OptionalText = Field(None, alias="Id")
    type: OptionalText = Field(None, alias="Type")
    name: OptionalText = Field(None, alias="Name")
    path: OptionalText = Field(None, alias="Path")
    parent_id: OptionalText = Field(None, alias="ParentId")
    server_id: OptionalText = Field(None, alias="ServerId")
    provider_ids: dict[str, OptionalText] = Field(default_factory=dict, alias="ProviderIds")


class EmbyServer(BaseModel):
    model_config = _MODEL_CONFIG
    id: OptionalText = Field(None, alias="Id")
    name: OptionalText = Field(None, alias="Name")
    version: OptionalText = Field(None, alias="Version")


class EmbyPlaybackInfo(BaseModel):
    model_config = _MODEL_CONFIG
    played_to_completion: OptionalBool = Field(None, alias="PlayedToCompletion")
    position_ticks: OptionalInt = Field(None, alias="PositionTicks")


class EmbyWebhook(BaseModel):
    model_config = _MODEL_CONFIG
    event: str = Field(alias="Event", min_length=1)
    date: OptionalTimestamp = Field(None, alias="Date")
    user: EmbyUser | None = Field(None, alias="User")
    item: EmbyItem | None = Field(None, alias="Item")
    server: EmbyServer | None = Field(None, alias="Server")
    playback_info: EmbyPlaybackInfo | None = Field(None, alias="PlaybackInfo")


def _normalised_event(source: str) -> str:
    if source in _EVENTS:
        return _EVENTS[source]
    for prefix, event in _PREFIX_EVENTS.items():
        if source.startswith(prefix):
            return event
    return ev.UNKNOWN


def _played(source: str, payload: EmbyWebhook) -> bool | None:
    if source in ("item.markplayed", "playback.scrobble"):
        return True
    if source == "item.markunplayed":
        return False
    if source == "playback.stop" and payload.playback_info is not None:
        return payload.playback_info.played_to_completion
    return None


def parse_emby(document: dict[str, Any]) -> WebhookEvent:
    """Validate an Emby body and normalise it; PayloadError names the field that was wrong."""
    payload = validated(EmbyWebhook, document)
    source = payload.event
    item, user = payload.item, payload.user
    if source in _ITEM_EVENTS and (item is None or item.id is None):
        raise PayloadError("Item.Id", f"required for {source}")
    if source in _USER_ITEM_EVENTS and (user is None or user.id is None):
        raise PayloadError("User.Id", f"required for {source}")

    provider_ids = {k.lower(): v for k, v in (item.provider_ids if item else {}).items() if v}
    server_id = (payload.server.id if payload.server else None) or (item.server_id if item else None)
    raw_date = document.get("Date")
    return WebhookEvent(
        server_kind="emby",
        server_id=normalise_id(server_id) if server_id else None,
        event=_normalised_event(source),
        source_event=source,
        user_id=normalise_id(user.id) if user and user.id else None,
        item_id=item.id if item else None,
        item_type=item.type if item else None,
        tmdb_id=provider_ids.get("tmdb"),
        imdb_id=provider_ids.get("imdb"),
        played=_played(source, payload),
        position_ticks=payload.playback_info.position_ticks if payload.playback_info else None,
        path=item.path if item else None,
        parent_id=item.parent_id if item else None,
        occurred_at=payload.date,
        occurred_at_text=str(raw_date).strip() if raw_date else None,
    )
