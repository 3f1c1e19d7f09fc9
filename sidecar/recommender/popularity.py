"""The popularity baseline: the unplayed items most users on the server have played."""

from __future__ import annotations

import numpy as np

from sidecar.recommender.cowatch import CoWatch
from sidecar.recommender.data import Catalog, History, Pick, candidate_mask


def recommend_popular(
    catalog: Catalog, history: History, cowatch: CoWatch, n: int, tie_break: np.ndarray | None = None
) -> list[Pick]:
    """Most viewers first; equal counts in the order of `tie_break` (e.g. a seeded random draw).

    Without it ties would fall in catalogue (id) order, which on MovieLens tracks MovieLens-wide
    popularity and flatters the baseline on a small server.
    """
    viewers = np.where(candidate_mask(catalog, history), cowatch.movie_viewers, -1.0)
    second = np.zeros(len(viewers)) if tie_break is None else -np.asarray(tie_break)
    order = np.lexsort((second, -viewers))[:n]
    order = order[viewers[order] >= 0]
    top = max(float(cowatch.movie_viewers.max(initial=0)), 1.0)
    return [
        Pick(item=int(i), score=float(viewers[i] / top), breakdown={"viewers": float(viewers[i])})
        for i in order
    ]
