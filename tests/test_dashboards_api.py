"""The dashboard-facing API on a real world (simulator + the movie pipeline run once): every operation
of GET /api/openapi.json answered for real and validated against the document, /metrics parsed by
prometheus-client's own parser, the poster proxy, the schedule preview and the pipeline listing."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from sidecar.api.openapi_doc import document
from sidecar.composition import web_app
from sidecar.settings import Settings
from tests.movie_world import PICKS_PER_USER, World, movie_world
from tests.webhook_support import TOKEN, fixture_bytes, with_token

API_KEY = "dash-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
JSON_HEADERS = {**AUTH, "Content-Type": "application/json"}


@pytest.fixture
async def world(settings: Settings, run_job: Any, tmp_path: Path, db: asyncpg.Pool) -> AsyncIterator[World]:
    async with movie_world(settings, run_job, tmp_path) as w:
        yield w


@pytest.fixture
async def client(world: World, aiohttp_client: Any, database_url: str, flushed_redis: str) -> TestClient:
    keyed = with_token(world.settings, api_key=SecretStr(API_KEY))
    return await aiohttp_client(web_app(keyed, database_url=database_url, redis_url=flushed_redis))


class Contract:
    """Checks each answer against the operation's schema and remembers which operations were seen."""

    def __init__(self) -> None:
        self.doc = document()
        self.seen: set[tuple[str, str]] = set()

    def operations(self) -> set[tuple[str, str]]:
        return {
            (path, method)
            for path, item in self.doc["paths"].items()
            for method in item
            if method in ("get", "post", "put", "patch", "delete")
        }

    async def check(self, path: str, method: str, response: Any) -> Any:
        op = self.doc["paths"][path][method]
        answer = op["responses"].get(str(response.status))
        assert answer is not None, f"{method} {path} answered {response.status}, not in the document"
        self.seen.add((path, method))
        content = answer.get("content", {})
        if "schema" not in content.get("application/json", {}):
            return await response.read()
        body = await response.json()
        schema = {**content["application/json"]["schema"], "components": self.doc["components"]}
        errors = sorted(Draft202012Validator(schema).iter_errors(body), key=str)
        assert not errors, f"{method} {path}: {errors[0].message} at {list(errors[0].absolute_path)}"
        return body


