"""The text a movie is embedded from: what a person would read to decide whether it is their kind of film."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

OVERVIEW_MAX_CHARS = 1200
LEAD_ACTORS = 5
MAX_DIRECTORS = 3
MAX_STUDIOS = 3
MAX_KEYWORDS = 15


def movie_text(movie: Mapping[str, Any]) -> str:
    """One line per facet of a `movies` row; facets it lacks are left out.

    The fields used here are the ones `movies.content_hash` covers, so a changed hash means a
    changed text. Overviews are cut at a word boundary: long synopses add tokens, not meaning.
    """
    title = (movie.get("title") or "").strip() or "Untitled"
    year = movie.get("year")
    lines = [f"{title} ({year})" if year else title]
    original = (movie.get("original_title") or "").strip()
    if original and original.casefold() != title.casefold():
        lines.append(f"Original title: {original}")
    tagline = (movie.get("tagline") or "").strip()
    if tagline:
        lines.append(f"Tagline: {tagline}")
    _add_list(lines, "Genres", movie.get("genres"))
    people = _people(movie.get("people"))
    _add_list(lines, "Directed by", [p for p, kind in people if kind == "director"][:MAX_DIRECTORS])
    _add_list(lines, "Starring", [p for p, kind in people if kind == "actor"][:LEAD_ACTORS])
    _add_list(lines, "Studios", _unique(movie.get("studios"))[:MAX_STUDIOS])
    _add_list(lines, "Keywords", _unique(movie.get("tags"))[:MAX_KEYWORDS])
    overview = " ".join((movie.get("overview") or "").split())
    if overview:
        lines.append(_trim(overview, OVERVIEW_MAX_CHARS))
    return "\n".join(lines)


def _people(raw: Any) -> list[tuple[str, str]]:
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


def _unique(values: Iterable[Any] | None) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for value in values or ():
        text = str(value).strip()
        if text and text.casefold() not in seen:
            seen.add(text.casefold())
            out.append(text)
    return out


def _add_list(lines: list[str], label: str, values: Iterable[Any] | None) -> None:
    items = _unique(values)
    if items:
        lines.append(f"{label}: {', '.join(items)}")


def _trim(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:-")
    return cut + "…"
