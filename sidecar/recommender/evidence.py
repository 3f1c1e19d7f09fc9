"""Which played items led to each pick, through the signal that carried it.

A pick carried by the collaborative model ("co_watch" the largest part of its score) names the
played items most watched by the same people (cosine over viewers, times the item's weight in the
collaborative query): "people who watched X and Y also watched this". Any other pick names the
played items closest to it in content, weighted by how much they tell of the user's taste: "close
to what you like in tone and genre"; a pick carried by the franchise boost names the watched titles
of its collection first.
"""

from __future__ import annotations

import numpy as np

from sidecar.recommender.cowatch import CoWatch
from sidecar.recommender.data import Catalog, Evidence, History, Pick
from sidecar.recommender.franchise import same_collection


def _cowatch_cosine(cowatch: CoWatch, played: np.ndarray, picked: np.ndarray) -> np.ndarray:
    """(played, picked): viewers of both / √(viewers of each).

    Viewers in common are whole numbers, the same however they are summed: one BLAS product when the
    viewing matrix is small enough to keep dense, else the played items' sparse rows against the
    picks' viewers (a third of the time of a sparse × sparse product).
    """
    dense = cowatch.dense_by_movie
    if dense is not None:
        both = dense[played] @ dense[picked].T
    else:
        both = cowatch.by_movie[played] @ cowatch.by_movie[picked].T.toarray()
    viewers = np.maximum(cowatch.movie_viewers, 1.0)
    return both / np.sqrt(np.outer(viewers[played], viewers[picked]))


def attach_evidence(
    catalog: Catalog,
    history: History,
    cowatch: CoWatch | None,
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
    strength = np.maximum(similarity, 0.0) * taste_weights[:, None]
    collab = np.array([p.carried_by == "co_watch" for p in picks])
    if cowatch is not None and collab.any():
        strength[:, collab] = _cowatch_cosine(cowatch, history.items, picked[collab]) * query[:, None]
    franchise = np.array([p.carried_by == "franchise" for p in picks])
    if franchise.any():  # the watched titles of the same collection come first
        strength[:, franchise] += same_collection(catalog, history.items, picked[franchise])
    count = min(count, len(history))
    top = np.argpartition(-strength, count - 1, axis=0)[:count]  # (count, picks), unordered
    order = np.argsort(-np.take_along_axis(strength, top, axis=0), axis=0, kind="stable")
    top = np.take_along_axis(top, order, axis=0)
    items = history.items[top].T.tolist()  # (picks, count), as Python numbers in one go
    similarities = np.take_along_axis(similarity, top, axis=0).T.tolist()
    for pick, rows, values in zip(picks, items, similarities, strict=True):
        pick.evidence = [Evidence(item=i, similarity=v) for i, v in zip(rows, values, strict=True)]
