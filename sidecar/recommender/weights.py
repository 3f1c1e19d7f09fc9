"""How much each watched movie says about a user's taste (the reference formula)."""

from __future__ import annotations

import numpy as np

from sidecar.recommender.data import History

RECENCY_HALF_LIFE_DAYS = 180.0
RECENCY_FLOOR = 0.25
FAVOURITE_BOOST = 1.5


def recency_factor(days_ago: np.ndarray, half_life: float = RECENCY_HALF_LIFE_DAYS) -> np.ndarray:
    """0.5^(days/half-life), never below the floor; undated plays get the floor."""
    decayed = np.power(0.5, np.nan_to_num(days_ago, nan=np.inf) / half_life)
    return np.maximum(RECENCY_FLOOR, decayed)


def rating_factor(user_rating: np.ndarray) -> np.ndarray:
    """0.5 + 0.75·rating/10 for rated movies, 1 for unrated ones."""
    return np.where(np.isnan(user_rating), 1.0, 0.5 + 0.75 * np.nan_to_num(user_rating) / 10.0)


def reference_weights(history: History, half_life: float = RECENCY_HALF_LIFE_DAYS) -> np.ndarray:
    """(1 + 0.5·log10 plays) × favourite × rating × recency, per watched movie."""
    plays = 1.0 + 0.5 * np.log10(np.maximum(history.play_counts, 1.0))
    favourite = np.where(history.favourite, FAVOURITE_BOOST, 1.0)
    return (
        plays * favourite * rating_factor(history.user_rating) * recency_factor(history.days_ago, half_life)
    )
