"""Plain baselines for the quality harness: EASE alone, item-kNN alone, and the top-rated list.

Each ranks every unplayed item by one score, with no content, recency or diversity: the bar the
blended recommender (`ours`) has to clear. Top-rated is the community-rating prior on its own.
"""

from __future__ import annotations

import numpy as np

from sidecar.recommender.cowatch import CoWatch, cowatch_scores
from sidecar.recommender.data import Catalog, History, Pick, candidate_mask
from sidecar.recommender.ease import Ease
from sidecar.recommender.selection import top_pool


def _ranked(scores: np.ndarray, mask: np.ndarray, n: int) -> list[Pick]:
    return [Pick(item=int(i), score=float(scores[i]), breakdown={}) for i in top_pool(scores, mask, n)]


def recommend_ease(catalog: Catalog, history: History, ease: Ease | None, n: int) -> list[Pick]:
    """EASE with every played item weighing 1 (Steck's formulation)."""
    mask = candidate_mask(catalog, history)
    if ease is None or len(history) == 0:
        return []
    return _ranked(ease.scores(history.items, np.ones(len(history)), len(catalog)), mask, n)


def recommend_item_knn(catalog: Catalog, history: History, cowatch: CoWatch, n: int) -> list[Pick]:
    """Item-kNN: Σ over played items of the cosine between the two items' viewer sets."""
    mask = candidate_mask(catalog, history)
    if len(history) == 0:
        return []
    return _ranked(cowatch_scores(cowatch, history.items, np.ones(len(history))), mask, n)


def recommend_top_rated(catalog: Catalog, history: History, n: int, tie_break: np.ndarray) -> list[Pick]:
    """Highest community rating first (unknown ratings last), equal ratings in `tie_break` order."""
    mask = candidate_mask(catalog, history)
    rating = np.nan_to_num(catalog.community_rating, nan=-1.0) + 1e-6 * np.asarray(tie_break)
    return _ranked(rating, mask, n)
