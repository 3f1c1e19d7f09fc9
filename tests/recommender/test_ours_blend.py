"""The blend moves with evidence, every component is in the breakdown, evidence follows the carrier."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sidecar.media.explanations import PickText, template_explanation
from sidecar.recommender.collaborative import ServerPlays, server_plays
from sidecar.recommender.cowatch import build_cowatch
from sidecar.recommender.data import COMPONENTS, Play, build_catalog, build_history
from sidecar.recommender.ours import DEFAULT_PARAMS, blend_weights, recommend_ours, server_confidence


def _server(users: int) -> ServerPlays:
    rows = np.repeat(np.arange(users), 2)
    items = np.tile([0, 1], users)
    return server_plays(build_cowatch(rows, items, users, 4), DEFAULT_PARAMS.lambda_scale)


def test_collaborative_weight_grows_with_the_server_and_popularity_with_a_thin_history() -> None:
    alone, home, big = (server_confidence(_server(n), DEFAULT_PARAMS.collab_half_users) for n in (1, 3, 600))
    assert alone == 0.0 < home < 0.5 < big < 1.0
    share = {}
    for name, confidence in (("home", home), ("big", big)):
        w = blend_weights(100, confidence, DEFAULT_PARAMS)
        share[name] = w["co_watch"] / sum(w.values())
    assert share["big"] > 1.5 * share["home"]
    assert blend_weights(0, alone, DEFAULT_PARAMS)["co_watch"] == 0.0  # nobody else on the server
    # The thin-history rule (its default weights are what validation chose on MovieLens):
    leaning = replace(DEFAULT_PARAMS, sparse_popularity=0.3, sparse_rating=0.3)
    for prior in ("popularity", "rating"):
        new, seasoned = (blend_weights(n, big, leaning)[prior] for n in (5, 500))
        assert new > seasoned


def test_the_community_rating_weighs_more_in_a_home_than_on_a_big_server() -> None:
    home, big = (server_confidence(_server(n), DEFAULT_PARAMS.collab_half_users) for n in (5, 600))
    share = {}
    for name, confidence in (("home", home), ("big", big)):
        w = blend_weights(100, confidence, DEFAULT_PARAMS)
        share[name] = w["rating"] / sum(w.values())
    assert share["home"] > 2 * share["big"]  # five people's plays say little: the crowd's rating more


def _library() -> tuple[list[str], np.ndarray]:
    """Twelve items on three orthogonal content axes, four per axis."""
    ids = [f"i{k}" for k in range(12)]
    vectors = np.zeros((12, 3), dtype=np.float32)
    vectors[np.arange(12), np.arange(12) // 4] = 1.0
    vectors += np.random.default_rng(0).normal(0, 0.05, vectors.shape).astype(np.float32)
    return ids, vectors


def test_on_a_big_server_co_watching_carries_the_pick_and_names_the_co_watched_items() -> None:
    ids, vectors = _library()
    catalog = build_catalog(ids, ids, vectors, [["A"]] * 12)
    # 300 viewers who watched i0 and i1 (axis 0) also watched i8 (axis 2); nobody else watched i8.
    rows, items = [], []
    for user in range(1, 301):
        rows += [user] * 3
        items += [0, 1, 8]
    for user in range(301, 601):
        rows += [user] * 2
        items += [4, 5]
    server = server_plays(
        build_cowatch(np.array(rows), np.array(items), 601, 12), DEFAULT_PARAMS.lambda_scale
    )
    history = build_history(
        catalog, [Play(item_id="i0", last_played=1.0), Play(item_id="i1", last_played=2.0)], 3.0
    )

    picks = recommend_ours(catalog, history, server, 3)

    top = picks[0]
    assert catalog.ids[top.item] == "i8"  # unlike anything watched in content: only co-watching says so
    assert top.carried_by == "co_watch"
    assert {catalog.ids[e.item] for e in top.evidence} == {"i0", "i1"}
    assert set(COMPONENTS) <= set(top.breakdown)
    assert abs(sum(top.breakdown[c] for c in COMPONENTS) - top.breakdown["relevance"]) < 1e-9


def test_alone_on_the_server_content_carries_the_pick() -> None:
    ids, vectors = _library()
    catalog = build_catalog(ids, ids, vectors, [["A"]] * 12)
    server = server_plays(
        build_cowatch(np.array([0, 0]), np.array([0, 1]), 1, 12), DEFAULT_PARAMS.lambda_scale
    )
    history = build_history(
        catalog, [Play(item_id="i0", last_played=1.0), Play(item_id="i1", last_played=2.0)], 3.0
    )

    picks = recommend_ours(catalog, history, server, 3)

    assert catalog.ids[picks[0].item] in {"i2", "i3"}  # the same content axis
    assert picks[0].carried_by in {"content", "recency"}
    assert picks[0].breakdown["co_watch"] == 0.0


def test_at_home_a_highly_rated_film_is_carried_by_its_rating_and_the_explanation_says_so() -> None:
    ids, vectors = _library()
    ratings = [7.0] * 4 + [2.0] * 4 + [9.5] + [2.0] * 3  # i8 (a third kind of film) is acclaimed
    catalog = build_catalog(ids, ids, vectors, [["A"]] * 12, community_ratings=ratings)
    home = server_plays(  # five people, who between them watched only the first kind
        build_cowatch(np.repeat(np.arange(5), 2), np.tile([0, 1], 5), 5, 12), DEFAULT_PARAMS.lambda_scale
    )
    history = build_history(catalog, [Play(item_id=f"i{k}", last_played=float(k)) for k in (0, 1, 2, 3)], 5.0)

    picks = recommend_ours(catalog, history, home, 3)

    top = picks[0]
    assert catalog.ids[top.item] == "i8" and top.carried_by == "rating"
    assert top.breakdown["rating"] > 0 and top.breakdown["rating_signal"] == pytest.approx(0.95)
    because = [catalog.titles[e.item] for e in top.evidence]
    text = template_explanation(PickText(title="i8", year=None, because=because, dominant=top.carried_by))
    assert "highly rated" in text
