"""The simulator's TV surface over HTTP, in both dialects: library children, recursive episode
listings with Jellyfin's isMissing filter and Emby's virtual episodes, /Shows/{id}/Episodes with an
API key, per-user episode data, single items, and the command line flag."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from sidecar.simulator import RunningSimulator, running_simulator

KINDS = ["jellyfin", "emby"]


async def _get(sim: RunningSimulator, path: str, **params: Any) -> Any:
    """GET with each dialect's auth, prefix and parameter casing (names given in PascalCase)."""
    jellyfin = sim.kind == "jellyfin"
    headers = (
        {"Authorization": f'MediaBrowser Token="{sim.api_key}"'}
        if jellyfin
        else {"X-Emby-Token": sim.api_key}
    )
    query = {(k[0].lower() + k[1:] if jellyfin else k): str(v).lower() if isinstance(v, bool) else str(v)
             for k, v in params.items()}  # fmt: skip
    url = sim.url + ("" if jellyfin else "/emby") + path
    async with aiohttp.ClientSession(headers=headers) as session, session.get(url, params=query) as response:
        return response.status, await response.json() if response.status == 200 else None


def _tv_library(sim: RunningSimulator) -> str:
    return next(lib.item_id for lib in sim.state.libraries if lib.collection_type == "tvshows")


@pytest.mark.parametrize("kind", KINDS)
async def test_children_without_recursive_and_everything_with_it(kind: str) -> None:
    async with running_simulator(kind, "sample", tv="sample") as sim:
        library = _tv_library(sim)
        tv = sim.state.tv
        _, shows = await _get(sim, "/Items", ParentId=library)
        quiet = next(s for s in tv.series.values() if s.name == "The Quiet Signal")
        _, seasons = await _get(sim, "/Items", ParentId=quiet.id)
        _, everything = await _get(sim, "/Items", ParentId=library, Recursive=True)
        _, movies = await _get(sim, "/Items", IncludeItemTypes="Movie", Recursive=True)
    assert {i["Type"] for i in shows["Items"]} == {"Series"} and shows["TotalRecordCount"] == 6
    assert [s["IndexNumber"] for s in seasons["Items"]] == [1, 2]
    assert everything["TotalRecordCount"] == len(tv.series) + len(tv.seasons) + len(tv.episodes)
    assert movies["TotalRecordCount"] == len(sim.state.movies)  # movie queries are untouched


@pytest.mark.parametrize("kind", KINDS)
async def test_missing_filter_is_jellyfin_only(kind: str) -> None:
    async with running_simulator(kind, "sample", tv="sample") as sim:
        library = _tv_library(sim)
        _, listed = await _get(sim, "/Items", ParentId=library, Recursive=True, IncludeItemTypes="Episode",
                               IsMissing=False, Fields="Path")  # fmt: skip
        tv = sim.state.tv
    virtual = [i for i in listed["Items"] if i["LocationType"] == "Virtual"]
    if kind == "jellyfin":
        assert not virtual and listed["TotalRecordCount"] == sum(not e.virtual for e in tv.episodes.values())
    else:  # Emby documents no IsMissing: virtual episodes come back, without a path or container
        assert len(virtual) == sum(e.virtual for e in tv.episodes.values())
        assert all("Path" not in i and "Container" not in i and "MediaType" not in i for i in virtual)
    assert all(i.get("Path") for i in listed["Items"] if i["LocationType"] == "FileSystem")


@pytest.mark.parametrize("kind", KINDS)
async def test_show_episodes_with_an_api_key_include_missing_unless_asked(kind: str) -> None:
    async with running_simulator(kind, "sample", tv="sample") as sim:
        quiet = next(s for s in sim.state.tv.series.values() if s.name == "The Quiet Signal")
        _, everything = await _get(sim, f"/Shows/{quiet.id}/Episodes")
        _, filtered = await _get(sim, f"/Shows/{quiet.id}/Episodes", IsMissing=False)
        _, season_two = await _get(sim, f"/Shows/{quiet.id}/Episodes", Season=2)
        status, _ = await _get(sim, "/Shows/123456/Episodes")
    assert everything["TotalRecordCount"] == 11
    assert filtered["TotalRecordCount"] == (7 if kind == "jellyfin" else 11)
    assert [i["LocationType"] for i in season_two["Items"]] == ["Virtual"] * 3
    assert status == 404


@pytest.mark.parametrize("kind", KINDS)
async def test_user_data_is_per_episode_and_shows_count_with_a_user(kind: str) -> None:
    async with running_simulator(kind, "sample", tv="sample") as sim:
        alice = next(u for u in sim.state.users.values() if u.name == "alice")
        tv = sim.state.tv
        quiet = next(s for s in tv.series.values() if s.name == "The Quiet Signal")
        fourth = [e for e in tv.episodes_of(quiet.id) if not e.virtual][3]
        tv.record_play(alice.id, fourth.id, emit=False)
        path = "/Items" if kind == "jellyfin" else f"/Users/{alice.id}/Items"
        user = {"UserId": alice.id} if kind == "jellyfin" else {}
        _, played = await _get(sim, path, IncludeItemTypes="Episode", Recursive=True, IsPlayed=True,
                               ParentId=quiet.id, **user)  # fmt: skip
        _, shows = await _get(sim, path, IncludeItemTypes="Series", Recursive=True,
                              Fields="ChildCount,RecursiveItemCount", **user)  # fmt: skip
        _, no_user = await _get(sim, "/Items", IncludeItemTypes="Series", Recursive=True,
                                Fields="ChildCount,RecursiveItemCount")  # fmt: skip
    assert [i["IndexNumber"] for i in played["Items"]] == [1, 2, 3, 5]
    counted = next(i for i in shows["Items"] if i["Id"] == quiet.id)
    assert (counted["ChildCount"], counted["RecursiveItemCount"]) == (1, 7)
    assert counted["UserData"]["UnplayedItemCount"] == 3
    assert all("ChildCount" not in i and "UserData" not in i for i in no_user["Items"])


