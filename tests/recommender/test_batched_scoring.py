"""Scoring users together (recommend_many, as the job does) gives each user what scoring them alone does."""

from __future__ import annotations

import numpy as np

from sidecar.recommender.collaborative import server_plays
from sidecar.recommender.content import top_mean
from sidecar.recommender.cowatch import build_cowatch
from sidecar.recommender.data import Catalog, History, Play, build_catalog, build_history
from sidecar.recommender.ease import fit_ease
from sidecar.recommender.ours import DEFAULT_PARAMS, recommend_many, recommend_ours

ITEMS = 3_000  # enough that BLAS takes its regular path for every product shape
USERS = 40
NOW = 1.8e9


def _world(seed: int = 3) -> tuple[Catalog, list[History], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ids = [f"m{k:05d}" for k in range(ITEMS)]
    catalog = build_catalog(ids, ids, rng.normal(size=(ITEMS, 32)), [["g"]] * ITEMS)
    popular = rng.permutation(ITEMS)[:600]  # plays concentrate on a popular tenth
    histories, users, items = [], [], []
    for user in range(USERS):
        size = int(rng.integers(1, 80))  # from a one-play newcomer to a regular
        played = rng.choice(popular, size=size, replace=False)
        plays = [
            Play(
                item_id=ids[i],
                favourite=bool(rng.random() < 0.2),
                user_rating=None if rng.random() < 0.5 else float(rng.integers(1, 11)),
                last_played=NOW - float(rng.random()) * 3e7,
            )
            for i in played
        ]
        histories.append(build_history(catalog, plays, NOW))
        users += [user] * size
        items += list(played)
    return catalog, histories, np.array(users), np.array(items)


def _same(one: list, many: list) -> None:
    assert [p.item for p in one] == [p.item for p in many]
    assert [[e.item for e in p.evidence] for p in one] == [[e.item for e in p.evidence] for p in many]
    for a, b in zip(one, many, strict=True):
        assert a.breakdown.keys() == b.breakdown.keys()
        assert np.allclose(list(a.breakdown.values()), list(b.breakdown.values()), rtol=0, atol=1e-6)


def test_users_scored_together_get_the_picks_they_get_alone() -> None:
    catalog, histories, users, items = _world()
    server = server_plays(build_cowatch(users, items, USERS, ITEMS), DEFAULT_PARAMS.lambda_scale)
    assert server.ease is not None and server.ease.b is None  # more played items than users: users form
    sizes = [5 + u % 30 for u in range(USERS)]
    together = recommend_many(catalog, histories, server, sizes)
    for history, n, picks in zip(histories, sizes, together, strict=True):
        assert len(picks) == n
        _same(recommend_ours(catalog, history, server, n), picks)


def test_batches_without_a_server_agree_too() -> None:
    catalog, histories, _users, _items = _world(seed=5)
    for history, picks in zip(histories[:10], recommend_many(catalog, histories[:10], None, 20), strict=True):
        _same(recommend_ours(catalog, history, None, 20), picks)


def test_ease_scores_of_many_queries_equal_one_query_at_a_time_in_both_forms() -> None:
    _catalog, histories, users, items = _world(seed=7)
    rng = np.random.default_rng(2)
    few_items = build_cowatch(np.repeat(np.arange(50), 3), rng.integers(0, 10, 150), 50, ITEMS)
    forms = {
        "users": fit_ease(build_cowatch(users, items, USERS, ITEMS).matrix, 50.0),
        "items": fit_ease(few_items.matrix, 5.0),  # 10 played items, 50 users
    }
    assert forms["users"] is not None and forms["users"].b is None
    assert forms["items"] is not None and forms["items"].b is not None
    queries = [h.items for h in histories[:6]] + [np.array([3, 4]), np.array([], dtype=np.int64)]
    weights = [np.linspace(1.0, 0.2, len(q)) for q in queries]
    for ease in forms.values():
        together = ease.scores_many(queries, weights, ITEMS)
        for query, weight, scores in zip(queries, weights, together, strict=True):
            assert np.array_equal(ease.scores(query, weight, ITEMS), scores)


def test_top_mean_is_the_mean_of_the_largest_values() -> None:
    rows = np.random.default_rng(1).random((20, 500)).astype(np.float32)
    expected = np.sort(rows, axis=0)[-3:].mean(axis=0)
    assert np.allclose(top_mean(rows, 3), expected, rtol=1e-6)
    assert np.allclose(top_mean(rows[:2], 3), rows[:2].mean(axis=0), rtol=1e-6)  # fewer rows than k
