"""Suggestions a user's parental limit lets through, judged by the server's own ratings.

The server decides what a restricted user sees (the watch-history step stores the ids it shows them
in `user_visible_items`); the official ratings of those items are the ratings their limit lets
through. A suggestion is kept for such a user only when its TMDb certification (US: TMDb's
`release_dates` for movies, `content_ratings` for shows; certifications are per country) is one of
them: no rating scale is copied here, and an uncertified title or an unknown rating is left out.
Users without a limit are not filtered, and their suggestions cost no certification request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sidecar.mediaserver.base import UserAccess

COUNTRY = "US"
# TMDb release types, in the order a certification is trusted: theatrical, limited, digital, ...
RELEASE_TYPE_ORDER = (3, 2, 4, 5, 6, 1)


def has_limit(access: Mapping[str, Any] | None) -> bool:
    """Whether the user's policy (`media_users.access`) has a parental rating limit or hides unrated
    items."""
    policy = UserAccess.from_json(access if isinstance(access, Mapping) else None)
    return policy.max_parental_rating is not None or bool(policy.block_unrated_items)


def movie_certification(answer: Mapping[str, Any]) -> str | None:
    """The US certification in a `/movie/{id}/release_dates` answer (or its append), None if none."""
    for country in answer.get("results") or []:
        if not isinstance(country, Mapping) or country.get("iso_3166_1") != COUNTRY:
            continue
        dates = [d for d in country.get("release_dates") or [] if isinstance(d, Mapping)]
        for release_type in RELEASE_TYPE_ORDER:
            for date in dates:
                text = str(date.get("certification") or "").strip()
                if date.get("type") == release_type and text:
                    return text.upper()
    return None


def tv_certification(answer: Mapping[str, Any]) -> str | None:
    """The US rating in a `/tv/{id}/content_ratings` answer, None if none."""
    for country in answer.get("results") or []:
        if isinstance(country, Mapping) and country.get("iso_3166_1") == COUNTRY:
            text = str(country.get("rating") or "").strip()
            return text.upper() or None
    return None


def allowed(certification: str | None, visible_ratings: frozenset[str]) -> bool:
    return certification is not None and certification.strip().upper() in visible_ratings
