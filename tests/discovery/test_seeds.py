"""Seed choice: favourites and high ratings lead, a few AI Picks join, and the second half of a
user's seeds prefers titles other users already seed (one TMDb answer for many users)."""

from __future__ import annotations

import numpy as np

from sidecar.discovery.seeds import Seed, choose_seeds, taste_seeds
from sidecar.recommender.data import History


def _seed(n: int, why: str = "watched") -> Seed:
    return Seed(f"item{n}", 1000 + n, f"Title {n}", why)


def test_favourites_and_high_ratings_come_before_what_was_only_watched() -> None:
    history = History(
        items=np.arange(4),
        play_counts=np.array([5.0, 1.0, 1.0, 1.0]),
        favourite=np.array([False, False, True, False]),
        user_rating=np.array([np.nan, 9.0, np.nan, 4.0]),
        days_ago=np.array([1.0, 2.0, 3.0, 4.0]),
        excluded=np.arange(4),
    )
    ids = ["a", "b", "c", "d"]
    seeds = taste_seeds(history, ids, ["A", "B", "C", "D"], {"a": 1, "b": 2, "c": 3})  # d has no TMDb id
    assert [(s.title, s.why) for s in seeds] == [("C", "favourite"), ("B", "rated"), ("A", "watched")]


def test_the_second_half_prefers_seeds_another_user_already_has() -> None:
    shared: set[int] = set()
    first = choose_seeds([_seed(n) for n in range(10)], [], 4, shared)
    assert [s.tmdb_id for s in first] == [1000, 1001, 1002, 1003]
    # The next user's strongest two stay theirs; the other two are taken from titles already seeded.
    own = [_seed(n) for n in (20, 21, 22, 23, 2, 3)]
    second = choose_seeds(own, [], 4, shared)
    assert [s.tmdb_id for s in second] == [1020, 1021, 1002, 1003]
    assert shared == {1000, 1001, 1002, 1003, 1020, 1021}


def test_a_few_picks_join_and_nothing_repeats() -> None:
    picks = [_seed(n, "pick") for n in (1, 50, 51)]
    chosen = choose_seeds([_seed(n) for n in range(6)], picks, 5, set())
    assert [s.tmdb_id for s in chosen] == [1001, 1000, 1002, 1003, 1004]  # one pick (5 // 5), then own
    assert chosen[0].why == "pick"


def test_ties_are_broken_by_item_so_the_seeds_do_not_change_between_runs() -> None:
    """Plays rated alike in the same second come from the database in no fixed order; the seeds (and
    so the cached TMDb answers they reuse) must not depend on it."""

    def seeds_of(order: list[int]) -> list[str]:
        n = len(order)
        history = History(
            items=np.array(order),
            play_counts=np.ones(n),
            favourite=np.zeros(n, dtype=bool),
            user_rating=np.full(n, 6.0),
            days_ago=np.full(n, 4000.0),
            excluded=np.array(order),
        )
        ids = [f"m{i}" for i in range(n)]
        return [s.item_id for s in taste_seeds(history, ids, ids, {i: k for k, i in enumerate(ids)})]

    assert seeds_of([0, 1, 2, 3]) == seeds_of([3, 1, 0, 2]) == ["m0", "m1", "m2", "m3"]
