"""The popularity baseline: the unwatched movies most users on the server have watched."""

from __future__ import annotations

import numpy as np

from sidecar.recommender.cowatch import CoWatch
from sidecar.recommender.data import Catalog, History, Pick, candidate_mask


def recommend_popular(catalog: Catalog, history: History, cowatch: CoWatch, n: int) -> list[Pick]:
    viewers = np.where(candidate_mask(catalog, history), cowatch.movie_viewers, -1.0)
    order = np.argsort(-viewers, kind="stable")[:n]
    order = order[viewers[order] >= 0]
    top = max(float(cowatch.movie_viewers.max(initial=0)), 1.0)
    return [
        Pick(item=int(i), score=float(viewers[i] / top), breakdown={"viewers": float(viewers[i])})
        for i in order
    ]
