"""The series harness's split is honest: the hidden shows are the last started, the history holds no
play from on or after the first of them, and the validation split is carved from the history alone."""

from __future__ import annotations

import datetime as dt

from bench.quality_series import split_plays
from sidecar.simulator.tv_seed import TvPlay

DAY = dt.timedelta(days=1)
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _play(show: int, day: int, number: int = 1) -> TvPlay:
    return TvPlay("user12", show, 1, number, START + day * DAY, 1, True)


def test_the_last_started_shows_are_hidden_and_the_history_stops_before_them() -> None:
    plays = [_play(show, show) for show in range(1, 6)] + [_play(1, 9, number=2)]  # show 1 again, later
    split = split_plays("user12", plays, {s: 2 for s in range(1, 6)}, frozenset({2}))
    assert split is not None
    assert split.user_id == "12" and split.future == frozenset({"5"})
    assert {p.item_id for p in split.history} == {"1", "2", "3", "4"}
    assert all(p.last_played.timestamp() < split.cutoff for p in split.seen)  # the day-9 play is not seen
    assert next(p for p in split.history if p.item_id == "1").play_count == 1
    assert next(p for p in split.history if p.item_id == "2").favourite  # a favourite show is taste

    carved = split_plays(split.user_id, split.seen, {s: 2 for s in range(1, 6)}, frozenset())
    assert carved is not None
    assert carved.future == frozenset({"4"}) and carved.future.isdisjoint(split.future)
    assert {p.item_id for p in carved.history} == {"1", "2", "3"}


def test_too_few_shows_are_not_split() -> None:
    assert split_plays("user3", [_play(1, 1), _play(2, 2)], {}, frozenset()) is None
