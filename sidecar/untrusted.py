"""Text and JSON from outside (requests, webhooks, the media server): parsed within bounds, cleaned once.

Each rule here stands for a failure that would otherwise surface as a 500 or a failed run:
PostgreSQL text cannot hold NUL, asyncpg cannot encode lone surrogates (JSON `\\ud800`, non-UTF-8
header bytes), bigint stops at 2**63 - 1, and Python's json raises RecursionError on deep nesting
and ValueError on integers of more than 4,300 digits.
"""

from __future__ import annotations

import json
import re
from typing import Any

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# Longer numbers are refused while parsing; fields bound their own range (int64 for PostgreSQL).
MAX_INT_DIGITS = 100
_SURROGATES = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"
_ESCAPED_NUL_OR_SURROGATE = re.compile(rb"\\u(?:0000|d[89a-f])", re.IGNORECASE)


class UntrustedInputError(ValueError):
    """Input that cannot be taken as it is; the message says what was wrong, never echoes it."""


def is_clean(text: str) -> bool:
    """True when PostgreSQL and UTF-8 can carry `text` unchanged."""
    return "\x00" not in text and _SURROGATES.search(text) is None


def clean_text(text: str) -> str:
    """NUL removed, lone surrogates replaced by U+FFFD: storable, and still readable by a person."""
    if is_clean(text):
        return text
    return _SURROGATES.sub(REPLACEMENT, text.replace("\x00", ""))


def clean_json(value: Any) -> Any:
    """`clean_text` applied to every string of a parsed JSON document, keys included."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    return value


def may_hold_unclean_text(raw: bytes) -> bool:
    """Cheap pre-check of a JSON body: only NUL (raw or escaped) or an escaped surrogate can yield
    unclean text, so most large listings skip the per-string pass of `clean_json`."""
    return b"\x00" in raw or _ESCAPED_NUL_OR_SURROGATE.search(raw) is not None


def has_unclean_text(value: Any) -> bool:
    """Whether any string of a parsed JSON document (keys included) would not survive storage."""
    if isinstance(value, str):
        return not is_clean(value)
    if isinstance(value, dict):
        return any(has_unclean_text(k) or has_unclean_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_unclean_text(v) for v in value)
    return False


def _bounded_int(digits: str) -> int:
    """Long enough for any field to name its own range error; far below int()'s 4,300-digit limit."""
    if len(digits) > MAX_INT_DIGITS:
        raise UntrustedInputError(f"a number has more than {MAX_INT_DIGITS} digits")
    return int(digits)


def parse_json(raw: str | bytes) -> Any:
    """json.loads that raises only UntrustedInputError: bad syntax, bad UTF-8, too deep, too long a number."""
    try:
        return json.loads(raw, parse_int=_bounded_int)
    except UntrustedInputError:
        raise
    except RecursionError:
        raise UntrustedInputError("JSON nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise UntrustedInputError(f"not valid JSON{where}") from None
