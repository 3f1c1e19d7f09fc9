"""Old history leaves (the housekeeping job): finished job runs (with their logs), stored webhook
deliveries, and the history of users deleted on the server.

Postgres keeps every run and every delivery so that nothing is lost while it matters; a home server
never asked to keep years of them, and an admin with hundreds of users would see the tables grow by
thousands of rows a day. Deletes go in small batches so the web process is never blocked for long.
"""

from __future__ import annotations

import datetime as dt

import asyncpg
import structlog

from sidecar.jobs import queries as job_queries
from sidecar.settings import Settings
from sidecar.system import housekeeping_queries as q
from webhooks import queries as webhook_queries

log = structlog.get_logger(__name__)
BATCH = 2_000


async def _prune_runs(db: asyncpg.Pool, cutoff: dt.datetime) -> int:
    deleted = 0
    while True:
        async with db.acquire() as conn, conn.transaction():
            ids = [row["id"] for row in await conn.fetch(job_queries.PRUNABLE_RUN_IDS, cutoff, BATCH)]
            if not ids:
                return deleted
            await conn.execute(job_queries.UNLINK_PRUNED_RUNS, ids)
            await conn.execute(job_queries.DELETE_RUNS, ids)
        deleted += len(ids)


async def _prune_webhook_events(db: asyncpg.Pool, cutoff: dt.datetime) -> int:
    deleted = 0
    while True:
        status = await db.execute(webhook_queries.PRUNE_EVENTS, cutoff, BATCH)
        count = int(status.split()[-1])  # "DELETE n"
        deleted += count
        if count < BATCH:
            return deleted


async def prune_history(db: asyncpg.Pool, settings: Settings, now: dt.datetime) -> dict[str, int]:
    """Delete what is past its retention; returns the counts."""
    runs = await _prune_runs(db, now - dt.timedelta(days=settings.job_history_retention_days))
    events = await _prune_webhook_events(db, now - dt.timedelta(days=settings.webhook_events_retention_days))
    # A deleted user's plays and settings go with their row (ON DELETE CASCADE); never while a library
    # of theirs is still recorded (sync-users removes those first).
    users = await db.fetch(
        q.PURGE_REMOVED_USERS, now - dt.timedelta(days=settings.deleted_users_retention_days)
    )
    if runs or events or users:
        log.info(
            "old history pruned",
            job_runs=runs,
            webhook_events=events,
            deleted_users=len(users),
            job_history_retention_days=settings.job_history_retention_days,
            webhook_events_retention_days=settings.webhook_events_retention_days,
        )
    return {"job_runs": runs, "webhook_events": events, "deleted_users": len(users)}
