"""Media server access: one async client interface over Jellyfin and Emby."""

from sidecar.mediaserver.base import (
    Library,
    MediaServerAuthError,
    MediaServerClient,
    MediaServerError,
    MediaUser,
    MovieItem,
    ServerInfo,
    UserAccess,
    UserMovieData,
    normalise_id,
)
from sidecar.mediaserver.factory import detect_kind, forget_probes, open_client, probe_server

__all__ = [
    "Library",
    "MediaServerAuthError",
    "MediaServerClient",
    "MediaServerError",
    "MediaUser",
    "MovieItem",
    "ServerInfo",
    "UserAccess",
    "UserMovieData",
    "detect_kind",
    "forget_probes",
    "normalise_id",
    "open_client",
    "probe_server",
]
