"""Our recommender: taste centroids + co-watching + popularity prior + rating, then MMR selection.

Every pick's `breakdown` holds each additive contribution (they sum to `relevance`), the raw
signals behind them, and the diversity penalty (`score = relevance − diversity_penalty`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sidecar.recommender.community import community_rating_score
from sidecar.recommender.cowatch import CoWatch, cowatch_scores
from sidecar.recommender.data import Catalog, History, Pick, candidate_mask
from sidecar.recommender.evidence import attach_evidence
from sidecar.recommender.selection import mmr_select, top_pool
from sidecar.recommender.taste import centroid_count, taste_centroids
from sidecar.recommender.weights import reference_weights


@dataclass(frozen=True)
class OursParams:
    half_life_days: float = 365.0  # recency of watched movies in the taste weights
    per_centroid: int = 12  # watched movies per taste centroid
    max_centroids: int = 5
    weight_content: float = 0.35
    weight_cowatch: float = 0.45  # at full confidence; the unused share goes to content
    cowatch_half_users: float = 20.0  # users on the server at which co-watching gets half its weight
    user_power: float = 1.0
    weight_popularity: float = 0.15
    sparse_popularity: float = 0.15  # extra popularity for users with little history...
    sparse_history: float = 20.0  # ...halved at this many watched movies
    weight_rating: float = 0.05
    diversity: float = 0.05
    pool_factor: int = 4
    min_pool: int = 200
    evidence_count: int = 3


DEFAULT_PARAMS = OursParams()


@dataclass(frozen=True)
class Signals:
    """Per-movie signals for one user, each 0-1 over the candidates, plus the blend weights."""

    taste_similarity: np.ndarray  # raw max cosine to a taste centroid
    content: np.ndarray
    cowatch: np.ndarray
    popularity: np.ndarray
    rating: np.ndarray
    weights: dict[str, float]


def _scaled(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Min-max to 0-1 over the candidates (all zeros if they are all equal)."""
    if not mask.any():
        return np.zeros_like(values)
    low, high = values[mask].min(), values[mask].max()
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


def cowatch_confidence(cowatch: CoWatch | None, half_users: float) -> float:
    """How far to trust co-watching: other viewers / (other viewers + half_users)."""
    if cowatch is None:
        return 0.0
    others = max(cowatch.active_users - 1, 0)
    return others / (others + half_users)


def blend_weights(history: History, confidence: float, params: OursParams) -> dict[str, float]:
    cowatch = params.weight_cowatch * confidence
    sparse = params.sparse_popularity * params.sparse_history / (params.sparse_history + len(history))
    return {
        "content": params.weight_content + params.weight_cowatch - cowatch,
        "co_watch": cowatch,
        "popularity": params.weight_popularity + sparse,
        "rating": params.weight_rating,
    }


def user_signals(
    catalog: Catalog, history: History, cowatch: CoWatch | None, mask: np.ndarray, params: OursParams
) -> Signals:
    weights = reference_weights(history, params.half_life_days)
    watched_vectors = catalog.vectors[history.items]
    k = centroid_count(len(history), params.per_centroid, params.max_centroids)
    centroids, _mass = taste_centroids(watched_vectors, weights, k)
    taste_similarity = (catalog.vectors @ centroids.T).max(axis=1)
    confidence = cowatch_confidence(cowatch, params.cowatch_half_users)
    if cowatch is not None and confidence > 0:
        cowatch_raw = cowatch_scores(cowatch, history.items, weights, params.user_power)
        popularity = cowatch.popularity()
    else:
        cowatch_raw = popularity = np.zeros(len(catalog))
    return Signals(
        taste_similarity=taste_similarity,
        content=_scaled(taste_similarity, mask),
        cowatch=_scaled(cowatch_raw, mask),
        popularity=popularity,
        rating=community_rating_score(catalog.community_rating),
        weights=blend_weights(history, confidence, params),
    )


def _breakdown(signals: Signals, item: int, penalty: float) -> dict[str, float]:
    parts = {
        "content": signals.weights["content"] * float(signals.content[item]),
        "co_watch": signals.weights["co_watch"] * float(signals.cowatch[item]),
        "popularity": signals.weights["popularity"] * float(signals.popularity[item]),
        "rating": signals.weights["rating"] * float(signals.rating[item]),
    }
    relevance = sum(parts.values())
    return {
        **parts,
        "relevance": relevance,
        "diversity_penalty": penalty,
        "taste_similarity": float(signals.taste_similarity[item]),
        "co_watch_signal": float(signals.cowatch[item]),
        "popularity_signal": float(signals.popularity[item]),
    }


def recommend_ours(
    catalog: Catalog,
    history: History,
    cowatch: CoWatch | None,
    n: int,
    params: OursParams = DEFAULT_PARAMS,
    with_evidence: bool = True,
) -> list[Pick]:
    """The top `n` unwatched movies for one user, most recommended first."""
    mask = candidate_mask(catalog, history)
    if len(history) == 0 or not mask.any():
        return []
    signals = user_signals(catalog, history, cowatch, mask, params)
    w = signals.weights
    relevance = (
        w["content"] * signals.content
        + w["co_watch"] * signals.cowatch
        + w["popularity"] * signals.popularity
        + w["rating"] * signals.rating
    )
    pool = top_pool(relevance, mask, max(params.pool_factor * n, params.min_pool))
    picks = []
    for position, penalty in mmr_select(relevance[pool], catalog.vectors[pool], n, params.diversity):
        item = int(pool[position])
        breakdown = _breakdown(signals, item, penalty)
        picks.append(Pick(item=item, score=breakdown["relevance"] - penalty, breakdown=breakdown))
    if with_evidence:
        attach_evidence(catalog, history, cowatch, picks, params.half_life_days, params.evidence_count)
    return picks
