"""Scoring a user's discovery candidates with their taste: really computed, never a default.

The user's taste is what the recommender uses: weighted spherical k-means centroids over the active
model's vectors of what they watched (`recommender.taste`). A candidate (a TMDb title not on the
server) is embedded with the same model from its TMDb title, genres and overview, and its taste
similarity is its highest cosine to a centroid. Aperture's discovery looked the vectors up among
library items after removing library items, so its "similarity" was always the 0.5 default
(spec/global-jobs.md §4 #6); here the cosine comes from the candidate's own vector, and the stored
breakdown carries it so a reader can check.

score = CONTENT · (taste similarity, min-max over the user's candidates)
      + SUPPORT · (how many of the user's seeds led to it, log-scaled)
      + POPULARITY · (TMDb popularity, log-scaled over the user's candidates): a small prior.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sidecar.recommender.data import History, unit_rows
from sidecar.recommender.taste import centroid_count, taste_centroids
from sidecar.recommender.weights import reference_weights

CONTENT = 0.75
SUPPORT = 0.15
POPULARITY = 0.10
PER_CENTROID = 12  # watched items per taste centroid (as the recommender)
MAX_CENTROIDS = 5
TASTE_LIMIT = 500  # latest plays the taste is made of


@dataclass(frozen=True)
class Taste:
    centroids: np.ndarray  # (k, d) unit rows


@dataclass(frozen=True)
class Scored:
    """One candidate's score and every part of it (row = the candidate's row in the inputs)."""

    row: int
    score: float
    breakdown: dict[str, float]


def user_taste(vectors: np.ndarray, history: History) -> Taste | None:
    """Centroids of the user's watched items (rows of `vectors`), None without history."""
    if len(history) == 0:
        return None
    weights = reference_weights(history)[:TASTE_LIMIT]
    watched = vectors[history.items[:TASTE_LIMIT]]
    k = centroid_count(len(watched), PER_CENTROID, MAX_CENTROIDS)
    centroids, _mass = taste_centroids(watched, weights, k)
    return Taste(centroids=centroids)


def popularity_prior(popularity: np.ndarray) -> np.ndarray:
    """log1p(popularity) over the largest, 0-1 (unknown = 0)."""
    logged = np.log1p(np.maximum(np.nan_to_num(popularity, nan=0.0), 0.0))
    top = logged.max(initial=0.0)
    return logged / top if top > 0 else np.zeros_like(logged)


def score_candidates(
    taste: Taste, vectors: np.ndarray, support: np.ndarray, prior: np.ndarray, n: int
) -> list[Scored]:
    """The `n` best candidates: `vectors` (m, d) their embeddings, `support` (m,) how many of the
    user's seeds led to each, `prior` (m,) the popularity prior."""
    if len(vectors) == 0:
        return []
    similarity = (unit_rows(vectors) @ taste.centroids.T).max(axis=1)
    low, high = float(similarity.min()), float(similarity.max())
    content = (similarity - low) / (high - low) if high > low else np.ones_like(similarity)
    seeds = np.log1p(support) / np.log1p(max(float(support.max()), 1.0))
    score = CONTENT * content + SUPPORT * seeds + POPULARITY * prior
    order = np.lexsort((-similarity, -score))[:n]  # ties: the closer title first
    return [
        Scored(
            row=int(i),
            score=float(score[i]),
            breakdown={
                "content": round(float(CONTENT * content[i]), 4),
                "support": round(float(SUPPORT * seeds[i]), 4),
                "popularity": round(float(POPULARITY * prior[i]), 4),
                "taste_similarity": round(float(similarity[i]), 4),
                "seeds": int(support[i]),
            },
        )
        for i in order
    ]
