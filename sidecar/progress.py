"""Runs shown in a terminal: a progress bar per run (`sidecar run --wait`, the demo's pipeline view).

On a terminal the lines are redrawn in place; elsewhere (CI logs, pipes) a plain line is printed
when a run changes status, and a progress line at most every few seconds, so logs stay readable.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, TextIO

FINISHED = ("completed", "failed", "cancelled")
_UP_AND_CLEAR = "\x1b[{n}F"  # cursor to the start of the line n lines up
_CLEAR_LINE = "\x1b[2K"


def progress_bar(progress: dict[str, Any], width: int = 30) -> str:
    """`[#####.....]  42.0% 2100/5000 items  Fetching movies` from a Run's `progress`."""
    percent = progress.get("percent") or 0.0
    filled = int(width * percent / 100)
    total = progress.get("items_total")
    items = f"{progress['items_processed']}/{total}" if total else str(progress["items_processed"])
    step = progress.get("current_step") or ""
    return f"[{'#' * filled}{'.' * (width - filled)}] {percent:5.1f}% {items} items  {step}"[:120]


def format_duration(ms: int | None) -> str:
    seconds = (ms or 0) / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def result_summary(result: dict[str, Any] | None, limit: int = 6) -> str:
    """The non-zero counts of a run's result, `added 12, updated 3`; lists and nested objects left out.
    A job whose outside service has no key says which variable to set."""
    if isinstance((result or {}).get("not_configured"), str):
        return f"not configured: set {result['not_configured']}"  # type: ignore[index]
    parts = [
        f"{key.replace('_', ' ')} {value}"
        for key, value in (result or {}).items()
        if isinstance(value, int | float) and not isinstance(value, bool) and value
    ]
    return ", ".join(parts[:limit])


def finished_line(run: dict[str, Any]) -> str:
    line = f"{run['status']} in {format_duration(run['duration_ms'])}"
    if run["status"] == "completed":
        summary = result_summary(run["result"])
        return f"{line}: {summary}" if summary else line
    return f"{line}: {run['error'] or 'no reason recorded'}"


def run_line(run: dict[str, Any], label_width: int = 32) -> str:
    label = f"{run['job']:{label_width}}"
    if run["status"] in FINISHED:
        return f"{label} {finished_line(run)}"
    if run["status"] == "queued":
        return f"{label} queued"
    return f"{label} {progress_bar(run['progress'])}"


class RunsDisplay:
    """Shows a changing list of runs on `out` (a terminal: redrawn lines; anything else: plain lines)."""

    def __init__(self, out: TextIO, *, tty: bool | None = None, plain_interval_seconds: float = 5.0) -> None:
        self.out = out
        self.tty = out.isatty() if tty is None else tty
        self.plain_interval = plain_interval_seconds
        self._drawn_lines = 0
        self._last_status: dict[str, str] = {}
        self._last_plain_progress = time.monotonic()

    def update(self, runs: Sequence[dict[str, Any]]) -> None:
        if self.tty:
            self._redraw(runs)
        else:
            self._plain(runs)

    def _redraw(self, runs: Sequence[dict[str, Any]]) -> None:
        if self._drawn_lines:
            self.out.write(_UP_AND_CLEAR.format(n=self._drawn_lines))
        for run in runs:
            self.out.write(_CLEAR_LINE + run_line(run)[:160] + "\n")
        self._drawn_lines = len(runs)
        self.out.flush()

    def _plain(self, runs: Sequence[dict[str, Any]]) -> None:
        now = time.monotonic()
        progress_due = now - self._last_plain_progress >= self.plain_interval
        for run in runs:
            changed = self._last_status.get(run["id"]) != run["status"]
            self._last_status[run["id"]] = run["status"]
            if changed or (run["status"] == "running" and progress_due):
                self.out.write(run_line(run) + "\n")
        if progress_due:
            self._last_plain_progress = now
        self.out.flush()
