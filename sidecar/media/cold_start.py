"""Picks for a user with no history of one kind, from their taste in another kind that lives in the
same embedding space (a viewer with movie plays and no series plays gets series picks).

The other kind's watched items are appended to this kind's catalogue as rows that can never be
picked, and become the user's history; the shared recommender then scores this kind's items against
that taste as usual. Co-watching is left out (it counts this kind's viewers, not the other's).
"""

from __future__ import annotations

import numpy as np

from sidecar.recommender.data import Catalog, History, Plays, build_history


def borrowed_taste(
    target: Catalog, source: Catalog, plays: Plays, now: float
) -> tuple[Catalog, History] | None:
    """(`target` + the user's watched `source` items as unpickable rows, that history), or None when
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
    return combined, history
