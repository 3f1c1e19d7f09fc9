"""Diversity-aware greedy selection (maximal marginal relevance) over a candidate pool."""

from __future__ import annotations

import numpy as np


def top_pool(relevance: np.ndarray, mask: np.ndarray, size: int) -> np.ndarray:
    """Rows of the `size` most relevant allowed movies, best first."""
    allowed = np.flatnonzero(mask)
    size = min(size, len(allowed))
    if size == 0:
        return allowed
    top = allowed[np.argpartition(-relevance[allowed], size - 1)[:size]]
    return top[np.argsort(-relevance[top], kind="stable")]


def mmr_select(
    relevance: np.ndarray, vectors: np.ndarray, n: int, diversity: float
) -> list[tuple[int, float]]:
    """Pick n positions: each maximises relevance − diversity·(max cosine to anything picked).

    Returns (position, penalty) in pick order; the selection value never increases from one pick
    to the next, so it doubles as a monotone score.
    """
    similarity = vectors @ vectors.T
    closest = np.zeros(len(relevance))
    open_relevance = np.array(relevance, dtype=np.float64)  # −inf once picked
    chosen: list[tuple[int, float]] = []
    for _ in range(min(n, len(relevance))):
        best = int(np.argmax(open_relevance - diversity * closest))
        chosen.append((best, float(diversity * closest[best])))
        open_relevance[best] = -np.inf
        np.maximum(closest, similarity[best], out=closest)
    return chosen
