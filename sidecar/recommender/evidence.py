"""Which watched movies led to each pick: the ones contributing most through taste or co-watching."""

from __future__ import annotations

import numpy as np

from sidecar.recommender.cowatch import CoWatch, cowatch_counts
from sidecar.recommender.data import Catalog, Evidence, History, Pick
from sidecar.recommender.weights import reference_weights


def _cowatch_cosine(cowatch: CoWatch, watched: np.ndarray, picked: np.ndarray) -> np.ndarray:
    both = cowatch_counts(cowatch, watched, picked)
    viewers = np.maximum(cowatch.movie_viewers, 1.0)
    return both / np.sqrt(np.outer(viewers[watched], viewers[picked]))


def attach_evidence(
    catalog: Catalog,
    history: History,
    cowatch: CoWatch | None,
    picks: list[Pick],
    half_life_days: float,
    count: int,
) -> None:
    """Fill each pick's evidence: top watched movies by weight × (vector similarity + co-watch cosine)."""
    if not picks or len(history) == 0:
        return
    picked = np.array([p.item for p in picks])
    similarity = catalog.vectors[history.items] @ catalog.vectors[picked].T  # (watched, picks)
    strength = np.maximum(similarity, 0.0)
    if cowatch is not None and cowatch.active_users > 1:
        strength = strength + _cowatch_cosine(cowatch, history.items, picked)
    strength *= reference_weights(history, half_life_days)[:, None]
    top = np.argsort(-strength, axis=0, kind="stable")[:count]
    for column, pick in enumerate(picks):
        pick.evidence = [
            Evidence(item=int(history.items[row]), similarity=float(similarity[row, column]))
            for row in top[:, column]
        ]