async def test_every_operation_answers_as_the_openapi_document_says(
    client: TestClient, world: World, db: asyncpg.Pool
) -> None:
    c = Contract()
    doc = await c.check("/api/openapi.json", "get", await client.get("/api/openapi.json", headers=AUTH))
    assert (
        doc is not None
        and (await (await client.get("/api/openapi.json", headers=AUTH)).json())["openapi"] == "3.1.0"
    )
    await c.check("/api/health", "get", await client.get("/api/health"))
    jobs = await c.check("/api/jobs", "get", await client.get("/api/jobs", headers=AUTH))
    assert jobs["jobs"][0]["name"] == "sync-movies"
    await c.check("/api/jobs/{name}", "get", await client.get("/api/jobs/sync-movies", headers=AUTH))
    await c.check("/api/jobs/{name}", "get", await client.get("/api/jobs/nope", headers=AUTH))
    page = await c.check("/api/runs", "get", await client.get("/api/runs?limit=2", headers=AUTH))
    assert page["next_before"] is not None
    run_id = page["runs"][0]["id"]
    await c.check("/api/runs/{run_id}", "get", await client.get(f"/api/runs/{run_id}", headers=AUTH))
    logs = await c.check(
        "/api/runs/{run_id}/logs", "get", await client.get(f"/api/runs/{run_id}/logs", headers=AUTH)
    )
    assert logs["logs"]
    await c.check(
        "/api/runs/{run_id}/cancel",
        "post",
        await client.post(f"/api/runs/{run_id}/cancel", json={}, headers=AUTH),
    )
    path = "/api/jobs/{name}/runs"
    await c.check(path, "get", await client.get("/api/jobs/sync-movies/runs", headers=AUTH))
    await c.check(path, "post", await client.post("/api/jobs/sync-movies/runs", json={}, headers=AUTH))
    await c.check(
        path, "post", await client.post("/api/jobs/sync-movies/runs", json={"variant": "x"}, headers=AUTH)
    )
    await c.check("/api/queue", "get", await client.get("/api/queue", headers=AUTH))
    await c.check(
        "/api/jobs/{name}/cancel",
        "post",
        await client.post("/api/jobs/sync-movies/cancel", json={}, headers=AUTH),
    )
    await c.check(
        "/api/jobs/{name}/cancel",
        "post",
        await client.post("/api/jobs/sync-movies/cancel", json={}, headers=AUTH),
    )
    body = {"cron": "15 2 * * 1-5", "timezone": "Europe/Berlin", "enabled": True}
    card = await c.check(
        "/api/jobs/{name}/schedule",
        "put",
        await client.put("/api/jobs/sync-movies/schedule", json=body, headers=AUTH),
    )
    assert card["schedule"]["description"] == "Weekdays at 02:15" and len(card["schedule"]["next_runs"]) == 3
    await c.check(
        "/api/jobs/{name}/schedule",
        "put",
        await client.put("/api/jobs/sync-movies/schedule", json={"cron": "soon"}, headers=AUTH),
    )
    pipelines = await c.check("/api/pipelines", "get", await client.get("/api/pipelines", headers=AUTH))
    assert [p["kind"] for p in pipelines["pipelines"]] == ["movies", "series"]
    path = "/api/pipelines/{kind}"
    chain = await c.check(path, "post", await client.post("/api/pipelines/movies", json={}, headers=AUTH))
    await c.check(path, "post", await client.post("/api/pipelines/opera", json={}, headers=AUTH))
    assert [r["job"] for r in chain["runs"]] == [s["job"] for s in pipelines["pipelines"][0]["steps"]]
    preview = await c.check(
        "/api/schedules/preview",
        "get",
        await client.get("/api/schedules/preview?cron=0+3+*+*+*&timezone=UTC", headers=AUTH),
    )
    assert preview["description"] == "Daily at 03:00" and all(
        t.endswith("T03:00:00Z") for t in preview["next_runs"]
    )
    await c.check(
        "/api/schedules/preview", "get", await client.get("/api/schedules/preview?cron=nope", headers=AUTH)
    )
    user = await db.fetchval("SELECT min(user_id) FROM movie_recommendations")
    recs = await c.check(
        "/api/users/{user_id}/recommendations",
        "get",
        await client.get(f"/api/users/{user}/recommendations", headers=AUTH),
    )
    assert len(recs["recommendations"]) == PICKS_PER_USER
    by_kind = await client.get(f"/api/users/{user}/recommendations/movies", headers=AUTH)
    assert await c.check("/api/users/{user_id}/recommendations/{kind}", "get", by_kind) == recs
    assert recs["library"]["written"] and recs["library"]["entries"] == PICKS_PER_USER
    item = recs["recommendations"][0]["movie"]["id"]
    poster = await client.get(f"/api/items/{item}/poster", headers=AUTH)
    assert poster.content_type == "image/png"
    await c.check("/api/items/{item_id}/poster", "get", poster)
    users = await c.check("/api/users", "get", await client.get("/api/users?limit=2", headers=AUTH))
    assert users["total"] >= 2 and len(users["users"]) == 2
    await c.check("/api/users", "get", await client.get("/api/users?limit=0", headers=AUTH))
    path = "/api/users/{user_id}"
    one = await c.check(path, "get", await client.get(f"/api/users/{user}", headers=AUTH))
    assert (
        one["kinds"]["movies"]["picks"] == PICKS_PER_USER
        and one["kinds"]["movies"]["library"]["status"] == "ok"
    )
    await c.check(path, "get", await client.get("/api/users/" + "f" * 32, headers=AUTH))
    await c.check(path, "get", await client.get("/api/users/a;b", headers=AUTH))
    patched = await c.check(
        path,
        "patch",
        await client.patch(f"/api/users/{user}?apply=true", json={"movies_enabled": True}, headers=AUTH),
    )
    assert [r["job"] for r in patched["queued"]] == ["sync-movie-libraries"]
    await c.check(path, "patch", await client.patch(f"/api/users/{user}", json={}, headers=AUTH))
    path = "/api/users/{user_id}/discover"
    discover = await c.check(path, "get", await client.get(f"/api/users/{user}/discover", headers=AUTH))
    assert discover["suggestions"] == [] and discover["requests_enabled"] is False
    await c.check(path, "get", await client.get(f"/api/users/{user}/discover?kind=opera", headers=AUTH))
    requested = await client.post(f"/api/users/{user}/discover/movies/603/request", headers=AUTH)
    await c.check(path + "/{kind}/{tmdb_id}/request", "post", requested)
    await c.check("/api/backups", "get", await client.get("/api/backups", headers=AUTH))
    trakt = "/api/users/{user_id}/trakt"
    linked = await c.check(trakt, "get", await client.get(f"/api/users/{user}/trakt", headers=AUTH))
    assert linked["state"] == "unlinked" and linked["missing_setting"] == "SIDECAR_TRAKT_CLIENT_ID"
    start = await client.post(f"/api/users/{user}/trakt/link", json={}, headers=AUTH)
    assert start.status == 409  # Trakt is not configured in this world
    await c.check(trakt + "/link", "post", start)
    await c.check(
        trakt + "/poll", "post", await client.post(f"/api/users/{user}/trakt/poll", json={}, headers=AUTH)
    )
    await c.check(trakt, "delete", await client.delete(f"/api/users/{user}/trakt", headers=AUTH))
    await c.check("/metrics", "get", await client.get("/metrics", headers=AUTH))
    for server, fixture in (
        ("jellyfin", "jellyfin-webhook-playbackstop.json"),
        ("emby", "emby-webhook-playback-stop.json"),
    ):
        answer = await client.post(
            f"/webhooks/{server}?token={TOKEN}",
            data=fixture_bytes(fixture),
            headers={"Content-Type": "application/json"},
        )
        await c.check(f"/webhooks/{server}", "post", answer)
    assert c.seen == c.operations(), f"not exercised: {sorted(c.operations() - c.seen)}"


