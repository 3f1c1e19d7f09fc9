"""Choose λ and every blend weight on a validation split carved from the history, never the future.

Each user's history (what the sidecar sees) is split once more the same way as the protocol splits
the ratings: its newest 20 % (at least 1) become the validation future, the rest the validation
history; the server (or household) sees only validation histories. Parameters are scored on the even
user ids only, so the odd ids are held out twice (from the future, and from tuning).

Search is greedy in stages (coarse grids, each stage keeps the best of the previous), ranking by
Recall@50 + NDCG@10 of a plain top-N by relevance (no MMR). Signals are computed once per user
through the product's own functions, then blended as arrays.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from sidecar.recommender.collaborative import ServerPlays, query_weights, server_plays
from sidecar.recommender.community import community_rating_lift
from sidecar.recommender.cowatch import CoWatch
from sidecar.recommender.data import COMPONENTS, Catalog, History, Play, build_history, candidate_mask
from sidecar.recommender.ours import (
    DEFAULT_PARAMS,
    BlendWeights,
    OursParams,
    blend_weights,
    content_signals,
    min_max_over,
    over_best,
    server_confidence,
)

VALIDATION_SHARE = 0.2
LAMBDA_SCALES = (5.0, 10.0, 25.0, 50.0, 100.0)
QUERY_HALF_RANKS = (5.0, 10.0, 20.0)
SERVER_GRID = {
    "content": (0.0, 0.05, 0.1),
    "recency": (0.2, 0.4, 0.7, 1.0),
    "popularity": (0.0, 0.05, 0.1),
    "rating": (0.0, 0.02, 0.05, 0.1),
}
# Scores are scale-free: at home recency is held at 1 and the others move around it.
HOME_GRID = {
    "co_watch": (0.05, 0.1, 0.2, 0.4),
    "content": (0.0, 0.05, 0.1, 0.2),
    "recency": (1.0,),
    "popularity": (0.1, 0.2, 0.4, 0.7),
    "rating": (0.5, 1.0, 1.5, 2.0, 3.0),
}
SPARSE_POPULARITY = (0.0, 0.15, 0.3, 0.6)
SPARSE_RATING = (0.0, 0.25, 0.5, 1.0)
THIN_HISTORY = 5  # plays kept of each user to stand for a new user


@dataclass(frozen=True)
class Split:
    """The shape bench.quality's UserSplit has (kept apart to avoid an import cycle)."""

    user_id: str
    history: list[Play]
    future: frozenset[str]
    cutoff: float


def thin(split: Split, keep: int = THIN_HISTORY) -> Split:
    """The same user as if new: only their `keep` latest plays (the future stays the same)."""
    latest = sorted(split.history, key=lambda p: p.last_played or 0.0)[-keep:]
    return Split(split.user_id, latest, split.future, split.cutoff)


def carve_validation(split: Split) -> Split | None:
    """Newest 20 % (≥ 1) of the history as a validation future; None if too little is left."""
    ordered = sorted(split.history, key=lambda p: p.last_played or 0.0)
    n_future = max(1, math.floor(len(ordered) * VALIDATION_SHARE))
    past, future = ordered[:-n_future], ordered[-n_future:]
    if not past:
        return None
    cutoff = max(p.last_played or 0.0 for p in past)
    return Split(split.user_id, past, frozenset(p.item_id for p in future), cutoff)


# --- signals of one population (a server, or every household at once) ----------------------------
@dataclass
class Population:
    """Validation signals of every user, row u = user u; `group` says whose plays each user shares."""

    catalog: Catalog
    histories: list[History]
    futures: list[np.ndarray]
    masks: np.ndarray  # (users, items) bool
    taste: np.ndarray  # (users, items) raw max cosine to a taste centroid
    content: np.ndarray
    recency: np.ndarray
    popularity: np.ndarray
    rating: np.ndarray  # (items,)
    cowatches: list[CoWatch]  # one per group
    group: np.ndarray  # (users,) index into cowatches
    tuned: np.ndarray  # (users,) bool: the users parameters are scored on
    recall_k: int = 50  # the objective's Recall@k (the series harness scores lists of 20)
    # Collaborative scores already computed, by (λ scale, half rank, floor): repeated tuning passes
    # ask for the same ones.
    collab_cache: dict[tuple[float, float, float], np.ndarray] = field(default_factory=dict)
    # The best (λ scale, half rank, scores, objective) of the collaborative search, by (query floor, k).
    collab_search: dict[tuple[float, int], tuple[float, float, np.ndarray, float]] = field(
        default_factory=dict
    )


