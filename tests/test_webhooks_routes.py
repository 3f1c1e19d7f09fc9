"""The receivers over HTTP against the real Postgres and Valkey: auth, limits, storage, plans."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings

from sidecar.jobs.registry import JobRegistry
from sidecar.settings import Settings
from tests.webhook_support import (
    TOKEN,
    fixture_bytes,
    fixture_json,
    queued_runs,
    split_http_request,
    stored_events,
    webhook_app,
    with_token,
)

MATRIX_JF = "636a515bbdb34cc795500f084e480402"
ALICE_JF = "fa984abd4cf24037bb5e7ed85d80162d"
ALICE_EMBY = "98b03b0314e644a882d6230867e74fa1"
JSON_HEADERS = {"Content-Type": "application/json", "X-Webhook-Token": TOKEN}


@pytest.fixture
async def arq_redis(redis_url: str) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        yield pool
    finally:
        await pool.aclose()


@pytest.fixture
async def client(
    aiohttp_client: Any, db: asyncpg.Pool, settings: Settings, registry: JobRegistry, arq_redis: ArqRedis
) -> TestClient:
    return await aiohttp_client(webhook_app(db, with_token(settings), registry, arq_redis))


# --- authentication --------------------------------------------------------------------------------


async def test_no_token_configured_answers_403_and_says_how_to_enable(
    aiohttp_client: Any, db: asyncpg.Pool, settings: Settings, registry: JobRegistry
) -> None:
    client = await aiohttp_client(webhook_app(db, with_token(settings, None), registry, None))
    response = await client.post("/webhooks/jellyfin", data=fixture_bytes("jellyfin-webhook-itemadded.json"))
    assert response.status == 403
    error = (await response.json())["error"]
    assert error["code"] == "webhooks_disabled"
    assert "SIDECAR_WEBHOOK_TOKEN" in error["message"]
    assert await stored_events(db) == []


@pytest.mark.parametrize("path", ["/webhooks/jellyfin", "/webhooks/emby"])
@pytest.mark.parametrize("headers", [{}, {"X-Webhook-Token": "wrong"}, {"X-Webhook-Token": TOKEN + "x"}])
async def test_wrong_or_missing_token_is_401(
    client: TestClient, db: asyncpg.Pool, path: str, headers: dict[str, str]
) -> None:
    response = await client.post(path, data=b"{}", headers=headers)
    assert response.status == 401
    body = await response.json()
    assert body["error"]["code"] == "invalid_token"
    assert TOKEN not in json.dumps(body)
    assert await stored_events(db) == []


async def test_token_in_query_or_header(client: TestClient) -> None:
    body = fixture_bytes("emby-webhook-library-new.json")
    by_query = await client.post(f"/webhooks/emby?token={TOKEN}", data=body)
    by_header = await client.post("/webhooks/emby", data=body, headers={"X-Webhook-Token": TOKEN})
    assert by_query.status == 202 and by_header.status == 202


# --- every fixture, both servers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "fixture", "content_type", "job", "scope"),
    [
        (
            "/webhooks/jellyfin",
            "jellyfin-webhook-itemadded.json",
            "text/plain; charset=utf-8",
            "sync-movies",
            {"item_ids": ["5b5e4b1114ce4113bbb68bcfeb58cc63"]},
        ),
        (
            "/webhooks/jellyfin",
            "jellyfin-webhook-playbackstop.json",
            "application/json",
            "sync-movie-watch-history",
            {"user_ids": [ALICE_JF], "item_ids": [MATRIX_JF]},
        ),
        (
            "/webhooks/jellyfin",
            "jellyfin-webhook-playbackstop.template-output.json",
            "text/plain; charset=utf-8",
            "sync-movie-watch-history",
            {"user_ids": [ALICE_JF], "item_ids": [MATRIX_JF]},
        ),
        (
            "/webhooks/jellyfin",
            "jellyfin-webhook-userdatasaved.json",
            "text/plain; charset=utf-8",
            "sync-movie-watch-history",
            {"user_ids": [ALICE_JF], "item_ids": [MATRIX_JF]},
        ),
        (
            "/webhooks/emby",
            "emby-webhook-library-new.json",
            "application/json",
            "sync-movies",
            {"item_ids": ["51902"]},
        ),
        (
            "/webhooks/emby",
            "emby-webhook-playback-stop.json",
            "application/json",
            "sync-movie-watch-history",
            {"user_ids": [ALICE_EMBY], "item_ids": ["48213"]},
        ),
        (
            "/webhooks/emby",
            "emby-webhook-item-markplayed.json",
            "application/json",
            "sync-movie-watch-history",
            {"user_ids": [ALICE_EMBY], "item_ids": ["48213"]},
        ),
    ],
)
async def test_fixture_is_accepted_stored_and_planned(
    client: TestClient,
    db: asyncpg.Pool,
    path: str,
    fixture: str,
    content_type: str,
    job: str,
    scope: dict[str, Any],
) -> None:
    response = await client.post(
        path, data=fixture_bytes(fixture), headers={"Content-Type": content_type, "X-Webhook-Token": TOKEN}
    )
    assert response.status == 202
    answer = await response.json()
    assert answer["accepted"] is True
    [planned] = answer["planned"]
    assert planned["job"] == job

    # The row is there as soon as the answer is (it is written before the 2xx).
    row = await db.fetchrow("SELECT * FROM webhook_events WHERE id = $1::uuid", answer["event_id"])
    assert row is not None
    assert row["status"] == "planned"
    assert [str(r) for r in row["planned_run_ids"]] == [planned["run_id"]]
    assert json.loads(row["body"]) == json.loads(fixture_bytes(fixture))
    assert row["content_type"] == content_type

    [run] = await queued_runs(db, job)
    assert str(run["id"]) == planned["run_id"]
    assert (run["trigger"], run["variant"], run["scope"]) == ("webhook", "regular", scope)
    assert run["not_before"] is not None and run["not_before"] > run["queued_at"]


async def test_emby_multipart_request_from_the_raw_http_file(client: TestClient, db: asyncpg.Pool) -> None:
    headers, body = split_http_request(fixture_bytes("emby-webhook-playback-stop.multipart.http"))
    response = await client.post(
        f"/webhooks/emby?token={TOKEN}", data=body, headers={"Content-Type": headers["Content-Type"]}
    )
    assert response.status == 202
    answer = await response.json()
    assert answer["accepted"] is True
    row = await db.fetchrow("SELECT * FROM webhook_events WHERE id = $1::uuid", answer["event_id"])
    assert (row["server_kind"], row["event"], row["user_id"], row["item_id"]) == (
        "emby",
        "playback_stopped",
        ALICE_EMBY,
        "48213",
    )
    assert row["content_type"].startswith("multipart/form-data")


async def test_jellyfin_send_all_and_template_output_store_the_same_ids(
    client: TestClient, db: asyncpg.Pool
) -> None:
    for fixture in (
        "jellyfin-webhook-playbackstop.json",
        "jellyfin-webhook-playbackstop.template-output.json",
    ):
        response = await client.post("/webhooks/jellyfin", data=fixture_bytes(fixture), headers=JSON_HEADERS)
        assert response.status == 202
    rows = await stored_events(db)
    assert {(r["user_id"], r["item_id"], r["server_id"]) for r in rows} == {
        (ALICE_JF, MATRIX_JF, "aefea2e555874301bb2a494ebab4a1f7")
    }


# --- ignored, duplicates, malformed ---------------------------------------------------------------


async def test_unknown_event_is_stored_and_ignored(client: TestClient, db: asyncpg.Pool) -> None:
    document = {**fixture_json("jellyfin-webhook-itemadded.json"), "NotificationType": "SomethingNew"}
    response = await client.post("/webhooks/jellyfin", json=document, headers=JSON_HEADERS)
    assert response.status == 202
    assert await response.json() == {"accepted": False, "ignored": "unknown_event"}
    [row] = await stored_events(db)
    assert (row["status"], row["ignored_reason"], row["source_event"]) == (
        "ignored",
        "unknown_event",
        "SomethingNew",
    )
    assert await queued_runs(db) == []


@pytest.mark.parametrize(
    ("path", "document"),
    [
        (
            "/webhooks/jellyfin",
            {"NotificationType": "UserCreated", "UserId": "4c1e0f5b8d2a4e7f9a3b6c5d4e3f2a1b"},
        ),
        (
            "/webhooks/emby",
            {
                "Title": "Policy updated",
                "Event": "user.policyupdated",
                "User": {"Id": "c4f3b1d2e5a64f7d8e9a0b1c2d3e4f5a", "Name": "newcomer"},
                "Server": {"Id": "b46ee098c2fd49e4ba2fcd4e76c99133", "Name": "den-emby"},
            },
        ),
    ],
)
async def test_a_user_event_queues_sync_users_for_everyone(
    client: TestClient, db: asyncpg.Pool, path: str, document: dict[str, Any]
) -> None:
    # A user created (or re-policied) on the server sees every library, other users' picks included,
    # until sync-users puts the policies right: it runs after the debounce, not at the next half hour.
    response = await client.post(path, json=document, headers=JSON_HEADERS)
    answer = await response.json()
    assert response.status == 202 and answer["accepted"] is True, answer
    [run] = await queued_runs(db, "sync-users")
    assert [p["run_id"] for p in answer["planned"]] == [str(run["id"])]
    assert (run["trigger"], run["scope"]) == ("webhook", None)


async def test_emby_system_event_is_ignored(client: TestClient, db: asyncpg.Pool) -> None:
    document = {
        "Title": "Test",
        "Event": "system.webhooktest",
        "Date": "2026-11-22T21:00:00.0000000Z",
        "Server": {"Id": "b46ee098c2fd49e4ba2fcd4e76c99133", "Name": "den-emby", "Version": "4.9.1.90"},
    }
    response = await client.post("/webhooks/emby", json=document, headers=JSON_HEADERS)
    assert await response.json() == {"accepted": False, "ignored": "event_not_handled"}
    assert len(await stored_events(db)) == 1


async def test_non_movie_item_is_ignored(client: TestClient, db: asyncpg.Pool) -> None:
    # An item type no media kind handles (episodes belong to the series kind now).
    document = {**fixture_json("jellyfin-webhook-itemadded.json"), "ItemType": "Audio"}
    response = await client.post("/webhooks/jellyfin", json=document, headers=JSON_HEADERS)
    assert await response.json() == {"accepted": False, "ignored": "not_a_movie"}
    [row] = await stored_events(db)
    assert row["item_type"] == "Audio"
    assert await queued_runs(db) == []


async def test_a_repeated_delivery_is_a_duplicate_but_a_second_play_is_not(
    client: TestClient, db: asyncpg.Pool
) -> None:
    body = fixture_bytes("jellyfin-webhook-playbackstop.json")
    first = await client.post("/webhooks/jellyfin", data=body, headers=JSON_HEADERS)
    again = await client.post("/webhooks/jellyfin", data=body, headers=JSON_HEADERS)
    assert (await first.json())["accepted"] is True
    assert await again.json() == {"accepted": False, "ignored": "duplicate"}

    later_play = {**json.loads(body), "UtcTimestamp": "2026-11-29T20:00:00.1234567Z"}
    second_play = await client.post("/webhooks/jellyfin", json=later_play, headers=JSON_HEADERS)
    assert (await second_play.json())["accepted"] is True

    rows = await stored_events(db)
    assert [r["status"] for r in rows] == ["planned", "ignored", "planned"]
    assert rows[1]["ignored_reason"] == "duplicate" and rows[1]["duplicate_of"] == rows[0]["id"]


async def test_each_user_of_a_shared_session_is_its_own_delivery(
    client: TestClient, db: asyncpg.Pool
) -> None:
    """Jellyfin posts once per user of a session with the same timestamp: not duplicates."""
    document = fixture_json("jellyfin-webhook-playbackstop.json")
    bob = {**document, "UserId": "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e", "NotificationUsername": "bob"}
    for payload in (document, bob):
        response = await client.post("/webhooks/jellyfin", json=payload, headers=JSON_HEADERS)
        assert (await response.json())["accepted"] is True
    [run] = await queued_runs(db, "sync-movie-watch-history")
    assert run["scope"]["user_ids"] == sorted([ALICE_JF, bob["UserId"]])


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/webhooks/jellyfin",
            {"NotificationType": "ItemAdded", "ItemId": "12345", "ItemType": "Movie"},
            "ItemId",
        ),
        (
            "/webhooks/emby",
            {"Event": "library.new", "Item": {"Id": "1", "Type": "Movie"}, "Date": "yesterday"},
            "Date",
        ),
        ("/webhooks/emby", fixture_json("jellyfin-webhook-itemadded.json"), "Event"),
    ],
)
async def test_malformed_body_is_400_naming_the_field(
    client: TestClient, db: asyncpg.Pool, path: str, body: dict[str, Any], field: str
) -> None:
    response = await client.post(path, json=body, headers=JSON_HEADERS)
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["code"] == "invalid_payload"
    assert f"'{field}'" in error["message"]
    assert "Traceback" not in error["message"]
    assert await stored_events(db) == []


async def test_jellyfin_payload_sent_to_emby_gets_a_hint(client: TestClient) -> None:
    document = fixture_json("jellyfin-webhook-itemadded.json")
    response = await client.post("/webhooks/emby", json=document, headers=JSON_HEADERS)
    assert "/webhooks/jellyfin" in (await response.json())["error"]["message"]


@pytest.mark.parametrize("body", [b"", b"not json at all", b"[]"])
async def test_body_that_is_not_json_is_400(client: TestClient, db: asyncpg.Pool, body: bytes) -> None:
    response = await client.post("/webhooks/jellyfin", data=body, headers=JSON_HEADERS)
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "invalid_payload"
    assert await stored_events(db) == []


# --- size limit --------------------------------------------------------------------------------------


def _oversized_document() -> bytes:
    document = fixture_json("jellyfin-webhook-itemadded.json")
    document["Overview"] = "x" * (1536 * 1024)  # 1.5 MiB
    return json.dumps(document).encode()


async def test_body_over_one_mebibyte_is_413_and_not_stored(client: TestClient, db: asyncpg.Pool) -> None:
    response = await client.post("/webhooks/jellyfin", data=_oversized_document(), headers=JSON_HEADERS)
    assert response.status == 413
    assert (await response.json())["error"]["code"] == "payload_too_large"
    assert await stored_events(db) == []


async def test_chunked_body_over_the_limit_is_413_too(client: TestClient, db: asyncpg.Pool) -> None:
    body = _oversized_document()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    response = await client.post("/webhooks/jellyfin", data=chunks(), headers=JSON_HEADERS)
    assert response.status == 413
    assert await stored_events(db) == []


async def test_chunked_body_under_the_limit_is_read_whole(client: TestClient, db: asyncpg.Pool) -> None:
    body = fixture_bytes("jellyfin-webhook-itemadded.json")

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 100):
            yield body[start : start + 100]

    response = await client.post("/webhooks/jellyfin", data=chunks(), headers=JSON_HEADERS)
    assert response.status == 202
    [row] = await stored_events(db)
    assert row["body"].encode() == body


# --- no feedback loops -----------------------------------------------------------------------------


def _emby_new_at(path: str, second: int) -> dict[str, Any]:
    document = fixture_json("emby-webhook-library-new.json")
    document["Item"]["Path"] = path
    document["Date"] = f"2026-11-22T20:01:{second:02d}.0000000Z"
    return document


async def test_item_under_the_library_root_is_ignored(
    aiohttp_client: Any, db: asyncpg.Pool, settings: Settings, registry: JobRegistry, arq_redis: ArqRedis
) -> None:
    root = settings.resolved_library_root
    configured = with_token(
        settings, library_server_root="/srv/ai-picks", path_mappings={"/mapped-view": str(root.parent)}
    )
    client = await aiohttp_client(webhook_app(db, configured, registry, arq_redis))
    inside = [
        f"{root}/users/alice/ai-movies/01 - Arrival (2016)/Arrival (2016).mkv",  # the sidecar's view
        "/srv/ai-picks/users/alice/ai-movies/01 - Arrival (2016)/Arrival (2016).strm",  # the server's view
        f"/mapped-view/{root.name}/users/bob/ai-movies/02 - Arrival (2016)/Arrival (2016).mkv",  # via mapping
    ]
    for second, path in enumerate(inside):
        response = await client.post("/webhooks/emby", json=_emby_new_at(path, second), headers=JSON_HEADERS)
        assert await response.json() == {"accepted": False, "ignored": "own_library"}
    outside = await client.post(
        "/webhooks/emby", json=_emby_new_at("/srv/ai-picks-other/Arrival.mkv", 59), headers=JSON_HEADERS
    )
    assert (await outside.json())["accepted"] is True
    assert [r["ignored_reason"] for r in await stored_events(db)] == ["own_library"] * 3 + [None]
    [run] = await queued_runs(db, "sync-movies")
    assert run["scope"] == {"item_ids": ["51902"]}


# --- Redis down ------------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("redis_state", ["closed_port", "none"])
async def test_redis_unreachable_still_accepts_stores_and_queues_in_postgres(
    aiohttp_client: Any, db: asyncpg.Pool, settings: Settings, registry: JobRegistry, redis_state: str
) -> None:
    redis = ArqRedis(host="127.0.0.1", port=_closed_port()) if redis_state == "closed_port" else None
    client = await aiohttp_client(webhook_app(db, with_token(settings), registry, redis))
    try:
        response = await client.post(
            "/webhooks/emby", data=fixture_bytes("emby-webhook-playback-stop.json"), headers=JSON_HEADERS
        )
        assert response.status == 202
        answer = await response.json()
        assert answer["accepted"] is True
        row = await db.fetchrow("SELECT status FROM webhook_events WHERE id = $1::uuid", answer["event_id"])
        assert row["status"] == "planned"
        [run] = await queued_runs(db, "sync-movie-watch-history")
        assert str(run["id"]) == answer["planned"][0]["run_id"]
    finally:
        if redis is not None:
            await redis.aclose()


async def test_database_unreachable_is_503_without_a_trace(
    aiohttp_client: Any, database_url: str, settings: Settings, registry: JobRegistry
) -> None:
    from sidecar.db import create_pool

    closed_pool = await create_pool(database_url, max_size=1)
    await closed_pool.close()
    client = await aiohttp_client(webhook_app(closed_pool, with_token(settings), registry, None))
    response = await client.post(
        "/webhooks/jellyfin", data=fixture_bytes("jellyfin-webhook-itemadded.json"), headers=JSON_HEADERS
    )
    assert response.status == 503
    assert (await response.json())["error"]["code"] == "database_unavailable"


# --- bursts ---------------------------------------------------------------------------------------


async def test_burst_of_500_item_added_becomes_one_run_with_500_ids(
    client: TestClient, db: asyncpg.Pool
) -> None:
    template = fixture_json("jellyfin-webhook-itemadded.json")
    item_ids = [f"{n:032x}" for n in range(1, 501)]
    limit = asyncio.Semaphore(50)

    async def send(n: int, item_id: str) -> dict[str, Any]:
        document = {
            **template,
            "ItemId": item_id,
            "UtcTimestamp": f"2026-11-22T20:03:{n // 100:02d}.{n:07d}Z",
        }
        async with limit:
            response = await client.post("/webhooks/jellyfin", json=document, headers=JSON_HEADERS)
            assert response.status == 202
            return await response.json()

    answers = await asyncio.gather(*(send(n, item_id) for n, item_id in enumerate(item_ids)))
    assert all(a["accepted"] for a in answers)

    [run] = await queued_runs(db, "sync-movies")
    assert run["trigger"] == "webhook"
    assert run["scope"] == {"item_ids": sorted(item_ids)}
    assert {a["planned"][0]["run_id"] for a in answers} == {str(run["id"])}
    # Every event pushed the start back: the run waits for the debounce after the latest one.
    latest = max(a["planned"][0]["not_before"] for a in answers)
    assert run["not_before"].isoformat().replace("+00:00", "Z") == latest
    counts = await db.fetchrow(
        "SELECT count(*) AS n, count(*) FILTER (WHERE status = 'planned') AS planned FROM webhook_events"
    )
    assert (counts["n"], counts["planned"]) == (500, 500)