def test_every_route_of_the_app_is_in_the_openapi_document(settings: Settings) -> None:
    """A new endpoint needs its entry in sidecar/api/openapi_doc.py (the test above then checks it)."""
    app = web_app(settings, database_url="postgresql://unused", redis_url="redis://unused")
    doc = document()["paths"]
    # A templated path of the document ({kind}) covers the routes registered once per kind.
    patterns = [(re.compile("^" + re.sub(r"\{\w+\}", "[^/]+", p) + "$"), ops) for p, ops in doc.items()]
    missing = []
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if route.method in ("HEAD", "OPTIONS") or not path.startswith(("/api/", "/webhooks/", "/metrics")):
            continue
        if not any(rx.match(path) and route.method.lower() in ops for rx, ops in patterns):
            missing.append(f"{route.method} {path}")
    assert not missing, f"add to sidecar/api/openapi_doc.py: {missing}"


async def test_metrics_in_the_prometheus_format_behind_the_key(client: TestClient, world: World) -> None:
    assert (await client.get("/metrics")).status == 401
    await client.post("/api/jobs/sync-movies/runs", json={}, headers=AUTH)  # one run waits in the queue
    response = await client.get("/metrics", headers=AUTH)
    assert response.status == 200 and response.content_type == "text/plain"
    families = {f.name: f for f in text_string_to_metric_families(await response.text())}
    samples = {
        f: {tuple(sorted(s.labels.items())): s.value for s in fam.samples} for f, fam in families.items()
    }
    state = samples["sidecar_job_state"]
    assert state[(("job", "sync-movies"), ("state", "queued"))] == 1
    assert state[(("job", "generate-movie-embeddings"), ("state", "completed"))] == 1
    assert state[(("job", "generate-movie-embeddings"), ("state", "failed"))] == 0
    assert samples["sidecar_queue_length"][()] == 1
    runs = samples["sidecar_job_runs"]
    assert runs[(("job", "sync-movies"), ("status", "completed"))] == 1
    assert runs[(("job", "sync-movies"), ("status", "queued"))] == 1
    assert runs[(("job", "full-reset-movie-recommendations"), ("status", "completed"))] == 0
    success = samples["sidecar_job_last_success_timestamp_seconds"]
    assert success[(("job", "sync-movies"),)] > 1.7e9
    assert (("job", "full-reset-movie-recommendations"),) not in success  # never ran: no made-up time
    assert samples["sidecar_job_last_duration_seconds"][(("job", "sync-movies"),)] >= 0
    assert samples.get("sidecar_webhook_events", {}) == {}
    await client.post(
        f"/webhooks/jellyfin?token={TOKEN}",
        data=fixture_bytes("jellyfin-webhook-playbackstop.json"),
        headers={"Content-Type": "application/json"},
    )
    again = await (await client.get("/metrics", headers=AUTH)).text()
    events = next(f for f in text_string_to_metric_families(again) if f.name == "sidecar_webhook_events")
    assert sum(s.value for s in events.samples if s.labels.get("server") == "jellyfin") == 1


