"""What every part of the demo (movies, series) prints and how it fails: one line at a time, a
pick's title and why it was picked, and a `DemoFailed` naming the run that did not complete."""

from __future__ import annotations

from typing import Any, TextIO


class DemoFailed(RuntimeError):
    """A step of the demo did not work; the message says which and where to look."""


def line(out: TextIO, text: str = "") -> None:
    out.write(text + "\n")
    out.flush()


def pick_title(pick: dict[str, Any], singular: str = "movie") -> str:
    """`Title (Year)` of a pick as GET /api/users/{id}/recommendations[/{kind}] answers it."""
    item = pick[singular]
    return f"{item['title']} ({item['year']})" if item.get("year") else item["title"]


def pick_why(pick: dict[str, Any]) -> str:
    if pick.get("explanation"):
        return str(pick["explanation"])
    evidence = pick.get("evidence") or []
    titles = [e.get("title") for e in evidence if isinstance(e, dict) and e.get("title")]
    return f"like {', '.join(titles[:2])}" if titles else ""


def raise_for_failed(runs: list[dict[str, Any]]) -> None:
    failed = [run for run in runs if run["status"] != "completed"]
    if failed:
        raise DemoFailed(f"{failed[0]['job']} {failed[0]['status']}: {failed[0]['error']}")
