"""`open_client`: settings -> a ready client for whichever server is at the URL."""

from __future__ import annotations

import hashlib
import re

import aiohttp

from sidecar.mediaserver.base import MediaServerClient, MediaServerError, ServerKind
from sidecar.mediaserver.client import DialectClient
from sidecar.mediaserver.emby import BASE_PATH as EMBY_BASE_PATH
from sidecar.mediaserver.emby import EmbyClient
from sidecar.mediaserver.http import (
    MediaServerHttp,
    MediaServerStatusError,
    emby_auth_headers,
    jellyfin_auth_headers,
)
from sidecar.mediaserver.jellyfin import JellyfinClient
from sidecar.settings import Settings

_JELLYFIN_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
_EMBY_VERSION = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


def kind_from_public_info(info: dict[str, object]) -> ServerKind | None:
    """Jellyfin names itself in ProductName and has a 3-part Version; Emby has a 4-part Version."""
    product = str(info.get("ProductName") or "")
    version = str(info.get("Version") or "")
    if "jellyfin" in product.lower() or _JELLYFIN_VERSION.match(version):
        return "jellyfin"
    if _EMBY_VERSION.match(version):
        return "emby"
    return None


def _server_root(url: str) -> str:
    root = url.rstrip("/")
    if root.lower().endswith(EMBY_BASE_PATH):
        root = root[: -len(EMBY_BASE_PATH)]
    return root


def _probe_key(settings: Settings) -> tuple[str, str]:
    """Which server a probe answer belongs to: the URL, and a digest of the key (a server moved
    behind the same URL comes with another key; the key itself is never kept)."""
    assert settings.media_server_url is not None
    key = settings.media_server_api_key.get_secret_value() if settings.media_server_api_key else ""
    return _server_root(settings.media_server_url), hashlib.sha256(key.encode()).hexdigest()


# Server kind and version per (URL, key), probed once per process (worker or web app) and reused by
# every later client: a job run no longer starts with GET /System/Info/Public (issue #13 point 10).
_probed: dict[tuple[str, str], tuple[ServerKind, str]] = {}


def forget_probes() -> None:
    """Probe again next time (after the admin moved the URL to another server)."""
    _probed.clear()


async def probe_server(
    settings: Settings, session: aiohttp.ClientSession | None = None
) -> tuple[ServerKind, str]:
    """(kind, version) of the configured server, asked once per process."""
    key = _probe_key(settings)
    cached = _probed.get(key)
    if cached is None:
        cached = _probed[key] = await _detect(settings, session)
    return cached


async def detect_kind(settings: Settings, session: aiohttp.ClientSession | None = None) -> ServerKind:
    """The server kind (probed once per process, see `probe_server`)."""
    return (await probe_server(settings, session))[0]


async def _detect(settings: Settings, session: aiohttp.ClientSession | None) -> tuple[ServerKind, str]:
    """Ask GET /System/Info/Public (anonymous on both servers), at the root, then under /emby."""
    assert settings.media_server_url is not None
    root = _server_root(settings.media_server_url)
    probe = MediaServerHttp(
        root,
        {},
        timeout_seconds=settings.media_server_timeout_seconds,
        retries=settings.media_server_retries,
        backoff_seconds=settings.media_server_backoff_seconds,
        session=session,
    )
    try:
        for prefix in ("", EMBY_BASE_PATH):
            try:
                info = await probe.get_json(prefix + "/System/Info/Public", anonymous=True)
            except MediaServerStatusError as exc:
                if exc.status == 404:
                    continue
                raise
            kind = kind_from_public_info(info) if isinstance(info, dict) else None
            if kind is not None:
                return kind, str(info.get("Version") or "")
    finally:
        await probe.close()
    raise MediaServerError(
        f"{root} does not look like Jellyfin or Emby (GET /System/Info/Public); "
        "check SIDECAR_MEDIA_SERVER_URL or set SIDECAR_MEDIA_SERVER_KIND"
    )


async def open_client(settings: Settings, session: aiohttp.ClientSession | None = None) -> MediaServerClient:
    """A client for the configured server; detects the kind when `media_server_kind` is "auto".

    Pass a shared `session` to reuse connections (the caller then closes it); otherwise the client
    owns one and `close()` releases it.
    """
    if not settings.media_server_url:
        raise MediaServerError("no media server configured; set SIDECAR_MEDIA_SERVER_URL")
    if settings.media_server_api_key is None or not settings.media_server_api_key.get_secret_value():
        raise MediaServerError("no media server API key configured; set SIDECAR_MEDIA_SERVER_API_KEY")
    kind, version = (
        await probe_server(settings, session)
        if settings.media_server_kind == "auto"
        else (settings.media_server_kind, "")
    )
    key = settings.media_server_api_key.get_secret_value()
    root = _server_root(settings.media_server_url)
    http = MediaServerHttp(
        root + (EMBY_BASE_PATH if kind == "emby" else ""),
        emby_auth_headers(key) if kind == "emby" else jellyfin_auth_headers(key),
        timeout_seconds=settings.media_server_timeout_seconds,
        retries=settings.media_server_retries,
        backoff_seconds=settings.media_server_backoff_seconds,
        session=session,
    )
    client_class: type[DialectClient] = EmbyClient if kind == "emby" else JellyfinClient
    client = client_class(
        http, page_size=settings.media_server_page_size, concurrency=settings.media_server_concurrency
    )
    client.server_version = version  # "" when the kind was configured (not probed)
    return client  # type: ignore[return-value]
