"""The generated TV data set: size, determinism, metadata, and viewing patterns that follow the
MovieLens users' movie tastes."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict

import pytest

from sidecar.simulator import tv_seed
from sidecar.simulator.tv_seed import build_catalogue, build_history, movielens_history, sample_catalogue

ANCHOR = dt.date(2026, 12, 1)


@pytest.fixture(scope="module")
def full() -> tuple[tv_seed.TvCatalogue, tv_seed.TvHistory]:
    return movielens_history(ANCHOR)


def test_catalogue_has_the_size_and_shape_asked_for(
    full: tuple[tv_seed.TvCatalogue, tv_seed.TvHistory],
) -> None:
    catalogue, _ = full
    real = [e for e in catalogue.episodes if not e.virtual]
    assert len(catalogue.shows) == 1500
    assert 55_000 <= len(real) <= 66_000
    assert any(e.season == 0 for e in real)  # specials
    future = [e for e in catalogue.episodes if e.virtual and e.premiere_date > ANCHOR]
    missing = [e for e in catalogue.episodes if e.virtual and e.premiere_date <= ANCHOR]
    assert future and missing
    assert {catalogue.shows[e.show].status for e in future} == {"Continuing"}
    assert {s.status for s in catalogue.shows} == {"Continuing", "Ended"}
    for show in catalogue.shows:
        assert show.title and show.overview and show.genres and show.studios and show.cast
        assert show.tmdb_id and show.imdb_id.startswith("tt") and show.tvdb_id
        assert len(show.cast) <= 20 and set(show.genres) <= set(tv_seed.TV_GENRES)
    assert len({s.tmdb_id for s in catalogue.shows}) == 1500
    assert len({(s.title, s.year) for s in catalogue.shows}) == 1500
    episode_ids = [e.tmdb_id for e in catalogue.episodes]
    assert len(set(episode_ids)) == len(episode_ids)
    assert not set(episode_ids) & {s.tmdb_id for s in catalogue.shows}  # the episodes' own ids
    assert any("/" in s.title or "?" in s.title or ":" in s.title for s in catalogue.shows)
    numbers = [(e.show, e.season, e.number) for e in catalogue.episodes]
    assert numbers == sorted(numbers)


def test_the_build_is_deterministic() -> None:
    build = build_catalogue.__wrapped__  # past the cache
    first, second = build(120, seed=5, anchor=ANCHOR), build(120, seed=5, anchor=ANCHOR)
    assert first.shows == second.shows and first.episodes == second.episodes
    assert build(120, seed=6, anchor=ANCHOR).shows != first.shows
    viewers = tv_seed.movielens_viewers()[:40]
    assert build_history(first, viewers).plays == build_history(second, viewers).plays


def test_viewers_are_the_movielens_users_and_some_watch_no_tv(
    full: tuple[tv_seed.TvCatalogue, tv_seed.TvHistory],
) -> None:
    _, history = full
    assert len(history.viewers) == 671 and history.viewers[0] == "user1"
    watching = {p.viewer for p in history.plays}
    assert 0.85 * 671 < len(watching) < 0.97 * 671
    assert len(history.plays) > 100_000


def test_started_shows_follow_movie_taste(full: tuple[tv_seed.TvCatalogue, tv_seed.TvHistory]) -> None:
    catalogue, history = full
    viewers = {v.name: v for v in tv_seed.movielens_viewers()}
    started: dict[str, set[int]] = defaultdict(set)
    for play in history.plays:
        started[play.viewer].add(play.show)
    catalogue_mean = {
        name: statistics.fmean(viewers[name].taste.get(s.genres[0], 0.0) for s in catalogue.shows)
        for name in started
    }
    better = sum(
        statistics.fmean(viewers[name].taste.get(catalogue.shows[s].genres[0], 0.0) for s in shows)
        > catalogue_mean[name]
        for name, shows in started.items()
    )
    assert better > 0.85 * len(started)


def test_viewing_has_binges_drop_offs_finishes_and_current_shows(
    full: tuple[tv_seed.TvCatalogue, tv_seed.TvHistory],
) -> None:
    catalogue, history = full
    now = dt.datetime.combine(ANCHOR, dt.time(0), dt.UTC)
    by_pair: dict[tuple[str, int], list[tv_seed.TvPlay]] = defaultdict(list)
    for play in history.plays:
        by_pair[(play.viewer, play.show)].append(play)
    finished = dropped = watching = binged = 0
    for (_, show), plays in by_pair.items():
        regular = [e for e in catalogue.episodes_of(show) if e.season > 0 and not e.virtual]
        done = {(p.season, p.number) for p in plays if p.played and p.season > 0}
        last = max(p.last_played for p in plays)
        if regular and done >= {(e.season, e.number) for e in regular}:
            finished += 1
        elif now - last > dt.timedelta(days=60) and len(done) < len(regular) / 2:
            dropped += 1
        elif now - last < dt.timedelta(days=30):
            watching += 1
        days = defaultdict(int)
        for p in plays:
            days[p.last_played.date()] += 1
        binged += max(days.values()) >= 3
    pairs = len(by_pair)
    assert (
        finished > 0.05 * pairs and dropped > 0.2 * pairs and watching > 0.02 * pairs and binged > 0.2 * pairs
    )
    assert any(not p.played and 0 < p.position < 1 for p in history.plays)  # left in progress
    assert any(p.play_count > 1 for p in history.plays) and history.favourite_shows
    assert all(p.last_played < now for p in history.plays)


def test_sample_has_the_documented_shapes() -> None:
    sample = sample_catalogue(ANCHOR)
    assert len(sample.shows) == 6
    quiet = sample.episodes_of(1)
    assert [(e.number, e.virtual) for e in quiet if e.season == 1][3] == (4, True)
    assert all(e.virtual and e.premiere_date > ANCHOR for e in quiet if e.season == 2)
    assert [e.season for e in sample.episodes_of(2)].count(0) == 2
    history = tv_seed.sample_history(sample)
    assert {p.viewer for p in history.plays} == {"alice", "bob", "kids"}
