"""What every algorithm takes (catalogue, history, co-watch) and returns (picks)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

SECONDS_PER_DAY = 86_400.0
# The additive parts of every score of ours, in the stored breakdown ("co_watch": the collaborative model).
COMPONENTS = ("co_watch", "content", "recency", "popularity", "rating")
# Additive parts outside the blend, each with its own fixed weight: "franchise" (the same TMDb
# collection as a title the user watched; recommender/franchise.py).
BOOSTS = ("franchise",)


@dataclass(frozen=True)
class Catalog:
    """Every item that has a vector for the active model; row i of each array is item `ids[i]`."""

    ids: tuple[str, ...]
    titles: tuple[str, ...]
    vectors: np.ndarray  # (n, d) float32, unit rows
    genres: np.ndarray  # (n, g) bool
    genre_names: tuple[str, ...]
    community_rating: np.ndarray  # (n,) float32, 0-10, nan = unknown
    recommendable: np.ndarray  # (n,) bool: false for removed movies (still useful as taste)
    index: dict[str, int] = field(repr=False)
    collections: np.ndarray | None = field(default=None, repr=False)  # (n,) int64 TMDb collection, 0 = none

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Play:
    """One item (movie, series, ...) a user watched or marked favourite, as the media server reports it."""

    item_id: str
    play_count: int = 1
    favourite: bool = False
    user_rating: float | None = None  # the user's own, 0-10
    last_played: float | None = None  # epoch seconds
    watched: bool = True  # false: only in progress or favourite, never a candidate either way


@dataclass(frozen=True)
class Plays:
    """One user's plays column by column (what the job loads in bulk; no object per play)."""

    item_ids: Sequence[str]
    play_counts: np.ndarray  # int
    favourite: np.ndarray  # bool
    user_rating: np.ndarray  # float, nan = not rated
    last_played: np.ndarray  # epoch seconds, nan = never dated
    watched: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.item_ids)

    @classmethod
    def of(cls, plays: Sequence[Play]) -> Plays:
        return cls(
            item_ids=[p.item_id for p in plays],
            play_counts=np.array([p.play_count for p in plays], dtype=np.int64),
            favourite=np.array([p.favourite for p in plays], dtype=bool),
            user_rating=np.array(
                [np.nan if p.user_rating is None else p.user_rating for p in plays], dtype=float
            ),
            last_played=np.array(
                [np.nan if p.last_played is None else p.last_played for p in plays], dtype=float
            ),
            watched=np.array([p.watched for p in plays], dtype=bool),
        )


@dataclass(frozen=True)
class History:
    """One user's watched movies that have vectors, most recent first, plus everything to exclude."""

    items: np.ndarray  # (m,) catalogue rows
    play_counts: np.ndarray  # (m,) float
    favourite: np.ndarray  # (m,) bool
    user_rating: np.ndarray  # (m,) float 0-10, nan = not rated
    days_ago: np.ndarray  # (m,) float, nan = never dated
    excluded: np.ndarray  # catalogue rows never to recommend to this user

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class Evidence:
    """A watched movie that led to a pick."""

    item: int  # catalogue row
    similarity: float  # cosine similarity of the two movies' vectors


@dataclass
class Pick:
    """One recommended movie: its selection score, every component of it, and why."""

    item: int
    score: float
    breakdown: dict[str, float]
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def carried_by(self) -> str:
        """The component that added most to the score: what the explanation should name."""
        best, most = COMPONENTS[0], self.breakdown.get(COMPONENTS[0], 0.0)
        for name in COMPONENTS[1:] + BOOSTS:  # max() with a key, unrolled: asked twice per pick
            value = self.breakdown.get(name, 0.0)
            if value > most:
                best, most = name, value
        return best


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """L2-normalise rows (zero rows stay zero) as float32."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


def build_catalog(
    ids: Sequence[str],
    titles: Sequence[str],
    vectors: np.ndarray,
    genres: Sequence[Sequence[str]],
    community_ratings: Sequence[float | None] | None = None,
    removed: Sequence[bool] | None = None,
    collections: Sequence[int | None] | None = None,
) -> Catalog:
    n = len(ids)
    genre_names = tuple(sorted({g for gs in genres for g in gs}))
    column = {g: j for j, g in enumerate(genre_names)}
    genre_matrix = np.zeros((n, len(genre_names)), dtype=bool)
    for row, gs in enumerate(genres):
        genre_matrix[row, [column[g] for g in gs]] = True
    ratings = np.full(n, np.nan, dtype=np.float32)
    if community_ratings is not None:
        ratings[:] = [np.nan if r is None else r for r in community_ratings]
    recommendable = np.ones(n, dtype=bool) if removed is None else ~np.asarray(removed, dtype=bool)
    return Catalog(
        ids=tuple(ids),
        titles=tuple(titles),
        vectors=unit_rows(vectors),
        genres=genre_matrix,
        genre_names=genre_names,
        community_rating=ratings,
        recommendable=recommendable,
        index={item_id: row for row, item_id in enumerate(ids)},
        collections=None
        if collections is None or not any(collections)
        else np.array([c or 0 for c in collections], dtype=np.int64),
    )


def build_history(catalog: Catalog, plays: Plays | Sequence[Play], now: float) -> History:
    """Keep plays of movies in the catalogue, most recent first (undated last); exclude all of them."""
    if not isinstance(plays, Plays):
        plays = Plays.of(plays)
    rows = np.array([catalog.index.get(m, -1) for m in plays.item_ids], dtype=np.int64)
    known = rows >= 0
    taste = np.flatnonzero(known & (plays.watched | plays.favourite))
    when = plays.last_played[taste]
    taste = taste[np.argsort(-np.nan_to_num(when, nan=-np.inf), kind="stable")]
    days = np.maximum(0.0, now - plays.last_played[taste]) / SECONDS_PER_DAY
    return History(
        items=rows[taste],
        play_counts=np.maximum(plays.play_counts[taste], 1).astype(np.float64),
        favourite=plays.favourite[taste],
        user_rating=plays.user_rating[taste].astype(np.float64),
        days_ago=days,
        excluded=np.unique(rows[known]),
    )


def candidate_mask(catalog: Catalog, history: History) -> np.ndarray:
    """Movies that may be recommended to this user: not removed, not watched, not in progress."""
    mask = catalog.recommendable.copy()
    mask[history.excluded] = False
    return mask
