"""Tolerant field types shared by both payload models.

Jellyfin's template output renders every value as text ("True", "81663060000", "" for unset) and
its Generic Form destination sends form fields; Send-All sends real JSON types. These types accept
both, so one model covers every mode.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from sidecar.mediaserver.base import normalise_id
from sidecar.untrusted import INT64_MAX, INT64_MIN

_EMPTY_GUID = "0" * 32


def _blank_to_none(value: Any) -> Any:
    """Template mode renders unset variables as "" (and form mode sends null as ""): that is absent."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _jellyfin_guid(value: str) -> str | None:
    """Dashed or undashed, any case -> 32-hex lowercase; the all-zero GUID means "nobody"."""
    normalised = normalise_id(value.strip())
    if len(normalised) != 32 or not all(c in "0123456789abcdef" for c in normalised):
        raise ValueError("not a Jellyfin GUID (32 hex digits, with or without dashes)")
    return None if normalised == _EMPTY_GUID else normalised


def _as_utc(value: dt.datetime) -> dt.datetime:
    """A timestamp without an offset is taken as UTC (both servers send UTC with a `Z`).

    0001-01-01T00:00+01:00 or 9999-12-31T23:59-14:00 fall outside the years Python can hold in UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("timestamp outside the years 1 to 9999 once converted to UTC") from None


def _int64(value: int | None) -> int | None:
    if value is not None and not INT64_MIN <= value <= INT64_MAX:
        raise ValueError("number outside the 64-bit integer range")
    return value


OptionalText = Annotated[str | None, BeforeValidator(_blank_to_none)]
OptionalBool = Annotated[bool | None, BeforeValidator(_blank_to_none)]
OptionalInt = Annotated[int | None, BeforeValidator(_blank_to_none), AfterValidator(_int64)]
OptionalTimestamp = Annotated[
    dt.datetime | None,
    BeforeValidator(_blank_to_none),
    AfterValidator(lambda v: None if v is None else _as_utc(v)),
]
JellyfinGuid = Annotated[
    str | None,
    BeforeValidator(_blank_to_none),
    AfterValidator(lambda v: None if v is None else _jellyfin_guid(v)),
]
