"""The simulator sends webhooks in each server's real formats, and the sidecar's receivers take them."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from arq import create_pool
from arq.connections import RedisSettings

from sidecar.composition import MEDIA_KINDS
from sidecar.jobs.registry import JobRegistry
from sidecar.settings import Settings
from sidecar.simulator import MediaServerSimulator
from sidecar.simulator.model import SimState
from sidecar.simulator.webhook_bodies import STYLES, render_webhook
from sidecar.simulator.webhook_sender import WebhookSender
from tests.webhook_support import TOKEN, stored_events, webhook_app, with_token
from webhooks import events as ev
from webhooks.emby import parse_emby
from webhooks.jellyfin import parse_jellyfin
from webhooks.planner import decide

CASES = [(kind, style) for kind, styles in STYLES.items() for style in styles]


def _captured(state: SimState) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    state.listeners.append(events.append)
    return events


def _parse(state: SimState, document: dict[str, Any]) -> ev.WebhookEvent:
    return parse_jellyfin(document) if state.kind == "jellyfin" else parse_emby(document)


@pytest.mark.parametrize(("kind", "style"), CASES)
def test_every_simulator_event_renders_to_a_body_our_parser_reads_back(kind: str, style: Any) -> None:
    state = MediaServerSimulator(kind, seed="sample").state  # type: ignore[arg-type]
    # Rendered at the moment of each event, as the real server (and our sender) does.
    rendered: list[tuple[str, Any]] = []
    state.listeners.append(
        lambda event: rendered.append((event["type"], render_webhook(state, event, style)))
    )
    user = next(iter(state.users.values()))
    movie = state.add_movie(name='Say "Hi"', year=2024, genres=["Drama"], provider_ids={"Tmdb": "42"})
    state.record_play(user.id, movie.id)  # finished playback
    state.mark_played(user.id, movie.id, played=False)
    state.set_favorite(user.id, movie.id)
    state.remove_movie(movie.id)
    parsed = [(kind_, None if body is None else _parse(state, body.document)) for kind_, body in rendered]

    by_type = {t: p for t, p in parsed}
    added, stopped, removed = by_type["item_added"], by_type["playback_stopped"], by_type["item_removed"]
    assert (
        added is not None
        and added.event == ev.ITEM_ADDED
        and added.item_id == movie.id
        and added.item_type == "Movie"
    )
    assert added.tmdb_id == "42"
    assert stopped is not None and stopped.event == ev.PLAYBACK_STOPPED and stopped.played is True
    assert stopped.user_id == user.id and stopped.item_id == movie.id
    assert removed is not None and removed.event == ev.ITEM_DELETED and removed.item_id == movie.id
    saves = [p for t, p in parsed if t == "user_data_saved"]
    if kind == "jellyfin":
        # Jellyfin reports every user-data write: the finish, the un-mark and the favourite.
        assert [s.reason for s in saves if s] == ["PlaybackFinished", "TogglePlayed", "UpdateUserRating"]
        assert saves[1] is not None and saves[1].event == ev.MARK_UNPLAYED
    else:
        # Emby sends nothing for the save that ends a playback (playback.stop carries it).
        assert saves[0] is None
        assert [s.event for s in saves[1:] if s] == [ev.MARK_UNPLAYED, ev.RATED]
    # The planner turns the finished playback into that user's incremental history sync.
    work = decide(stopped, MEDIA_KINDS).work
    assert [w.job for w in work] == ["sync-movie-watch-history"]
    assert work[0].scope == {"user_ids": [user.id], "item_ids": [movie.id]}


def test_template_style_writes_dashed_guids_and_dotnet_booleans() -> None:
    state = MediaServerSimulator("jellyfin", seed="sample").state
    events = _captured(state)
    user = next(iter(state.users.values()))
    movie = next(iter(state.movies.values()))
    state.record_play(user.id, movie.id)
    body = render_webhook(state, events[0], "template")
    assert body is not None
    assert body.document["PlayedToCompletion"] == "True"
    assert body.document["UserId"].count("-") == 4 and body.document["UserId"].replace("-", "") == user.id
    assert all(isinstance(value, str) for value in body.document.values())


@pytest.mark.parametrize(("kind", "style"), CASES)
async def test_sender_delivers_to_the_sidecar_which_stores_every_event(
    aiohttp_client: Any,
    db: asyncpg.Pool,
    settings: Settings,
    registry: JobRegistry,
    redis_url: str,
    kind: str,
    style: Any,
) -> None:
    redis = await create_pool(RedisSettings.from_dsn(redis_url))
    client: TestClient = await aiohttp_client(webhook_app(db, with_token(settings), registry, redis))
    state = MediaServerSimulator(kind, seed="sample").state  # type: ignore[arg-type]
    sender = WebhookSender(state, str(client.make_url(f"/webhooks/{kind}")), TOKEN, style=style).attach()
    try:
        user = next(iter(state.users.values()))
        movies = list(state.movies.values())[:3]
        for movie in movies:
            state.record_play(user.id, movie.id)
        await sender.drain()
    finally:
        await sender.close()
        await redis.aclose()

    expected = 6 if kind == "jellyfin" else 3  # Jellyfin: PlaybackStop + UserDataSaved per play
    assert [s.status for s in sender.sent] == [202] * expected
    rows = await stored_events(db)
    assert len(rows) == expected
    assert {r["item_id"] for r in rows} == {m.id for m in movies}
    assert {r["user_id"] for r in rows} == {user.id}


async def test_wrong_token_is_recorded_as_401_not_retried(
    aiohttp_client: Any, db: asyncpg.Pool, settings: Settings, registry: JobRegistry
) -> None:
    client: TestClient = await aiohttp_client(webhook_app(db, with_token(settings), registry, None))
    state = MediaServerSimulator("emby", seed="sample").state
    sender = WebhookSender(state, str(client.make_url("/webhooks/emby")), "not-the-token").attach()
    try:
        user = next(iter(state.users.values()))
        state.record_play(user.id, next(iter(state.movies)))
        await sender.drain()
    finally:
        await sender.close()
    assert [s.status for s in sender.sent] == [401]
    assert await stored_events(db) == []


async def test_a_receiver_that_is_gone_is_recorded_not_raised() -> None:
    """Ctrl-C on `sidecar demo` stops the web app while webhooks are still queued: each failed
    delivery is recorded (and logged without clashing with structlog's `event` argument)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens
    state = MediaServerSimulator("jellyfin", seed="sample").state
    sender = WebhookSender(state, f"http://127.0.0.1:{port}/webhooks/jellyfin", "token").attach()
    try:
        user = next(iter(state.users.values()))
        state.record_play(user.id, next(iter(state.movies)))
        await asyncio.wait_for(sender.drain(), 10)  # the clash left later deliveries unsent for ever
        assert sender._worker is not None
        await asyncio.wait_for(asyncio.shield(sender._worker), 5)  # ended without an exception
    finally:
        await sender.close()
    assert sender.sent and all(s.status is None and s.error for s in sender.sent)
