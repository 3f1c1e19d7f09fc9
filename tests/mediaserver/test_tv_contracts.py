"""The TV calls of the clients against the servers' OpenAPI specs, as test_contracts.py does for
movies: real paths and parameters (Emby gets no `IsMissing`, which its spec does not document), and
simulator answers that validate against the documented schemas."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from sidecar.mediaserver import open_client
from sidecar.mediaserver.items import EPISODE, SERIES
from sidecar.settings import Settings
from sidecar.simulator import RunningSimulator, running_simulator
from tests.mediaserver.openapi_check import check_query, response_schema, validate

KINDS = ["jellyfin", "emby"]


async def _exercise_tv_calls(sim: RunningSimulator) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        media_server_url=sim.url,
        media_server_api_key=SecretStr(sim.api_key),
        media_server_page_size=25,
    )
    client = await open_client(settings)
    try:
        libraries = await client.list_libraries_for(SERIES)  # type: ignore[attr-defined]
        ids = [lib.item_id for lib in libraries]
        series = [s async for page in client.iter_items(SERIES, ids) for s in page]  # type: ignore[attr-defined]
        episodes = [e async for page in client.iter_items(EPISODE, ids) for e in page]  # type: ignore[attr-defined]
        await client.get_items(EPISODE, [episodes[0].id, series[0].id])  # type: ignore[attr-defined]
        await client.get_items(SERIES, [series[0].id])  # type: ignore[attr-defined]
        alice = next(u.id for u in await client.list_users() if u.name == "alice")
        async for _ in client.iter_series_episodes(series[0].id, user_id=alice):  # type: ignore[attr-defined]
            pass
        played = [d async for page in client.iter_played_items(EPISODE, alice) for d in page]  # type: ignore[attr-defined]
        async for _ in client.iter_played_items(EPISODE, alice, since=played[0].last_played_at):  # type: ignore[attr-defined]
            pass
        async for _ in client.iter_resumable_items(EPISODE, alice):  # type: ignore[attr-defined]
            pass
        await client.get_user_item_data(SERIES, alice, [s.id for s in series])  # type: ignore[attr-defined]
    finally:
        await client.close()


@pytest.fixture(params=KINDS)
async def exercised(request: pytest.FixtureRequest) -> RunningSimulator:
    async with running_simulator(request.param, "sample", tv="sample") as sim:
        sim.sim.record_responses = True
        await _exercise_tv_calls(sim)
        yield sim


async def test_tv_requests_use_real_paths_and_parameters(exercised: RunningSimulator) -> None:
    kind = exercised.kind
    routes = {r.route for r in exercised.requests}
    assert {
        "/Items",
        "/Shows/{seriesId}/Episodes" if kind == "jellyfin" else "/Shows/{Id}/Episodes",
    } <= routes
    for record in exercised.requests:
        assert record.route is not None and record.status is not None and record.status < 400, record.path
        check_query(kind, record.route, record.method, record.query)
    missing = [r for r in exercised.requests if any(name.lower() == "ismissing" for name, _ in r.query)]
    if kind == "jellyfin":
        assert missing and all(dict(r.query)["isMissing"] == "false" for r in missing)
    else:
        assert not missing


async def test_tv_responses_match_the_schemas(exercised: RunningSimulator) -> None:
    checked = 0
    for record in exercised.requests:
        if record.response is None:
            continue
        route = record.route
        if exercised.kind == "emby" and route == "/Shows/{Id}/Episodes":
            # Emby's spec documents this answer only as "content unknown"; it is the same
            # QueryResult<BaseItemDto> the items endpoints return.
            route = "/Users/{UserId}/Items"
        schema = response_schema(exercised.kind, route, record.method)
        assert schema is not None, f"{record.method} {route} documents no JSON response"
        validate(exercised.kind, schema, record.response)
        checked += 1
    assert checked >= 8


@pytest.mark.parametrize("kind", KINDS)
async def test_episode_fields_asked_for_exist_and_exclude_people(kind: str) -> None:
    """Jellyfin drops unknown Fields silently, so the names must be right; People stays off episodes."""
    async with running_simulator(kind, "sample", tv="sample") as sim:
        await _exercise_tv_calls(sim)
        episode_pages = [
            r
            for r in sim.requests
            if ("IncludeItemTypes" if kind == "emby" else "includeItemTypes", "Episode") in r.query
        ]
    assert episode_pages
    for record in episode_pages:
        fields = dict(record.query).get("Fields" if kind == "emby" else "fields", "")
        assert "People" not in fields.split(",")
