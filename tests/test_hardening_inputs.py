"""Hostile input over every route: each case is a 4xx in the error shape, never a 500, nothing stored half.

The cases are the ones an attacker's run found (issue #20); the table runs them against the whole
web app (API, webhooks, page) on the real PostgreSQL and Valkey.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from sidecar.composition import MEDIA_KINDS, web_app
from sidecar.jobs.registry import JobRegistry
from sidecar.settings import Settings
from tests.webhook_support import TOKEN, fixture_bytes, fixture_json, split_http_request

API_KEY = "hardening-api-key-7d2e"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
RUN_ID = "00000000-0000-4000-8000-000000000001"
# (method, path) of every route; {run} is a run id that does not exist.
API_ROUTES = [
    ("GET", "/api/jobs"),
    ("GET", "/api/jobs/sync-movies"),
    ("POST", "/api/jobs/sync-movies/runs"),
    ("GET", "/api/jobs/sync-movies/runs"),
    ("POST", "/api/jobs/sync-movies/cancel"),
    ("PUT", "/api/jobs/sync-movies/schedule"),
    ("GET", "/api/runs"),
    ("GET", f"/api/runs/{RUN_ID}"),
    ("POST", f"/api/runs/{RUN_ID}/cancel"),
    ("GET", f"/api/runs/{RUN_ID}/logs"),
    ("GET", "/api/queue"),
    ("POST", "/api/pipelines/movies"),
    ("GET", "/api/users/someone/recommendations"),
    ("GET", "/api/pipelines"),
    ("GET", "/api/schedules/preview?cron=0+3+*+*+*"),
    ("GET", "/api/items/someitem/poster"),
]
JSON_ROUTES = [(m, p) for m, p in API_ROUTES if m in ("POST", "PUT")]
WEBHOOK_ROUTES = ["/webhooks/jellyfin", "/webhooks/emby"]
DEEP = b"[" * 100_000
LONG_INT = b'{"variant": ' + b"7" * 5000 + b"}"
HOSTILE_BODIES = {
    "deep": DEEP,
    "long_int": LONG_INT,
    "nul": b'{"variant": "regular\\u0000", "cron": "x\\u0000"}',
}


@pytest.fixture
def hardened(settings: Settings) -> Settings:
    return settings.model_copy(update={"api_key": SecretStr(API_KEY), "webhook_token": SecretStr(TOKEN)})


@pytest.fixture
async def client(
    aiohttp_client: Any,
    hardened: Settings,
    database_url: str,
    flushed_redis: str,
    registry: JobRegistry,
    db: Any,
) -> TestClient:
    return await aiohttp_client(
        web_app(hardened, database_url=database_url, redis_url=flushed_redis, registry=registry)
    )


async def _error(response: Any, *statuses: int) -> dict[str, Any]:
    text = await response.text()
    assert response.status in statuses, (response.status, text[:300])
    assert response.content_type == "application/json", text[:300]
    return json.loads(text)["error"]


async def _raw(client: TestClient, request: bytes) -> tuple[int, bytes, bytes]:
    """One request as raw bytes (what aiohttp's client refuses to send); (status, head, body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    writer.write(request)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head, body


def _request(method: str, path: str, headers: dict[str, bytes], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: 127.0.0.1", b"Connection: close"]
    lines += [name.encode() + b": " + value for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}".encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


async def _nothing_stored(db: asyncpg.Pool) -> None:
    assert await db.fetchval("SELECT count(*) FROM job_runs") == 0
    assert await db.fetchval("SELECT count(*) FROM webhook_events") == 0


# --- credentials that are not UTF-8 ----------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), API_ROUTES)
@pytest.mark.parametrize("header", ["Authorization", "X-Api-Key"])
async def test_non_utf8_api_key_is_401(
    client: TestClient, db: asyncpg.Pool, method: str, path: str, header: str
) -> None:
    value = (b"Bearer " if header == "Authorization" else b"") + b"\xff\xfe\xc3(" + API_KEY.encode()
    status, _, body = await _raw(client, _request(method, path, {header: value}))
    assert status == 401, body
    assert json.loads(body)["error"]["code"] == "unauthorized"
    await _nothing_stored(db)


@pytest.mark.parametrize("path", WEBHOOK_ROUTES)
async def test_non_utf8_webhook_token_is_401(client: TestClient, db: asyncpg.Pool, path: str) -> None:
    status, _, body = await _raw(
        client, _request("POST", path, {"X-Webhook-Token": b"\xff" + TOKEN.encode()}, b"{}")
    )
    assert status == 401, body
    assert json.loads(body)["error"]["code"] == "invalid_token"
    await _nothing_stored(db)


# --- NUL and invalid UTF-8 in paths and queries ----------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [*API_ROUTES, *(("POST", p) for p in WEBHOOK_ROUTES)])
async def test_nul_in_query_is_400_on_every_route(
    client: TestClient, db: asyncpg.Pool, method: str, path: str
) -> None:
    separator = "&" if "?" in path else "?"
    response = await client.request(method, path + separator + "job=x%00y&token=" + TOKEN, headers=AUTH)
    await _error(response, 400)
    await _nothing_stored(db)


@pytest.mark.parametrize(
    "path",
    [
        "/api/users/%00/recommendations",
        "/api/items/%00/poster",
        "/api/jobs/sync%00movies",
        "/api/runs?job=x%00y",
    ],
)
async def test_nul_in_path_or_query_is_400(client: TestClient, path: str) -> None:
    await _error(await client.get(path, headers=AUTH), 400)


async def test_invalid_utf8_in_query_is_not_a_500(client: TestClient) -> None:
    response = await client.get("/api/runs?job=%ED%A0%80%FF", headers=AUTH)
    assert response.status in (200, 400), await response.text()


@pytest.mark.parametrize(
    "path",
    [
        "/api/runs?before=9223372036854775808",
        "/api/jobs/sync-movies/runs?before=99999999999999999999999",
        f"/api/runs/{RUN_ID}/logs?after=9223372036854775808",
    ],
)
async def test_cursor_past_int64_is_422(client: TestClient, path: str) -> None:
    assert (await _error(await client.get(path, headers=AUTH), 422))["code"] == "invalid_parameter"


# --- hostile JSON bodies --------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
@pytest.mark.parametrize("case", sorted(HOSTILE_BODIES))
async def test_hostile_json_body_is_400_on_every_json_route(
    client: TestClient, db: asyncpg.Pool, method: str, path: str, case: str
) -> None:
    headers = {**AUTH, "Content-Type": "application/json"}
    error = await _error(await client.request(method, path, data=HOSTILE_BODIES[case], headers=headers), 400)
    assert error["code"] in ("malformed_json", "invalid_text")
    await _nothing_stored(db)


@pytest.mark.parametrize("path", WEBHOOK_ROUTES)
@pytest.mark.parametrize(
    "body", [DEEP, b'{"NotificationType": ' + b"9" * 5000 + b"}", b'{"Event": ' + b"9" * 5000 + b"}"]
)
async def test_hostile_webhook_body_is_400(
    client: TestClient, db: asyncpg.Pool, path: str, body: bytes
) -> None:
    headers = {"X-Webhook-Token": TOKEN, "Content-Type": "application/json"}
    assert (await _error(await client.post(path, data=body, headers=headers), 400))[
        "code"
    ] == "invalid_payload"
    await _nothing_stored(db)


def _emby_multipart(data: bytes, charset: str | None = None) -> tuple[dict[str, str], bytes]:
    headers, _ = split_http_request(fixture_bytes("emby-webhook-playback-stop.multipart.http"))
    boundary = headers["Content-Type"].split("boundary=", 1)[1].strip('"')
    part_type = b"Content-Type: application/json" + (f"; charset={charset}".encode() if charset else b"")
    body = (
        b"--" + boundary.encode() + b'\r\nContent-Disposition: form-data; name="data"\r\n' + part_type
        + b"\r\n\r\n" + data + b"\r\n--" + boundary.encode() + b"--\r\n"
    )  # fmt: skip
    return {"Content-Type": headers["Content-Type"], "X-Webhook-Token": TOKEN}, body


@pytest.mark.parametrize(
    ("data", "charset"),
    [
        (DEEP, None),
        (b'{"Event": ' + b"9" * 5000 + b"}", None),
        (fixture_bytes("emby-webhook-playback-stop.json"), "x-klingon"),
    ],
)
async def test_hostile_emby_multipart_data_is_400(
    client: TestClient, db: asyncpg.Pool, data: bytes, charset: str | None
) -> None:
    headers, body = _emby_multipart(data, charset)
    assert (await _error(await client.post("/webhooks/emby", data=body, headers=headers), 400))[
        "code"
    ] == "invalid_payload"
    await _nothing_stored(db)


# --- webhook fields ----------------------------------------------------------------------------------

JELLYFIN_NUL_FIELDS = ["NotificationType", "ItemType", "SaveReason", "Provider_tmdb", "ServerId"]


@pytest.mark.parametrize("field", JELLYFIN_NUL_FIELDS)
async def test_jellyfin_nul_in_stored_fields_is_cleaned(
    client: TestClient, db: asyncpg.Pool, field: str
) -> None:
    document = fixture_json("jellyfin-webhook-userdatasaved.json")
    document[field] = str(document.get(field) or "x")[:3] + "\u0000" + str(document.get(field) or "x")[3:]
    response = await client.post("/webhooks/jellyfin", json=document, headers={"X-Webhook-Token": TOKEN})
    assert response.status in (202, 400), await response.text()
    for row in await db.fetch("SELECT * FROM webhook_events"):
        assert not any(isinstance(v, str) and "\x00" in v for v in dict(row).values())


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("Item", "Id"), "12\u00003"),
        (("Item", "Path"), "/m/a\u0000b.mkv"),
        (("User", "Id"), "98b03b0314e644a8\u000082d6230867e74fa1"),
    ],
)
async def test_emby_nul_in_stored_fields_is_cleaned(
    client: TestClient, db: asyncpg.Pool, path: tuple[str, str], value: str
) -> None:
    document = fixture_json("emby-webhook-playback-stop.json")
    document[path[0]][path[1]] = value
    response = await client.post("/webhooks/emby", json=document, headers={"X-Webhook-Token": TOKEN})
    assert response.status in (202, 400), await response.text()
    rows = await db.fetch("SELECT * FROM webhook_events")
    assert rows, "a cleaned event is stored"
    for row in rows:
        assert not any(isinstance(v, str) and "\x00" in v for v in dict(row).values())


