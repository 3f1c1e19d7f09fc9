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


# ISO 639-1 codes (TMDb's `original_language`) a reader knows by name; others are shown as the code.
LANGUAGES = {
    "fr": "French", "de": "German", "ja": "Japanese", "ko": "Korean", "es": "Spanish", "it": "Italian",
    "zh": "Mandarin", "cn": "Cantonese", "hi": "Hindi", "ru": "Russian", "pt": "Portuguese", "sv": "Swedish",
    "da": "Danish", "no": "Norwegian", "fi": "Finnish", "nl": "Dutch", "pl": "Polish", "tr": "Turkish",
}  # fmt: skip


def add_language(lines: list[str], code: Any) -> None:
    """`Original language: Japanese` for a title not originally in English (enriched from TMDb)."""
    code = str(code or "").strip().lower()
    if code and code != "en":
        lines.append(f"Original language: {LANGUAGES.get(code, code)}")