def population(
    catalog: Catalog,
    splits: Sequence[Split],
    groups: Sequence[Sequence[int]],
    cowatch_of: object,
    params: OursParams,
    server_splits: Sequence[Split] | None = None,
) -> Population:
    """`groups` partitions `splits` (one group = a server); `cowatch_of(group_splits)` builds co-watching.

    `server_splits` (row for row with `splits`) is what the server saw, when the users scored are
    thinned copies of them.
    """
    seen = splits if server_splits is None else server_splits
    n, size = len(splits), len(catalog)
    histories = [build_history(catalog, s.history, s.cutoff) for s in splits]
    masks = np.zeros((n, size), dtype=bool)
    taste, content, recency = (np.zeros((n, size), dtype=np.float32) for _ in range(3))
    for u, history in enumerate(histories):
        masks[u] = candidate_mask(catalog, history)
        taste_similarity, recent = content_signals(catalog, history, params)
        taste[u] = taste_similarity
        content[u] = min_max_over(taste_similarity, masks[u])
        recency[u] = min_max_over(recent, masks[u])
    group = np.zeros(n, dtype=np.int64)
    cowatches = []
    for g, members in enumerate(groups):
        group[list(members)] = g
        cowatches.append(cowatch_of([seen[u] for u in members]))  # type: ignore[operator]
    popularity = np.vstack([cowatches[g].popularity() for g in group]).astype(np.float32)
    return Population(
        catalog=catalog,
        histories=histories,
        futures=[np.array([catalog.index[m] for m in s.future if m in catalog.index]) for s in splits],
        masks=masks,
        taste=taste,
        content=content,
        recency=recency,
        popularity=popularity,
        rating=community_rating_lift(catalog.community_rating).astype(np.float32),
        cowatches=cowatches,
        group=group,
        tuned=np.array([s.user_id.isdigit() and int(s.user_id) % 2 == 0 for s in splits]),
    )


def _servers(pop: Population, lambda_scale: float) -> list[ServerPlays]:
    return [server_plays(cw, lambda_scale) for cw in pop.cowatches]


def collaborative(
    pop: Population, servers: list[ServerPlays], half_rank: float, floor: float, plain: bool
) -> np.ndarray:
    """(users, items) EASE scores over the best candidate's; `plain`: every play weighs 1."""
    out = np.zeros(pop.masks.shape, dtype=np.float32)
    for u, history in enumerate(pop.histories):
        ease = servers[pop.group[u]].ease
        if ease is None or len(history) == 0:
            continue
        query = np.ones(len(history)) if plain else query_weights(history, half_rank, floor)
        out[u] = over_best(ease.scores(history.items, query, len(pop.catalog)), pop.masks[u])
    return out


def chosen_collaborative(pop: Population, params: OursParams) -> np.ndarray:
    """`collaborative` with the λ and query recency of `params`, computed once per population."""
    key = (params.lambda_scale, params.query_half_rank, params.query_floor)
    if key not in pop.collab_cache:
        servers = _servers(pop, params.lambda_scale)
        pop.collab_cache[key] = collaborative(pop, servers, key[1], key[2], plain=False)
    return pop.collab_cache[key]


# --- scoring ---------------------------------------------------------------------------------------
LOG_DISCOUNT = 1.0 / np.log2(np.arange(2, 12))


