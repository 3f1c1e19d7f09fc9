"""What a user's policy hides beyond libraries: parental rating and tags, as the servers decide it.

Modelled on Jellyfin's `MediaBrowser.Controller/Entities/BaseItem.cs`:
* `IsVisibleViaTags`: an item with any of the user's BlockedTags is hidden; with AllowedTags set, an
  item needs at least one of them (tags compared case-insensitively after trimming);
* `IsParentalAllowed`: an unrated item (or one whose rating the server cannot score) is shown unless
  the policy blocks unrated items of its kind (`BlockUnratedItems`); a rated one needs
  `score < MaxParentalRating`, or an equal score with no larger sub-score (`MaxParentalSubRating`).
Scores come from `Emby.Server.Implementations/Localization/Ratings/us.json` (the US table, the
simulator's only country). Emby is closed source; it documents the same policy fields, and its
`IsTagBlockingModeInclusive` turns BlockedTags into an allow-list: modelled so.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# (score, sub-score) by rating string, from Jellyfin's ratings/us.json.
US_RATINGS: dict[str, tuple[int, int]] = {
    **dict.fromkeys(("APPROVED", "G", "TV-G", "TV-Y"), (0, 0)),
    "TV-Y7": (7, 0),
    "TV-Y7-FV": (7, 1),
    **dict.fromkeys(("PG", "TV-PG"), (10, 0)),
    "PG-13": (13, 0),
    "TV-14": (14, 0),
    **dict.fromkeys(("R", "TV-MA"), (17, 0)),
    **dict.fromkeys(("NC-17", "X", "XXX"), (18, 0)),
}


def _clean(tags: Iterable[Any]) -> set[str]:
    return {str(t).strip().casefold() for t in tags if str(t).strip()}


def visible_via_tags(policy: dict[str, Any], tags: Iterable[str], *, emby: bool) -> bool:
    blocked = _clean(policy.get("BlockedTags") or [])
    allowed = _clean(policy.get("AllowedTags") or [])
    if emby and policy.get("IsTagBlockingModeInclusive"):
        blocked, allowed = set(), blocked
    item_tags = _clean(tags)
    if blocked & item_tags:
        return False
    return not allowed or bool(allowed & item_tags)


def parental_allowed(policy: dict[str, Any], rating: str | None, item_type: str) -> bool:
    score = US_RATINGS.get((rating or "").strip().upper())
    if score is None:  # unrated, or a rating the server cannot score
        return item_type not in (policy.get("BlockUnratedItems") or [])
    limit = policy.get("MaxParentalRating")
    if limit is None:
        return True
    if score[0] != limit:
        return score[0] < limit
    sub_limit = policy.get("MaxParentalSubRating")
    return sub_limit is None or score[1] <= sub_limit


def item_visible(policy: dict[str, Any], *, rating: str | None, tags: Iterable[str], item_type: str,
                 emby: bool) -> bool:  # fmt: skip
    return visible_via_tags(policy, tags, emby=emby) and parental_allowed(policy, rating, item_type)
