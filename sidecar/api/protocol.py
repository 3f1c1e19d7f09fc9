"""Requests aiohttp's own parser refuses (NUL or folding in a header, a 100 KiB header, both
Content-Length and Transfer-Encoding) never reach a middleware: aiohttp answers them itself, in
text/plain, with the offending bytes in the body (a folded `Authorization` header came back with the
key in it) and logs a trace carrying the same bytes. This request handler answers them in the API's
error shape, echoing nothing, and logs one line without the request's bytes.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import structlog
from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from sidecar.api.errors import error_response

log = structlog.get_logger(__name__)


class _JsonErrorRequestHandler(RequestHandler):  # type: ignore[type-arg]
    def handle_error(
        self,
        request: Any,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        # The exception's text quotes the request (header lines, values): only its type is logged.
        log.warning(
            "request refused before routing" if status < 500 else "request failed before a response",
            status=status,
            error_type=type(exc).__name__ if exc is not None else None,
        )
        if request.writer.output_size > 0:
            raise ConnectionError("a response was already being sent; the connection is closed instead")
        if status >= 500:
            response = error_response(
                status, "internal_error", "the sidecar hit an unexpected error; see its log"
            )
        else:
            phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Bad Request"
            response = error_response(
                status,
                "malformed_request",
                f"the HTTP request is malformed ({phrase}): check its request line and headers",
            )
        response.force_close()
        return response


class _JsonErrorServer(web.Server):
    def __call__(self) -> RequestHandler:  # type: ignore[type-arg]
        return _JsonErrorRequestHandler(self, loop=self._loop, **self._kwargs)


class JsonErrorAppRunner(web.AppRunner):
    """`web.AppRunner` whose connections answer parser errors in the JSON error shape."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # Same server, only its protocol factory differs (web.Application builds the Server itself).
        server.__class__ = _JsonErrorServer
        return server
