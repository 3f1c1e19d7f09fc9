"""Test rows, inserted straight into SQL: the one place tests make users, items, plays, vectors, picks,
libraries, runs and webhook events (jobs are run for real where a test is about them).

Item rows go to a media kind's tables (`kind=`, default movies), so a test written for one kind runs
for every kind.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
import numpy as np

from sidecar.media.kind import MediaKind
from sidecar.movies import MOVIES


async def add_user(
    db: asyncpg.Pool,
    user_id: str,
    name: str | None = None,
    *,
    enabled: bool = True,
    disabled: bool = False,
    max_recs: int | None = None,
) -> str:
    await db.execute(
        "INSERT INTO media_users (id, name, enabled, is_disabled, max_recommendations) VALUES ($1, $2, $3, $4, $5)",
        user_id,
        name if name is not None else f"user-{user_id}",
        enabled,
        disabled,
        max_recs,
    )
    return user_id


async def add_items(db: asyncpg.Pool, rows: Sequence[Mapping[str, Any]], *, kind: MediaKind = MOVIES) -> None:
    """Rows of the kind's items table: any of its columns; `title` and `content_hash` get defaults,
    `removed=True` sets `removed_at`."""
    for row in rows:
        values = {"title": f"Title {row['id']}", "content_hash": "h", **row}
        removed = values.pop("removed", False)
        columns = list(values)
        placeholders = [f"${i}" for i in range(1, len(columns) + 1)]
        if removed:
            columns.append("removed_at")
            placeholders.append("now()")
        await db.execute(
            f"INSERT INTO {kind.tables.items} ({', '.join(columns)}) VALUES ({', '.join(placeholders)})",
            *values.values(),
        )


async def add_item(db: asyncpg.Pool, item_id: str, *, kind: MediaKind = MOVIES, **columns: Any) -> str:
    await add_items(db, [{"id": item_id, **columns}], kind=kind)
    return item_id


async def add_vectors(
    db: asyncpg.Pool,
    vectors: Mapping[str, np.ndarray],
    *,
    model: str,
    content_hash: str = "h",
    kind: MediaKind = MOVIES,
) -> None:
    t = kind.tables
    await db.executemany(
        f"INSERT INTO {t.vectors} ({t.item_id}, model, dimensions, content_hash, embedding) VALUES ($1, $2, $3, $4, $5)",
        [(item_id, model, len(v), content_hash, v) for item_id, v in vectors.items()],
    )


async def add_model(db: asyncpg.Pool, model: str, dimensions: int, *, active: bool = True) -> None:
    await db.execute(
        "INSERT INTO embedding_models (model, dimensions, active, activated_at) "
        "VALUES ($1, $2, $3, CASE WHEN $3 THEN now() END)",
        model,
        dimensions,
        active,
    )


async def add_plays(
    db: asyncpg.Pool,
    user_id: str,
    item_ids: Sequence[str],
    *,
    favourite: bool = False,
    days_ago: float = 3,
    kind: MediaKind = MOVIES,
) -> None:
    """Played once, `days_ago` days ago."""
    when = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
    t = kind.tables
    await db.executemany(
        f"INSERT INTO {t.plays} (user_id, {t.item_id}, played, play_count, is_favorite, last_played_at) "
        "VALUES ($1, $2, true, 1, $3, $4)",
        [(user_id, item_id, favourite, when) for item_id in item_ids],
    )


async def set_picks(
    db: asyncpg.Pool,
    user_id: str,
    item_ids: Sequence[str],
    *,
    explanation: str | None = None,
    score: float | None = None,
    kind: MediaKind = MOVIES,
) -> None:
    """Replace the user's picks: rank = position in `item_ids`; score 1/rank unless given."""
    t = kind.tables
    await db.execute(f"DELETE FROM {t.picks} WHERE user_id = $1", user_id)
    await db.executemany(
        f"INSERT INTO {t.picks} (user_id, {t.item_id}, rank, score, breakdown, explanation) "
        "VALUES ($1, $2, $3, $4, '{}', $5)",
        [
            (user_id, item_id, rank, score if score is not None else 1.0 / rank, explanation)
            for rank, item_id in enumerate(item_ids, start=1)
        ],
    )


async def add_user_library(
    db: asyncpg.Pool, user_id: str, *, kind: MediaKind = MOVIES, **columns: Any
) -> None:
    """A `user_libraries` row (folder name, path and any server ids given)."""
    values = {"folder_name": user_id, "folder_path": f"/x/users/{user_id}/{kind.library.folder}", **columns}
    names = ["user_id", "media_type", *values]
    placeholders = ", ".join(f"${i}" for i in range(1, len(names) + 1))
    await db.execute(
        f"INSERT INTO user_libraries ({', '.join(names)}) VALUES ({placeholders})",
        user_id,
        kind.name,
        *values.values(),
    )


async def add_run(
    db: asyncpg.Pool,
    job: str,
    *,
    status: str,
    variant: str = "regular",
    finished_at: dt.datetime | None = None,
    depends_on: uuid.UUID | None = None,
    log: str | None = None,
) -> uuid.UUID:
    """A `job_runs` row as a past run left it (with one log line when `log` is given)."""
    run_id = uuid.uuid4()
    await db.execute(
        """INSERT INTO job_runs (id, job, variant, trigger, status, queued_at, finished_at, depends_on)
           VALUES ($1, $2, $3, 'manual', $4, coalesce($5, now()), $5, $6)""",
        run_id,
        job,
        variant,
        status,
        finished_at,
        depends_on,
    )
    if log is not None:
        await db.execute(
            "INSERT INTO job_run_logs (run_id, level, message) VALUES ($1, 'info', $2)", run_id, log
        )
    return run_id


async def add_webhook_event(
    db: asyncpg.Pool, *, received_at: dt.datetime, status: str, ignored_reason: str | None = None
) -> uuid.UUID:
    """A stored Jellyfin PlaybackStop delivery."""
    event_id = uuid.uuid4()
    await db.execute(
        """INSERT INTO webhook_events (id, server_kind, source_event, event, received_at, body, dedupe_key,
                                       status, ignored_reason)
           VALUES ($1, 'jellyfin', 'PlaybackStop', 'playback_stopped', $2, '{}', $3, $4, $5)""",
        event_id,
        received_at,
        str(event_id),
        status,
        ignored_reason,
    )
    return event_id
