"""Linking a user's Trakt account with the device-code flow, driven from the page.

`start` asks Trakt for a code and stores it (the device code encrypted); the page shows the user code
and the verification URL. `poll` is called by the page as often as it likes, but asks Trakt only
when the stored `next_poll_at` has come: every `interval` seconds, and 5 s more after each 429
"slow down" (RFC 8628 §3.5; Trakt's 429 on the device token). A grant stores both tokens encrypted
and drops the code; 410/418/404/409 end the attempt (`expired`, `denied`, `invalid`). `unlink`
deletes the tokens, the pending code and the rows imported with the account, and tells Trakt to
revoke the token when it can.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import structlog

from sidecar.jobs.runs import iso
from sidecar.services.http import ServiceError
from sidecar.services.trakt import TraktClient
from sidecar.settings import Settings
from sidecar.trakt import queries as q
from sidecar.trakt.tokens import TokenCipher, TokenKeyMismatch

log = structlog.get_logger(__name__)

SLOW_DOWN_SECONDS = 5  # added to the interval on each 429
ENDED = {"expired": "expired", "used": "invalid", "invalid": "invalid", "denied": "denied"}
Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def configured_settings(settings: Settings) -> str | None:
    """The first setting linking needs that is missing, or None."""
    if settings.trakt_client_id is None:
        return TraktClient.key_setting
    if settings.trakt_client_secret is None:
        return "SIDECAR_TRAKT_CLIENT_SECRET"
    if settings.secret_key is None:
        return "SIDECAR_SECRET_KEY"
    return None


@contextlib.asynccontextmanager
async def _trakt(settings: Settings, client: TraktClient | None) -> AsyncIterator[TraktClient]:
    """The given client (a test's, kept open), or one from the settings closed after use."""
    if client is not None:
        yield client
        return
    async with TraktClient.from_settings(settings) as own:
        yield own


async def status(db: asyncpg.Pool, settings: Settings, user_id: str) -> dict[str, Any]:
    """What the page shows: linked (since, last import), a pending code, or how the last attempt ended.
    Never a token."""
    missing = configured_settings(settings)
    base: dict[str, Any] = {"configured": missing is None, "missing_setting": missing}
    account = await db.fetchrow(q.ACCOUNT, user_id)
    if account is not None:
        counts = await db.fetchrow(q.USER_COUNTS, user_id)
        return base | {
            "state": "linked",
            "linked_at": iso(account["linked_at"]),
            "last_synced_at": iso(account["last_synced_at"]),
            "last_error": account["last_error"],
            "plays": counts["plays"],
            "plays_matched": counts["plays_matched"],
            "ratings": counts["ratings"],
            "ratings_matched": counts["ratings_matched"],
        }
    code = await db.fetchrow(q.DEVICE_CODE, user_id)
    if code is None:
        return base | {"state": "unlinked"}
    return base | {
        "state": code["state"],
        "user_code": code["user_code"] if code["state"] == "pending" else None,
        "verification_url": code["verification_url"],
        "expires_at": iso(code["expires_at"]),
        "interval": code["interval_seconds"],
        "next_poll_at": iso(code["next_poll_at"]),
    }


async def start(
    db: asyncpg.Pool,
    settings: Settings,
    user_id: str,
    *,
    client: TraktClient | None = None,
    now: Clock = utcnow,
) -> dict[str, Any]:
    """A new device code for the user (replacing a pending one). Raises ServiceNotConfigured."""
    async with _trakt(settings, client) as trakt:  # names a missing client id first
        cipher = TokenCipher.from_settings(settings)
        code = await trakt.device_code()
    at = now()
    await db.execute(
        q.SAVE_DEVICE_CODE,
        user_id,
        cipher.encrypt(code.device_code),
        code.user_code,
        code.verification_url,
        at + dt.timedelta(seconds=code.expires_in),
        code.interval,
        at + dt.timedelta(seconds=code.interval),
    )
    return await status(db, settings, user_id)


async def poll(
    db: asyncpg.Pool,
    settings: Settings,
    user_id: str,
    *,
    client: TraktClient | None = None,
    now: Clock = utcnow,
) -> dict[str, Any]:
    """Ask Trakt once if the pending code was entered, when the interval allows; the status after."""
    code = await db.fetchrow(q.DEVICE_CODE, user_id)
    at = now()
    if code is None or code["state"] != "pending" or at < code["next_poll_at"]:
        return await status(db, settings, user_id)
    interval = code["interval_seconds"]
    if at >= code["expires_at"]:
        await db.execute(q.UPDATE_DEVICE_CODE, user_id, interval, code["next_poll_at"], "expired")
        return await status(db, settings, user_id)
    cipher = TokenCipher.from_settings(settings)
    async with _trakt(settings, client) as trakt:
        answer = await trakt.poll_device(cipher.decrypt(code["device_code"]), at)
    if answer.tokens is not None:
        async with db.acquire() as conn, conn.transaction():
            await conn.execute(
                q.SAVE_ACCOUNT,
                user_id,
                cipher.encrypt(answer.tokens.access_token),
                cipher.encrypt(answer.tokens.refresh_token),
                answer.tokens.expires_at,
            )
            await conn.execute(q.DELETE_DEVICE_CODE, user_id)
        log.info("trakt account linked", user_id=user_id)
    elif answer.state in ENDED:
        await db.execute(q.UPDATE_DEVICE_CODE, user_id, interval, code["next_poll_at"], ENDED[answer.state])
    else:
        if answer.state == "slow_down":
            interval += SLOW_DOWN_SECONDS
        await db.execute(
            q.UPDATE_DEVICE_CODE, user_id, interval, at + dt.timedelta(seconds=interval), "pending"
        )
    return await status(db, settings, user_id)


async def unlink(
    db: asyncpg.Pool, settings: Settings, user_id: str, *, client: TraktClient | None = None
) -> dict[str, Any]:
    """Delete the tokens (and the code and imported rows); revoke at Trakt when it can, never failing
    the unlink for it."""
    encrypted = await db.fetchval(q.DELETE_ACCOUNT, user_id)
    if encrypted is not None and configured_settings(settings) is None:
        try:
            access = TokenCipher.from_settings(settings).decrypt(encrypted)
            async with _trakt(settings, client) as trakt:
                await trakt.revoke(access)
        except (ServiceError, TokenKeyMismatch) as exc:
            log.info(
                "trakt token not revoked at Trakt (deleted here)", user_id=user_id, error=type(exc).__name__
            )
    return await status(db, settings, user_id)
