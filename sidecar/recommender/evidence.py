"""Which played items led to each pick, through the signal that carried it.

A pick carried by the collaborative model ("co_watch" the largest part of its score) names the
played items that add most to its EASE score: "people who watched X and Y also watched this". Any
other pick names the played items closest to it in content, weighted by how much they tell of the
user's taste: "close to what you like in tone and genre".
"""

from __future__ import annotations

import numpy as np

from sidecar.recommender.data import Catalog, Evidence, History, Pick
from sidecar.recommender.ease import Ease


def _strongest(strength: np.ndarray, count: int) -> np.ndarray:
    """Rows of the `count` largest values, largest first (a partial sort: histories can be long)."""
    if len(strength) > count:
        strength_top = np.argpartition(-strength, count - 1)[:count]
    else:
        strength_top = np.arange(len(strength))
    return strength_top[np.argsort(-strength[strength_top], kind="stable")]


def attach_evidence(
    catalog: Catalog,
    history: History,
    ease: Ease | None,
    query: np.ndarray,
    taste_weights: np.ndarray,
    picks: list[Pick],
    count: int,
) -> None:
    """Fill each pick's evidence: the `count` strongest played items for its carrying signal."""
    if not picks or len(history) == 0:
        return
    picked = np.array([p.item for p in picks])
    similarity = catalog.vectors[history.items] @ catalog.vectors[picked].T  # (played, picks)
    by_content = np.maximum(similarity, 0.0) * taste_weights[:, None]
    by_collab = ease.contributions(history.items, query, picked) if ease is not None else None
    for column, pick in enumerate(picks):
        collab = by_collab is not None and pick.carried_by == "co_watch"
        strength = by_collab[:, column] if by_collab is not None and collab else by_content[:, column]
        top = _strongest(strength, count)
        pick.evidence = [
            Evidence(item=int(history.items[row]), similarity=float(similarity[row, column])) for row in top
        ]
