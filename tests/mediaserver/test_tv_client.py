"""TV through the clients over real HTTP against the simulator, in both dialects: TV libraries,
series and episodes paged, virtual episodes never returned, provider ids of shows and episodes,
played episodes with their show and numbers, lookups by id."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import SecretStr

from sidecar.mediaserver import open_client
from sidecar.mediaserver.client import DialectClient
from sidecar.mediaserver.items import EPISODE, MOVIE, SERIES, EpisodeItem, SeriesItem
from sidecar.settings import Settings
from sidecar.simulator import RunningSimulator, running_simulator

KINDS = ["jellyfin", "emby"]


async def _client(sim: RunningSimulator, **overrides: object) -> DialectClient:
    values: dict[str, object] = {
        "media_server_url": sim.url,
        "media_server_api_key": SecretStr(sim.api_key),
        "media_server_backoff_seconds": 0.01,
        "media_server_page_size": 10,
        "media_server_kind": sim.kind,
    }
    values.update(overrides)
    return await open_client(Settings(_env_file=None, **values))  # type: ignore[call-arg, arg-type, return-value]


def _user(sim: RunningSimulator, name: str) -> str:
    return next(u.id for u in sim.state.users.values() if u.name == name)


@pytest.mark.parametrize("kind", KINDS)
async def test_lists_tv_libraries_and_every_series_with_provider_ids(kind: str) -> None:
    async with running_simulator(kind, "sample", tv="sample") as sim:
        client = await _client(sim)
        try:
            libraries = await client.list_libraries_for(SERIES)
            movie_libraries = await client.list_libraries_for(MOVIE)
            series = [
                s
                async for page in client.iter_items(SERIES, [lib.item_id for lib in libraries])
                for s in page
            ]
        finally:
            await client.close()
    assert [lib.collection_type for lib in libraries] == ["tvshows"]
    assert [lib.collection_type for lib in movie_libraries] == ["movies"]
    assert len(series) == len(sim.state.tv.series) == 6
    assert all(isinstance(s, SeriesItem) for s in series)
    harbor = next(s for s in series if s.title == "Harbor Lights")
    expected = sim.state.tv.series[harbor.id]
    assert harbor.provider_ids == {k.lower(): v for k, v in expected.provider_ids.items()}
    assert set(harbor.provider_ids) == {"tmdb", "imdb", "tvdb"}
    assert harbor.status == "Ended" and harbor.genres == ("Drama", "Crime") and harbor.studios
    assert harbor.people and harbor.path == expected.path and harbor.library_id == libraries[0].item_id


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("concurrency", [1, 3])
async def test_episodes_come_page_by_page_real_only(kind: str, concurrency: int) -> None:
    async with running_simulator(kind, "sample", tv="sample") as sim:
        client = await _client(sim, media_server_concurrency=concurrency)
        try:
            library = next(lib for lib in await client.list_libraries_for(EPISODE))
            pages = [page async for page in client.iter_items(EPISODE, [library.item_id])]
        finally:
            await client.close()
        tv = sim.state.tv
        real = [e for e in tv.listing("Episode", library.item_id) if not e.virtual]
        virtual = {e.id for e in tv.episodes.values() if e.virtual}
    assert virtual, "the sample has missing and future episodes"
    got = [e for page in pages for e in page]
    assert [e.id for e in got] == [e.id for e in real]  # stable order, each once, none virtual
    assert all(isinstance(e, EpisodeItem) and not e.is_virtual and e.path for e in got)
    assert max(len(p) for p in pages) <= 10  # never more than one page at a time
    skipped = {i for page in pages for i in page.skipped}
    if kind == "jellyfin":
        assert not skipped  # the server filtered them (isMissing=false)
        assert pages[0].total == len(real)
    else:
        assert skipped == virtual  # Emby lists them; the client drops and reports them
        assert pages[0].total == len(real) + len(virtual)
    first = got[0]
    original = tv.episodes[first.id]
    assert first.series_id == original.series_id and first.season_id == original.season_id
    assert (first.season_number, first.episode_number) == (
        original.parent_index_number,
        original.index_number,
    )
    assert first.provider_ids == {k.lower(): v for k, v in original.provider_ids.items()}
    assert first.provider_ids != {k.lower(): v for k, v in tv.series[first.series_id].provider_ids.items()}


@pytest.mark.parametrize("kind", KINDS)
async def test_specials_are_season_zero(kind: str) -> None:
    async with running_simulator(kind, "sample", tv="sample") as sim:
        client = await _client(sim)
        try:
            library = (await client.list_libraries_for(EPISODE))[0]
            episodes = [e async for page in client.iter_items(EPISODE, [library.item_id]) for e in page]
        finally:
            await client.close()
    specials = [e for e in episodes if e.season_number == 0]
    assert specials and all(
        e.series_title == "Who Killed Rosa? / Part: One" for e in specials if e.title.startswith("Special")
    )


@pytest.mark.parametrize("kind", KINDS)
async def test_one_show_episodes_exclude_virtual_ones(kind: str) -> None:
    async with running_simulator(kind, "sample", tv="sample") as sim:
        quiet = next(s for s in sim.state.tv.series.values() if s.name == "The Quiet Signal")
        client = await _client(sim)
        try:
            pages = [p async for p in client.iter_series_episodes(quiet.id, user_id=_user(sim, "alice"))]
        finally:
            await client.close()
    got = [(e.season_number, e.episode_number) for page in pages for e in page]
    assert got == [(1, n) for n in (1, 2, 3, 5, 6, 7, 8)]  # E04 missing, season 2 not aired


@pytest.mark.parametrize("kind", KINDS)
async def test_played_episodes_carry_show_and_numbers(kind: str) -> None:
    async with running_simulator(kind, "sample", tv="sample") as sim:
        alice = _user(sim, "alice")
        client = await _client(sim)
        try:
            played = [d async for page in client.iter_played_items(EPISODE, alice) for d in page]
            newest = played[0].last_played_at
            assert newest is not None
            recent = [
                d
                async for page in client.iter_played_items(
                    EPISODE, alice, since=newest - dt.timedelta(days=5)
                )
                for d in page
            ]
            resumable = [
                d async for page in client.iter_resumable_items(EPISODE, _user(sim, "bob")) for d in page
            ]
            shows = await client.get_user_item_data(SERIES, alice, list(sim.state.tv.series))
        finally:
            await client.close()
        tv = sim.state.tv
        expected = {i for i, d in tv.items_with_data(alice).items() if d.played and i in tv.episodes}
    assert {d.item_id for d in played} == expected
    dates = [d.last_played_at for d in played]
    assert dates == sorted(dates, reverse=True)
    for data in played:
        episode = tv.episodes[data.item_id]
        assert data.series_id == episode.series_id and data.item_type == "Episode"
        assert (data.season_number, data.episode_number) == (
            episode.parent_index_number,
            episode.index_number,
        )
        assert data.path == episode.path
    assert 0 < len(recent) < len(played)
    assert [r.played for r in resumable] == [False] and 0.25 < resumable[0].played_fraction < 0.35
    harbor = next(s for s in shows if tv.series[s.item_id].name == "Harbor Lights")
    assert harbor.played and harbor.is_favorite  # every real episode played; a favourite show


@pytest.mark.parametrize("kind", KINDS)
async def test_get_items_by_id_keeps_the_type_and_drops_the_unknown(kind: str) -> None:
    async with running_simulator(kind, "sample", tv="sample") as sim:
        tv = sim.state.tv
        real = next(e for e in tv.episodes.values() if not e.virtual)
        virtual = next(e for e in tv.episodes.values() if e.virtual)
        series = next(iter(tv.series.values()))
        movie = next(iter(sim.state.movies))
        client = await _client(sim)
        try:
            episodes = await client.get_items(EPISODE, [real.id, virtual.id, series.id, movie, "12345"])
            shows = await client.get_items(SERIES, [series.id, real.id])
        finally:
            await client.close()
    assert [e.id for e in episodes] == [real.id]
    assert [s.id for s in shows] == [series.id]


@pytest.mark.parametrize("kind", KINDS)
async def test_a_user_sees_only_allowed_tv_libraries(kind: str) -> None:
    async with running_simulator(kind, "sample", tv="sample") as sim:
        bob = next(u for u in sim.state.users.values() if u.name == "bob")
        movies = next(lib for lib in sim.state.libraries if lib.collection_type == "movies")
        bob.policy["EnableAllFolders"] = False
        bob.policy["EnabledFolders"] = [movies.guid if kind == "emby" else movies.item_id]
        client = await _client(sim)
        try:
            played = [d async for page in client.iter_played_items(EPISODE, bob.id) for d in page]
            alice_played = [
                d async for page in client.iter_played_items(EPISODE, _user(sim, "alice")) for d in page
            ]
        finally:
            await client.close()
    assert played == [] and alice_played
