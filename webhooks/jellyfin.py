"""Jellyfin webhook payloads (jellyfin-plugin-webhook, Generic and Generic Form destinations).

One model for both of the plugin's modes: "Send All Properties" (undashed GUIDs, JSON booleans and
numbers) and template output (dashed GUIDs, "True"/"False", numbers as strings, "" for unset).
Unknown keys are kept, never rejected: the plugin adds keys per item type and per stream.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sidecar.mediaserver.base import normalise_id
from webhooks import events as ev
from webhooks.errors import PayloadError, validated
from webhooks.events import WebhookEvent
from webhooks.fields import JellyfinGuid, OptionalBool, OptionalInt, OptionalText, OptionalTimestamp

# NotificationType -> normalised event (UserDataSaved is refined by its SaveReason below).
_EVENTS: dict[str, str] = {
    "ItemAdded": ev.ITEM_ADDED,
    "ItemDeleted": ev.ITEM_DELETED,
    "PlaybackStart": ev.PLAYBACK_STARTED,
    "PlaybackProgress": ev.PLAYBACK_PROGRESS,
    "PlaybackStop": ev.PLAYBACK_STOPPED,
    "UserDataSaved": ev.USER_DATA_SAVED,
    "UserCreated": ev.USER_CHANGED,
    "UserDeleted": ev.USER_CHANGED,
    "UserLockedOut": ev.USER_CHANGED,
    "UserPasswordChanged": ev.USER_CHANGED,
    "UserUpdated": ev.USER_CHANGED,
    "AuthenticationFailure": ev.SESSION,
    "AuthenticationSuccess": ev.SESSION,
    "SessionStart": ev.SESSION,
    "Generic": ev.SYSTEM,
    "SubtitleDownloadFailure": ev.SYSTEM,
    "PendingRestart": ev.SYSTEM,
    "TaskCompleted": ev.SYSTEM,
    "PluginInstallationCancelled": ev.SYSTEM,
    "PluginInstallationFailed": ev.SYSTEM,
    "PluginInstalled": ev.SYSTEM,
    "PluginInstalling": ev.SYSTEM,
    "PluginUninstalled": ev.SYSTEM,
    "PluginUpdated": ev.SYSTEM,
}
# Events that are about one item, and those that are about one user's view of it.
_ITEM_EVENTS = {
    "ItemAdded",
    "ItemDeleted",
    "PlaybackStart",
    "PlaybackProgress",
    "PlaybackStop",
    "UserDataSaved",
}
_USER_ITEM_EVENTS = {"PlaybackStart", "PlaybackProgress", "PlaybackStop", "UserDataSaved"}


class JellyfinWebhook(BaseModel):
    """The keys the sidecar reads; every other key is accepted and kept as an extra."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True, populate_by_name=True)

    notification_type: str = Field(alias="NotificationType", min_length=1)
    server_id: OptionalText = Field(None, alias="ServerId")
    server_version: OptionalText = Field(None, alias="ServerVersion")
    utc_timestamp: OptionalTimestamp = Field(None, alias="UtcTimestamp")
    timestamp: OptionalTimestamp = Field(None, alias="Timestamp")
    item_id: JellyfinGuid = Field(None, alias="ItemId")
    item_type: OptionalText = Field(None, alias="ItemType")
    name: OptionalText = Field(None, alias="Name")
    provider_tmdb: OptionalText = Field(None, alias="Provider_tmdb")
    provider_imdb: OptionalText = Field(None, alias="Provider_imdb")
    user_id: JellyfinGuid = Field(None, alias="UserId")
    played_to_completion: OptionalBool = Field(None, alias="PlayedToCompletion")
    played: OptionalBool = Field(None, alias="Played")
    playback_position_ticks: OptionalInt = Field(None, alias="PlaybackPositionTicks")
    save_reason: OptionalText = Field(None, alias="SaveReason")


def _user_data_event(payload: JellyfinWebhook) -> str:
    """UserDataSaved is Jellyfin's only signal for mark played/unplayed and ratings (no own events)."""
    if payload.save_reason == "TogglePlayed" and payload.played is not None:
        return ev.MARK_PLAYED if payload.played else ev.MARK_UNPLAYED
    if payload.save_reason == "UpdateUserRating":
        return ev.RATED
    return ev.USER_DATA_SAVED


def parse_jellyfin(document: dict[str, Any]) -> WebhookEvent:
    """Validate a Jellyfin body and normalise it; PayloadError names the field that was wrong."""
    payload = validated(JellyfinWebhook, document)
    source = payload.notification_type
    if source in _ITEM_EVENTS and payload.item_id is None:
        raise PayloadError("ItemId", f"required for {source}")
    if source in _USER_ITEM_EVENTS and payload.user_id is None:
        raise PayloadError("UserId", f"required for {source}")

    event = _EVENTS.get(source, ev.UNKNOWN)
    if event == ev.USER_DATA_SAVED:
        event = _user_data_event(payload)
    played = payload.played_to_completion if source == "PlaybackStop" else payload.played
    raw_timestamp = document.get("UtcTimestamp") or document.get("Timestamp")
    return WebhookEvent(
        server_kind="jellyfin",
        server_id=normalise_id(payload.server_id) if payload.server_id else None,
        event=event,
        source_event=source,
        user_id=payload.user_id,
        item_id=payload.item_id,
        item_type=payload.item_type,
        tmdb_id=payload.provider_tmdb,
        imdb_id=payload.provider_imdb,
        played=played,
        position_ticks=payload.playback_position_ticks,
        reason=payload.save_reason,
        occurred_at=payload.utc_timestamp or payload.timestamp,
        occurred_at_text=str(raw_timestamp).strip() if raw_timestamp else None,
    )
