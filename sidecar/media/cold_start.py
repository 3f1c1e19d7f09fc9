"""Picks for a user with no history of one kind, from their taste in another kind that lives in the
same embedding space (a viewer with movie plays and no series plays gets series picks).

The other kind's watched items are appended to this kind's catalogue as rows that can never be
picked, and become the user's history (`borrowed_taste`); `sidecar.recommender.cold_start` then
blends closeness to that taste, this kind's popularity and the cross-kind model fitted here from the
users who have both kinds ("people who watched these films started these shows").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sidecar.media.recommend_data import RunData, cowatch_from_plays
from sidecar.recommender.cross_kind import CrossKind, fit_cross_kind
from sidecar.recommender.data import Catalog, History, Plays, build_history
from sidecar.recommender.ease import plays_fingerprint


@dataclass(frozen=True)
class Borrowed:
    """One user's taste in the other kind, in the shape the cold-start recommender reads."""

    catalog: Catalog  # the target catalogue + the user's source items (never picked)
    history: History  # rows of `catalog` (the appended ones)
    source_rows: np.ndarray  # the same items' rows in the source catalogue, row for row


def borrowed_taste(target: Catalog, source: Catalog, plays: Plays, now: float) -> Borrowed | None:
    """`target` + the user's watched `source` items as unpickable rows, with that history; None when
    the user has no usable history there either."""
    own = build_history(source, plays, now)
    if len(own) == 0 or target.vectors.shape[1] != source.vectors.shape[1]:
        return None
    rows = own.items
    offset = len(target)
    ids = target.ids + tuple(f"{source.ids[r]}" for r in rows)
    combined = Catalog(
        ids=ids,
        titles=target.titles + tuple(source.titles[r] for r in rows),
        vectors=np.vstack([target.vectors, source.vectors[rows]]),
        genres=np.vstack([target.genres, np.zeros((len(rows), target.genres.shape[1]), dtype=bool)]),
        genre_names=target.genre_names,
        community_rating=np.concatenate([target.community_rating, np.full(len(rows), np.nan, np.float32)]),
        recommendable=np.concatenate([target.recommendable, np.zeros(len(rows), dtype=bool)]),
        index={**target.index, **{ids[offset + i]: offset + i for i in range(len(rows))}},
    )
    history = History(
        items=offset + np.arange(len(rows), dtype=np.int64),
        play_counts=own.play_counts,
        favourite=own.favourite,
        user_rating=own.user_rating,
        days_ago=own.days_ago,
        excluded=offset + np.arange(len(rows), dtype=np.int64),
    )
    return Borrowed(combined, history, rows)


@dataclass(frozen=True)
class CachedCrossKind:
    fingerprint: str
    model: CrossKind | None


def cross_kind_model(
    target: RunData, source: RunData, scale: float, cache: dict[str, Any] | None = None, key: str = ""
) -> CrossKind | None:
    """The cross-kind model over the users with plays of both kinds; reused from `cache[key]` (the
    worker's resources) while both kinds' plays are the same."""
    users = sorted(set(target.plays_by_user) & set(source.plays_by_user))
    source_matrix = cowatch_from_plays(source.catalog, {u: source.plays_by_user[u] for u in users}).matrix
    target_matrix = cowatch_from_plays(target.catalog, {u: target.plays_by_user[u] for u in users}).matrix
    if cache is None:
        return fit_cross_kind(source_matrix, target_matrix, scale)
    fingerprint = plays_fingerprint(source_matrix, scale) + plays_fingerprint(target_matrix, scale)
    cached = cache.get(key)
    if isinstance(cached, CachedCrossKind) and cached.fingerprint == fingerprint:
        return cached.model
    model = fit_cross_kind(source_matrix, target_matrix, scale)
    cache[key] = CachedCrossKind(fingerprint, model)
    return model