@pytest.mark.parametrize("kind", KINDS)
async def test_single_episode_and_series_items(kind: str) -> None:
    async with running_simulator(kind, "sample", tv="sample") as sim:
        alice = next(u for u in sim.state.users.values() if u.name == "alice")
        episode = next(e for e in sim.state.tv.episodes.values() if not e.virtual)
        path = f"/Items/{episode.id}" if kind == "jellyfin" else f"/Users/{alice.id}/Items/{episode.id}"
        params = {"UserId": alice.id} if kind == "jellyfin" else {}
        status, item = await _get(sim, path, **params)
    assert status == 200
    assert (
        item["Type"] == "Episode" and item["SeriesId"] == episode.series_id and item["Path"] == episode.path
    )
    assert item["ParentIndexNumber"] == episode.parent_index_number and "UserData" in item


def test_tv_user_data_is_per_item_or_shared_like_jellyfin_10_10() -> None:
    from sidecar.simulator.model import SimState
    from sidecar.simulator.seeds import seed_state
    from sidecar.simulator.tv_library import seed_tv

    state = SimState("jellyfin")
    seed_state(state, "sample")
    seed_tv(state, "sample")
    tv = state.tv
    harbor = next(s for s in tv.series.values() if s.name == "Harbor Lights")
    original = next(e for e in tv.episodes_of(harbor.id) if not e.virtual)
    # A copy as an AI library scan makes it: same show ids (tvshow.nfo), same numbers.
    copy_series = tv.add_series(emit=False, name=harbor.name, library_id=harbor.library_id, path="/copy",
                                provider_ids=dict(harbor.provider_ids))  # fmt: skip
    season = tv.add_season(copy_series, original.parent_index_number, emit=False)
    copy = tv.add_episode(
        season, emit=False, name="copy", index_number=original.index_number, path="/copy/e.mkv"
    )
    bob = next(u.id for u in state.users.values() if u.name == "bob")
    tv.record_play(bob, copy.id, emit=False)
    assert tv.user_data_of(bob, original.id) is None  # 10.11: the copy's play is the copy's own
    tv.set_per_item_user_data(False)  # the copy's data moves to the shared key
    shared = tv.user_data_of(bob, original.id)
    assert shared is not None and shared.played and shared is tv.user_data_of(bob, copy.id)
    tv.set_per_item_user_data(True)  # an upgrade to 10.11 gives each item its own copy of the data
    tv.record_play(bob, copy.id, emit=False)
    assert tv.user_data_of(bob, copy.id).play_count == 2  # type: ignore[union-attr]
    assert tv.user_data_of(bob, original.id).play_count == 1  # type: ignore[union-attr]


def test_tv_user_data_follows_the_movie_models_sharing_setting() -> None:
    from sidecar.simulator.model import SimState

    state = SimState("jellyfin")
    assert state.tv.per_item_user_data
    state.user_data_sharing = "provider"  # type: ignore[misc, assignment]  # a 10.10 server
    assert not state.tv.per_item_user_data
    state.tv.set_per_item_user_data(True)
    assert state.tv.per_item_user_data


async def test_the_full_tv_seed_serves_the_movielens_users() -> None:
    async with running_simulator("jellyfin", "movielens", tv="full") as sim:
        library = _tv_library(sim)
        _, page = await _get(sim, "/Items", ParentId=library, Recursive=True, IncludeItemTypes="Episode",
                             IsMissing=False, Limit=5)  # fmt: skip
        user1 = next(u for u in sim.state.users.values() if u.name == "user1")
        _, played = await _get(sim, "/Items", UserId=user1.id, IncludeItemTypes="Episode", Recursive=True,
                               IsPlayed=True, Limit=1)  # fmt: skip
    assert page["TotalRecordCount"] > 55_000 and len(page["Items"]) == 5
    assert len(sim.state.tv.series) == 1500
    assert played is not None


@pytest.mark.parametrize("parent", ["library", "series", "season"])
async def test_jellyfin_missing_filter_applies_under_every_parent(parent: str) -> None:
    async with running_simulator("jellyfin", "sample", tv="sample") as sim:
        tv = sim.state.tv
        quiet = next(s for s in tv.series.values() if s.name == "The Quiet Signal")
        season_one = next(s for s in tv.seasons_of(quiet.id) if s.index_number == 1)
        parent_id = {"library": _tv_library(sim), "series": quiet.id, "season": season_one.id}[parent]
        _, real = await _get(sim, "/Items", ParentId=parent_id, Recursive=True, IncludeItemTypes="Episode",
                             IsMissing=False)  # fmt: skip
        _, missing = await _get(sim, "/Items", ParentId=parent_id, Recursive=True, IncludeItemTypes="Episode",
                                IsMissing=True)  # fmt: skip
    assert real["Items"] and all(i["LocationType"] == "FileSystem" for i in real["Items"])
    assert missing["Items"] and all(i["LocationType"] == "Virtual" for i in missing["Items"])
