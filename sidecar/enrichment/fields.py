"""What enrichment keeps from a TMDb or OMDb answer (field names: ../shared/spec/global-jobs.md §3.1).

Answers are outside input: every field is checked for its type and anything unexpected is left out,
so a malformed answer stores less, never fails the item.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from sidecar.services.tmdb import TmdbKind
from sidecar.untrusted import clean_text

TOP_CAST = 8
TOP_WRITERS = 3
MAX_KEYWORDS = 30
WRITER_JOBS = frozenset({"Screenplay", "Writer", "Story", "Novel"})
CERTIFICATION_COUNTRY = "US"
THEATRICAL = 3  # release_dates type: 1 premiere, 2 limited, 3 theatrical, 4 digital, 5 physical, 6 TV
_PERCENT = re.compile(r"^(\d{1,3})%$")
_OUT_OF_100 = re.compile(r"^(\d{1,3})/100$")
NA = "N/A"


def _text(value: Any, limit: int = 300) -> str | None:
    return clean_text(value.strip())[:limit] or None if isinstance(value, str) else None


def _names(entries: Any, *, limit: int, where: Any = None) -> list[str]:
    names: list[str] = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and (where is None or where(entry)):
            name = _text(entry.get("name"))
            if name and name not in names:
                names.append(name)
        if len(names) >= limit:
            break
    return names


def _id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31 else None


@dataclass(frozen=True)
class TmdbFields:
    tmdb_id: int | None
    imdb_id: str | None
    tvdb_id: str | None
    collection_id: int | None
    collection_name: str | None
    original_language: str | None
    certification: str | None
    keywords: list[str]
    cast_names: list[str]
    directors: list[str]
    writers: list[str]
    created_by: list[str]
    networks: list[str]

    @property
    def data_hash(self) -> str:
        """Of every field that can reach the embedding text (ids left out: they never do)."""
        data = {
            k: v
            for k, v in asdict(self).items()
            if k not in ("tmdb_id", "imdb_id", "tvdb_id", "collection_id")
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]


def _certification(kind: TmdbKind, document: dict[str, Any]) -> str | None:
    """The US certification: a movie's theatrical one first (then any), a show's content rating."""
    if kind == "tv":
        ratings = (document.get("content_ratings") or {}).get("results")
        for entry in ratings if isinstance(ratings, list) else []:
            if isinstance(entry, dict) and entry.get("iso_3166_1") == CERTIFICATION_COUNTRY:
                return _text(entry.get("rating"), 20)
        return None
    countries = (document.get("release_dates") or {}).get("results")
    for country in countries if isinstance(countries, list) else []:
        if not isinstance(country, dict) or country.get("iso_3166_1") != CERTIFICATION_COUNTRY:
            continue
        dates = [
            d
            for d in country.get("release_dates") or []
            if isinstance(d, dict) and _text(d.get("certification"))
        ]
        dates.sort(key=lambda d: d.get("type") != THEATRICAL)
        return _text(dates[0].get("certification"), 20) if dates else None
    return None


def tmdb_fields(kind: TmdbKind, document: dict[str, Any]) -> TmdbFields:
    """The fields we keep from `/movie/{id}` or `/tv/{id}` with its appended documents."""
    collection = document.get("belongs_to_collection")
    collection = collection if isinstance(collection, dict) else {}
    keywords_doc = document.get("keywords") or {}
    # Movies: {"keywords": [...]}; TV: {"results": [...]}.
    keyword_list = (
        keywords_doc.get("keywords" if kind == "movie" else "results")
        if isinstance(keywords_doc, dict)
        else None
    )
    credits = document.get("credits") if isinstance(document.get("credits"), dict) else {}
    cast = sorted(
        (c for c in credits.get("cast") or [] if isinstance(c, dict)),
        key=lambda c: c.get("order") if isinstance(c.get("order"), int) else 1_000_000,
    )
    crew = credits.get("crew") or []
    external = document.get("external_ids") if isinstance(document.get("external_ids"), dict) else {}
    tvdb = external.get("tvdb_id")
    return TmdbFields(
        tmdb_id=_id(document.get("id")),
        imdb_id=_text(document.get("imdb_id") or external.get("imdb_id"), 20),
        tvdb_id=str(tvdb) if _id(tvdb) else None,
        collection_id=_id(collection.get("id")),
        collection_name=_text(collection.get("name")),
        original_language=_text(document.get("original_language"), 10),
        certification=_certification(kind, document),
        keywords=_names(keyword_list, limit=MAX_KEYWORDS),
        cast_names=_names(cast, limit=TOP_CAST),
        directors=_names(crew, limit=TOP_WRITERS, where=lambda c: c.get("job") == "Director"),
        writers=_names(crew, limit=TOP_WRITERS, where=lambda c: c.get("job") in WRITER_JOBS),
        created_by=_names(document.get("created_by"), limit=TOP_WRITERS),
        networks=_names(document.get("networks"), limit=TOP_WRITERS),
    )


@dataclass(frozen=True)
class OmdbFields:
    rotten_tomatoes: int | None
    metacritic: int | None
    imdb_rating: float | None
    awards: str | None


def omdb_fields(document: dict[str, Any]) -> OmdbFields:
    """Rotten Tomatoes (percent), Metacritic (0-100), IMDb rating and awards; "N/A" is unknown."""
    scores: dict[str, str] = {}
    for rating in document.get("Ratings") or []:
        if (
            isinstance(rating, dict)
            and isinstance(rating.get("Source"), str)
            and isinstance(rating.get("Value"), str)
        ):
            scores[rating["Source"]] = rating["Value"]
    tomatoes = _PERCENT.match(scores.get("Rotten Tomatoes", ""))
    metacritic = _OUT_OF_100.match(scores.get("Metacritic", "")) or re.fullmatch(
        r"(\d{1,3})", str(document.get("Metascore", ""))
    )
    try:
        imdb = float(document.get("imdbRating", NA))
    except (TypeError, ValueError):
        imdb = None
    awards = _text(document.get("Awards"))
    return OmdbFields(
        rotten_tomatoes=int(tomatoes.group(1)) if tomatoes else None,
        metacritic=int(metacritic.group(1)) if metacritic else None,
        imdb_rating=imdb if imdb is not None and 0 <= imdb <= 10 else None,
        awards=awards if awards and awards != NA else None,
    )