async def test_emby_position_ticks_past_int64_is_400(client: TestClient, db: asyncpg.Pool) -> None:
    document = fixture_json("emby-webhook-playback-stop.json")
    document["PlaybackInfo"]["PositionTicks"] = 10**20
    error = await _error(
        await client.post("/webhooks/emby", json=document, headers={"X-Webhook-Token": TOKEN}), 400
    )
    assert "PositionTicks" in error["message"]
    await _nothing_stored(db)


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-14:00"])
@pytest.mark.parametrize(
    ("path", "fixture", "key"),
    [
        ("/webhooks/jellyfin", "jellyfin-webhook-playbackstop.json", "UtcTimestamp"),
        ("/webhooks/emby", "emby-webhook-playback-stop.json", "Date"),
    ],
)
async def test_timestamps_at_the_edges_are_400(
    client: TestClient, db: asyncpg.Pool, stamp: str, path: str, fixture: str, key: str
) -> None:
    document = fixture_json(fixture)
    document[key] = stamp
    error = await _error(await client.post(path, json=document, headers={"X-Webhook-Token": TOKEN}), 400)
    assert key in error["message"]
    await _nothing_stored(db)


# --- schedules ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["cron=0+0+31+2+*", "cron=0+3+*+*+*&timezone=" + "A" * 5000, "cron=0+3+*+*+*&timezone=x%00y"]
)
async def test_schedule_preview_of_a_schedule_that_cannot_fire_is_4xx(client: TestClient, query: str) -> None:
    await _error(await client.get("/api/schedules/preview?" + query, headers=AUTH), 400, 422)


