"""Our recommender: collaborative (EASE) + taste centroids + recency + popularity prior + rating, MMR.

The blend moves with evidence. How much the server's plays can say grows with its users:
confidence = others / (others + `collab_half_users`), and each weight slides from its home value
(a few users) to its server value (hundreds). A user with little history leans on popularity.
Every weight and λ were chosen on a validation split carved from the history (`bench.quality`).

Every pick's `breakdown` holds each additive contribution (they sum to `relevance`), the raw
signals behind them, and the diversity penalty (`score = relevance − diversity_penalty`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sidecar.recommender.collaborative import ServerPlays, query_weights
from sidecar.recommender.community import UNKNOWN_RATING_SCORE, community_rating_lift
from sidecar.recommender.content import ContentQuery, closeness
from sidecar.recommender.data import BOOSTS, COMPONENTS, Catalog, History, Pick, candidate_mask
from sidecar.recommender.evidence import attach_evidence
from sidecar.recommender.franchise import franchise_signal
from sidecar.recommender.selection import mmr_select, top_pool
from sidecar.recommender.taste import centroid_count, taste_centroids
from sidecar.recommender.weights import reference_weights


@dataclass(frozen=True)
class BlendWeights:
    co_watch: float
    content: float
    recency: float
    popularity: float
    rating: float


@dataclass(frozen=True)
class OursParams:
    half_life_days: float = 365.0  # recency of watched items in the taste weights
    per_centroid: int = 12  # watched items per taste centroid
    max_centroids: int = 5
    taste_limit: int = 500  # taste centroids from at most this many latest plays (bounds a long history)
    recent_count: int = 20  # the latest plays behind the "recency" signal...
    recent_neighbours: int = 3  # ...of which the closest few count
    lambda_scale: float = 25.0  # EASE λ = scale × mean viewers per played item
    query_half_rank: float = 10.0  # EASE query: a play's weight halves every this many newer plays...
    query_floor: float = 0.2  # ...but never drops below this
    server: BlendWeights = BlendWeights(co_watch=1.0, content=0.0, recency=0.4, popularity=0.05, rating=0.0)
    home: BlendWeights = BlendWeights(co_watch=0.2, content=0.2, recency=1.0, popularity=0.1, rating=3.0)
    collab_half_users: float = 20.0  # other users at which the blend is half-way from home to server
    sparse_popularity: float = 0.0  # extra popularity for users with little history...
    sparse_rating: float = 0.0  # ...and extra community rating...
    sparse_history: float = 20.0  # ...both halved at this many watched items
    diversity: float = 0.05
    franchise: float = (
        0.1  # boost for the same collection as a watched title (hand-set: recommender/franchise.py)
    )
    pool_factor: int = 4
    min_pool: int = 200
    evidence_count: int = 3


DEFAULT_PARAMS = OursParams()
# Users scored together hold a few (users × catalogue) arrays: 2 M entries of each at most.
BATCH_ENTRIES = 2_000_000


@dataclass(frozen=True)
class Signals:
    """Per-item signals for one user, each 0-1 over the candidates, plus the blend weights."""

    taste_similarity: np.ndarray  # raw max cosine to a taste centroid
    co_watch: np.ndarray
    content: np.ndarray
    recency: np.ndarray
    popularity: np.ndarray
    rating: np.ndarray
    weights: dict[str, float]
    query: np.ndarray  # per history item: its weight in the collaborative query
    franchise: np.ndarray | None = None  # a boost (BOOSTS): weight in `weights` when present

    def relevance(self) -> np.ndarray:
        total = np.zeros(len(self.content))
        for name in self.parts():
            total += self.weights[name] * getattr(self, name)
        return total

    def parts(self) -> tuple[str, ...]:
        """The additive parts of the score: the blend, then the boosts this user has."""
        return COMPONENTS + tuple(name for name in BOOSTS if getattr(self, name) is not None)


def min_max_over(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Min-max to 0-1 over the candidates (all zeros if they are all equal)."""
    if not mask.any():
        return np.zeros_like(values)
    low = values.min(where=mask, initial=np.inf)  # = values[mask].min(), without the copy
    high = values.max(where=mask, initial=-np.inf)
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


