"""The community rating (0-10) as a score, piecewise as in the reference algorithm."""

from __future__ import annotations

import numpy as np

UNKNOWN_RATING_SCORE = 0.4


def community_rating_score(rating: np.ndarray) -> np.ndarray:
    """≥8 → 0.8+0.1(x−8); 7–8 → 0.6+0.2(x−7); 6–7 → 0.4+0.2(x−6); 5–6 → 0.2+0.2(x−5); <5 → x/25."""
    x = np.nan_to_num(rating, nan=-1.0)
    score = np.select(
        [x >= 8, x >= 7, x >= 6, x >= 5, x >= 0],
        [0.8 + 0.1 * (x - 8), 0.6 + 0.2 * (x - 7), 0.4 + 0.2 * (x - 6), 0.2 + 0.2 * (x - 5), x / 25],
        default=UNKNOWN_RATING_SCORE,
    )
    return np.where(np.isnan(rating), UNKNOWN_RATING_SCORE, score)


def community_rating_lift(rating: np.ndarray) -> np.ndarray:
    """What a rating adds over an unknown one (score − 0.4): −0.4 to +0.6, 0 when unknown.

    The same ranking as the score (a constant apart), but a server without ratings, or an item
    without one, gets nothing from it, so the rating never "carries" a pick it says nothing about.
    """
    return community_rating_score(rating) - UNKNOWN_RATING_SCORE
