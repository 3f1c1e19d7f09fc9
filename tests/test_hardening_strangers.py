"""No key, no exposure: loopback by default, Host and Origin checked, state changes only as JSON."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
import structlog
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from sidecar.composition import web_app
from sidecar.jobs.registry import JobRegistry
from sidecar.settings import Settings
from tests.webhook_support import TOKEN, fixture_bytes


async def _client(
    aiohttp_client: Any, settings: Settings, database_url: str, redis_url: str, registry: JobRegistry
) -> TestClient:
    return await aiohttp_client(
        web_app(settings, database_url=database_url, redis_url=redis_url, registry=registry)
    )


@pytest.fixture
async def open_client(
    aiohttp_client: Any,
    settings: Settings,
    database_url: str,
    flushed_redis: str,
    registry: JobRegistry,
    db: Any,
) -> TestClient:
    """No API key (the default), webhooks on, one extra allowed Host name."""
    configured = settings.model_copy(
        update={"webhook_token": SecretStr(TOKEN), "allowed_hosts": ["sidecar.lan"]}
    )
    return await _client(aiohttp_client, configured, database_url, flushed_redis, registry)


async def _runs(db: asyncpg.Pool) -> int:
    return await db.fetchval("SELECT count(*) FROM job_runs")


def test_default_is_loopback_and_allowed_hosts_read_as_a_list(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SIDECAR_HOST", "SIDECAR_ALLOWED_HOSTS"):
        monkeypatch.delenv(name, raising=False)
    assert Settings(_env_file=None).host == "127.0.0.1"  # type: ignore[call-arg]
    monkeypatch.setenv("SIDECAR_ALLOWED_HOSTS", "Sidecar.LAN, 192.168.1.5 ,")
    assert Settings(_env_file=None).allowed_hosts == ["sidecar.lan", "192.168.1.5"]  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/api/jobs"), ("POST", "/api/jobs/sync-movies/runs"), ("GET", "/")]
)
async def test_without_a_key_a_foreign_host_is_refused(
    open_client: TestClient, db: asyncpg.Pool, method: str, path: str
) -> None:
    response = await open_client.request(method, path, headers={"Host": "rebound.attacker.example"})
    assert response.status == 403
    error = (await response.json())["error"]
    assert error["code"] == "host_not_allowed" and "SIDECAR_API_KEY" in error["message"]
    assert await _runs(db) == 0


@pytest.mark.parametrize("host", ["localhost:8787", "127.0.0.1", "[::1]:8787", "SIDECAR.lan:8787"])
async def test_without_a_key_loopback_and_allowed_hosts_are_answered(
    open_client: TestClient, host: str
) -> None:
    assert (await open_client.get("/api/jobs", headers={"Host": host})).status == 200


async def test_with_a_key_any_host_is_answered(
    aiohttp_client: Any,
    settings: Settings,
    database_url: str,
    flushed_redis: str,
    registry: JobRegistry,
    db: Any,
) -> None:
    client = await _client(
        aiohttp_client,
        settings.model_copy(update={"api_key": SecretStr("k3y-k3y")}),
        database_url,
        flushed_redis,
        registry,
    )
    response = await client.get("/api/jobs", headers={"Host": "sidecar.example.org", "X-Api-Key": "k3y-k3y"})
    assert response.status == 200


async def test_webhooks_are_not_held_to_the_host_check(open_client: TestClient, db: asyncpg.Pool) -> None:
    response = await open_client.post(
        "/webhooks/jellyfin",
        data=fixture_bytes("jellyfin-webhook-itemadded.json"),
        headers={"Host": "sidecar:8787", "X-Webhook-Token": TOKEN, "Content-Type": "text/plain"},
    )
    assert response.status == 202, await response.text()


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1"])
async def test_cross_site_state_change_is_refused(
    open_client: TestClient, db: asyncpg.Pool, origin: str
) -> None:
    response = await open_client.post(
        "/api/jobs/sync-movies/runs", data=b"{}", headers={"Origin": origin, "Content-Type": "text/plain"}
    )
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "cross_origin"
    assert await _runs(db) == 0


async def test_own_origin_is_accepted(open_client: TestClient, db: asyncpg.Pool) -> None:
    own = f"http://127.0.0.1:{open_client.port}"
    response = await open_client.post("/api/jobs/sync-movies/runs", headers={"Origin": own})
    assert response.status == 202, await response.text()
    assert await _runs(db) == 1


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
async def test_state_change_must_be_json(
    open_client: TestClient, db: asyncpg.Pool, content_type: str
) -> None:
    response = await open_client.post(
        "/api/jobs/sync-movies/runs", data=b"", headers={"Content-Type": content_type}
    )
    assert response.status == 415
    response = await open_client.post(
        "/api/pipelines/movies", data=b'{"variant": "regular"}', headers={"Content-Type": content_type}
    )
    assert response.status == 415
    assert await _runs(db) == 0


async def test_listening_beyond_loopback_without_a_key_warns(
    settings: Settings, database_url: str, flushed_redis: str, registry: JobRegistry
) -> None:
    from sidecar.service import serving

    exposed = settings.model_copy(update={"host": "0.0.0.0"})
    with structlog.testing.capture_logs() as logs:
        async with serving(exposed, database_url, flushed_redis, worker=False, registry=registry, port=0):
            pass
    warnings = [e for e in logs if e["log_level"] == "warning" and "SIDECAR_API_KEY" in e["event"]]
    assert warnings, logs
    with structlog.testing.capture_logs() as logs:
        async with serving(settings, database_url, flushed_redis, worker=False, registry=registry, port=0):
            pass
    assert not [e for e in logs if "SIDECAR_API_KEY" in e["event"]]


def test_compose_restarts_every_service_and_listens_on_purpose() -> None:
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parent.parent
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    assert {name: s.get("restart") for name, s in compose["services"].items()} == dict.fromkeys(
        compose["services"], "unless-stopped"
    )
    env = compose["services"]["web"]["environment"]
    assert env["SIDECAR_HOST"] == "0.0.0.0" and env["SIDECAR_ALLOWED_HOSTS"]
    dockerfile = (root / "Dockerfile").read_text()
    assert "SIDECAR_HOST=0.0.0.0" in dockerfile and "SIDECAR_ALLOWED_HOSTS=" in dockerfile


async def test_the_openapi_document_lists_the_guards_answers_on_every_operation(
    open_client: TestClient,
) -> None:
    """The guard's 403 and the body check's 415 answer in front of every handler, so the document
    names them on every operation they can reach (an API client generated from it expects them)."""
    paths = (await (await open_client.get("/api/openapi.json")).json())["paths"]
    for path, item in paths.items():
        for method, op in item.items():
            if method == "parameters" or path.startswith("/webhooks/"):
                continue
            assert "403" in op["responses"], (method, path)
            changes = method in ("post", "put", "patch", "delete") and path.startswith("/api/")
            assert ("415" in op["responses"]) == changes, (method, path)
    # And what they answer is what the document describes: the error shape.
    refused = await open_client.post(
        "/api/pipelines/movies", data=b"x", headers={"Content-Type": "text/plain"}
    )
    assert refused.status == 415 and set((await refused.json())["error"]) >= {"code", "message"}
    foreign = await open_client.get("/api/jobs", headers={"Host": "evil.example"})
    assert foreign.status == 403 and (await foreign.json())["error"]["code"] == "host_not_allowed"
