"""The text a show is embedded from: one vector per series, never per episode (series.md §5 #1:
the product this re-imagines embeds every episode and never reads those vectors)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sidecar.embeddings.text import add_language, add_list, people, trim, unique

OVERVIEW_MAX_CHARS = 1200
LEAD_ACTORS = 6
MAX_CREATORS = 3
MAX_STUDIOS = 3
MAX_KEYWORDS = 15


def _years(show: Mapping[str, Any]) -> str:
    start, end = show.get("year"), show.get("end_year")
    if start and end and end != start:
        return f" ({start}–{end})"
    if start and (show.get("status") or "").casefold() == "continuing":
        return f" ({start}–)"
    return f" ({start})" if start else ""


def _creators(raw: Any) -> list[str]:
    """Shows credit creators (Jellyfin's person type `Creator`), not directors."""
    if not isinstance(raw, list):
        return []
    return unique(
        p.get("name") for p in raw if isinstance(p, Mapping) and p.get("type") in ("Creator", "Director")
    )


def series_text(show: Mapping[str, Any]) -> str:
    """One line per facet of a `series` row (the fields its content_hash covers)."""
    title = (show.get("title") or "").strip() or "Untitled"
    lines = [f"TV series: {title}{_years(show)}"]
    original = (show.get("original_title") or "").strip()
    if original and original.casefold() != title.casefold():
        lines.append(f"Original title: {original}")
    add_list(lines, "Genres", show.get("genres"))
    add_language(lines, show.get("original_language"))
    # The server's metadata first; TMDb's (enrichment) where the server has none.
    studios = unique(show.get("studios"))
    networks = unique(show.get("networks"))
    if studios:
        lines.append(f"Network: {studios[0]}")
        add_list(lines, "Studios", studios[1:MAX_STUDIOS])
    elif networks:
        lines.append(f"Network: {networks[0]}")
    credits = people(show.get("people"))
    creators = _creators(show.get("people")) or unique(show.get("created_by"))
    actors = [p for p, role in credits if role == "actor"] or list(show.get("cast_names") or ())
    add_list(lines, "Created by", creators[:MAX_CREATORS])
    add_list(lines, "Starring", actors[:LEAD_ACTORS])
    keywords = [*(show.get("tags") or ()), *(show.get("enriched_keywords") or ())]
    add_list(lines, "Keywords", unique(keywords)[:MAX_KEYWORDS])
    overview = " ".join((show.get("overview") or "").split())
    if overview:
        lines.append(trim(overview, OVERVIEW_MAX_CHARS))
    return "\n".join(lines)
