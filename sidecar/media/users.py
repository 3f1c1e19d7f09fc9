"""The server's users in `media_users`, stored one way for every caller (sync-users, and the
watch-history step that needs them current before it reads their plays).

Matched by server id, never by name. A new user gets `new_users_enabled` for every kind's switch;
known users keep theirs. Users are marked removed only after a complete listing: an empty list is
a broken answer (every server has its admin), refused rather than read as "everyone left".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from sidecar.media import user_queries as q
from sidecar.media.sync import ROW_ERRORS
from sidecar.mediaserver import MediaUser


class NoUsersListed(ValueError):
    """The server listed no users: nothing was changed."""


@dataclass(frozen=True)
class StoredUsers:
    added: int
    updated: int
    removed: list[asyncpg.Record]  # id, name of the users no longer on the server
    failed: dict[str, str]  # user id -> why the database refused that user (the others were stored)


async def store_users(
    db: asyncpg.Pool, users: Sequence[MediaUser], *, new_users_enabled: bool
) -> StoredUsers:
    if not users:
        raise NoUsersListed(
            "the media server listed no users; nothing was changed. Check the API key's rights"
        )
    ids = [u.id for u in users]
    failed: dict[str, str] = {}
    try:
        changed = await _upsert(db, users, new_users_enabled)
    except ROW_ERRORS:
        # One user the database refuses must not cost every other user: store them one by one.
        changed = []
        for user in users:
            try:
                changed += await _upsert(db, [user], new_users_enabled)
            except ROW_ERRORS as exc:
                failed[user.id] = f"{type(exc).__name__}: {exc}"
    removed = await db.fetch(q.MARK_USERS_REMOVED, ids)
    added = sum(1 for r in changed if r["inserted"])
    return StoredUsers(added=added, updated=len(changed) - added, removed=list(removed), failed=failed)


async def _upsert(
    db: asyncpg.Pool, users: Sequence[MediaUser], new_users_enabled: bool
) -> list[asyncpg.Record]:
    return list(
        await db.fetch(
            q.UPSERT_USERS,
            [u.id for u in users],
            [u.name for u in users],
            [u.is_admin for u in users],
            [u.is_disabled for u in users],
            new_users_enabled,
            [u.last_activity_at for u in users],
            [dataclasses.asdict(u.access) for u in users],
        )
    )
