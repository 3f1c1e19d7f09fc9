"""The cross-kind model (movies → shows) against its closed form, and the cold-start blend it feeds."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from sidecar.media.cold_start import borrowed_taste
from sidecar.recommender.cold_start import ColdStartParams, recommend_cold_start
from sidecar.recommender.cross_kind import fit_cross_kind
from sidecar.recommender.data import Play, build_catalog


def test_scores_match_the_ridge_closed_form() -> None:
    rng = np.random.default_rng(3)
    source = sparse.csr_matrix((rng.random((30, 12)) < 0.3).astype(float))
    started = (rng.random((30, 8)) < 0.3).astype(float)
    started[:, 7] = 0.0  # nobody started the last show: no score
    target = sparse.csr_matrix(started)
    model = fit_cross_kind(source, target, scale=2.0)
    assert model is not None
    keep = np.flatnonzero((source.getnnz(axis=1) > 0) & (target.getnnz(axis=1) > 0))
    s = source[keep].toarray()
    s = s / np.linalg.norm(s, axis=1, keepdims=True)
    t = target[keep].toarray()
    w = s.T @ np.linalg.solve(s @ s.T + 2.0 * np.eye(len(keep)), t)  # Sᵀ(SSᵀ + λI)⁻¹T
    items = np.array([0, 4, 5])
    query = np.zeros(12)
    query[items] = 1 / np.sqrt(3)
    expected = query @ w
    assert np.allclose(model.scores(items, 8), expected, atol=1e-5)
    assert model.scores(items, 8)[7] == 0.0


def test_nobody_with_both_kinds_gives_no_model() -> None:
    source = sparse.csr_matrix(np.array([[1.0, 0.0], [0.0, 0.0]]))
    target = sparse.csr_matrix(np.array([[0.0, 0.0], [1.0, 1.0]]))
    assert fit_cross_kind(source, target, 1.0) is None


def _world() -> tuple:
    """Films 0-3 (two tastes), shows 0-2. Fans of films 0-1 start show "calm"; fans of films 2-3
    start "loud"; everyone starts the popular "hit". All vectors are alike, so content cannot tell."""
    movies = build_catalog(["m0", "m1", "m2", "m3"], ["Calm A", "Calm B", "Loud A", "Loud B"],
                           np.ones((4, 4)) + np.eye(4) * 0.01, [[]] * 4)  # fmt: skip
    shows = build_catalog(["calm", "loud", "hit"], ["Calm Show", "Loud Show", "Hit Show"],
                          np.ones((3, 4)) + np.eye(3, 4) * 0.01, [[]] * 3)  # fmt: skip
    source = np.zeros((12, 4))
    target = np.zeros((12, 3))
    for u in range(12):
        calm = u < 4
        source[u, [0, 1] if calm else [2, 3]] = 1
        target[u, 0 if calm else 1] = 1
        target[u, 2] = 1
    return movies, shows, sparse.csr_matrix(source), sparse.csr_matrix(target)


def test_a_new_viewer_gets_the_show_people_with_their_film_taste_started() -> None:
    movies, shows, source, target = _world()
    cross = fit_cross_kind(source, target, 1.0)
    borrowed = borrowed_taste(shows, movies, [Play("m0"), Play("m1")], now=0.0)
    assert borrowed is not None
    popularity = np.log1p(target.toarray().sum(axis=0)) / np.log1p(12)  # loud (8) beats calm (4)
    params = ColdStartParams(cross=1.0, content=0.0, popularity=0.05)
    picks = recommend_cold_start(borrowed.catalog, borrowed.history, borrowed.source_rows, cross,
                                 popularity, 3, params)  # fmt: skip
    ranked = [borrowed.catalog.ids[p.item] for p in picks]
    assert ranked.index("calm") < ranked.index("loud")  # popularity alone would put loud first
    calm = picks[ranked.index("calm")]
    assert calm.carried_by == "co_watch" and calm.breakdown["co_watch_signal"] > 0
    assert {borrowed.catalog.titles[e.item] for e in calm.evidence} == {"Calm A", "Calm B"}
    # Without the cross-kind model the same viewer gets popularity's order.
    plain = recommend_cold_start(borrowed.catalog, borrowed.history, borrowed.source_rows, None,
                                 popularity, 3, params)  # fmt: skip
    plain_ids = [borrowed.catalog.ids[p.item] for p in plain]
    assert plain_ids.index("loud") < plain_ids.index("calm")