async def _schedule_row(db: asyncpg.Pool) -> Any:
    return await db.fetchrow("SELECT cron, timezone FROM job_schedules WHERE job = 'sync-movies'")


@pytest.mark.parametrize(
    "body",
    [
        {"cron": "0 3 * * *", "timezone": "A" * 5000},
        {"cron": "0 3 * * *", "timezone": "Europe/../../etc/passwd"},
        {"cron": "0 0 31 2 *", "timezone": "UTC"},
        {"cron": "0 0 30 2 *", "timezone": "Europe/Berlin"},
    ],
)
async def test_schedule_that_cannot_fire_is_422_and_not_stored(
    client: TestClient, db: asyncpg.Pool, body: dict[str, Any]
) -> None:
    before = await _schedule_row(db)
    error = await _error(await client.put("/api/jobs/sync-movies/schedule", json=body, headers=AUTH), 422)
    assert error["code"] in ("invalid_schedule", "invalid_body")
    assert await _schedule_row(db) == before
    assert (await client.get("/api/jobs", headers=AUTH)).status == 200


async def test_a_bad_schedule_row_already_stored_spares_the_cards_and_the_tick(
    client: TestClient, db: asyncpg.Pool, registry: JobRegistry, hardened: Settings
) -> None:
    from sidecar.jobs.queue import JobQueue
    from worker.tick import run_tick

    await client.get("/api/jobs", headers=AUTH)  # the app seeded the default schedules
    await db.execute(
        "UPDATE job_schedules SET cron = '0 0 31 2 *', last_fired_at = now() - interval '2 days' WHERE job = 'sync-movies'"
    )
    await db.execute(
        "UPDATE job_schedules SET cron = '* * * * *', last_fired_at = now() - interval '2 days' WHERE job = 'generate-movie-embeddings'"
    )
    response = await client.get("/api/jobs", headers=AUTH)
    assert response.status == 200, await response.text()
    card = {c["name"]: c for c in (await response.json())["jobs"]}["sync-movies"]
    assert card["schedule"]["next_run_at"] is None and "never fires" in card["schedule"]["description"]
    # The tick still fires the other (due) schedule.
    queued = await run_tick(
        db, JobQueue(db, None, hardened.queue_name), registry, settings=hardened, kinds=MEDIA_KINDS
    )
    jobs = {
        r["job"]
        for r in await db.fetch(
            "SELECT job FROM job_runs WHERE id = ANY($1::uuid[])", [uuid.UUID(q) for q in queued]
        )
    }
    assert jobs == {"generate-movie-embeddings"}


