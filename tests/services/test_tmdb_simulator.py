"""The simulated TMDb through our TMDb client: shapes as the API reference gives them, /find for
items with only an IMDb or TVDB id, recommendations that mix on- and off-server titles, the errors
TMDb sends, its rate limit, and the key kept out of URLs."""

from __future__ import annotations

import pytest

from sidecar.services.http import ServiceAuthError, ServiceNotFound
from sidecar.services.tmdb import TmdbClient
from sidecar.simulator.services import serve
from sidecar.simulator.services.tmdb import TmdbSimulator
from sidecar.simulator.services.tmdb_catalogue import build_catalogue
from tests.service_world import server


@pytest.fixture
def sim() -> TmdbSimulator:
    return TmdbSimulator(build_catalogue(server(), min_extra=300), rate_limit_per_second=None)


async def test_movie_details_carry_the_appended_documents(sim: TmdbSimulator) -> None:
    async with serve(sim.create_app()) as url, TmdbClient(sim.api_key, base_url=url) as client:
        matrix = await client.details("movie", 603)
    assert matrix["title"] == "The Matrix" and matrix["imdb_id"] == "tt0133093"
    assert matrix["belongs_to_collection"]["id"] == 2344  # the server's TmdbCollection id
    assert {"id", "name"} <= set(matrix["keywords"]["keywords"][0])
    assert matrix["credits"]["cast"][0] | {"name": "Keanu Reeves", "order": 0} == matrix["credits"]["cast"][0]
    assert {"job": "Director", "name": "Lana Wachowski"}.items() <= matrix["credits"]["crew"][0].items()
    us = matrix["release_dates"]["results"][0]
    assert us["iso_3166_1"] == "US" and us["release_dates"][0]["certification"] == "R"
    assert "external_ids" not in matrix  # not asked for
    assert sim.key_in_query == 0


async def test_tv_details_use_results_for_keywords_and_external_ids_for_imdb(sim: TmdbSimulator) -> None:
    show = next(t for t in sim.catalogue.of_kind("tv") if t.on_server and t.imdb_id and t.tvdb_id)
    async with serve(sim.create_app()) as url, TmdbClient(sim.api_key, base_url=url) as client:
        body = await client.details("tv", show.id)
    assert "imdb_id" not in body  # only in external_ids for TV
    assert body["external_ids"]["imdb_id"] == show.imdb_id and body["external_ids"]["tvdb_id"] == show.tvdb_id
    assert "results" in body["keywords"] and "keywords" not in body["keywords"]
    assert body["content_ratings"]["results"][0]["rating"] == show.certification
    assert body["networks"][0]["name"] == show.networks[0]
    assert body["number_of_episodes"] > 0 and body["name"] == show.title


async def test_find_resolves_imdb_and_tvdb_only_items(sim: TmdbSimulator) -> None:
    tvdb_only = next(t for t in sim.catalogue.of_kind("tv") if t.title == "Only Tvdb")
    assert tvdb_only.tvdb_id == 424242
    async with serve(sim.create_app()) as url, TmdbClient(sim.api_key, base_url=url) as client:
        movie_id = await client.find_id("movie", "tt7777777", "imdb_id")
        show_id = await client.find_id("tv", str(tvdb_only.tvdb_id), "tvdb_id")
        nothing = await client.find_id("movie", "tt0000001", "imdb_id")
        raw = await client.find("tt7777777", "imdb_id")
    assert movie_id is not None and sim.catalogue.get("movie", movie_id).title == "Only Imdb"  # type: ignore[union-attr]
    assert show_id == tvdb_only.id
    assert nothing is None
    assert raw["tv_results"] == [] and raw["movie_results"][0]["media_type"] == "movie"


async def test_recommendations_mix_server_and_new_titles_and_page(sim: TmdbSimulator) -> None:
    async with serve(sim.create_app()) as url, TmdbClient(sim.api_key, base_url=url) as client:
        first = await client.recommendations("movie", 348)
        second = await client.similar("movie", 348, page=2)
    ids = [r["id"] for r in first["results"]]
    on_server = {t.id for t in sim.catalogue.of_kind("movie") if t.on_server}
    assert first["page"] == 1 and len(ids) == 20 and first["total_results"] >= 20
    assert ids[:2] == [679, 8077] or {679, 8077} <= set(ids)  # the collection comes first
    assert set(ids) & on_server and set(ids) - on_server
    new = next(r for r in first["results"] if r["id"] not in on_server)
    assert new["overview"] and new["genre_ids"] and new["release_date"] and new["vote_average"] > 0
    assert second["page"] == 2 and "media_type" not in second["results"][0]


async def test_errors_as_tmdb_sends_them(sim: TmdbSimulator) -> None:
    async with serve(sim.create_app()) as url:
        async with TmdbClient("not-the-token", base_url=url) as wrong:
            with pytest.raises(ServiceAuthError, match="check SIDECAR_TMDB_API_KEY"):
                await wrong.details("movie", 603)
        async with TmdbClient(sim.api_key, base_url=url) as client:
            with pytest.raises(ServiceNotFound):
                await client.details("movie", 999_999_999)
            async with client._get_session().get(f"{url}/movie/603/similar", params={"page": "0"}, headers={
                "Authorization": f"Bearer {sim.api_key}"}) as response:  # fmt: skip
                assert response.status == 400 and (await response.json())["status_code"] == 22
    assert sim.statuses[401] == 1 and sim.statuses[404] == 1


async def test_rate_limit_answers_429_with_retry_after_and_the_client_recovers() -> None:
    sim = TmdbSimulator(build_catalogue(server()), rate_limit_per_second=20)
    async with serve(sim.create_app()) as url:
        async with TmdbClient(sim.api_key, base_url=url, requests_per_second=500, retries=3) as client:
            for _ in range(30):
                assert (await client.details("movie", 603))["id"] == 603
    assert sim.statuses[429] >= 1 and sim.statuses[200] == 30
