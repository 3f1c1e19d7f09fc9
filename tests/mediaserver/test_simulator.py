"""The simulator itself: seeds, mutations and their events, per-dialect auth rules."""

from __future__ import annotations

import aiohttp
import pytest

from sidecar.simulator import MediaServerSimulator, running_simulator
from sidecar.simulator.seeds import _clean_title, load_movielens


def test_events_reach_listeners() -> None:
    sim = MediaServerSimulator("jellyfin", seed="sample")
    events: list[dict] = []
    sim.state.listeners.append(events.append)
    alice = "fa984abd4cf24037bb5e7ed85d80162d"
    movie = sim.state.add_movie(name="Dune", year=2021)
    sim.state.record_play(alice, movie.id)
    sim.state.set_favorite(alice, movie.id)
    sim.state.remove_movie(movie.id)
    assert [e["type"] for e in events] == [
        "item_added", "playback_stopped", "user_data_saved", "user_data_saved", "item_removed",
    ]  # fmt: skip
    assert events[1]["user_id"] == alice and events[1]["item_id"] == movie.id


def test_play_semantics() -> None:
    sim = MediaServerSimulator("emby", seed="sample")
    user = next(iter(sim.state.users))
    movie = sim.state.add_movie(name="Heat", year=1995, emit=False)
    data = sim.state.record_play(user, movie.id, completed=False, position_ticks=5)
    assert (data.play_count, data.played, data.position_ticks) == (1, False, 5)
    data = sim.state.record_play(user, movie.id)
    assert (data.play_count, data.played, data.position_ticks) == (2, True, 0)
    assert movie.id.isdigit()  # Emby item ids are numeric strings


def test_movielens_seed() -> None:
    data = load_movielens()
    assert (len(data.movies), len(data.user_ids), len(data.ratings)) == (9066, 671, 100004)
    sim = MediaServerSimulator("jellyfin", seed=None)
    from sidecar.simulator.seeds import seed_movielens

    seed_movielens(sim.state, users=3)
    assert len(sim.state.movies) == 9066 and len(sim.state.users) == 3
    lens_user1 = [r for r in data.ratings if r[0] == data.user_ids[0]]
    user = next(u for u in sim.state.users.values() if u.name == f"user{data.user_ids[0]}")
    stored = sim.state.items_with_data(user.id)
    assert len(stored) == len(lens_user1)
    assert sum(d.is_favorite for d in stored.values()) == sum(r[2] >= 4 for r in lens_user1)
    assert {d.rating for d in stored.values()} == {r[2] * 2 for r in lens_user1}
    movie = next(iter(sim.state.movies.values()))
    assert movie.path.startswith("/media/movies/") and movie.path.endswith(".mkv")
    assert movie.provider_ids["Tmdb"].isdigit() and movie.provider_ids["Imdb"].startswith("tt")


def test_title_clean_up() -> None:
    assert _clean_title("Deer Hunter, The") == ("The Deer Hunter", None, "Deer Hunter")
    assert _clean_title("Cinema Paradiso (Nuovo cinema Paradiso)") == (
        "Cinema Paradiso", "Nuovo cinema Paradiso", "Cinema Paradiso",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "path", "headers", "status"),
    [
        ("jellyfin", "/Users", {"Authorization": 'MediaBrowser Token="{key}"'}, 200),
        ("jellyfin", "/Users", {"X-Emby-Token": "{key}"}, 200),  # legacy carrier, on in 10.11
        ("jellyfin", "/Users", {}, 401),
        ("jellyfin", "/emby/Users", {"Authorization": 'MediaBrowser Token="{key}"'}, 404),
        ("emby", "/emby/Users/Query", {"X-Emby-Token": "{key}"}, 200),
        ("emby", "/Users/Query", {"X-Emby-Token": "{key}"}, 200),  # Emby also answers without /emby
        ("emby", "/emby/Users/Query", {"X-Emby-Token": "wrong"}, 401),
        ("emby", "/emby/System/Info/Public", {}, 200),
    ],
)
async def test_auth_rules_per_dialect(kind: str, path: str, headers: dict[str, str], status: int) -> None:
    async with running_simulator(kind, "sample") as sim:
        filled = {k: v.format(key=sim.api_key) for k, v in headers.items()}
        async with (
            aiohttp.ClientSession() as session,
            session.get(sim.url + path, headers=filled) as response,
        ):
            assert response.status == status


async def test_jellyfin_legacy_auth_can_be_switched_off() -> None:
    async with running_simulator("jellyfin", "sample") as sim:
        sim.sim.legacy_auth = False  # Jellyfin 12
        async with aiohttp.ClientSession() as session:
            async with session.get(sim.url + "/Users", headers={"X-Emby-Token": sim.api_key}) as response:
                assert response.status == 401
            async with session.get(sim.url + f"/Users?ApiKey={sim.api_key}") as response:
                assert response.status == 200


async def test_jellyfin_item_needs_a_user_with_an_api_key() -> None:
    async with running_simulator("jellyfin", "sample") as sim:
        headers = {"Authorization": f'MediaBrowser Token="{sim.api_key}"'}
        dashed = "636a515b-bdb3-4cc7-9550-0f084e480402"
        async with aiohttp.ClientSession(headers=headers) as session:
            async with session.get(f"{sim.url}/Items/{dashed}") as response:
                assert response.status == 400
            async with session.get(
                f"{sim.url}/Items/{dashed}?userId=fa984abd4cf24037bb5e7ed85d80162d"
            ) as response:
                assert response.status == 200
                assert (await response.json())["UserData"]["PlayCount"] == 1


@pytest.mark.parametrize("kind", ["jellyfin", "emby"])
async def test_a_movies_parent_id_is_its_folder_not_its_library(kind: str) -> None:
    """BaseItem.ParentId is the physical folder the file sits in; only ParentId= *filters* by library."""
    async with running_simulator(kind, "sample") as sim:
        library = next(lib for lib in sim.state.libraries if lib.collection_type == "movies")
        headers = {"X-Emby-Token": sim.api_key}
        prefix = "/emby" if kind == "emby" else ""
        params = {"ParentId": library.item_id, "Recursive": "true", "IncludeItemTypes": "Movie",
                  "Fields": "ParentId,Path"}  # fmt: skip
        async with (
            aiohttp.ClientSession(sim.url, headers=headers) as http,
            http.get(f"{prefix}/Items", params=params) as response,
        ):
            items = (await response.json())["Items"]
    assert items and all(item["ParentId"] != library.item_id for item in items)
    folders = {item["Path"].rsplit("/", 1)[0]: item["ParentId"] for item in items}
    assert len(set(folders.values())) == len(folders)  # one id per folder
