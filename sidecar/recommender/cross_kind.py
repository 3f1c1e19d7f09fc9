"""Users who played these items of one kind started those of another: a cross-kind collaborative model.

A viewer with movie plays and no series plays says nothing about shows directly, but the server's
other users who have both do: "people who watched these films started these shows". Fitted as a
ridge regression from the source kind's plays to the target kind's, over the users who have both:

    W = argmin ‖T − S W‖² + λ‖W‖²   →   W = Sᵀ (S Sᵀ + λI)⁻¹ T

S is users × source items (each user's row L2-normalised, so a long history does not drown a short
one), T users × target items (1 where started). The users form (Woodbury) inverts users × users only:
a user's scores are (S q)ᵀ (K⁻¹ T) with q their own normalised source row, so neither the source nor
the target catalogue is ever squared. λ = `scale` (the Gram diagonal is 1 after normalisation); the
scale is chosen on a validation split (bench/quality_series.py).

Memory bound: at most MAX_USERS users (the most active in the source kind) and the target items
someone played (an item nobody started gets no cross-kind score): K⁻¹T is users × played targets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, sparse

MAX_USERS = 3_000


@dataclass(frozen=True)
class CrossKind:
    source: sparse.csr_matrix  # users × source catalogue, rows L2-normalised
    weights: np.ndarray  # users × fitted targets: K⁻¹ T (float32)
    targets: np.ndarray  # target catalogue rows fitted (started by someone)
    users: int

    def scores(self, source_items: np.ndarray, n_target: int) -> np.ndarray:
        """Per target catalogue row: the regression's prediction from these source rows (0 where no
        user with both kinds started it)."""
        out = np.zeros(n_target, dtype=np.float32)
        items = np.unique(np.asarray(source_items, dtype=np.int64))
        if len(items) == 0:
            return out
        query = np.zeros(self.source.shape[1])
        query[items] = 1.0 / np.sqrt(len(items))
        overlap = self.source @ query  # per user: cosine of the two source histories
        out[self.targets] = overlap @ self.weights
        return out


def _normalised_rows(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    return sparse.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ matrix


def fit_cross_kind(
    source: sparse.csr_matrix, target: sparse.csr_matrix, scale: float, max_users: int = MAX_USERS
) -> CrossKind | None:
    """Fit on row-aligned users × items 0/1 matrices of the two kinds; only users with plays of both
    count. None when nobody has both."""
    both = np.flatnonzero((np.asarray(source.getnnz(axis=1)) > 0) & (np.asarray(target.getnnz(axis=1)) > 0))
    if len(both) == 0:
        return None
    if len(both) > max_users:  # the most active source users say most
        both = np.sort(both[np.argsort(-np.asarray(source.getnnz(axis=1))[both], kind="stable")[:max_users]])
    s = _normalised_rows(source[both].astype(np.float64).tocsr())
    t = target[both].tocsc()
    targets = np.flatnonzero(np.asarray(t.getnnz(axis=0)) > 0)
    gram = (s @ s.T).toarray()
    gram[np.diag_indices_from(gram)] += max(scale, 1e-6)
    weights = linalg.solve(
        gram, t[:, targets].toarray(), assume_a="pos", overwrite_a=True, check_finite=False
    )
    return CrossKind(source=s.tocsr(), weights=weights.astype(np.float32), targets=targets, users=len(both))