async def test_posters_come_through_the_sidecar_cached_and_bounded(
    client: TestClient, world: World, db: asyncpg.Pool
) -> None:
    item = await db.fetchval("SELECT min(id) FROM movies")
    assert (await client.get(f"/api/items/{item}/poster")).status == 401  # behind the key
    before = len(world.sim.requests_to("/Items/{itemId}/Images/{imageType}"))
    first = await client.get(f"/api/items/{item}/poster", headers=AUTH)
    body = await first.read()
    assert first.status == 200 and body.startswith(b"\x89PNG")
    again = await client.get(f"/api/items/{item}/poster", headers=AUTH)
    assert await again.read() == body
    assert len(world.sim.requests_to("/Items/{itemId}/Images/{imageType}")) == before + 1  # served from cache
    missing = await client.get("/api/items/0123456789abcdef0123456789abcdef/poster", headers=AUTH)
    assert missing.status == 404 and (await missing.json())["error"]["code"] == "no_poster"
    bad = await client.get("/api/items/..%2F..%2FSystem/poster", headers=AUTH)
    assert bad.status in (400, 404)
    assert "error" in await bad.json()
    assert world.settings.media_server_url not in (await first.read()).decode(errors="ignore")


def test_the_poster_cache_stays_within_its_byte_budget() -> None:
    from sidecar.api.poster_cache import Poster, PosterCache

    cache = PosterCache(max_bytes=100)
    for i in range(5):
        cache.put(str(i), Poster(b"x" * 30, "image/png"))
    assert cache.size_bytes <= 100 and len(cache) == 3
    assert cache.get("0") is None and cache.get("4") is not None
    cache.get("2")  # used: kept over 3 when the next one comes
    cache.put("5", Poster(b"y" * 30, "image/png"))
    assert cache.get("2") is not None and cache.get("3") is None
    cache.put("huge", Poster(b"z" * 500, "image/png"))
    assert cache.get("huge") is None and len(cache) == 3


async def test_emby_posters_use_the_emby_path_and_key(
    settings: Settings,
    run_job: Any,
    tmp_path: Path,
    db: asyncpg.Pool,
    aiohttp_client: Any,
    database_url: str,
    flushed_redis: str,
) -> None:
    async with movie_world(settings, run_job, tmp_path, kind="emby") as w:
        app = web_app(w.settings, database_url=database_url, redis_url=flushed_redis)
        c = await aiohttp_client(app)
        item = await db.fetchval("SELECT min(id) FROM movies")
        response = await c.get(f"/api/items/{item}/poster")
        assert response.status == 200 and (await response.read()).startswith(b"\x89PNG")
        (request,) = w.sim.requests_to("/Items/{Id}/Images/{Type}")
        assert request.path.startswith("/emby/Items/") and request.auth == "X-Emby-Token"


README = Path(__file__).parent.parent / "README.md"


def _snippet(title: str) -> str:
    """The fenced block under the README heading that names `title`."""
    text = README.read_text()
    match = re.search(rf"#+ [^\n]*{re.escape(title)}[^\n]*\n(?:(?!```)[\s\S])*?```\w*\n([\s\S]*?)```", text)
    assert match, f"README has no snippet for {title}"
    return match.group(1)


def _dig(data: Any, path: str) -> Any:
    """Follow a dotted path (`jobs.0.state`) through real JSON; fails if a step does not exist."""
    for step in path.split("."):
        data = data[int(step)] if isinstance(data, list) else data[step]
    return data


async def test_readme_dashboard_snippets_name_paths_that_exist(client: TestClient, world: World) -> None:
    jobs = await (await client.get("/api/jobs", headers=AUTH)).json()
    homepage = _snippet("Homepage")
    assert "url: http://sidecar:8787/api/jobs" in homepage
    fields = re.findall(r"field: (\S+)", homepage)
    assert fields
    # The README names the cards it points at: keep those names true.
    assert jobs["jobs"][0]["name"] == "sync-movies"
    assert jobs["jobs"][3]["name"] == "generate-movie-recommendations"
    for field in fields:
        assert _dig(jobs, field) is not None or field.endswith("next_run_at")
    prometheus = _snippet("Prometheus")
    assert "metrics_path: /metrics" in prometheus and "authorization:" in prometheus
    names = set(re.findall(r"sidecar_(?:job|queue|webhook)\w+", README.read_text()))
    scraped = {
        f.name
        for f in text_string_to_metric_families(await (await client.get("/metrics", headers=AUTH)).text())
    }
    assert names and names <= scraped | {n + "_total" for n in scraped}
    hass = _snippet("Home Assistant")
    assert "resource: http://sidecar:8787/api/jobs/sync-movies" in hass
    card = await (await client.get("/api/jobs/sync-movies", headers=AUTH)).json()
    for path in re.findall(r"value_json\.([\w.]+)", hass):
        _dig(card, path)
    for attribute in re.findall(r"^\s+- (\w+)$", hass, re.MULTILINE):
        assert attribute in card
    json.dumps(card)