@pytest.fixture
def logging_restored() -> Any:
    """configure_logging binds sys.stderr (capsys' stream here): put the previous set-up back after."""
    import logging

    import structlog

    from sidecar import logs

    config = structlog.get_config()
    root = logging.getLogger()
    handlers, level, secrets = list(root.handlers), root.level, list(logs._known_secrets)
    yield
    logs._known_secrets[:] = secrets
    structlog.configure(**config)
    root.handlers[:] = handlers
    root.setLevel(level)


# --- requests aiohttp's own parser refuses -----------------------------------------------------------

MALFORMED = {
    "nul_in_header": b"GET /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Thing: a\x00b\r\n\r\n",
    "folded_authorization": (
        b"GET /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer\r\n "
        + API_KEY.encode()
        + b"\r\n\r\n"
    ),
    "huge_header": b"GET /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"k" * 100 * 1024 + b"\r\n\r\n",
    "cl_and_te": (
        b"POST /api/pipelines/movies HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
async def test_parser_errors_answer_json_without_echo_and_log_no_key(
    hardened: Settings,
    database_url: str,
    flushed_redis: str,
    registry: JobRegistry,
    case: str,
    capsys: Any,
    logging_restored: Any,
) -> None:
    from sidecar.logs import configure_logging
    from sidecar.service import serving

    configure_logging(hardened.model_copy(update={"log_format": "json"}))
    async with serving(
        hardened, database_url, flushed_redis, worker=False, registry=registry, port=0
    ) as service:
        port = int(str(service.web_url).rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(MALFORMED[case])
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 10)
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert 400 <= status < 500, data[:300]
    assert b"application/json" in head.lower()
    assert json.loads(body)["error"]["code"] == "malformed_request"
    assert API_KEY.encode() not in data and b"kkkk" not in data and b"\x00" not in body
    logged = capsys.readouterr().err
    assert API_KEY not in logged and "kkkkkkkk" not in logged


async def test_standard_library_loggers_are_redacted(
    hardened: Settings, capsys: Any, logging_restored: Any
) -> None:
    import logging

    from sidecar.logs import configure_logging

    configure_logging(hardened)
    try:
        raise ValueError(f"bad header b'Authorization: Bearer\\r\\n {API_KEY}' token={TOKEN}")
    except ValueError:
        logging.getLogger("aiohttp.server").exception("Error handling request from %s", "127.0.0.1")
        logging.getLogger("asyncio").error("Task exception: key %s", API_KEY)
    logged = capsys.readouterr().err
    assert "Error handling request" in logged and "ValueError" in logged
    assert API_KEY not in logged and TOKEN not in logged
