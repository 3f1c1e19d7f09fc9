"""From a parsed event to a stored row and queued runs: durable first, then the work."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg
import structlog

from sidecar.jobs.queue import JobQueue
from sidecar.media.kind import MediaKind
from sidecar.settings import Settings
from webhooks import planner, store
from webhooks.coalesce import CoalescingSubmitter
from webhooks.events import WebhookEvent

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Outcome:
    event_id: uuid.UUID
    ignored: str | None = None
    planned: list[planner.PlannedRun] = field(default_factory=list)


async def take_in(
    db: asyncpg.Pool,
    queue: JobQueue,
    submitter: CoalescingSubmitter,
    settings: Settings,
    kinds: Sequence[MediaKind],
    event: WebhookEvent,
    *,
    body: bytes,
    content_type: str | None,
) -> Outcome:
    """Store the event (before any answer), then queue its runs.

    The row is written first: if queuing fails afterwards the event stays `received` and
    `planner.replan_unplanned` queues it later, so an answered delivery is never lost. Redis being
    down does not fail anything: the run is queued in Postgres and the worker's sweep wakes it.
    """
    decision = await planner.decide_with_library_check(db, settings, kinds, event)
    stored = await store.store_event(
        db, event, body=body, content_type=content_type, ignored_reason=decision.ignored
    )
    if stored.duplicate:
        return Outcome(stored.id, ignored=planner.DUPLICATE)
    if decision.ignored is not None:
        return Outcome(stored.id, ignored=decision.ignored)
    try:
        runs = await planner.queue_work(queue, submitter, settings, decision.work, stored.id)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
        log.error(
            "webhook event stored but its runs could not be queued yet; the replan sweep will retry",
            event_id=str(stored.id),
            error=str(exc),
        )
        return Outcome(stored.id)
    log.info(
        "webhook event planned",
        event_id=str(stored.id),
        server=event.server_kind,
        webhook_event=event.source_event,
        item_id=event.item_id,
        runs=[str(run.run_id) for run in runs],
    )
    return Outcome(stored.id, planned=runs)
