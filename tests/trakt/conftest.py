"""A served Trakt simulator, settings pointing at it, and a small server catalogue in PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr

from sidecar.settings import Settings
from sidecar.simulator.services import serve
from sidecar.simulator.services.trakt import TraktState, movie_object, show_object
from sidecar.trakt import link
from sidecar.trakt.tokens import TokenCipher

SECRET_KEY = "test-secret-key-for-trakt-tokens"
ALICE = "a" * 32
BOB = "b" * 32


@pytest.fixture
async def trakt() -> AsyncIterator[tuple[TraktState, str]]:
    state = TraktState(client_id="client-id-0123456789abcdef", client_secret="client-secret-fedcba9876543210")
    async with serve(state.create_app()) as url:
        yield state, url


@pytest.fixture
def trakt_settings(settings: Settings, trakt: tuple[TraktState, str]) -> Settings:
    state, url = trakt
    return settings.model_copy(
        update={
            "trakt_client_id": SecretStr(state.client_id),
            "trakt_client_secret": SecretStr(state.client_secret),
            "trakt_url": url,
            "secret_key": SecretStr(SECRET_KEY),
            "service_retries": 1,
        }
    )


def at(days_ago: float) -> dt.datetime:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)).replace(microsecond=0)


# The server's catalogue: two movies (one known by TMDb, one by IMDb only), one show with two
# episodes and a double episode. Trakt objects for them below.
MOVIE_TMDB = movie_object(11, "Known By TMDb", 1999, "603", "tt0133093")
MOVIE_IMDB = movie_object(12, "Known By IMDb", 2001, None, "tt0000012")
MOVIE_ELSEWHERE = movie_object(13, "Not On The Server", 2010, "999999", "tt9999999")
SHOW = show_object(21, "The Show", 2015, "1399", "tt0944947", "121361")
SHOW_BY_TVDB = show_object(21, "The Show", 2015, None, None, "121361")


async def seed_catalogue(db: asyncpg.Pool) -> None:
    for user_id, name in ((ALICE, "alice"), (BOB, "bob")):
        await db.execute("INSERT INTO media_users (id, name, enabled) VALUES ($1, $2, true)", user_id, name)
    await db.execute(
        """INSERT INTO movies (id, title, tmdb_id, imdb_id, content_hash) VALUES
           ('m-tmdb', 'Known By TMDb', '603', 'tt0133093', 'h'), ('m-imdb', 'Known By IMDb', NULL, 'tt0000012', 'h')"""
    )
    # A movie whose TMDb id equals the show's: TV ids must never match movies (and the reverse).
    await db.execute(
        "INSERT INTO movies (id, title, tmdb_id, content_hash) VALUES ('m-1399', 'Same Number', '1399', 'h')"
    )
    await db.execute(
        """INSERT INTO series (id, title, tmdb_id, imdb_id, tvdb_id, content_hash, sync_hash)
           VALUES ('s1', 'The Show', '1399', 'tt0944947', '121361', 'h', 'h')"""
    )
    await db.execute(
        """INSERT INTO episodes (id, series_id, season_number, episode_number, episode_number_end, title, tmdb_id,
                                 content_hash, sync_hash)
           VALUES ('e101', 's1', 1, 1, NULL, 'Pilot', '63056', 'h', 'h'),
                  ('e102', 's1', 1, 2, NULL, 'Two', '603', 'h', 'h'),
                  ('e203', 's1', 2, 3, 4, 'Double', NULL, 'h', 'h')"""
    )


async def link_user(
    db: asyncpg.Pool, settings: Settings, state: TraktState, user_id: str, username: str
) -> None:
    """Link through the real device flow against the simulator (the user approves at once)."""
    from sidecar.services.trakt import TraktClient

    clock = [dt.datetime.now(dt.UTC)]
    async with TraktClient.from_settings(settings) as client:
        started = await link.start(db, settings, user_id, client=client, now=lambda: clock[0])
        state.approve(started["user_code"], username)
        clock[0] += dt.timedelta(seconds=started["interval"])
        done = await link.poll(db, settings, user_id, client=client, now=lambda: clock[0])
    assert done["state"] == "linked", done


def cipher() -> TokenCipher:
    return TokenCipher(SECRET_KEY)


async def stored_tokens(db: asyncpg.Pool, user_id: str) -> tuple[str, str]:
    row = await db.fetchrow(
        "SELECT access_token, refresh_token FROM trakt_accounts WHERE user_id = $1", user_id
    )
    return cipher().decrypt(row["access_token"]), cipher().decrypt(row["refresh_token"])


def entries(state: TraktState, username: str) -> Any:
    return state.users[username]
