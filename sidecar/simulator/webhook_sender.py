"""The simulator's webhook client: every state event is POSTed to a receiver in the server's real format.

Like the real servers it is fire-and-forget (no retries; a failure is only recorded), and it sends one
request at a time in event order, as the Jellyfin plugin does. The token travels the way each
server's admin would configure it: Jellyfin as a custom request header, Emby in the URL query.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

import aiohttp
import structlog

from sidecar.simulator.model import Event, SimState
from sidecar.simulator.webhook_bodies import DEFAULT_STYLE, STYLES, Style, WebhookBody, render_webhook

log = structlog.get_logger(__name__)
TOKEN_HEADER = "X-Webhook-Token"  # the header name the sidecar documents for the Jellyfin plugin


@dataclass(frozen=True)
class SentWebhook:
    event: str  # server event name, e.g. "PlaybackStop" or "playback.stop"
    item_id: str | None
    user_id: str | None
    status: int | None  # None: the request failed before an answer
    sent_at: float  # time.monotonic() when the request went out
    answered_at: float
    error: str | None = None


class WebhookSender:
    """`sender = WebhookSender(state, url, token)`; `sender.attach()`; mutate state; `await sender.drain()`."""

    def __init__(
        self,
        state: SimState,
        url: str,
        token: str | None,
        *,
        style: Style | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.state = state
        self.url = url
        self.token = token
        self.style: Style = style or DEFAULT_STYLE[state.kind]
        if self.style not in STYLES[state.kind]:
            raise ValueError(f"{state.kind} does not send webhooks as {self.style!r}")
        self.sent: list[SentWebhook] = []
        self._session = session
        self._owns_session = session is None
        self._outbox: asyncio.Queue[tuple[Event, WebhookBody]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    def attach(self) -> WebhookSender:
        self.state.listeners.append(self._on_event)
        return self

    def detach(self) -> None:
        with contextlib.suppress(ValueError):
            self.state.listeners.remove(self._on_event)

    def _on_event(self, event: Event) -> None:
        # Rendered now, while the state still matches the event (as the server builds its payload).
        body = render_webhook(self.state, event, self.style)
        if body is None:
            return
        self._outbox.put_nowait((event, body))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._deliver())

    async def drain(self) -> None:
        """Wait until the server's queued work (scans) is done and every event so far has been sent
        (or failed)."""
        await self.state.settle()
        await self._outbox.join()

    async def close(self) -> None:
        self.detach()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        if self._owns_session and self._session is not None:
            await self._session.close()

    async def _deliver(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        while not self._outbox.empty():
            event, body = await self._outbox.get()
            try:
                await self._post(event, body)
            finally:
                self._outbox.task_done()

    async def _post(self, event: Event, body: WebhookBody) -> None:
        assert self._session is not None
        request = body.as_request()
        params: dict[str, str] = {}
        if self.token is not None:
            if self.state.kind == "jellyfin":
                request.setdefault("headers", {})[TOKEN_HEADER] = self.token
            else:
                params["token"] = self.token
        sent_at = time.monotonic()
        status, error = None, None
        try:
            async with self._session.post(self.url, params=params, **request) as response:
                status = response.status
                await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.warning("simulator webhook failed", webhook_event=body.event, error=error)
        self.sent.append(
            SentWebhook(
                body.event,
                event.get("item_id"),
                event.get("user_id"),
                status,
                sent_at,
                time.monotonic(),
                error,
            )
        )
