"""The clients against the servers' own OpenAPI specs (trimmed copies in tests/contracts/).

Every request the clients make, recorded by the simulator, must name a real path, real query
parameters with valid values, and a body of the documented shape; every simulator response must
validate against the documented schema (unknown fields rejected).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from sidecar.mediaserver import open_client
from sidecar.settings import Settings
from sidecar.simulator import RunningSimulator, running_simulator
from tests.mediaserver.openapi_check import (
    check_query,
    load_spec,
    request_body_schema,
    response_schema,
    validate,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
KINDS = ["jellyfin", "emby"]


async def _exercise_every_call(sim: RunningSimulator) -> None:
    """Call every client method at least once, paging included."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        media_server_url=sim.url,
        media_server_api_key=SecretStr(sim.api_key),
        media_server_page_size=10,
    )
    client = await open_client(settings)
    try:
        await client.server_info()
        users = await client.list_users()
        libraries = await client.list_libraries()
        movie_library = next(lib for lib in libraries if lib.collection_type == "movies")
        ids = [m.id async for page in client.iter_movies([movie_library.item_id]) for m in page]
        await client.get_movies([*ids[:3], "0"])
        user = users[0].id
        played = [d async for page in client.iter_played_movies(user) for d in page]
        first = played[0]
        async for _ in client.iter_played_movies(user, since=first.last_played_at):
            pass
        async for _ in client.iter_favorite_movies(user):  # type: ignore[attr-defined]
            pass
        await client.get_user_movie_data(user, ids[:2])
        sim.state.host_paths.update({"/recs/alice", "/recs/alice-more"})
        library = await client.create_library("AI Picks – Movies (alice)", "/recs/alice")
        await client.add_library_path(library, "/recs/alice-more")
        policy = await client.get_user_policy(user)
        policy["EnableAllFolders"] = False
        policy["EnabledFolders"] = [movie_library.guid]
        await client.set_user_policy(user, policy)
        await client.refresh_library(library)
        await client.scan_all_libraries()  # type: ignore[attr-defined]
        await client.mark_played(user, ids[0])
        await client.mark_played(user, ids[1], played_at=first.last_played_at)
        await client.mark_favorite(user, ids[0])
    finally:
        await client.close()


@pytest.fixture(params=KINDS)
async def exercised(request: pytest.FixtureRequest) -> RunningSimulator:
    async with running_simulator(request.param, 25) as sim:
        sim.sim.record_responses = True
        await _exercise_every_call(sim)
        yield sim


async def test_requests_use_real_paths_and_parameters(exercised: RunningSimulator) -> None:
    kind = exercised.kind
    routes = {(r.method, r.route) for r in exercised.requests}
    assert len(routes) >= 10
    for record in exercised.requests:
        assert record.route is not None, f"{record.method} {record.path} is not a simulated route"
        assert record.status is not None and record.status < 400, (record.method, record.path, record.status)
        check_query(kind, record.route, record.method, record.query)
        schema = request_body_schema(kind, record.route, record.method)
        if record.body is not None:
            assert schema is not None, f"{record.method} {record.route} takes no body"
            validate(kind, schema, record.body)


async def test_auth_and_base_path_follow_each_dialect(exercised: RunningSimulator) -> None:
    authed = [r for r in exercised.requests if r.route != "/System/Info/Public"]
    if exercised.kind == "jellyfin":
        assert {r.auth for r in authed} == {"MediaBrowser"}
        assert not any(r.path.startswith("/emby") for r in exercised.requests)
    else:
        assert {r.auth for r in authed} == {"X-Emby-Token"}
        assert all(r.path.startswith("/emby/") for r in authed)
    assert all(
        exercised.api_key not in r.path and exercised.api_key not in str(r.query) for r in exercised.requests
    )


async def test_simulator_responses_match_the_schemas(exercised: RunningSimulator) -> None:
    checked = 0
    for record in exercised.requests:
        if record.response is None:
            continue
        schema = response_schema(exercised.kind, record.route, record.method)
        assert schema is not None, f"{record.method} {record.route} documents no JSON response"
        validate(exercised.kind, schema, record.response)
        checked += 1
    assert checked >= 8


