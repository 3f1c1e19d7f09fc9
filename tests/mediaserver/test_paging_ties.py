"""Paging over sort ties (issue #13 point 9): the servers order ties arbitrarily per request, so
offset pages can repeat or skip items. The simulator shuffles ties anew per request; the clients
page one page at a time in a stable order, drop repeats, and say when a listing stayed incomplete."""

from __future__ import annotations

import datetime as dt
from typing import Any

import aiohttp
import pytest

from sidecar.mediaserver import open_client
from sidecar.mediaserver.paging import IncompleteListingError, iter_pages_checked
from sidecar.settings import Settings
from sidecar.simulator import running_simulator
from tests.simhelpers import settings_for

KINDS = ["jellyfin", "emby"]
SAME = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _twins(sim: Any, count: int = 40) -> str:
    """A library of `count` movies that tie on every sort key the clients can ask for."""
    library = sim.state.add_library("Twins", "movies", ["/media/twins"])
    for n in range(count):
        sim.state.add_movie(
            name="Hamlet",
            year=1990,
            library_id=library.item_id,
            date_created=SAME,
            path=f"/media/twins/{n}.mkv",
        )
    return library.item_id


async def _naive_walk(sim: Any, library_id: str, page_size: int) -> list[str]:
    """Offset paging as the old client did it (SortName only, no checks)."""
    prefix = "/emby" if sim.kind == "emby" else ""
    ids: list[str] = []
    async with aiohttp.ClientSession(sim.url, headers={"X-Emby-Token": sim.api_key}) as http:
        for start in range(0, 40, page_size):
            params = {"ParentId": library_id, "Recursive": "true", "IncludeItemTypes": "Movie",
                      "SortBy": "SortName", "StartIndex": str(start), "Limit": str(page_size)}  # fmt: skip
            async with http.get(f"{prefix}/Items", params=params) as response:
                ids.extend(item["Id"] for item in (await response.json())["Items"])
    return ids


@pytest.mark.parametrize("kind", KINDS)
async def test_the_simulator_orders_ties_differently_per_request(kind: str) -> None:
    async with running_simulator(kind, "sample") as sim:  # type: ignore[arg-type]
        library = _twins(sim)
        walks = [await _naive_walk(sim, library, 40) for _ in range(3)]
        assert all(sorted(w) == sorted(walks[0]) for w in walks)  # the same items...
        assert len({tuple(w) for w in walks}) > 1  # ...in another order each time
        paged = await _naive_walk(sim, library, 10)
        assert len(set(paged)) < 40  # offset pages over ties repeat some items and miss others


@pytest.mark.parametrize("kind", KINDS)
async def test_the_client_lists_every_tied_movie_exactly_once(kind: str, settings: Settings) -> None:
    async with running_simulator(kind, "sample") as sim:  # type: ignore[arg-type]
        library = _twins(sim)
        client = await open_client(settings_for(settings, sim, media_server_page_size=10))
        try:
            pages = [page async for page in client.iter_movies([library])]
        finally:
            await client.close()
        ids = [m.id for page in pages for m in page]
        assert len(ids) == len(set(ids)) == 40
        assert pages[-1].complete is True  # type: ignore[attr-defined]


def _listing(pages: list[list[str]], total: int) -> Any:
    """A listing whose answer to each successive request is the next of `pages`."""
    answers = iter(pages)

    async def fetch(start: int, limit: int) -> dict[str, Any]:
        items = next(answers, [])
        return {"Items": [{"Id": i} for i in items], "TotalRecordCount": total}

    return fetch


async def test_a_checked_walk_drops_repeats_and_walks_again_for_what_it_missed() -> None:
    # c and d tie: the first walk sees c twice and never d; the second walk finds d.
    fetch = _listing([["a", "c"], ["c", "b"], ["a", "d"], ["c", "b"]], total=4)
    pages = [p async for p in iter_pages_checked(fetch, page_size=2)]
    assert [i["Id"] for p in pages for i in p] == ["a", "c", "b", "d"]
    assert pages[-1].complete is True


async def test_a_walk_that_stays_incomplete_says_so() -> None:
    fetch = _listing([["a", "b"], ["b"], ["a", "b"], ["b"]], total=4)
    pages = [p async for p in iter_pages_checked(fetch, page_size=2)]
    assert [i["Id"] for p in pages for i in p] == ["a", "b"]
    assert pages[-1].complete is False


@pytest.mark.parametrize("kind", KINDS)
async def test_an_incomplete_played_list_raises_instead_of_passing_for_the_whole_history(
    kind: str, settings: Settings
) -> None:
    """The full watch-history run deletes rows the listing did not return: an incomplete listing
    must fail that user (nothing deleted), not look complete."""
    async with running_simulator(kind, "sample") as sim:  # type: ignore[arg-type]
        user = next(iter(sim.state.users))
        for movie in list(sim.state.movies.values())[:5]:
            sim.state.mark_played(user, movie.id, at=SAME)  # five plays that tie on DatePlayed
        client = await open_client(settings_for(settings, sim, media_server_page_size=2))
        sim.sim.shuffle_ties = False
        # Every answer claims one more item than the server returns (one added during the walk).
        original = sim.sim._result
        sim.sim._result = lambda items, total, start: original(items, total + 1, start)  # type: ignore[method-assign]
        try:
            with pytest.raises(IncompleteListingError):
                async for _ in client.iter_played_movies(user):
                    pass
        finally:
            await client.close()
