"""GET /api/users/{id}/discover and the admin's request of a suggestion through the simulated
Jellyseerr: the API's error shape and validation, admin only, never automatic, no secret in answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from sidecar.composition import web_app
from sidecar.services.seerr import SeerrClient
from sidecar.settings import Settings
from sidecar.simulator.services import serve
from sidecar.simulator.services.seerr import SeerrSimulator
from tests.discovery.conftest import JOB, SUGGESTIONS, DiscoveryWorld
from tests.test_dashboards_api import Contract

API_KEY = "discover-api-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture
async def ran(dworld: DiscoveryWorld, run_job: Any) -> DiscoveryWorld:
    row = await run_job(JOB, settings=dworld.with_seerr())
    assert row["status"] == "completed", row["error"]
    return dworld


async def _client(settings: Settings, database_url: str, redis_url: str) -> TestClient:
    keyed = settings.model_copy(update={"api_key": SecretStr(API_KEY)})
    client = TestClient(TestServer(web_app(keyed, database_url=database_url, redis_url=redis_url)))
    await client.start_server()
    return client


@pytest.fixture
async def api(ran: DiscoveryWorld, database_url: str, flushed_redis: str) -> AsyncIterator[TestClient]:
    client = await _client(ran.with_seerr(), database_url, flushed_redis)
    try:
        yield client
    finally:
        await client.close()


async def _user(db: asyncpg.Pool) -> str:
    return str(await db.fetchval("SELECT id FROM media_users ORDER BY name LIMIT 1"))


async def _error(response: Any, status: int, code: str) -> str:
    assert response.status == status, await response.text()
    body = await response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    return str(body["error"]["message"])


async def test_a_users_suggestions_best_first_with_reason_and_seeds(
    api: TestClient, ran: DiscoveryWorld, db: asyncpg.Pool
) -> None:
    user = await _user(db)
    body = await Contract().check(
        "/api/users/{user_id}/discover", "get", await api.get(f"/api/users/{user}/discover", headers=AUTH)
    )
    assert body["user_id"] == user and body["kinds"] == ["movies", "series"]
    assert body["requests_enabled"] is True
    suggestions = body["suggestions"]
    assert [s["rank"] for s in suggestions] == list(range(1, SUGGESTIONS + 1))
    first = suggestions[0]
    title = ran.tmdb.catalogue.get("movie", first["tmdb_id"])
    assert title is not None and first["title"] == title.title and first["overview"] == title.overview
    assert first["kind"] == "movies" and first["reason"].startswith("Because ")
    assert first["seeds"] and {"title", "why", "lists", "similarity"} <= set(first["seeds"][0])
    assert {"content", "support", "popularity", "taste_similarity"} <= set(first["breakdown"])
    assert first["tmdb_url"] == f"https://www.themoviedb.org/movie/{first['tmdb_id']}"
    assert first["request"] is None
    only = await (await api.get(f"/api/users/{user}/discover?kind=movies", headers=AUTH)).json()
    assert only["kinds"] == ["movies"] and only["suggestions"] == suggestions
    series = await (await api.get(f"/api/users/{user}/discover?kind=series", headers=AUTH)).json()
    assert series["suggestions"] == []


async def test_bad_input_gets_the_api_error_shape(api: TestClient, db: asyncpg.Pool) -> None:
    user = await _user(db)
    message = await _error(
        await api.get(f"/api/users/{user}/discover?kind=books", headers=AUTH), 422, "invalid_parameter"
    )
    assert "movies" in message and "series" in message
    await _error(
        await api.get(f"/api/users/{user}/discover?colour=red", headers=AUTH), 422, "invalid_parameter"
    )
    await _error(await api.get("/api/users/not%20an%20id/discover", headers=AUTH), 400, "invalid_user_id")
    await _error(await api.get(f"/api/users/{'0' * 32}/discover", headers=AUTH), 404, "unknown_user")
    await _error(await api.get(f"/api/users/{user}/discover"), 401, "unauthorized")
    post = f"/api/users/{user}/discover"
    await _error(await api.post(f"{post}/books/603/request", headers=AUTH), 404, "unknown_kind")
    await _error(await api.post(f"{post}/movies/abc/request", headers=AUTH), 400, "invalid_tmdb_id")
    await _error(await api.post(f"{post}/movies/99999999999/request", headers=AUTH), 400, "invalid_tmdb_id")
    await _error(await api.post(f"{post}/movies/603/request", headers=AUTH), 404, "unknown_suggestion")


async def test_an_admin_requests_a_suggestion_once_and_nothing_is_requested_by_itself(
    api: TestClient, ran: DiscoveryWorld, db: asyncpg.Pool, run_job: Any
) -> None:
    await run_job(JOB, settings=ran.with_seerr())  # a second run: still nothing sent to Jellyseerr
    assert ran.seerr.bodies == [] and sum(ran.seerr.calls.values()) == 0
    user = await _user(db)
    tmdb_id = await db.fetchval(
        "SELECT tmdb_id FROM discovery_suggestions WHERE user_id = $1 AND rank = 1", user
    )
    path = f"/api/users/{user}/discover/movies/{tmdb_id}/request"
    await _error(await api.post(path), 401, "unauthorized")  # admin only: the API key
    await _error(
        await api.post(path, headers={**AUTH, "Origin": "https://elsewhere.example"}), 403, "cross_origin"
    )
    assert ran.seerr.bodies == []

    response = await api.post(path, headers=AUTH)
    assert response.status == 201, await response.text()
    made = (
        await Contract().check("/api/users/{user_id}/discover/{kind}/{tmdb_id}/request", "post", response)
    )["request"]
    assert made["status"] == "requested" and made["tmdb_id"] == tmdb_id and made["service_request_id"] == 1
    assert made["service_status"] == 2  # approved at once: the admin key's requests are
    assert ran.seerr.bodies == [{"mediaType": "movie", "mediaId": tmdb_id}]
    listed = await (await api.get(f"/api/users/{user}/discover", headers=AUTH)).json()
    assert listed["suggestions"][0]["request"]["status"] == "requested"

    again = await _error(await api.post(path, headers=AUTH), 409, "already_requested")
    assert "was requested at" in again
    assert len(ran.seerr.bodies) == 1
    assert await db.fetchval("SELECT count(*) FROM discovery_requests") == 1


async def test_requests_need_the_service_configured_and_its_key_stays_secret(
    ran: DiscoveryWorld, db: asyncpg.Pool, database_url: str, flushed_redis: str
) -> None:
    user = await _user(db)
    tmdb_id = await db.fetchval(
        "SELECT tmdb_id FROM discovery_suggestions WHERE user_id = $1 AND rank = 1", user
    )
    path = f"/api/users/{user}/discover/movies/{tmdb_id}/request"
    client = await _client(ran.settings, database_url, flushed_redis)  # no SIDECAR_SEERR_*
    try:
        listed = await (await client.get(f"/api/users/{user}/discover", headers=AUTH)).json()
        assert listed["requests_enabled"] is False
        message = await _error(await client.post(path, headers=AUTH), 409, "requests_not_configured")
        assert "SIDECAR_SEERR_URL" in message and "SIDECAR_SEERR_API_KEY" in message
    finally:
        await client.close()
    wrong = "wrong-seerr-key-9f8e7d6c5b4a"
    settings = ran.settings.model_copy(update={"seerr_url": ran.seerr_url, "seerr_api_key": SecretStr(wrong)})
    client = await _client(settings, database_url, flushed_redis)
    try:
        response = await client.post(path, headers=AUTH)
        text = await response.text()
        message = await _error(response, 502, "seerr_auth")
        assert "check SIDECAR_SEERR_API_KEY" in message
        listed_text = await (await client.get(f"/api/users/{user}/discover", headers=AUTH)).text()
    finally:
        await client.close()
    stored = await db.fetchrow("SELECT status, error FROM discovery_requests")
    assert stored["status"] == "failed" and "check SIDECAR_SEERR_API_KEY" in stored["error"]
    for said in (text, listed_text, stored["error"]):
        assert wrong not in said and ran.tmdb.api_key not in said


async def test_a_series_request_names_the_shows_seasons() -> None:
    seerr = SeerrSimulator(seasons={1399: 4})
    async with serve(seerr.create_app()) as url, SeerrClient(seerr.api_key, base_url=url) as client:
        seasons = await client.seasons(1399)
        made = await client.request("tv", 1399, seasons)
        again = await client.request("tv", 1399, seasons)
        movie = await client.request("movie", 603)
        twice = await client.request("movie", 603)
    assert seasons == [1, 2, 3, 4]  # specials (season 0) left out
    assert seerr.bodies[0] == {"mediaType": "tv", "mediaId": 1399, "seasons": [1, 2, 3, 4]}
    assert made.request_id == 1 and made.status == 2 and made.media_status == 2 and not made.already
    assert again.already and "No seasons" in again.message  # 202: every season requested already
    assert movie.request_id == 2 and twice.already  # 409