@pytest.mark.parametrize("kind", KINDS)
async def test_single_item_and_user_responses_match_the_schemas(kind: str) -> None:
    async with running_simulator(kind, "sample") as sim:
        sim.sim.record_responses = True
        user = next(iter(sim.state.users))
        item = next(iter(sim.state.movies))
        import aiohttp

        headers = (
            {"X-Emby-Token": sim.api_key}
            if kind == "emby"
            else {"Authorization": f'MediaBrowser Token="{sim.api_key}"'}
        )
        paths = (
            [f"/Items/{item}?userId={user}", f"/Users/{user}"]
            if kind == "jellyfin"
            else [f"/emby/Users/{user}/Items/{item}", f"/emby/Users/{user}"]
        )
        async with aiohttp.ClientSession(headers=headers) as session:
            for path in paths:
                async with session.get(sim.url + path) as response:
                    assert response.status == 200
        for record in sim.requests:
            validate(kind, response_schema(kind, record.route, record.method), record.response)


def test_trimmed_specs_say_where_they_came_from() -> None:
    assert "Jellyfin 10.11.0" in load_spec("jellyfin")["x-source"]
    assert "Emby Server 4.8.11.0" in load_spec("emby")["x-source"]


def test_fixtures_validate_against_the_trimmed_schemas() -> None:
    """The shared fixtures (hand-built from the vendors' formats) fit the same schemas: the
    validation is not merely accepting whatever the simulator writes."""
    cases = [
        ("jellyfin", "/Items", "jellyfin-items-movies-page.json"),
        ("jellyfin", "/Users", "jellyfin-users.json"),
        ("jellyfin", "/Library/VirtualFolders", "jellyfin-virtualfolders.json"),
        ("jellyfin", "/System/Info/Public", "jellyfin-system-info-public.json"),
        ("emby", "/Users/{UserId}/Items", "emby-items-movies-page.json"),
        ("emby", "/System/Info/Public", "emby-system-info-public.json"),
    ]
    for kind, route, name in cases:
        data = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
        validate(kind, response_schema(kind, route, "GET"), data)


def test_validation_rejects_invented_fields() -> None:
    import jsonschema

    schema = response_schema("emby", "/Users/{UserId}/Items", "GET")
    with pytest.raises(jsonschema.ValidationError):
        validate(
            "emby", schema, {"Items": [{"Name": "x", "Id": "1", "Titel": "typo"}], "TotalRecordCount": 1}
        )
    with pytest.raises(AssertionError):
        check_query("jellyfin", "/Items", "GET", [("IncludeItemTypes", "Movie")])  # wrong casing for Jellyfin
    with pytest.raises(jsonschema.ValidationError):
        check_query("jellyfin", "/Items", "GET", [("fields", "Overview,NotAField")])


@pytest.mark.parametrize(
    ("kind", "fixture", "fields"),
    [
        (
            "jellyfin",
            "jellyfin-items-movies-page.json",
            "DateCreated,Genres,OriginalTitle,Overview,ParentId,Path,ProviderIds,Studios,Taglines",
        ),
        (
            "emby",
            "emby-items-movies-page.json",
            "DateCreated,Genres,OriginalTitle,Overview,ParentId,Path,ProviderIds,Studios,Taglines",
        ),
    ],
)
async def test_simulator_items_look_like_the_fixtures(kind: str, fixture: str, fields: str) -> None:
    """Same request as the fixture: the simulator's item uses the fixture's field names and values."""
    expected = json.loads((FIXTURES / fixture).read_text(encoding="utf-8"))["Items"][0]
    async with running_simulator(kind, "sample") as sim:
        import aiohttp

        if kind == "jellyfin":
            url = (
                f"{sim.url}/Items?includeItemTypes=Movie&recursive=true&ids={expected['Id']}&fields={fields}"
            )
            headers = {"Authorization": f'MediaBrowser Token="{sim.api_key}"'}
        else:
            user = next(iter(sim.state.users))
            url = f"{sim.url}/emby/Users/{user}/Items?IncludeItemTypes=Movie&Recursive=true&Ids={expected['Id']}&Fields={fields}"
            headers = {"X-Emby-Token": sim.api_key}
        async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
            body = await response.json()
    got = body["Items"][0]
    assert ("StartIndex" in body) == (kind == "jellyfin")
    extra = set(got) - set(expected) - {"UserData"}
    assert not extra, f"simulator fields not in the fixture: {extra}"
    for key in (
        "Name",
        "Id",
        "ProductionYear",
        "RunTimeTicks",
        "Genres",
        "Overview",
        "Taglines",
        "OfficialRating",
        "Type",
        "IsFolder",
    ):
        assert got[key] == expected[key], key
    assert {k.lower(): v for k, v in got["ProviderIds"].items()}.items() >= {
        ("tmdb", expected["ProviderIds"]["Tmdb"])
    }
    assert [s["Name"] for s in got["Studios"]] == [s["Name"] for s in expected["Studios"]]
    assert type(got["Studios"][0]["Id"]) is type(expected["Studios"][0]["Id"])