def over_best(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Collaborative scores over the best candidate's, clipped to 0-1 (no signal → all zeros)."""
    high = values.max(where=mask, initial=0.0)
    return np.clip(values / high, 0.0, 1.0) if high > 0 else np.zeros_like(values)


def server_confidence(server: ServerPlays | None, half_users: float) -> float:
    """How far the server's plays can be trusted: other viewers / (other viewers + half_users)."""
    if server is None:
        return 0.0
    others = max(server.active_users - 1, 0)
    return others / (others + half_users)


def blend_weights(history_size: int, confidence: float, params: OursParams) -> dict[str, float]:
    """Home weights slide to server weights with confidence; thin histories lean on the priors."""
    home, server = params.home, params.server
    weights = {
        name: (1 - confidence) * getattr(home, name) + confidence * getattr(server, name)
        for name in COMPONENTS
    }
    if confidence == 0.0:
        weights["co_watch"] = weights["popularity"] = 0.0  # nobody else: both would be noise
    thinness = params.sparse_history / (params.sparse_history + history_size)
    weights["popularity"] += params.sparse_popularity * thinness
    weights["rating"] += params.sparse_rating * thinness
    return weights


def content_query(catalog: Catalog, history: History, params: OursParams) -> ContentQuery:
    """What one user asks the catalogue's vectors: taste centroids of the latest `taste_limit` plays,
    and the `recent_count` latest plays, each scaled by how much that play tells of the user's taste
    (favourite, own rating) over the heaviest one's."""
    weights = reference_weights(history, params.half_life_days)[: params.taste_limit]
    watched_vectors = catalog.vectors[history.items[: params.taste_limit]]  # the latest plays
    k = centroid_count(len(watched_vectors), params.per_centroid, params.max_centroids)
    centroids, _mass = taste_centroids(watched_vectors, weights, k)
    recent = history.items[: params.recent_count]
    recent_weights = weights[: len(recent)] / weights[: len(recent)].max()
    return ContentQuery(centroids, recent, recent_weights.astype(np.float32))


def content_signals_many(
    catalog: Catalog, histories: Sequence[History], params: OursParams
) -> list[tuple[np.ndarray, np.ndarray]]:
    """`content_signals` of every history, the cosines of a batch of users in one product."""
    queries = [content_query(catalog, history, params) for history in histories]
    return closeness(catalog.vectors, queries, params.recent_neighbours)


def content_signals(catalog: Catalog, history: History, params: OursParams) -> tuple[np.ndarray, np.ndarray]:
    """Per catalogue item: (max cosine to a taste centroid, closeness to the latest plays).

    Closeness to the latest plays is the mean of the `recent_neighbours` highest cosines to the
    `recent_count` most recent plays, each scaled by how much that play tells of the user's taste
    (favourite, own rating): close to one or two recent favourites beats close to their average.
    """
    return content_signals_many(catalog, [history], params)[0]


@dataclass(frozen=True)
class Shared:
    """What every user scored against the same catalogue and server shares (computed once)."""

    confidence: float
    popularity: np.ndarray
    rating: np.ndarray

    @classmethod
    def of(cls, catalog: Catalog, server: ServerPlays | None, params: OursParams) -> Shared:
        confidence = server_confidence(server, params.collab_half_users)
        collaborative = server is not None and server.ease is not None and confidence > 0
        return cls(
            confidence=confidence,
            popularity=server.cowatch.popularity() if collaborative else np.zeros(len(catalog)),  # type: ignore[union-attr]
            rating=community_rating_lift(catalog.community_rating),
        )


def _collaborative_many(
    catalog: Catalog,
    histories: Sequence[History],
    queries: Sequence[np.ndarray],
    server: ServerPlays | None,
    shared: Shared,
) -> list[np.ndarray]:
    """Per user, EASE scores over the catalogue (zeros when the server cannot say anything)."""
    if server is None or server.ease is None or shared.confidence <= 0:
        return [np.zeros(len(catalog)) for _ in histories]
    return server.ease.scores_many([h.items for h in histories], queries, len(catalog))


def user_signals(
    catalog: Catalog,
    history: History,
    mask: np.ndarray,
    content: tuple[np.ndarray, np.ndarray],
    collaborative: np.ndarray,
    query: np.ndarray,
    shared: Shared,
    params: OursParams,
) -> Signals:
    """One user's signals from what the batch computed for them (content closeness, EASE scores)."""
    taste_similarity, recent_similarity = content
    weights = blend_weights(len(history), shared.confidence, params)
    franchise = franchise_signal(catalog, history) if catalog.collections is not None else None
    if franchise is not None:
        weights["franchise"] = params.franchise
    return Signals(
        taste_similarity=taste_similarity,
        co_watch=over_best(collaborative, mask),
        content=min_max_over(taste_similarity, mask),
        recency=min_max_over(recent_similarity, mask),
        popularity=shared.popularity,
        rating=shared.rating,
        weights=weights,
        query=query,
        franchise=franchise,
    )


def _breakdown(signals: Signals, item: int, penalty: float) -> dict[str, float]:
    parts = {name: signals.weights[name] * float(getattr(signals, name)[item]) for name in signals.parts()}
    relevance = sum(parts.values())
    return {
        **parts,
        "relevance": relevance,
        "diversity_penalty": penalty,
        "taste_similarity": float(signals.taste_similarity[item]),
        "co_watch_signal": float(signals.co_watch[item]),
        "recency_signal": float(signals.recency[item]),
        "popularity_signal": float(signals.popularity[item]),
        "rating_signal": float(signals.rating[item]) + UNKNOWN_RATING_SCORE,  # the 0-1 score
    }


def _select(catalog: Catalog, signals: Signals, mask: np.ndarray, n: int, params: OursParams) -> list[Pick]:
    """The top `n` by relevance with MMR diversity, each with its breakdown."""
    relevance = signals.relevance()
    pool = top_pool(relevance, mask, max(params.pool_factor * n, params.min_pool))
    picks = []
    for position, penalty in mmr_select(relevance[pool], catalog.vectors[pool], n, params.diversity):
        item = int(pool[position])
        breakdown = _breakdown(signals, item, penalty)
        picks.append(Pick(item=item, score=breakdown["relevance"] - penalty, breakdown=breakdown))
    return picks


def _recommend_chunk(
    catalog: Catalog,
    histories: Sequence[History],
    server: ServerPlays | None,
    sizes: Sequence[int],
    params: OursParams,
    with_evidence: bool,
) -> list[list[Pick]]:
    masks = [candidate_mask(catalog, h) for h in histories]
    scored = [u for u, h in enumerate(histories) if len(h) and masks[u].any()]
    shared = Shared.of(catalog, server, params)
    queries = [query_weights(histories[u], params.query_half_rank, params.query_floor) for u in scored]
    content = content_signals_many(catalog, [histories[u] for u in scored], params)
    collaborative = _collaborative_many(catalog, [histories[u] for u in scored], queries, server, shared)
    out: list[list[Pick]] = [[] for _ in histories]
    cowatch = server.cowatch if server is not None else None
    for at, u in enumerate(scored):
        history, mask = histories[u], masks[u]
        signals = user_signals(
            catalog, history, mask, content[at], collaborative[at], queries[at], shared, params
        )
        picks = _select(catalog, signals, mask, sizes[u], params)
        if with_evidence:
            weights = reference_weights(history, params.half_life_days)
            attach_evidence(catalog, history, cowatch, signals.query, weights, picks, params.evidence_count)
        out[u] = picks
    return out


def recommend_many(
    catalog: Catalog,
    histories: Sequence[History],
    server: ServerPlays | None,
    n: int | Sequence[int],
    params: OursParams = DEFAULT_PARAMS,
    with_evidence: bool = True,
) -> list[list[Pick]]:
    """`recommend_ours` for every history (same picks, same scores) with the heavy products taken
    for many users at once: the content cosines in one matrix product, EASE's sparse ones together.
    Users go in chunks of BATCH_ENTRIES / catalogue size, which bounds the per-user arrays held."""
    sizes = [n] * len(histories) if isinstance(n, int) else list(n)
    step = max(1, BATCH_ENTRIES // max(len(catalog), 1))
    out: list[list[Pick]] = []
    for start in range(0, len(histories), step):
        chunk = slice(start, start + step)
        out += _recommend_chunk(catalog, histories[chunk], server, sizes[chunk], params, with_evidence)
    return out


def recommend_ours(
    catalog: Catalog,
    history: History,
    server: ServerPlays | None,
    n: int,
    params: OursParams = DEFAULT_PARAMS,
    with_evidence: bool = True,
) -> list[Pick]:
    """The top `n` unwatched items for one user, most recommended first."""
    return recommend_many(catalog, [history], server, n, params, with_evidence)[0]
