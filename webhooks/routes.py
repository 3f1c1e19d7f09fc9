"""`POST /webhooks/jellyfin` and `POST /webhooks/emby`: authenticate, bound, parse, store, plan.

Answers follow the README's API section: 202 once the event is stored (accepted, or ignored with a reason),
400 naming the field that was wrong, 401 bad token, 403 when no token is configured, 413 over
1 MiB, 503 when Postgres is unreachable; errors are `{"error": {"code", "message"}}`, never a trace.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import structlog
from aiohttp import hdrs, web

from sidecar.api.auth import secret_matches
from sidecar.api.errors import error_response
from sidecar.api.keys import DB, QUEUE, SETTINGS
from sidecar.db import DATABASE_DOWN
from sidecar.jobs.runs import iso
from sidecar.media.kind import MediaKind
from sidecar.mediaserver.base import ServerKind
from sidecar.untrusted import clean_text
from webhooks.bodies import MAX_BODY_BYTES, emby_document, jellyfin_document, read_body
from webhooks.coalesce import CoalescingSubmitter
from webhooks.emby import parse_emby
from webhooks.errors import PayloadError, PayloadTooLarge
from webhooks.events import WebhookEvent
from webhooks.intake import Outcome, take_in
from webhooks.jellyfin import parse_jellyfin
from webhooks.planner import new_submitter

log = structlog.get_logger(__name__)

SUBMITTER = web.AppKey("webhook_submitter", CoalescingSubmitter)
KINDS = web.AppKey("webhook_media_kinds", tuple[MediaKind, ...])
TOKEN_HEADER = "X-Webhook-Token"
_Decoder = Callable[[bytes, str], dict[str, Any]]
_Parser = Callable[[dict[str, Any]], WebhookEvent]
# A body posted to the wrong endpoint: say so instead of only "field required".
_OTHER_SERVER_MARKER = {"jellyfin": ("Event", "emby"), "emby": ("NotificationType", "jellyfin")}


def _token_problem(request: web.Request) -> web.Response | None:
    """None when the token matches; the 403/401 answer otherwise. Constant-time comparison."""
    configured = request.app[SETTINGS].webhook_token
    if configured is None or not configured.get_secret_value():
        return error_response(
            403,
            "webhooks_disabled",
            "webhooks are off: set SIDECAR_WEBHOOK_TOKEN to a long random secret, restart the sidecar, "
            f"and send it as ?token=<secret> or header {TOKEN_HEADER}",
        )
    expected = configured.get_secret_value()
    offered = [t for t in (request.headers.get(TOKEN_HEADER), request.query.get("token")) if t is not None]
    # Evaluate every candidate (no short-circuit) so timing says nothing about which one matched.
    matches = [secret_matches(candidate, expected) for candidate in offered]
    if any(matches):
        return None
    return error_response(
        401,
        "invalid_token",
        f"missing or wrong webhook token: send SIDECAR_WEBHOOK_TOKEN as ?token= or header {TOKEN_HEADER}",
    )


def _accepted_body(outcome: Outcome) -> dict[str, Any]:
    if outcome.ignored is not None:
        return {"accepted": False, "ignored": outcome.ignored}
    return {
        "accepted": True,
        "event_id": str(outcome.event_id),
        "planned": [
            {"job": run.job, "run_id": str(run.run_id), "not_before": iso(run.not_before)}
            for run in outcome.planned
        ],
    }


def _payload_message(server: ServerKind, document: dict[str, Any] | None, exc: PayloadError) -> str:
    message = f"not a {server.capitalize()} webhook body: {exc}"
    marker, other = _OTHER_SERVER_MARKER[server]
    if document is not None and marker in document:
        message += f" (this looks like a {other.capitalize()} payload: send it to /webhooks/{other})"
    return message


async def _receive(
    request: web.Request, server: ServerKind, decode: _Decoder, parse: _Parser
) -> web.Response:
    problem = _token_problem(request)
    if problem is not None:
        return problem
    try:
        body = await read_body(request, MAX_BODY_BYTES)
    except PayloadTooLarge:
        return error_response(
            413,
            "payload_too_large",
            f"webhook bodies are limited to {MAX_BODY_BYTES} bytes; nothing was stored",
        )
    if not body.strip():
        return error_response(400, "invalid_payload", f"empty body: expected a {server.capitalize()} webhook")
    content_type = clean_text(request.headers.get(hdrs.CONTENT_TYPE, ""))  # stored: no NUL, no surrogates
    document: dict[str, Any] | None = None
    try:
        document = decode(body, content_type)
        event = parse(document)
    except PayloadError as exc:
        return error_response(400, "invalid_payload", _payload_message(server, document, exc))

    app = request.app
    try:
        outcome = await take_in(
            app[DB],
            app[QUEUE],
            app[SUBMITTER],
            app[SETTINGS],
            app[KINDS],
            event,
            body=body,
            content_type=content_type or None,
        )
    except DATABASE_DOWN as exc:
        log.error("webhook not stored: database unreachable", server=server, error=str(exc))
        return error_response(
            503, "database_unavailable", "the event could not be stored: PostgreSQL is unreachable; check it"
        )
    return web.json_response(_accepted_body(outcome), status=202)


async def _guarded(
    request: web.Request, server: ServerKind, decode: _Decoder, parse: _Parser
) -> web.Response:
    """Any unexpected failure becomes a JSON 500 with no trace (the trace goes to the log)."""
    try:
        return await _receive(request, server, decode, parse)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("webhook handler failed", server=server)
        return error_response(
            500, "internal_error", "the webhook could not be processed; see the sidecar log"
        )


async def jellyfin_webhook(request: web.Request) -> web.Response:
    return await _guarded(request, "jellyfin", jellyfin_document, parse_jellyfin)


async def emby_webhook(request: web.Request) -> web.Response:
    return await _guarded(request, "emby", emby_document, parse_emby)


def setup_routes(app: web.Application, kinds: Sequence[MediaKind]) -> None:
    """Add the two receivers for events about `kinds`; the app must carry SETTINGS, DB and QUEUE
    before it starts."""
    app[SUBMITTER] = new_submitter()
    app[KINDS] = tuple(kinds)
    app.router.add_post("/webhooks/jellyfin", jellyfin_webhook)
    app.router.add_post("/webhooks/emby", emby_webhook)
