"""The device-code link against the Trakt simulator: pending, slow down, expired, denied, granted,
and the interval kept whatever the page's polling rate."""

from __future__ import annotations

import datetime as dt

import asyncpg

from sidecar.services.trakt import TraktClient
from sidecar.settings import Settings
from sidecar.simulator.services.trakt import TraktState
from sidecar.trakt import link
from tests.trakt.conftest import ALICE, seed_catalogue, stored_tokens


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def tick(self, seconds: float, state: TraktState) -> None:
        self.now += dt.timedelta(seconds=seconds)
        state.advance(seconds)


async def _start(db: asyncpg.Pool, settings: Settings, client: TraktClient, clock: Clock) -> dict:
    await seed_catalogue(db)
    return await link.start(db, settings, ALICE, client=client, now=clock)


async def test_pending_then_granted_stores_encrypted_tokens(
    db: asyncpg.Pool, trakt_settings: Settings, trakt: tuple[TraktState, str]
) -> None:
    state, _ = trakt
    clock = Clock()
    async with TraktClient.from_settings(trakt_settings) as client:
        started = await _start(db, trakt_settings, client, clock)
        assert started["state"] == "pending" and len(started["user_code"]) == 8
        assert started["verification_url"] == "https://trakt.tv/activate" and started["interval"] == 5

        too_early = await link.poll(db, trakt_settings, ALICE, client=client, now=clock)
        assert too_early["state"] == "pending" and state.requests["POST /oauth/device/token"] == 0

        clock.tick(5, state)
        pending = await link.poll(db, trakt_settings, ALICE, client=client, now=clock)
        assert pending["state"] == "pending" and state.statuses[400] == 1

        state.approve(started["user_code"], "alice-on-trakt")
        clock.tick(5, state)
        linked = await link.poll(db, trakt_settings, ALICE, client=client, now=clock)
    assert linked["state"] == "linked" and "user_code" not in linked
    access, refresh = await stored_tokens(db, ALICE)
    assert (
        state.tokens[access].username == "alice-on-trakt"
        and state.refresh_tokens[refresh] == "alice-on-trakt"
    )
    raw = await db.fetchrow("SELECT access_token::text AS a, refresh_token::text AS r FROM trakt_accounts")
    assert access not in raw["a"] and refresh not in raw["r"]  # ciphertext only
    device = await db.fetchval("SELECT count(*) FROM trakt_device_codes")
    assert device == 0


async def test_slow_down_adds_to_the_interval(
    db: asyncpg.Pool, trakt_settings: Settings, trakt: tuple[TraktState, str]
) -> None:
    state, _ = trakt
    clock = Clock()
    async with TraktClient.from_settings(trakt_settings) as client:
        started = await _start(db, trakt_settings, client, clock)
        clock.tick(5, state)
        await link.poll(db, trakt_settings, ALICE, client=client, now=clock)  # 400 pending
        clock.tick(5, state)
        # Another client of the same code polled a second ago: Trakt sees polling faster than `interval`.
        state.code_for(started["user_code"]).last_poll = state.now() - dt.timedelta(seconds=1)
        slowed = await link.poll(db, trakt_settings, ALICE, client=client, now=clock)
        assert state.statuses[429] == 1
        assert slowed["state"] == "pending" and slowed["interval"] == 10
        clock.tick(5, state)
        await link.poll(db, trakt_settings, ALICE, client=client, now=clock)
        assert state.requests["POST /oauth/device/token"] == 2  # 5 s is too early now
        clock.tick(5, state)
        await link.poll(db, trakt_settings, ALICE, client=client, now=clock)
    assert state.requests["POST /oauth/device/token"] == 3


async def test_expired_and_denied_end_the_attempt(
    db: asyncpg.Pool, trakt_settings: Settings, trakt: tuple[TraktState, str]
) -> None:
    state, _ = trakt
    clock = Clock()
    async with TraktClient.from_settings(trakt_settings) as client:
        started = await _start(db, trakt_settings, client, clock)
        state.deny(started["user_code"])
        clock.tick(5, state)
        denied = await link.poll(db, trakt_settings, ALICE, client=client, now=clock)
        assert denied["state"] == "denied" and denied["user_code"] is None and state.statuses[418] == 1

        again = await link.start(db, trakt_settings, ALICE, client=client, now=clock)
        assert again["state"] == "pending"
        # Trakt's clock passes the code's 600 s while ours has not: Trakt says 410.
        state.advance(601)
        clock.tick(5, state)
        expired = await link.poll(db, trakt_settings, ALICE, client=client, now=clock)
        assert expired["state"] == "expired" and state.statuses[410] == 1

        third = await link.start(db, trakt_settings, ALICE, client=client, now=clock)
        clock.tick(700, state)  # our own record of the expiry: no request at all
        before = state.requests["POST /oauth/device/token"]
        ours = await link.poll(db, trakt_settings, ALICE, client=client, now=clock)
    assert third["state"] == "pending" and ours["state"] == "expired"
    assert state.requests["POST /oauth/device/token"] == before
    assert await db.fetchval("SELECT count(*) FROM trakt_accounts") == 0


async def test_the_demo_simulator_grants_codes_at_once(
    db: asyncpg.Pool, trakt_settings: Settings, trakt: tuple[TraktState, str]
) -> None:
    state, _ = trakt
    state.auto_approve = ["first", "second"]
    clock = Clock()
    async with TraktClient.from_settings(trakt_settings) as client:
        await _start(db, trakt_settings, client, clock)
        clock.tick(5, state)
        linked = await link.poll(db, trakt_settings, ALICE, client=client, now=clock)
    access, _ = await stored_tokens(db, ALICE)
    assert linked["state"] == "linked" and state.tokens[access].username == "first"
