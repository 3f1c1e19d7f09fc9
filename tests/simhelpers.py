"""Shared test helpers: settings pointing at a running simulator."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from sidecar.settings import Settings
from sidecar.simulator import RunningSimulator


def settings_for(settings: Settings, sim: RunningSimulator, **overrides: Any) -> Settings:
    """The test's settings aimed at `sim`, with fast retries so fault tests stay quick."""
    values: dict[str, Any] = {
        "media_server_url": sim.url,
        "media_server_api_key": SecretStr(sim.api_key),
        "media_server_kind": "auto",
        "media_server_backoff_seconds": 0.01,
        "media_server_timeout_seconds": 5.0,
        "media_server_page_size": 10,
    }
    values.update(overrides)
    return settings.model_copy(update=values)
