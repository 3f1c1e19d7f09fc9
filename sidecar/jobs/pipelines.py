"""Pipelines: several jobs queued at once, each step starting only if the previous one completed."""

from __future__ import annotations

import asyncpg

from sidecar.jobs import queries, runs
from sidecar.jobs.queue import JobQueue


class PipelineConflict(Exception):
    """A step's job is already queued on its own, ahead of this pipeline: it would run out of order."""


async def queue_pipeline(queue: JobQueue, steps: tuple[str, ...]) -> tuple[list[asyncpg.Record], bool]:
    """Queue the steps chained by `depends_on`, in one transaction. Returns (runs, created).

    The first step may join a run already queued; a later step that is already queued must belong
    to this same chain (the pipeline was already requested), otherwise the order could not be kept.
    """
    chain: list[asyncpg.Record] = []
    created_any = False
    async with queue.db.acquire() as conn, conn.transaction():
        previous = None
        for job in steps:
            existing = await conn.fetchrow(queries.GET_QUEUED_FOR_JOB, job, "regular")
            if existing is not None:
                joinable = previous is None or existing["depends_on"] == previous["id"]
                if not joinable:
                    raise PipelineConflict(
                        f"{job} is already queued on its own and would run before this pipeline's "
                        f"earlier steps; wait for it or cancel it, then start the pipeline again"
                    )
                row = existing
            else:
                row, created = await runs.create_run(
                    conn, job, trigger="pipeline", depends_on=previous["id"] if previous else None
                )
                created_any = created_any or created
            chain.append(row)
            previous = row
    for row in chain:
        await queue.wake(row["id"], row["not_before"])
    return chain, created_any
