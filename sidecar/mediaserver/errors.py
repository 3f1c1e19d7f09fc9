"""Media-server failures as one sentence a person can act on (the one mapping every job uses)."""

from __future__ import annotations

from sidecar.mediaserver.base import MediaServerAuthError, MediaServerError

API_KEY_SETTING = "SIDECAR_MEDIA_SERVER_API_KEY"


def explain(exc: MediaServerError, doing: str | None = None) -> str:
    """What failed and what to check; `doing` names the call ("list the libraries")."""
    if isinstance(exc, MediaServerAuthError):
        text = str(exc)
        if API_KEY_SETTING in text:
            return text
        return f"the media server rejected the API key ({text}); check {API_KEY_SETTING}"
    if doing is not None:
        return f"media server: could not {doing}: {exc}; check SIDECAR_MEDIA_SERVER_URL and that the server is up"
    return f"talking to the media server failed: {exc}"
