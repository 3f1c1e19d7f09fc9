"""The text a movie is embedded from: what a person would read to decide whether it is their kind of film."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sidecar.embeddings.text import add_language, add_list, people, trim, unique

OVERVIEW_MAX_CHARS = 1200
LEAD_ACTORS = 5
MAX_DIRECTORS = 3
MAX_STUDIOS = 3
MAX_KEYWORDS = 15


def movie_text(movie: Mapping[str, Any]) -> str:
    """One line per facet of a `movies` row; facets it lacks are left out.

    The fields used here are the ones `movies.content_hash` covers (enrich-metadata renews the hash
    when the TMDb fields it adds change), so a changed hash means a changed text. Overviews are cut at a word boundary: long synopses add tokens, not meaning.
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
    add_list(lines, "Genres", movie.get("genres"))
    collection = (movie.get("collection_name") or "").strip()
    if collection:
        lines.append(f"Part of: {collection}")
    add_language(lines, movie.get("original_language"))
    # The server's credits first; TMDb's (enrichment) when the server has none.
    credits = people(movie.get("people"))
    directors = [p for p, role in credits if role == "director"] or list(movie.get("directors") or ())
    actors = [p for p, role in credits if role == "actor"] or list(movie.get("cast_names") or ())
    add_list(lines, "Directed by", directors[:MAX_DIRECTORS])
    add_list(lines, "Starring", actors[:LEAD_ACTORS])
    add_list(lines, "Studios", unique(movie.get("studios"))[:MAX_STUDIOS])
    keywords = [*(movie.get("tags") or ()), *(movie.get("enriched_keywords") or ())]
    add_list(lines, "Keywords", unique(keywords)[:MAX_KEYWORDS])
    overview = " ".join((movie.get("overview") or "").split())
    if overview:
        lines.append(trim(overview, OVERVIEW_MAX_CHARS))
    return "\n".join(lines)
