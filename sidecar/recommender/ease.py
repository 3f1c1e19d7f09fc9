"""EASE (Steck 2019): closed-form item-item regression over who played what on this server.

    B = argmin ‖X − XB‖² + λ‖B‖²  with diag(B) = 0   →   P = (XᵀX + λI)⁻¹,  B_ij = −P_ij / P_jj

X is users × items, 1 where played. Fitted on played items only: an item nobody played gets no
collaborative score whatever B is, so its rows and columns are dropped before anything is inverted.
Two exact forms, whichever Gram matrix is smaller:

- items: P and B are played × played; a user's scores are q·B (q = the user's weights per item).
- users (Woodbury, fewer users than played items): P = (I − XᵀK⁻¹X)/λ with K = XXᵀ + λI (users ×
  users), and B is never built: for every item j the user has not played,
  score_j = (q Xᵀ K⁻¹ X)_j / (λ P_jj).

Memory bound: the matrix inverted is at most MAX_GRAM × MAX_GRAM (MAX_GRAM = 3,000: 72 MB of
float64, about twice that while inverting). A server with more users AND more played items than that
keeps the MAX_GRAM most-played items (item form); the long tail then has no collaborative score and
is left to content taste (`Ease.trimmed` says so).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import linalg, sparse

MAX_GRAM = 3_000
DIAGONAL_CHUNK = 2_048  # items per block when computing diag(P) in the users form (bounds memory)
MIN_LAMBDA = 1.0


def choose_lambda(matrix: sparse.csr_matrix, scale: float) -> float:
    """λ = scale × mean viewers per played item (= users × density of the played part).

    The Gram diagonal holds each item's viewer count, so λ relative to its mean regularises a
    3-user home and a 600-user server alike; `scale` is chosen on a validation split (bench.quality).
    """
    viewers = np.asarray(matrix.getnnz(axis=0))
    played = int((viewers > 0).sum())
    if played == 0:
        return MIN_LAMBDA
    return max(MIN_LAMBDA, scale * matrix.nnz / played)


@dataclass(frozen=True)
class Ease:
    items: np.ndarray  # catalogue rows fitted, ascending
    column: np.ndarray  # (catalogue,) position of each row in `items`, −1 when not fitted
    lam: float
    trimmed: bool  # the long tail was dropped to stay within MAX_GRAM
    b: np.ndarray | None = None  # items form: fitted × fitted
    plays: sparse.csr_matrix | None = None  # users form: users × fitted
    plays_t: sparse.csr_matrix | None = None  # users form: fitted × users
    k_inv: np.ndarray | None = None  # users form: users × users
    scale: np.ndarray | None = None  # users form: 1 / (λ P_jj) per fitted item

    def _query(self, items: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cols = self.column[items]
        keep = cols >= 0
        return cols[keep], np.asarray(weights, dtype=np.float64)[keep]

    def scores(self, items: np.ndarray, weights: np.ndarray, n_catalog: int) -> np.ndarray:
        """Per catalogue row: Σ_i weight_i · B_i,row over the given played items (0 where not fitted).

        Meaningless for the items in the query themselves: the caller masks what the user played.
        """
        out = np.zeros(n_catalog, dtype=np.float32)
        cols, w = self._query(items, weights)
        if len(cols) == 0:
            return out
        if self.b is not None:
            fitted = w @ self.b[cols]
        else:
            assert self.plays is not None and self.plays_t is not None and self.k_inv is not None
            assert self.scale is not None
            query = np.zeros(len(self.items))
            np.add.at(query, cols, w)
            overlap = self.plays @ query  # per user: weighted share of this history
            fitted = (self.plays_t @ (self.k_inv @ overlap)) * self.scale
        out[self.items] = fitted
        return out

    def scores_many(
        self, items: Sequence[np.ndarray], weights: Sequence[np.ndarray], n_catalog: int
    ) -> list[np.ndarray]:
        """`scores` of many queries, equal to asking one by one. The users form takes the sparse
        products for all of them at once (per output entry they sum in the same order as one at a
        time); K⁻¹ stays one matrix-vector product per query, whose rounding a matrix product
        would not keep."""
        if self.b is not None or len(items) < 2:
            return [self.scores(i, w, n_catalog) for i, w in zip(items, weights, strict=True)]
        assert self.plays is not None and self.plays_t is not None and self.k_inv is not None
        assert self.scale is not None
        query = np.zeros((len(items), len(self.items)))
        for row, (played, w) in enumerate(zip(items, weights, strict=True)):
            cols, kept = self._query(played, w)
            np.add.at(query[row], cols, kept)
        overlap = np.ascontiguousarray((self.plays @ query.T).T)  # per query, per user
        solved = np.stack([self.k_inv @ row for row in overlap], axis=1)  # users × queries
        fitted = (self.plays_t @ solved) * self.scale[:, None]  # fitted items × queries
        out = np.zeros((len(items), n_catalog), dtype=np.float32)
        out[:, self.items] = fitted.T
        return list(out)


def _played_items(matrix: sparse.csr_matrix, limit: int) -> tuple[np.ndarray, bool]:
    viewers = np.asarray(matrix.getnnz(axis=0))
    played = np.flatnonzero(viewers > 0)
    if len(played) <= limit or matrix.shape[0] <= limit:
        return played, False
    top = played[np.argsort(-viewers[played], kind="stable")[:limit]]
    return np.sort(top), True


def _inverse(gram: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite matrix, in place (no second copy kept)."""
    return linalg.inv(gram, overwrite_a=True, check_finite=False)