def metrics(pop: Population, relevance: np.ndarray, users: np.ndarray) -> tuple[float, float]:
    """Mean Recall@k (hits / |future|, k = `pop.recall_k`) and NDCG@10 of a plain top k over `users`."""
    rows = np.flatnonzero(users)
    scores = np.where(pop.masks[rows], relevance[rows], -np.inf)
    k = pop.recall_k
    top = np.argpartition(-scores, k, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    recalls, ndcgs = [], []
    for row, u in enumerate(rows):
        future = pop.futures[u]
        if len(future) == 0:
            continue
        hits = np.isin(top[row], future)
        recalls.append(hits.sum() / len(future))
        ndcgs.append(float(hits[:10] @ LOG_DISCOUNT) / LOG_DISCOUNT[: min(10, len(future))].sum())
    return float(np.mean(recalls)), float(np.mean(ndcgs))


def _objective(pop: Population, relevance: np.ndarray) -> float:
    recall, ndcg = metrics(pop, relevance, pop.tuned)
    return recall + ndcg


def blend(pop: Population, collab: np.ndarray, params: OursParams) -> np.ndarray:
    """Relevance as `recommend_ours` computes it (its own blend_weights), for every user at once."""
    signals = {
        "co_watch": collab,
        "content": pop.content,
        "recency": pop.recency,
        "popularity": pop.popularity,
        "rating": pop.rating[None, :],
    }
    total = np.zeros(pop.masks.shape, dtype=np.float32)
    weights = np.array(
        [
            [w[name] for name in COMPONENTS]
            for w in (
                blend_weights(len(h), _confidence(pop, g, params), params)
                for h, g in zip(pop.histories, pop.group, strict=True)
            )
        ]
    )
    for k, name in enumerate(COMPONENTS):
        total += weights[:, k, None].astype(np.float32) * signals[name]
    return total


def _confidence(pop: Population, group: int, params: OursParams) -> float:
    cowatch = pop.cowatches[group]
    return server_confidence(ServerPlays(cowatch, None), params.collab_half_users)


def _best(candidates: Iterable[OursParams], score: object) -> tuple[OursParams, float]:
    best: tuple[OursParams, float] | None = None
    for params in candidates:
        value = score(params)  # type: ignore[operator]
        if best is None or value > best[1]:
            best = (params, value)
    assert best is not None
    return best


def _weights(base: BlendWeights, grid: dict[str, tuple[float, ...]]) -> Iterable[BlendWeights]:
    names = list(grid)
    for values in itertools.product(*(grid[n] for n in names)):
        yield replace(base, **dict(zip(names, values, strict=True)))


# --- the search ------------------------------------------------------------------------------------
def tune_ease_anchor(pop: Population) -> tuple[float, float]:
    """λ scale of the plain EASE anchor: (scale, validation objective)."""
    best = (LAMBDA_SCALES[0], -1.0)
    for scale in LAMBDA_SCALES:
        value = _objective(pop, collaborative(pop, _servers(pop, scale), 1.0, 1.0, plain=True))
        if value > best[1]:
            best = (scale, value)
    return best


def tune_server(
    pop: Population, start: OursParams = DEFAULT_PARAMS, grid: dict[str, tuple[float, ...]] = SERVER_GRID
) -> tuple[OursParams, dict[str, float]]:
    """λ scale and query recency with the collaborative part alone, then the server blend weights."""
    log: dict[str, float] = {}
    best_collab = pop.collab_search.get((start.query_floor, pop.recall_k))
    if best_collab is None:  # λ and query recency do not depend on the blend: searched once
        for scale in LAMBDA_SCALES:
            servers = _servers(pop, scale)
            for half in QUERY_HALF_RANKS:
                collab = collaborative(pop, servers, half, start.query_floor, plain=False)
                value = _objective(pop, collab)
                if best_collab is None or value > best_collab[3]:
                    best_collab = (scale, half, collab, value)
        assert best_collab is not None
        pop.collab_search[(start.query_floor, pop.recall_k)] = best_collab
    scale, half, collab, log["collaborative_alone"] = best_collab
    params = replace(start, lambda_scale=scale, query_half_rank=half)
    params, log["server_blend"] = _best(
        (replace(params, server=w) for w in _weights(params.server, grid)),
        lambda p: _objective(pop, blend(pop, collab, p)),
    )
    return params, log


def tune_thin(
    pop: Population, params: OursParams, full: Sequence[Population] = ()
) -> tuple[OursParams, dict[str, float]]:
    """Extra popularity and rating for a thin history: on users cut to their latest plays, plus the
    same users whole (`full`: the server, the households), so the rule helps a new user only where
    it does not cost everyone else."""
    collabs = [(q, chosen_collaborative(q, params)) for q in (pop, *full)]
    chosen, value = _best(
        (
            replace(params, sparse_popularity=p, sparse_rating=r)
            for p, r in itertools.product(SPARSE_POPULARITY, SPARSE_RATING)
        ),
        lambda p: sum(_objective(q, blend(q, collab, p)) for q, collab in collabs),
    )
    return chosen, {"thin_history_blend": value}


def tune_home(pop: Population, params: OursParams) -> tuple[OursParams, dict[str, float]]:
    """The home end of the blend, on households, with λ and the server weights already chosen."""
    collab = chosen_collaborative(pop, params)
    chosen, value = _best(
        (replace(params, home=w) for w in _weights(params.home, HOME_GRID)),
        lambda p: _objective(pop, blend(pop, collab, p)),
    )
    return chosen, {"home_blend": value}
