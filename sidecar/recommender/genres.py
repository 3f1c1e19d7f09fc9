"""Genre signals of the reference algorithm: novelty and overlap with what is already picked."""

from __future__ import annotations

import numpy as np

from sidecar.recommender.data import Catalog, History

NO_GENRE_NOVELTY = 0.5


def genre_novelty(catalog: Catalog, history: History, recent_limit: int) -> np.ndarray:
    """Per movie: how unlike the user's last `recent_limit` watched movies its genres are (0.3-0.9).

    a = mean over the movie's genres of 1 - (share of recent movies with that genre); squeezed by
    the share of its genres never seen recently: 0 → 0.4+0.2a, (0, 0.7) → 0.5+0.4a, ≥ 0.7 → 0.3+0.2a.
    """
    recent = history.items[:recent_limit]
    genres = catalog.genres.astype(np.float32)
    counts = genres[recent].sum(axis=0) if len(recent) else np.zeros(genres.shape[1], dtype=np.float32)
    share_seen = counts / max(len(recent), 1)
    per_movie = genres.sum(axis=1)
    has_genres = per_movie > 0
    safe_count = np.where(has_genres, per_movie, 1.0)
    a = (genres @ (1.0 - share_seen)) / safe_count
    unseen_share = (genres @ (counts == 0).astype(np.float32)) / safe_count
    novelty = np.where(
        unseen_share == 0, 0.4 + 0.2 * a, np.where(unseen_share < 0.7, 0.5 + 0.4 * a, 0.3 + 0.2 * a)
    )
    return np.where(has_genres, novelty, NO_GENRE_NOVELTY)


def mean_genre_overlap(genres: np.ndarray, candidates: np.ndarray, picked: list[int]) -> np.ndarray:
    """Mean Jaccard overlap of each candidate's genres with each already-picked movie's (0 if none)."""
    if not picked:
        return np.zeros(len(candidates))
    cand = genres[candidates].astype(np.float32)
    chosen = genres[picked].astype(np.float32)
    shared = cand @ chosen.T
    union = cand.sum(axis=1, keepdims=True) + chosen.sum(axis=1) - shared
    jaccard = np.divide(shared, union, out=np.zeros_like(shared), where=union > 0)
    return jaccard.mean(axis=1)
