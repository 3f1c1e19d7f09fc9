"""The normalised webhook event: what either server told us, in one dialect-free shape.

Both payload models (webhooks/jellyfin.py, webhooks/emby.py) end here, so the planner, the
own-library check and the store never look at a server's wire format.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from sidecar.mediaserver.base import ServerKind

# Normalised event names. The planner acts on a few; every other one is stored and ignored.
ITEM_ADDED: Final = "item_added"
ITEM_DELETED: Final = "item_deleted"
PLAYBACK_STARTED: Final = "playback_started"
PLAYBACK_PROGRESS: Final = "playback_progress"
PLAYBACK_PAUSED: Final = "playback_paused"
PLAYBACK_UNPAUSED: Final = "playback_unpaused"
PLAYBACK_STOPPED: Final = "playback_stopped"
USER_DATA_SAVED: Final = "user_data_saved"  # Jellyfin; `reason` holds the SaveReason
MARK_PLAYED: Final = "mark_played"
MARK_UNPLAYED: Final = "mark_unplayed"
RATED: Final = "rated"  # rating or favourite changed
USER_CHANGED: Final = "user_changed"  # created, deleted, updated, locked out, password changed
SESSION: Final = "session"  # authentication and session start
SYSTEM: Final = "system"  # tasks, plugins, restarts, updates, test notifications
UNKNOWN: Final = "unknown"  # an event name this sidecar has never heard of


@dataclass(frozen=True)
class WebhookEvent:
    server_kind: ServerKind
    server_id: str | None
    event: str  # one of the names above
    source_event: str  # the server's own name (NotificationType / Event), for the record
    user_id: str | None = None  # 32-hex lowercase
    item_id: str | None = None  # Jellyfin 32-hex lowercase, Emby numeric string
    item_type: str | None = None  # the server's class name: Movie, Episode, ...
    tmdb_id: str | None = None
    imdb_id: str | None = None
    played: bool | None = None  # finished (PlayedToCompletion) or the played flag after the change
    position_ticks: int | None = None
    path: str | None = None  # only Emby sends the item's path
    parent_id: str | None = None  # only Emby sends the parent folder id
    reason: str | None = None  # Jellyfin UserDataSaved SaveReason
    occurred_at: dt.datetime | None = None  # the server's own timestamp, UTC
    occurred_at_text: str | None = None  # that timestamp exactly as sent (dedupe key material)
