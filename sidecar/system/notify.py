"""Run notifications through Apprise (`SIDECAR_NOTIFY_URLS`: ntfy, Gotify, Discord, e-mail, ...).

A failed run (and, with `SIDECAR_NOTIFY_LONG_RUN_MINUTES`, a completed run that took longer) sends
one message naming the job, what failed and the link to the run. The text is built from the run's
own fields, with URLs cut to scheme and host and token-looking values blanked: an error often
embeds a request URL with a key. The target URLs carry tokens themselves and are never logged.
`notified_at` on the run is claimed first, so a second finish of the same run never sends again.
Sending is blocking network I/O: it runs in a thread with a timeout, and any failure is logged
and never touches the run.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import apprise

from sidecar.jobs.context import JobContext
from sidecar.logs import redact_text
from sidecar.service import local_url
from sidecar.settings import Settings

SEND_TIMEOUT_SECONDS = 30.0
MAX_ERROR_CHARS = 300
CLAIM_NOTIFICATION = """
UPDATE job_runs SET notified_at = now() WHERE id = $1 AND notified_at IS NULL RETURNING id
"""
_URL = re.compile(r"\b([a-z][a-z0-9+.-]*://[^/\s?#]+)[^\s]*", re.IGNORECASE)
_USERINFO = re.compile(r"//[^/@\s]*@")

# Apprise logs the targets it sends to; those URLs hold tokens.
logging.getLogger("apprise").setLevel(logging.CRITICAL)


def safe_text(text: str) -> str:
    """No query strings, paths or credentials of URLs, no token-looking values; one short line."""
    text = _URL.sub(lambda m: _USERINFO.sub("//", m.group(1)), text)
    text = " ".join(redact_text(text).split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def reason_to_notify(run: Any, settings: Settings) -> str | None:
    if run["status"] == "failed":
        return "failed"
    limit = settings.notify_long_run_minutes
    if run["status"] == "completed" and limit and run["started_at"] and run["finished_at"]:
        minutes = (run["finished_at"] - run["started_at"]).total_seconds() / 60
        if minutes > limit:
            return "long"
    return None


def run_link(run: Any, settings: Settings) -> str:
    base = (settings.public_url or local_url(settings.host, settings.port)).rstrip("/")
    return f"{base}/api/runs/{run['id']}"


def message(run: Any, settings: Settings, reason: str) -> tuple[str, str]:
    """(title, body) of the notification."""
    duration = ""
    if run["started_at"] and run["finished_at"]:
        duration = f" after {(run['finished_at'] - run['started_at']).total_seconds():.0f} s"
    if reason == "failed":
        title = f"AI Picks: {run['job']} failed"
        what = f"Error: {safe_text(run['error'] or 'no error recorded')}"
    else:
        title = f"AI Picks: {run['job']} completed{duration}"
        what = "It took longer than SIDECAR_NOTIFY_LONG_RUN_MINUTES."
    body = f"The {run['trigger']} run of {run['job']} ({run['variant']}) {run['status']}{duration}.\n{what}\nRun: {run_link(run, settings)}"
    return title, body


def _send(urls: str, title: str, body: str, failure: bool) -> bool:
    targets = apprise.Apprise()
    if not targets.add(urls):
        return False
    kind = apprise.NotifyType.FAILURE if failure else apprise.NotifyType.INFO
    return bool(targets.notify(body=body, title=title, notify_type=kind))


async def notify_finished_run(run: Any, ctx: JobContext) -> None:
    """The registry's finish hook."""
    settings = ctx.settings
    if settings.notify_urls is None:
        return
    reason = reason_to_notify(run, settings)
    if reason is None or await ctx.db.fetchval(CLAIM_NOTIFICATION, run["id"]) is None:
        return
    title, body = message(run, settings, reason)
    urls = settings.notify_urls.get_secret_value()
    try:
        sent = await asyncio.wait_for(
            asyncio.to_thread(_send, urls, title, body, reason == "failed"), SEND_TIMEOUT_SECONDS
        )
    except Exception as exc:  # whatever a plugin raises: logged, never the run's problem
        sent = False
        ctx.log.warning("notification failed", error_type=type(exc).__name__)
    if sent:
        ctx.log.info("notification sent", reason=reason)
    else:
        ctx.log.warning(
            "notification not delivered: check SIDECAR_NOTIFY_URLS (the URLs and that the targets are up)",
            reason=reason,
        )
