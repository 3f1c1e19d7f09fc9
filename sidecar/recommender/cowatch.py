"""Who watched what across the server's own users: popularity, and the item-kNN anchor.

The collaborative score of `ours` is EASE (`ease.py`), fitted on the same matrix.

Kept as a sparse users × movies matrix; a user's scores are two sparse products away, so no
movies × movies matrix is ever built. Similarity is cosine over co-watchers, with each co-watcher
weighted by how much of this user's history they share (raised to `user_power`, which leans the
signal towards the most similar viewers).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import sparse

# Up to 64 MB of float32 (MovieLens: 9,066 movies × 671 users = 24 MB) is kept dense for evidence.
DENSE_ENTRIES = 16_000_000


@dataclass(frozen=True)
class CoWatch:
    matrix: sparse.csr_matrix  # users × movies, 1 where watched
    by_movie: sparse.csr_matrix  # movies × users, the transpose
    movie_viewers: np.ndarray  # (movies,) how many users watched each movie
    user_sizes: np.ndarray  # (users,) how many movies each user watched

    @property
    def active_users(self) -> int:
        return int((self.user_sizes > 0).sum())

    @cached_property
    def dense_by_movie(self) -> np.ndarray | None:
        """`by_movie` as a dense float32 matrix when it has at most DENSE_ENTRIES entries (None when
        larger): counting viewers in common is then one BLAS product (exact: whole numbers)."""
        movies, users = self.by_movie.shape
        return self.by_movie.toarray() if movies * users <= DENSE_ENTRIES else None

    def popularity(self) -> np.ndarray:
        """log(1 + viewers) scaled to 0-1."""
        top = self.movie_viewers.max(initial=0)
        return np.log1p(self.movie_viewers) / np.log1p(top) if top > 0 else np.zeros(len(self.movie_viewers))


def build_cowatch(user_rows: np.ndarray, movie_rows: np.ndarray, n_users: int, n_movies: int) -> CoWatch:
    """From (user, movie) pairs of everything watched on the server (duplicates count once)."""
    data = np.ones(len(user_rows), dtype=np.float32)
    matrix = sparse.csr_matrix((data, (user_rows, movie_rows)), shape=(n_users, n_movies))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return CoWatch(
        matrix=matrix,
        by_movie=matrix.T.tocsr(),
        movie_viewers=np.asarray(matrix.sum(axis=0)).ravel(),
        user_sizes=np.asarray(matrix.sum(axis=1)).ravel(),
    )


def cowatch_scores(
    cowatch: CoWatch, items: np.ndarray, weights: np.ndarray, user_power: float = 1.0, shrink: float = 0.0
) -> np.ndarray:
    """Per movie: Σ over watched i of weight_i · cos(i, movie), co-watchers weighted by shared taste."""
    viewers = np.maximum(cowatch.movie_viewers, 1.0)
    query = np.zeros(cowatch.matrix.shape[1], dtype=np.float32)
    np.add.at(query, items, weights / np.sqrt(viewers[items]))
    shared = cowatch.matrix @ query  # per user: weighted overlap with this history
    if user_power != 1.0:
        shared = np.power(shared, user_power)
    return (cowatch.by_movie @ shared) / (np.sqrt(viewers) + shrink)
