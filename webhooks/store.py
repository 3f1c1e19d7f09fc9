"""`webhook_events`: every well-formed delivery is written here before the server gets its 2xx."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from sidecar.db import relaxed_transaction
from sidecar.jobs.queue import JobQueue
from webhooks import queries
from webhooks.events import WebhookEvent

RECEIVED = "received"  # stored; its runs are not queued yet
PLANNED = "planned"  # its runs are queued
IGNORED = "ignored"  # stored for the record; no work (see ignored_reason)


@dataclass(frozen=True)
class StoredEvent:
    id: uuid.UUID
    duplicate: bool  # a repeat of an earlier delivery (recorded, pointing at the first)


def dedupe_key(event: WebhookEvent, body: bytes) -> str:
    """What identifies one delivery: server, event, item, user and the server's own timestamp.

    A re-sent body repeats the timestamp, so it is a duplicate; two real plays of the same movie
    happen at different times, so they are not. Jellyfin sends one POST per user of a session with
    the same timestamp, which the user id tells apart. Without a server timestamp (a template that
    leaves it out, or events that have none) only a byte-identical body counts as the same delivery.
    """
    moment = event.occurred_at_text or "body-sha256:" + hashlib.sha256(body).hexdigest()
    material = [
        event.server_kind,
        event.server_id,
        event.source_event,
        event.item_id,
        event.user_id,
        event.reason,
        moment,
    ]
    return hashlib.sha256(json.dumps(material).encode()).hexdigest()


def _event_values(event: WebhookEvent) -> tuple[object, ...]:
    return (
        event.server_kind,
        event.server_id,
        event.source_event,
        event.event,
        event.reason,
        event.user_id,
        event.item_id,
        event.item_type,
        event.tmdb_id,
        event.imdb_id,
        event.played,
        event.position_ticks,
        event.path,
        event.occurred_at,
    )


def body_text(body: bytes) -> str:
    """The body for the record; Postgres text cannot hold NUL bytes or invalid UTF-8."""
    return body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


async def store_event(
    db: asyncpg.Pool,
    event: WebhookEvent,
    *,
    body: bytes,
    content_type: str | None,
    ignored_reason: str | None,
) -> StoredEvent:
    """Insert the delivery; a repeat of a stored dedupe key is recorded as an ignored duplicate."""
    key = dedupe_key(event, body)
    text = body_text(body)
    status = IGNORED if ignored_reason else RECEIVED
    for _ in range(3):  # the first delivery's row may be pruned between our two statements
        event_id = uuid.uuid4()
        inserted = await db.fetchval(
            queries.INSERT_EVENT,
            event_id,
            *_event_values(event),
            content_type,
            text,
            key,
            status,
            ignored_reason,
        )
        if inserted is not None:
            return StoredEvent(inserted, duplicate=False)
        duplicate = await db.fetchval(
            queries.INSERT_DUPLICATE, event_id, *_event_values(event), content_type, text, key
        )
        if duplicate is not None:
            return StoredEvent(duplicate, duplicate=True)
    raise RuntimeError("could not store the webhook event: its dedupe key kept changing")


async def mark_planned(db: asyncpg.Pool, event_ids: Sequence[uuid.UUID], run_id: uuid.UUID) -> None:
    """Record that these events joined this run: one write per coalesced submit, not per event.

    Committed without waiting for the disk flush: if a crash loses this write the events stay
    `received` and `planner.replan_unplanned` queues them again (a harmless repeat), while each
    event row itself was committed durably before its 2xx.
    """
    if not event_ids:
        return
    async with relaxed_transaction(db) as conn:
        await conn.execute(queries.MARK_PLANNED, list(event_ids), run_id)


async def mark_planned_without_runs(db: asyncpg.Pool, event_id: uuid.UUID) -> None:
    await db.execute(queries.MARK_PLANNED_WITHOUT_RUNS, event_id)


async def record_planned(queue: JobQueue, run: asyncpg.Record, event_ids: list[uuid.UUID]) -> None:
    """`CoalescingSubmitter` hook: the events of a batch joined `run`."""
    await mark_planned(queue.db, event_ids, run["id"])


def event_from_row(row: asyncpg.Record) -> WebhookEvent:
    """A stored event back as the normalised event (for planning it again)."""
    return WebhookEvent(
        server_kind=row["server_kind"],
        server_id=row["server_id"],
        event=row["event"],
        source_event=row["source_event"],
        user_id=row["user_id"],
        item_id=row["item_id"],
        item_type=row["item_type"],
        tmdb_id=row["tmdb_id"],
        imdb_id=row["imdb_id"],
        played=row["played"],
        position_ticks=row["position_ticks"],
        path=row["path"],
        reason=row["reason"],
        occurred_at=row["occurred_at"],
    )


async def unplanned_events(
    db: asyncpg.Pool, *, older_than_seconds: float, limit: int = 1000
) -> list[asyncpg.Record]:
    return list(await db.fetch(queries.UNPLANNED_EVENTS, older_than_seconds, limit))
