"""A small client of the sidecar's own JSON API (the CLI's remote commands and the demo)."""

from __future__ import annotations

from typing import Any

import aiohttp

from sidecar.service import local_url
from sidecar.settings import Settings


class ApiClient:
    def __init__(self, settings: Settings, base_url: str | None) -> None:
        self.base = (base_url or local_url(settings.host, settings.port)).rstrip("/")
        self.headers = {}
        if settings.api_key is not None:
            self.headers["Authorization"] = f"Bearer {settings.api_key.get_secret_value()}"

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with (
            aiohttp.ClientSession(headers=self.headers) as session,
            session.request(method, self.base + path, json=body) as resp,
        ):
            return resp.status, await resp.json()
