"""The reference algorithm (the product's v0.7.8), kept as a named baseline for the quality harness.

One taste vector (weighted mean of watched embeddings), nearest unwatched neighbours, base score
0.4·similarity + 0.2·novelty + 0.2·rating, then greedy selection with genre diversity d = 0.2.
The spec leaves two details open; choices here: the candidate pool is the 4·N (at least 200)
nearest unwatched movies, and "genre overlap with already-picked" is the mean Jaccard overlap.
"""

from __future__ import annotations

import numpy as np

from sidecar.recommender.community import community_rating_score
from sidecar.recommender.data import Catalog, History, Pick, candidate_mask, unit_rows
from sidecar.recommender.genres import genre_novelty, mean_genre_overlap
from sidecar.recommender.weights import reference_weights

DIVERSITY = 0.2
POOL_FACTOR = 4
MIN_POOL = 200


def taste_vector(catalog: Catalog, history: History) -> np.ndarray:
    """Weighted mean of the watched movies' vectors, L2-normalised."""
    weights = reference_weights(history)
    mean = weights @ catalog.vectors[history.items]
    return unit_rows(mean[None, :])[0]


def nearest_unwatched(similarity: np.ndarray, mask: np.ndarray, k: int) -> np.ndarray:
    """Rows of the k most similar allowed movies, most similar first (exact scan)."""
    allowed = np.flatnonzero(mask)
    k = min(k, len(allowed))
    if k == 0:
        return allowed
    top = np.argpartition(-similarity[allowed], k - 1)[:k]
    chosen = allowed[top]
    return chosen[np.argsort(-similarity[chosen], kind="stable")]


def greedy_genre_diverse(
    genres: np.ndarray, pool: np.ndarray, base: np.ndarray, n: int, diversity: float = DIVERSITY
) -> list[tuple[int, float, float]]:
    """Pick one at a time: max of base·(1−d) + (1 − overlap with picked)·d. Returns (pool pos, value, overlap)."""
    remaining = list(range(len(pool)))
    picked_rows: list[int] = []
    chosen: list[tuple[int, float, float]] = []
    while remaining and len(chosen) < n:
        positions = np.array(remaining)
        overlap = mean_genre_overlap(genres, pool[positions], picked_rows)
        value = base[positions] * (1 - diversity) + (1 - overlap) * diversity
        best = int(np.argmax(value))
        position = remaining.pop(best)
        picked_rows.append(int(pool[position]))
        chosen.append((position, float(value[best]), float(overlap[best])))
    return chosen


def recommend_reference(catalog: Catalog, history: History, n: int, recent_limit: int = 50) -> list[Pick]:
    if len(history) == 0:
        return []
    similarity = catalog.vectors @ taste_vector(catalog, history)
    pool = nearest_unwatched(similarity, candidate_mask(catalog, history), max(POOL_FACTOR * n, MIN_POOL))
    novelty = genre_novelty(catalog, history, recent_limit)[pool]
    rating = community_rating_score(catalog.community_rating[pool])
    base = 0.4 * similarity[pool] + 0.2 * novelty + 0.2 * rating
    picks = []
    for position, value, overlap in greedy_genre_diverse(catalog.genres, pool, base, n):
        breakdown = {
            "similarity": float(similarity[pool[position]]),
            "novelty": float(novelty[position]),
            "rating": float(rating[position]),
            "base": float(base[position]),
            "genre_overlap": overlap,
        }
        picks.append(Pick(item=int(pool[position]), score=value, breakdown=breakdown))
    return picks
