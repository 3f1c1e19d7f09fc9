"""The OMDb client against the simulated OMDb: errors told apart by their text, not their status."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from sidecar.services.http import QuotaSpent, ServiceAuthError, ServiceNotFound
from sidecar.services.omdb import OmdbClient
from sidecar.settings import Settings
from sidecar.simulator.services import serve
from sidecar.simulator.services.omdb import OmdbSimulator
from sidecar.simulator.services.tmdb_catalogue import build_catalogue
from tests.service_world import server


@pytest.fixture
def sim() -> OmdbSimulator:
    return OmdbSimulator(build_catalogue(server()), daily_limit=3)


async def test_a_record_then_quota_spent_after_the_daily_limit(sim: OmdbSimulator) -> None:
    async with serve(sim.create_app()) as url, OmdbClient(sim.api_key, base_url=url) as client:
        matrix = await client.by_imdb("tt0133093")
        await client.by_imdb("tt0133093")
        with pytest.raises(ServiceNotFound, match="Incorrect IMDb ID"):
            await client.by_imdb("tt0000001")  # answered with HTTP 200
        with pytest.raises(QuotaSpent):
            await client.by_imdb("tt0133093")  # HTTP 401 "Request limit reached!"
    assert matrix["Title"] == "The Matrix" and matrix["Response"] == "True"
    assert matrix["Ratings"][0]["Source"] == "Internet Movie Database"
    assert sim.statuses == {200: 3, 401: 1}


@pytest.mark.parametrize("status", [401, 200])
async def test_a_bad_key_is_an_auth_error_whatever_the_status(sim: OmdbSimulator, status: int) -> None:
    sim.bad_key_status = status
    async with serve(sim.create_app()) as url, OmdbClient("wrong-key-123", base_url=url, retries=2) as client:
        with pytest.raises(ServiceAuthError) as caught:
            await client.by_imdb("tt0133093")
    assert "check SIDECAR_OMDB_API_KEY" in str(caught.value) and "wrong-key-123" not in str(caught.value)
    assert client.requests == 1  # never retried


def test_its_pace_and_url_come_from_the_settings(settings: Settings) -> None:
    configured = settings.model_copy(
        update={
            "omdb_api_key": SecretStr("k" * 8),
            "omdb_url": "http://omdb.test/",
            "omdb_requests_per_second": 7.0,
        }
    )
    client = OmdbClient.from_settings(configured)
    assert client.limiter.per_second == 7.0 and client.base_url == "http://omdb.test"
    assert (
        OmdbClient.from_settings(
            settings.model_copy(update={"omdb_api_key": SecretStr("k" * 8)})
        ).limiter.per_second
        == 10.0
    )
