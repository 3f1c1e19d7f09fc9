"""The quality harness: its metrics on hand-built cases, its split, and a run on a small slice."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import quality, tuning
from sidecar.recommender.cowatch import build_cowatch
from sidecar.recommender.data import Pick, Play, build_catalog, build_history
from sidecar.recommender.popularity import recommend_popular


def test_recall_counts_future_movies_found_in_the_top_k() -> None:
    future = frozenset({"a", "d", "e", "f"})
    assert quality.recall_at(["a", "b", "d", "e"], future, 3) == 0.5  # a and d of four
    assert quality.recall_at(["x"], future, 50) == 0.0


def test_ndcg_rewards_hits_near_the_top() -> None:
    future = frozenset({"a"})
    assert quality.ndcg_at(["a", "x"], future, 10) == 1.0
    assert quality.ndcg_at(["x", "a"], future, 10) == pytest.approx(1 / math.log2(3))
    two = frozenset({"a", "b"})
    expected = (1 / math.log2(3)) / (1 + 1 / math.log2(3))  # one hit at rank 2 of an ideal two
    assert quality.ndcg_at(["x", "a", "y"], two, 10) == pytest.approx(expected)
    assert quality.ndcg_at(["x"] * 10 + ["a"], future, 10) == 0.0


def test_coverage_is_the_share_of_the_catalogue_recommended_to_anyone() -> None:
    assert quality.coverage([["a", "b"], ["b", "c"]], 10) == 0.3


def test_split_keeps_the_newest_fifth_as_future_and_converts_ratings() -> None:
    frame = pd.DataFrame(
        {
            "user_id": ["7"] * 10,
            "movie_id": [f"m{i}" for i in range(10)],
            "rating": [4.5, 3.0, 4.0, 2.0, 5.0, 1.0, 3.5, 4.0, 0.5, 2.5],
            "timestamp": [10, 90, 30, 40, 50, 60, 70, 80, 20, 100],  # m9 then m1 are the newest
        }
    )
    split = quality.split_user("7", frame)
    assert split.future == frozenset({"m9", "m1"})
    assert len(split.history) == 8 and split.cutoff == 80.0
    first = next(p for p in split.history if p.item_id == "m0")
    assert (first.favourite, first.user_rating, first.last_played) == (True, 9.0, 10.0)
    assert not next(p for p in split.history if p.item_id == "m6").favourite  # 3.5 < 4.0


def test_evaluate_scores_a_fixed_recommender_exactly() -> None:
    ids = ["a", "b", "c", "d"]
    catalog = build_catalog(ids, ids, np.eye(4, dtype=np.float32), [["X"]] * 4)
    users = [
        quality.UserSplit("1", [], frozenset({"a", "c"}), 0.0),
        quality.UserSplit("2", [], frozenset({"d"}), 0.0),
    ]

    def fixed(_history: object) -> list[Pick]:
        return [Pick(item=catalog.index[m], score=1.0, breakdown={}) for m in ("a", "b")]

    scores, recalls, ndcgs, recommended = quality.evaluate(fixed, catalog, users, top=2)
    assert recalls == [0.5, 0.0]
    assert ndcgs[0] == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert scores.recall == 0.25 and scores.coverage == 0.5 and scores.users == 2
    assert recommended == {"a", "b"}


def test_households_are_fixed_random_groups_of_five_covering_everyone() -> None:
    users = [quality.UserSplit(str(i), [], frozenset(), 0.0) for i in range(23)]
    groups = quality.households(users, seed=7)
    assert sorted(len(g) for g in groups) == [5, 5, 5, 8]  # the 3 left over join the last group
    assert sorted(u for g in groups for u in g) == list(range(23))
    assert groups == quality.households(users, seed=7)
    assert groups != quality.households(users, seed=8)


def test_validation_is_carved_from_the_history_never_the_future() -> None:
    plays = [Play(item_id=f"m{i}", last_played=float(i)) for i in range(10)]
    split = quality.UserSplit("4", plays, frozenset({"future"}), 9.0)
    carved = tuning.carve_validation(split)  # type: ignore[arg-type]
    assert carved is not None
    assert carved.future == frozenset({"m8", "m9"}) and carved.cutoff == 7.0
    assert [p.item_id for p in carved.history] == [f"m{i}" for i in range(8)]
    assert tuning.carve_validation(quality.UserSplit("5", plays[:1], frozenset(), 0.0)) is None  # type: ignore[arg-type]


def test_community_ratings_come_from_the_histories_only_and_are_shrunk() -> None:
    ids = ["a", "b", "c"]
    catalog = build_catalog(ids, ids, np.eye(3, dtype=np.float32), [["X"]] * 3)
    users = [
        quality.UserSplit("1", [Play(item_id="a", user_rating=10.0)], frozenset({"c"}), 0.0),
        quality.UserSplit(
            "2",
            [Play(item_id="a", user_rating=10.0), Play(item_id="b", user_rating=4.0)],
            frozenset({"c"}),
            0.0,
        ),
    ]
    rating = quality.community_ratings(catalog, users)
    overall, pseudo = 8.0, quality.COMMUNITY_PSEUDO_RATINGS  # (10 + 10 + 4) / 3
    assert rating[0] == pytest.approx((20.0 + pseudo * overall) / (2 + pseudo))
    assert rating[1] == pytest.approx((4.0 + pseudo * overall) / (1 + pseudo))
    assert rating[0] > rating[1]
    assert np.isnan(rating[2])  # only ever in a future: the catalogue knows no rating for it
    assert np.isnan(quality.with_community(catalog, users).community_rating[2])


def test_popularity_ties_break_by_the_seeded_draw_not_by_id() -> None:
    ids = [f"m{i}" for i in range(6)]
    catalog = build_catalog(ids, ids, np.eye(6, dtype=np.float32), [["X"]] * 6)
    cowatch = build_cowatch(np.array([0, 1, 0]), np.array([5, 5, 3]), 2, 6)  # m5: 2 viewers, m3: 1
    history = build_history(catalog, [], 0.0)
    ties = np.array([0.1, 0.9, 0.5, 0.0, 0.3, 0.0])
    order = [catalog.ids[p.item] for p in recommend_popular(catalog, history, cowatch, 6, ties)]
    assert order == ["m5", "m3", "m1", "m2", "m4", "m0"]


def test_harness_tunes_on_validation_and_reports_both_protocols(tmp_path: Path) -> None:
    out = tmp_path / "quality.json"
    # 400 most-rated movies: seconds of embedding on a clean clone, instead of minutes for all 9,066.
    report = quality.main(
        ["--users", "30", "--movies", "400", "--seed", "3", "--top", "50", "--out", str(out)]
    )

    saved = json.loads(out.read_text())
    assert saved["users"] == report["users"] == 30 and saved["movies"] == 400
    assert set(saved["tables"]) == {"server", "household"}
    for views in saved["tables"].values():
        assert set(views) == {"all users", "odd ids (not tuned on)"}
        everyone = views["all users"]
        assert set(everyone) == {"popularity", "reference", "top-rated", "item-kNN", "EASE", "ours"}
        for scores in everyone.values():
            assert 0.0 <= scores["recall"] <= 1.0 and 0.0 <= scores["ndcg"] <= 1.0
            assert 0.0 < scores["coverage"] <= 1.0 and scores["users"] == 30
    assert saved["tuned_params"]["lambda_scale"] in tuning.LAMBDA_SCALES
    assert "validation" in saved["tuning"] and "hits" in saved["recall"]