def _fit_items(x: sparse.csr_matrix, lam: float) -> np.ndarray:
    gram = (x.T @ x).toarray().astype(np.float64)
    gram[np.diag_indices_from(gram)] += lam
    p = _inverse(gram)
    b = p / (-np.diag(p))
    b[np.diag_indices_from(b)] = 0.0
    return b


def _fit_users(x: sparse.csr_matrix, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """K⁻¹ and 1/(λ P_jj), diag(P) in blocks of items so no users × items matrix is ever dense."""
    k = (x @ x.T).toarray().astype(np.float64)
    k[np.diag_indices_from(k)] += lam
    k_inv = _inverse(k)
    columns = x.T.tocsr()  # items × users
    quad = np.empty(columns.shape[0])
    for start in range(0, columns.shape[0], DIAGONAL_CHUNK):
        block = columns[start : start + DIAGONAL_CHUNK]
        projected = block @ k_inv  # x_jᵀ K⁻¹, one row per item
        quad[start : start + DIAGONAL_CHUNK] = np.asarray(block.multiply(projected).sum(axis=1)).ravel()
    p_diag = np.maximum((1.0 - quad) / lam, 1e-12)
    return k_inv, 1.0 / (lam * p_diag)


def fit_ease(matrix: sparse.csr_matrix, lam: float, max_gram: int = MAX_GRAM) -> Ease | None:
    """Fit on a users × catalogue 0/1 matrix; None when nobody played anything."""
    items, trimmed = _played_items(matrix, max_gram)
    if len(items) == 0:
        return None
    x = matrix[:, items].astype(np.float64).tocsr()
    column = np.full(matrix.shape[1], -1, dtype=np.int64)
    column[items] = np.arange(len(items))
    if len(items) <= x.shape[0]:
        return Ease(items=items, column=column, lam=lam, trimmed=trimmed, b=_fit_items(x, lam))
    k_inv, scale = _fit_users(x, lam)
    return Ease(
        items=items,
        column=column,
        lam=lam,
        trimmed=trimmed,
        plays=x,
        plays_t=x.T.tocsr(),
        k_inv=k_inv,
        scale=scale,
    )


# --- the worker's cache ----------------------------------------------------------------------------
def plays_fingerprint(matrix: sparse.csr_matrix, lam: float) -> str:
    """Cheap and exact: a hash of who played what (the CSR structure) and λ."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(np.asarray(matrix.shape, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(matrix.indptr, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(matrix.indices, dtype=np.int64).tobytes())
    digest.update(np.float64(lam).tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class CachedEase:
    fingerprint: str
    model: Ease | None


def fit_ease_cached(
    resources: dict[str, Any], key: str, matrix: sparse.csr_matrix, lam: float
) -> Ease | None:
    """`fit_ease`, reused from a long-lived dict (the worker's resources) while the plays are the same.

    One entry per `key` (one per media kind): a changed history, catalogue order or λ refits.
    """
    fingerprint = plays_fingerprint(matrix, lam)
    cached = resources.get(key)
    if isinstance(cached, CachedEase) and cached.fingerprint == fingerprint:
        return cached.model
    model = fit_ease(matrix, lam)
    resources[key] = CachedEase(fingerprint, model)
    return model
