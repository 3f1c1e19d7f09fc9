"""EASE: both exact forms against the textbook closed form, the memory bound, λ and the cache."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from sidecar.recommender.ease import choose_lambda, fit_ease, fit_ease_cached


def _plays(users: int, items: int, density: float, seed: int) -> sparse.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random((users, items)) < density).astype(np.float32)
    dense[:, -1] = 0.0  # nobody played the last item
    return sparse.csr_matrix(dense)


def _textbook(matrix: sparse.csr_matrix, lam: float) -> np.ndarray:
    """Steck 2019, on every played item: P = (XᵀX + λI)⁻¹, B = −P / diag(P), diag(B) = 0."""
    x = matrix.toarray().astype(np.float64)
    played = np.flatnonzero(x.sum(axis=0) > 0)
    gram = x[:, played].T @ x[:, played] + lam * np.eye(len(played))
    p = np.linalg.inv(gram)
    b = -p / np.diag(p)
    np.fill_diagonal(b, 0.0)
    full = np.zeros((x.shape[1], x.shape[1]))
    full[np.ix_(played, played)] = b
    return full


@pytest.mark.parametrize(("users", "items"), [(40, 12), (8, 30)])  # items form, users (Woodbury) form
def test_scores_match_the_closed_form_on_unplayed_items(users: int, items: int) -> None:
    matrix = _plays(users, items, 0.3, seed=users)
    lam = 3.0
    model = fit_ease(matrix, lam)
    assert model is not None and (model.b is not None) == (items <= users)
    b = _textbook(matrix, lam)
    history = np.flatnonzero(matrix[0].toarray()[0])
    weights = np.linspace(1.0, 0.3, len(history))
    expected = weights @ b[history]
    unplayed = np.setdiff1d(np.arange(items), history)
    got = model.scores(history, weights, items)
    np.testing.assert_allclose(got[unplayed], expected[unplayed], rtol=1e-4, atol=1e-6)
    assert got[-1] == 0.0  # an item nobody played has no collaborative score


def test_many_users_and_items_keep_only_the_most_played_items() -> None:
    matrix = _plays(60, 50, 0.3, seed=1)
    model = fit_ease(matrix, 2.0, max_gram=20)
    assert model is not None and model.trimmed and len(model.items) == 20 and model.b is not None
    viewers = np.asarray(matrix.getnnz(axis=0))
    assert viewers[model.items].min() >= np.sort(viewers)[-20]


def test_lambda_grows_with_viewers_per_played_item() -> None:
    small, big = _plays(5, 40, 0.2, seed=2), _plays(200, 40, 0.2, seed=2)
    for matrix in (small, big):
        played = int((matrix.getnnz(axis=0) > 0).sum())
        assert choose_lambda(matrix, 10.0) == pytest.approx(max(1.0, 10.0 * matrix.nnz / played))
    assert choose_lambda(big, 10.0) > 10 * choose_lambda(small, 10.0)  # 200 users vs a home of 5
    assert choose_lambda(sparse.csr_matrix((3, 4)), 10.0) == 1.0  # nobody played anything


def test_the_cache_refits_only_when_the_plays_change() -> None:
    resources: dict[str, object] = {}
    matrix = _plays(10, 20, 0.3, seed=3)
    first = fit_ease_cached(resources, "k", matrix, 2.0)
    assert fit_ease_cached(resources, "k", matrix.copy(), 2.0) is first
    changed = matrix.tolil()
    changed[0, 0] = 1.0 - changed[0, 0]
    assert fit_ease_cached(resources, "k", changed.tocsr(), 2.0) is not first
