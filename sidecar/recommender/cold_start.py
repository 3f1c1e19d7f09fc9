"""Picks for a user with no history of one kind, from their plays of another (series from movies).

Three signals, each 0-1 over the candidates, blended with `ColdStartParams` (chosen on a validation
split, bench/quality_series.py):

- `co_watch`: the cross-kind model (`cross_kind.py`): what the users with both kinds who watched
  the same films started;
- `content`: closeness to the user's taste centroids of the other kind (same embedding space);
- `popularity`: how many of this kind's viewers started it.

`catalog` is the target kind's catalogue with the user's source items appended as rows that can
never be picked (`sidecar.media.cold_start.borrowed_taste`), and `history` points at those rows.
The breakdown has the same parts as `ours` (recency and rating 0), so explanations and the stored
breakdown read the same; a pick carried by the cross-kind model names the films that led to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sidecar.recommender.cross_kind import CrossKind
from sidecar.recommender.data import COMPONENTS, Catalog, Evidence, History, Pick, candidate_mask
from sidecar.recommender.evidence import attach_evidence
from sidecar.recommender.ours import DEFAULT_PARAMS, content_signals, min_max_over, over_best
from sidecar.recommender.selection import mmr_select, top_pool
from sidecar.recommender.weights import reference_weights


@dataclass(frozen=True)
class ColdStartParams:
    cross: float = 1.0
    content: float = 0.0
    popularity: float = 0.1
    cross_scale: float = 10.0  # ridge λ of the cross-kind model (rows are unit length)
    diversity: float = 0.05
    pool: int = 200
    evidence_count: int = 3


DEFAULT_COLD_START = ColdStartParams()


def _padded(values: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size, dtype=np.float64)
    out[: len(values)] = values
    return out


def cold_start_weights(has_cross: bool, has_popularity: bool, params: ColdStartParams) -> dict[str, float]:
    """The blend; a missing signal (nobody has both kinds, nobody watches this kind) weighs 0."""
    weights = dict.fromkeys(COMPONENTS, 0.0)
    weights["co_watch"] = params.cross if has_cross else 0.0
    weights["content"] = params.content if (has_cross or has_popularity) else 1.0  # alone: content
    weights["popularity"] = params.popularity if has_popularity else 0.0
    return weights


def _cross_evidence(
    catalog: Catalog,
    cross: CrossKind,
    source_rows: np.ndarray,
    history: History,
    picks: list[Pick],
    count: int,
) -> None:
    """Evidence of cross-kind picks: the played source items that added most to each score."""
    columns = np.searchsorted(cross.targets, [p.item for p in picks])
    # contribution of source item i to target j: Σ_u S[u,i] · W[u,j] (the query's 1/√m is common)
    share = (cross.source[:, source_rows].T @ cross.weights[:, columns]).astype(np.float64)
    for column, pick in enumerate(picks):
        best = np.argsort(-share[:, column], kind="stable")[:count]
        rows = [int(history.items[r]) for r in best if share[r, column] > 0]
        pick.evidence = [Evidence(item=r, similarity=float(catalog.vectors[r] @ catalog.vectors[pick.item]))
                         for r in rows]  # fmt: skip


def recommend_cold_start(
    catalog: Catalog,
    history: History,
    source_rows: np.ndarray,
    cross: CrossKind | None,
    popularity: np.ndarray,
    n: int,
    params: ColdStartParams = DEFAULT_COLD_START,
    with_evidence: bool = True,
) -> list[Pick]:
    """The top `n` items for a user known only by another kind's plays. `source_rows[i]` is the
    source catalogue row of `history.items[i]`; `popularity` covers the target rows (0-1)."""
    mask = candidate_mask(catalog, history)
    if len(history) == 0 or not mask.any():
        return []
    taste, _recent = content_signals(catalog, history, DEFAULT_PARAMS)
    collab = np.zeros(len(catalog))
    if cross is not None:
        collab = _padded(cross.scores(source_rows, len(catalog) - len(history)), len(catalog))
    signals = {
        "co_watch": over_best(collab, mask),
        "content": min_max_over(taste, mask),
        "recency": np.zeros(len(catalog)),
        "popularity": _padded(popularity, len(catalog)),
        "rating": np.zeros(len(catalog)),
    }
    weights = cold_start_weights(cross is not None and collab.any(), bool(popularity.any()), params)
    relevance = sum(weights[name] * signals[name] for name in COMPONENTS)
    pool = top_pool(relevance, mask, max(4 * n, params.pool))
    picks = []
    for position, penalty in mmr_select(relevance[pool], catalog.vectors[pool], n, params.diversity):
        item = int(pool[position])
        parts = {name: weights[name] * float(signals[name][item]) for name in COMPONENTS}
        total = sum(parts.values())
        breakdown = {**parts, "relevance": total, "diversity_penalty": penalty,
                     "taste_similarity": float(taste[item]), "co_watch_signal": float(signals["co_watch"][item]),
                     "popularity_signal": float(signals["popularity"][item])}  # fmt: skip
        picks.append(Pick(item=item, score=total - penalty, breakdown=breakdown))
    if with_evidence and picks:
        attach_evidence(catalog, history, None, np.ones(len(history)), reference_weights(history), picks,
                        params.evidence_count)  # fmt: skip
        carried = [p for p in picks if p.carried_by == "co_watch"]
        if cross is not None and carried:
            _cross_evidence(catalog, cross, source_rows, history, carried, params.evidence_count)
    return picks
