"""Queueing a kind's picks from outside its job graph: a global job that changed what some users'
picks depend on (a user back on the server, new Trakt plays) asks for their recommendations at once;
each kind's library follows from that run (its follow-up), instead of waiting for the weekly schedule.

A follow-up must be a later step of the same kind's graph, so these are queued directly. Inline runs
(no queue) only report what they would queue.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sidecar.jobs.context import JobContext
from sidecar.media.kind import MediaKind, Step


async def queue_picks(
    ctx: JobContext, kinds: Sequence[MediaKind], user_ids_for: Callable[[MediaKind], list[str]]
) -> list[dict[str, Any]]:
    """One recommendations run per kind, scoped to `user_ids_for(kind)` (none: that kind is skipped)."""
    queued = []
    for kind in kinds:
        user_ids = sorted(user_ids_for(kind))
        if not user_ids:
            continue
        job, scope = kind.job(Step.RECOMMENDATIONS), {"user_ids": user_ids}
        entry: dict[str, Any] = {"job": job, "scope": scope}
        if ctx.resources.queue is not None:
            row, _ = await ctx.resources.queue.submit(job, trigger=ctx.trigger, scope=scope)
            entry["run_id"] = str(row["id"])
        queued.append(entry)
    return queued
