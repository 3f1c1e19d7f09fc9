"""Client behaviour over real HTTP against the simulator: detection, paging, retries, faults, auth,
library management. No timing assertions beyond lower bounds the client itself must wait."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from sidecar.mediaserver import MediaServerAuthError, MediaServerError, open_client
from sidecar.mediaserver.client import DialectClient
from sidecar.mediaserver.factory import kind_from_public_info
from sidecar.mediaserver.http import MediaServerStatusError, parse_retry_after
from sidecar.settings import Settings
from sidecar.simulator import RunningSimulator, running_simulator

KINDS = ["jellyfin", "emby"]


def _settings(sim: RunningSimulator, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "media_server_url": sim.url,
        "media_server_api_key": SecretStr(sim.api_key),
        "media_server_backoff_seconds": 0.01,
        "media_server_page_size": 10,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


async def _client(sim: RunningSimulator, **overrides: object) -> DialectClient:
    return await open_client(_settings(sim, **overrides))  # type: ignore[return-value]


@pytest.mark.parametrize("kind", KINDS)
async def test_detects_the_server_kind(kind: str) -> None:
    async with running_simulator(kind, "sample") as sim:
        client = await _client(sim)
        try:
            assert client.kind == kind
            info = await client.server_info()
            assert info.kind == kind and info.id == sim.state.server_id
        finally:
            await client.close()


@pytest.mark.parametrize("kind", KINDS)
async def test_the_server_is_probed_once_per_process_and_reused(kind: str) -> None:
    async with running_simulator(kind, "sample") as sim:
        for _ in range(3):  # three job runs, each opening its client
            client = await _client(sim)
            try:
                await client.list_users()
                assert client.kind == kind
                assert client.server_version == sim.state.version
            finally:
                await client.close()
        assert len(sim.requests_to("/System/Info/Public")) == 1


def test_kind_from_public_info_uses_product_name_and_version_shape() -> None:
    assert kind_from_public_info({"ProductName": "Jellyfin Server", "Version": "10.11.11"}) == "jellyfin"
    assert kind_from_public_info({"Version": "12.0.0"}) == "jellyfin"
    assert kind_from_public_info({"Version": "4.9.1.90", "ServerName": "x"}) == "emby"
    assert kind_from_public_info({"Version": "weird"}) is None


async def test_explicit_kind_skips_detection() -> None:
    async with running_simulator("emby", "sample") as sim:
        client = await _client(sim, media_server_kind="emby")
        try:
            await client.list_users()
        finally:
            await client.close()
        assert [r.route for r in sim.requests] == ["/Users/Query"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("concurrency", [1, 3])
async def test_paging_returns_every_movie_once_in_order(kind: str, concurrency: int) -> None:
    async with running_simulator(kind, 47) as sim:
        client = await _client(sim, media_server_concurrency=concurrency, media_server_kind=kind)
        try:
            library = sim.state.libraries[0].item_id
            pages = [page async for page in client.iter_movies([library])]
        finally:
            await client.close()
    titles = [m.title for page in pages for m in page]
    assert titles == [m.name for m in sim.state.sorted_movies(None)]
    assert [len(p) for p in pages] == [10, 10, 10, 10, 7]
    starts = sorted(
        int(dict(r.query)["startIndex" if kind == "jellyfin" else "StartIndex"])
        for r in sim.requests_to("/Items")
    )
    assert starts == [0, 10, 20, 30, 40]


@pytest.mark.parametrize("kind", KINDS)
async def test_auth_failure_is_clear_and_never_retried(kind: str) -> None:
    async with running_simulator(kind, "sample") as sim:
        client = await _client(
            sim, media_server_kind=kind, media_server_api_key=SecretStr("not-the-key"), media_server_retries=5
        )
        try:
            with pytest.raises(MediaServerAuthError) as caught:
                await client.list_users()
        finally:
            await client.close()
        assert (
            str(caught.value) == "the media server rejected the API key; check SIDECAR_MEDIA_SERVER_API_KEY"
        )
        assert len(sim.requests) == 1 and sim.requests[0].status == 401


async def test_429_waits_for_retry_after() -> None:
    async with running_simulator("jellyfin", "sample") as sim:
        sim.faults.throttle("/Users", retry_after=1, times=1)
        client = await _client(sim, media_server_kind="jellyfin")
        try:
            users = await client.list_users()
        finally:
            await client.close()
        assert len(users) == 3
        first, second = sim.requests_to("/Users")
        assert (first.status, second.status) == (429, 200)
        assert second.at - first.at >= 0.95  # the client waited as told (backoff alone is 0.01 s)


def test_retry_after_forms() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


@pytest.mark.parametrize("kind", KINDS)
async def test_5xx_is_retried_with_backoff_then_reported(kind: str) -> None:
    async with running_simulator(kind, "sample") as sim:
        sim.faults.fail("/Users.*", status=502, times=2)
        client = await _client(sim, media_server_kind=kind, media_server_retries=2)
        try:
            assert len(await client.list_users()) == 3
            sim.faults.fail("/Users.*", status=503, times=None)
            with pytest.raises(MediaServerError) as caught:
                await client.list_users()
        finally:
            await client.close()
        message = str(caught.value)
        assert "HTTP 503" in message and "3 attempt(s)" in message and sim.api_key not in message


async def test_a_hanging_page_times_out() -> None:
    async with running_simulator("emby", 30) as sim:
        sim.faults.hang("/Items", seconds=30, times=None, query={"StartIndex": "20"})
        client = await _client(
            sim, media_server_kind="emby", media_server_timeout_seconds=0.3, media_server_retries=1
        )
        try:
            with pytest.raises(MediaServerError, match=r"no answer within 0\.3 s after 2 attempt"):
                async for _ in client.iter_movies([sim.state.libraries[0].item_id]):
                    pass
        finally:
            await client.close()


async def test_unreachable_server_is_reported_without_secrets() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        media_server_url="http://127.0.0.1:9",
        media_server_api_key=SecretStr("s3cret-key"),
        media_server_kind="jellyfin",
        media_server_retries=1,
        media_server_backoff_seconds=0.01,
    )
    client = await open_client(settings)
    try:
        with pytest.raises(MediaServerError) as caught:
            await client.list_users()
    finally:
        await client.close()
    assert "connection failed" in str(caught.value) and "s3cret-key" not in str(caught.value)


@pytest.mark.parametrize("kind", KINDS)
async def test_user_data_and_played_history(kind: str) -> None:
    async with running_simulator(kind, "sample") as sim:
        client = await _client(sim, media_server_kind=kind)
        alice = next(u for u in sim.state.users.values() if u.name == "alice")
        try:
            played = [d async for page in client.iter_played_movies(alice.id) for d in page]
            favourites = [d async for page in client.iter_favorite_movies(alice.id) for d in page]
            inception = next(m for m in sim.state.movies.values() if m.name == "Inception")
            (resume,) = await client.get_user_movie_data(alice.id, [inception.id])
        finally:
            await client.close()
    assert [d.play_count for d in played] == [1, 3]  # newest first
    assert played[1].user_rating == 9.0 and played[1].is_favorite
    assert [d.movie_id for d in favourites] == [played[1].movie_id]
    assert not resume.played and resume.position_ticks == 36675100000 and resume.play_count == 1


async def test_kids_policy_limits_what_the_user_sees() -> None:
    async with running_simulator("jellyfin", "sample") as sim:
        classics = sim.state.add_library("Classics", "movies", ["/media/classics"])
        sim.state.add_movie(library_id=classics.item_id, name="Metropolis")
        kids = "117ce3905efa496386db5343fe1689b9"
        sim.state.mark_played(kids, next(m.id for m in sim.state.movies.values() if m.name == "Metropolis"))
        client = await _client(sim)
        try:
            played = [d async for page in client.iter_played_movies(kids) for d in page]
        finally:
            await client.close()
    assert {sim.state.movies[d.movie_id].name for d in played} == {"Spirited Away"}


@pytest.mark.parametrize("kind", KINDS)
async def test_library_management(kind: str, tmp_path) -> None:
    async with running_simulator(kind, "sample") as sim:
        folder, more = tmp_path / "alice", tmp_path / "alice-more"
        folder.mkdir()
        more.mkdir()
        client = await _client(sim, media_server_kind=kind)
        try:
            with pytest.raises(MediaServerStatusError):
                await client.create_library("AI Picks – Movies (alice)", "/does/not/exist")
            library = await client.create_library("AI Picks – Movies (alice)", str(folder))
            assert library.name == "AI Picks – Movies (alice)" and library.locations == (str(folder),)
            await client.add_library_path(library, str(more))
            assert sim.state.library(library.item_id).locations == [str(folder), str(more)]
            await client.refresh_library(library)
            await client.scan_all_libraries()
            user = next(iter(sim.state.users))
            policy = await client.get_user_policy(user)
            policy.update(EnableAllFolders=False, EnabledFolders=[library.guid])
            await client.set_user_policy(user, policy)
            with pytest.raises(MediaServerStatusError) as partial:
                await client.set_user_policy(user, {"EnableAllFolders": True})
            if kind == "jellyfin":  # a duplicate name silently becomes Name2
                again = await client.create_library("AI Picks – Movies (alice)", str(more))
                assert again.name == "AI Picks – Movies (alice)2"
            else:
                with pytest.raises(MediaServerStatusError):
                    await client.create_library("AI Picks – Movies (alice)", str(more))
        finally:
            await client.close()
        assert partial.value.status == 400
        assert sim.state.users[user].policy["EnabledFolders"] == [library.guid]
        assert sim.state.policy_updates == [(user, policy)]
        refreshed = [r["item_id"] for r in sim.state.refresh_requests if r["reason"] == "refresh"]
        assert refreshed == [library.item_id]
        assert len(sim.state.library_scans) == 1
