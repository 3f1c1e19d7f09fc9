"""The one error shape of the API, and the middleware that guarantees it (never a stack trace)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web
from pydantic import ValidationError

from sidecar.db import DATABASE_DOWN

log = structlog.get_logger(__name__)

_DEFAULT_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    503: "unavailable",
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def validation_message(exc: ValidationError) -> str:
    """'field: problem' for each error, naming the field a person must fix."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _DEFAULT_CODES.get(exc.status, "error")
        message = exc.reason if exc.status != 404 else f"no such endpoint: {request.method} {request.path}"
        return error_response(exc.status, code, message)
    except DATABASE_DOWN as exc:
        log.error("request failed: database unreachable", path=request.path, error=type(exc).__name__)
        return error_response(
            503, "database_unavailable", "PostgreSQL is unreachable; check it, then try again"
        )
    except Exception as exc:
        log.exception("unhandled error", path=request.path, error_type=type(exc).__name__)
        return error_response(500, "internal_error", "the sidecar hit an unexpected error; see its log")


def dump(model: Any) -> dict[str, Any]:
    return model.model_dump(mode="json")
