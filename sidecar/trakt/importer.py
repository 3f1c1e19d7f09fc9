"""One linked user's import: fresh tokens, the change check, the reads, one transaction of writes.

* Tokens: an access token that expires within `REFRESH_MARGIN` is refreshed first; Trakt rotates the
  refresh token too, and both are stored in one statement (the old refresh token is spent).
* Change check: `GET /sync/last_activities`; a part (movie or episode history, movie/show/episode
  ratings) is read only when its stamp differs from the one stored with the last import, so an
  unchanged user costs one request. The `full` variant reads every part.
* A part that is read is read whole (Trakt lets users add watches with an old date, which a
  date-bounded read would miss): history page by page, de-duplicated by history id; entries and
  ratings no longer on Trakt are dropped. Rows for titles the server lacks are kept unmatched and
  matched again at every run (the title may arrive later).
* The stamps are stored in the same transaction as the rows: a run that stops half-way leaves the
  user to be read again by the next run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from sidecar.db import relaxed_transaction
from sidecar.services.trakt import TraktClient
from sidecar.trakt import queries as q
from sidecar.trakt.items import BadItem, play_row, rating_row
from sidecar.trakt.tokens import TokenCipher

# Refresh this long before the access token expires (tokens live 24 h; the job runs every 6 h).
REFRESH_MARGIN = dt.timedelta(hours=8)
HISTORY_PARTS = (("movies", "movies"), ("episodes", "episodes"))  # (Trakt type, server table)
RATING_PARTS = (("movies", "movies"), ("shows", "series"), ("episodes", "episodes"))
BAD_ITEMS_LOGGED = 5  # per user; the rest are counted


def activity_stamps(document: dict[str, Any]) -> dict[str, str]:
    """The stamps that say a part changed: `movies.watched_at`, `shows.rated_at`, ..."""
    stamps = {}
    for kind, _ in HISTORY_PARTS:
        stamps[f"{kind}.watched_at"] = str((document.get(kind) or {}).get("watched_at"))
    for kind, _ in RATING_PARTS:
        stamps[f"{kind}.rated_at"] = str((document.get(kind) or {}).get("rated_at"))
    return stamps


@dataclass
class UserImport:
    skipped: bool = False  # nothing changed on Trakt since the last import
    refreshed: bool = False
    plays_read: int = 0
    ratings_read: int = 0
    bad_items: list[str] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)


async def fresh_access_token(
    db: asyncpg.Pool, client: TraktClient, cipher: TokenCipher, user: asyncpg.Record, now: dt.datetime
) -> tuple[str, bool]:
    """The user's access token, refreshed (and both new tokens stored at once) when it is close to
    expiry or past it."""
    if user["expires_at"] - now > REFRESH_MARGIN:
        return cipher.decrypt(user["access_token"]), False
    tokens = await client.refresh(cipher.decrypt(user["refresh_token"]), now)
    await db.execute(
        q.SAVE_REFRESHED,
        user["user_id"],
        cipher.encrypt(tokens.access_token),
        cipher.encrypt(tokens.refresh_token),
        tokens.expires_at,
    )
    return tokens.access_token, True


async def import_user(
    db: asyncpg.Pool, client: TraktClient, cipher: TokenCipher, user: asyncpg.Record, *, full: bool
) -> UserImport:
    result = UserImport()
    user_id = user["user_id"]
    access, result.refreshed = await fresh_access_token(db, client, cipher, user, dt.datetime.now(dt.UTC))
    stamps = activity_stamps(await client.last_activities(access))
    known = user["activities"] or {}
    changed = {key for key, value in stamps.items() if full or known.get(key) != value}
    if not changed:
        result.skipped = True
        return result
    plays: list[tuple[Any, ...]] = []
    ratings: list[tuple[Any, ...]] = []
    history_tables = []
    for kind, table in HISTORY_PARTS:
        if f"{kind}.watched_at" not in changed:
            continue
        history_tables.append(table)
        result.parts.append(f"{kind} history")
        async for page in client.history(access, kind):  # type: ignore[arg-type]
            for entry in page:
                try:
                    plays.append(play_row(user_id, entry))
                except BadItem as exc:
                    result.bad_items.append(f"{kind} history entry: {exc}")
    rating_tables = []
    for kind, table in RATING_PARTS:
        if f"{kind}.rated_at" not in changed:
            continue
        rating_tables.append(table)
        result.parts.append(f"{kind} ratings")
        for entry in await client.ratings(access, kind):  # type: ignore[arg-type]
            try:
                ratings.append(rating_row(user_id, entry))
            except BadItem as exc:
                result.bad_items.append(f"{kind} rating: {exc}")
    result.plays_read, result.ratings_read = len(plays), len(ratings)
    await _write(db, user_id, plays, history_tables, ratings, rating_tables, stamps)
    return result


async def _write(
    db: asyncpg.Pool,
    user_id: str,
    plays: list[tuple[Any, ...]],
    history_tables: list[str],
    ratings: list[tuple[Any, ...]],
    rating_tables: list[str],
    stamps: dict[str, str],
) -> None:
    """Everything read for the user, the matches and the new stamps: all or nothing."""
    async with relaxed_transaction(db) as conn:
        await conn.execute(q.CREATE_INCOMING)
        if plays:
            await conn.copy_records_to_table("trakt_plays_incoming", records=plays, columns=q.PLAY_COLUMNS)
        if ratings:
            await conn.copy_records_to_table(
                "trakt_ratings_incoming", records=ratings, columns=q.RATING_COLUMNS
            )
        if history_tables:
            await conn.execute(q.UPSERT_PLAYS)
            await conn.execute(q.DELETE_GONE_PLAYS, user_id, history_tables)
        if rating_tables:
            await conn.execute(q.UPSERT_RATINGS)
            await conn.execute(q.DELETE_GONE_RATINGS, user_id, rating_tables)
        await match(conn, [user_id], only_unmatched=False)
        await conn.execute(q.FINISH_USER, user_id, stamps, None)


async def match(
    conn: asyncpg.Connection | asyncpg.Pool, user_ids: list[str], *, only_unmatched: bool
) -> None:
    """Point imported rows at server items by provider id (movies, shows, then episodes)."""
    for statement in q.MATCHES:
        await conn.execute(statement, user_ids, only_unmatched)
