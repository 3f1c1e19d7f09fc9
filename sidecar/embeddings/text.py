"""Helpers for the text an item is embedded from (each kind's text: e.g. sidecar/movies/text.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def people(raw: Any) -> list[tuple[str, str]]:
    """(name, "director"|"actor") in billing order, each name once per role."""
    found: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for person in raw if isinstance(raw, list) else []:
        if not isinstance(person, Mapping):
            continue
        name = str(person.get("name") or "").strip()
        kind = str(person.get("type") or "").casefold()
        kind = {"director": "director", "actor": "actor", "gueststar": "actor"}.get(kind, "")
        if name and kind and (name, kind) not in seen:
            seen.add((name, kind))
            found.append((name, kind))
    return found


def unique(values: Iterable[Any] | None) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for value in values or ():
        text = str(value).strip()
        if text and text.casefold() not in seen:
            seen.add(text.casefold())
            out.append(text)
    return out


def add_list(lines: list[str], label: str, values: Iterable[Any] | None) -> None:
    items = unique(values)
    if items:
        lines.append(f"{label}: {', '.join(items)}")


def trim(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:-")
    return cut + "…"
