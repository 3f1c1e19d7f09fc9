"""Reading a delivery's body: bounded in size, decoded into a JSON object per server transport.

Jellyfin's plugin sends JSON as `text/plain` by default (parse it whatever the content type says)
or, with the Generic Form destination, `application/x-www-form-urlencoded`. Emby sends JSON or,
up to 4.8 and when chosen in 4.9+, `multipart/form-data` with the JSON in a field named `data`.
"""

from __future__ import annotations

import email.parser
import email.policy
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from sidecar.untrusted import UntrustedInputError, clean_json, parse_json
from webhooks.errors import PayloadError, PayloadTooLarge

MAX_BODY_BYTES = 1024 * 1024
_READ_CHUNK = 64 * 1024
FORM_URLENCODED = "application/x-www-form-urlencoded"
MULTIPART_FORM = "multipart/form-data"


async def read_body(request: web.Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, or PayloadTooLarge without reading more than `limit + 1` bytes (chunked too)."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge()
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(min(_READ_CHUNK, limit + 1 - size))
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def _json_object(text: str | bytes, where: str | None) -> dict[str, Any]:
    """A JSON object within bounds (depth, 64-bit numbers), its text cleaned of NUL and surrogates."""
    try:
        document = parse_json(text)
    except UntrustedInputError as exc:
        raise PayloadError(where, str(exc)) from None
    if not isinstance(document, dict):
        raise PayloadError(where, f"expected a JSON object, got {type(document).__name__}")
    return clean_json(document)


def _form_fields(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError(None, "form body is not UTF-8") from None
    return clean_json(dict(parse_qsl(text, keep_blank_values=True)))


def _multipart_fields(body: bytes, content_type: str) -> dict[str, str]:
    """Form fields of a multipart body; part names may be quoted or not (.NET leaves them bare)."""
    header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(header + body)
    if not message.is_multipart():
        raise PayloadError(None, "multipart body without parts (check the boundary)")
    fields: dict[str, str] = {}
    for part in message.get_payload():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        raw = part.get_payload(decode=True) or b""
        charset = part.get_content_charset() or "utf-8"
        try:
            fields[name] = raw.decode(charset, errors="replace")
        except LookupError:
            raise PayloadError(
                name, "part declares a charset this sidecar does not know; send UTF-8"
            ) from None
    return fields


def _mime_type(content_type_header: str) -> str:
    return content_type_header.split(";", 1)[0].strip().lower()


def jellyfin_document(body: bytes, content_type_header: str) -> dict[str, Any]:
    """Send-All or template JSON (whatever the content type says), or the Generic Form's fields."""
    if _mime_type(content_type_header) == FORM_URLENCODED:
        return _form_fields(body)
    return _json_object(body, None)


def emby_document(body: bytes, content_type_header: str) -> dict[str, Any]:
    """Raw JSON, or the JSON inside form field `data`; a JSON `data` string or object also works."""
    mime_type = _mime_type(content_type_header)
    if mime_type in (MULTIPART_FORM, FORM_URLENCODED):
        if mime_type == MULTIPART_FORM:
            fields = _multipart_fields(body, content_type_header)
        else:
            fields = _form_fields(body)
        if "data" not in fields:
            raise PayloadError("data", "form body without the field 'data' that carries Emby's JSON")
        return _json_object(fields["data"], "data")
    document = _json_object(body, None)
    wrapped = document.get("data")
    if "Event" not in document and isinstance(wrapped, str):
        return _json_object(wrapped, "data")
    if "Event" not in document and isinstance(wrapped, dict):
        return wrapped
    return document
