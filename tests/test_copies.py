"""Folding a copy's user data into its original: nothing is taken away, nothing is counted twice."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from sidecar.media.copies import Originals, fold, fold_copies, load_originals
from sidecar.mediaserver import UserMovieData
from sidecar.movies import MOVIES
from sidecar.series import SERIES
from sidecar.settings import Settings
from tests.factory import add_item

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def data(item_id: str, **values: Any) -> UserMovieData:
    fields: dict[str, Any] = {
        "user_id": "u1",
        "movie_id": item_id,
        "played": False,
        "play_count": 0,
        "last_played_at": None,
        "is_favorite": False,
        "user_rating": None,
        "position_ticks": 0,
        **values,
    }
    return UserMovieData(**fields)


def test_fold_keeps_what_either_has_and_takes_the_later_play() -> None:
    original = data("o", played=True, play_count=2, last_played_at=T0, is_favorite=True, user_rating=6.0)
    copy = data("c", played=True, play_count=1, last_played_at=T0 + dt.timedelta(days=3), position_ticks=5)
    folded = fold(original, copy, "o")
    assert (folded.movie_id, folded.played, folded.is_favorite) == ("o", True, True)
    assert folded.play_count == 2  # the larger count: under shared state the two are the same plays
    assert folded.last_played_at == T0 + dt.timedelta(days=3) and folded.position_ticks == 5
    assert folded.user_rating == 6.0  # the copy has none: the original's stays

    unplayed_copy = data("c", user_rating=9.0)
    assert fold(original, unplayed_copy, "o").played is True  # never un-marked
    assert fold(original, unplayed_copy, "o").user_rating == 9.0


def test_fold_without_original_state_takes_the_copy_under_the_original_id() -> None:
    copy = data("c", played=True, play_count=1, last_played_at=T0, path="/lib/users/a/x.mkv")
    folded = fold(None, copy, "o")
    assert (folded.movie_id, folded.played, folded.path) == ("o", True, None)


async def test_fold_copies_reads_the_servers_state_of_originals_and_marks_only_what_is_new(
    tmp_path: Any,
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    root = settings.resolved_library_root
    originals = Originals.from_rows(
        [
            {"id": "o1", "tmdb_id": "603", "imdb_id": "tt0133093"},
            {"id": "o2", "tmdb_id": None, "imdb_id": "tt0816692"},
            {"id": "o3", "tmdb_id": "1", "imdb_id": None},
        ]
    )
    plays = {
        "c1": data("c1", played=True, path=f"{root}/users/a/ai-movies/M/M.mkv", provider_ids={"Tmdb": "603"}),
        "c2": data(
            "c2", played=True, path=f"{root}/users/a/ai-movies/I/I.mkv", provider_ids={"Imdb": "TT0816692"}
        ),
        "c3": data(
            "c3", is_favorite=True, path=f"{root}/users/a/ai-movies/G/G.mkv", provider_ids={"Tmdb": "9"}
        ),
        "o3": data("o3", played=True),
    }
    asked: list[list[str]] = []

    async def read_originals(ids: list[str]) -> list[UserMovieData]:
        asked.append(ids)
        return [data("o2", played=True, play_count=4)]  # o2 was already played on the server

    folded = await fold_copies(plays, originals, settings, read_originals)

    assert asked == [["o1", "o2"]]  # o3 was in the listing; c3's original is unknown
    assert set(folded.plays) == {"o1", "o2", "o3"}
    assert folded.plays["o1"].played and folded.plays["o2"].play_count == 4
    assert (folded.copies, folded.orphans) == (2, 1)
    assert [(m.item_id, m.played, m.favourite) for m in folded.marks] == [("o1", True, False)]


# --- the worker's cache of every played row's provider ids -------------------------------------------
async def test_originals_are_kept_while_the_played_table_is_unchanged(db: asyncpg.Pool) -> None:
    """A webhook's watch-history run for a few users reads no catalogue while nothing in it changed;
    a movie synced since is found at once."""
    await add_item(db, "m1", title="A", tmdb_id="1", imdb_id="tt1")
    cache: dict[str, Any] = {}
    first = await load_originals(db, MOVIES, cache)
    await db.execute("DELETE FROM movie_recommendations")  # a table the ids do not come from

    assert await load_originals(db, MOVIES, cache) is first
    await add_item(db, "m2", title="B", tmdb_id="2")
    after = await load_originals(db, MOVIES, cache)
    assert after is not first and after.of({"Tmdb": "2"}) == "m2"


async def test_a_changed_episode_reloads_the_series_originals(db: asyncpg.Pool) -> None:
    await add_item(db, "s1", kind=SERIES, title="Show", sync_hash="h")
    episode = """INSERT INTO episodes (id, series_id, season_number, episode_number, title, tmdb_id,
                                       content_hash, sync_hash) VALUES ($1, 's1', 1, $2, 'E', $3, 'h', 'h')"""
    await db.execute(episode, "e1", 1, "501")
    cache: dict[str, Any] = {}
    first = await load_originals(db, SERIES, cache)
    assert await load_originals(db, SERIES, cache) is first

    await db.execute(episode, "e2", 2, "502")
    after = await load_originals(db, SERIES, cache)
    assert after is not first and after.of({"Tmdb": "502"}) == "e2"
