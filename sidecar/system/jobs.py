"""The global jobs (category `global`): definitions for the composition root's GLOBAL_JOBS."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sidecar.jobs.context import JobContext
from sidecar.jobs.registry import JobDefinition
from sidecar.media.kind import MediaKind
from sidecar.system import users
from sidecar.system.backups import backup_database
from sidecar.system.housekeeping import housekeeping
from sidecar.system.top_picks import refresh_top_picks

CATEGORY = "global"
GlobalStep = Callable[[JobContext, Sequence[MediaKind]], Awaitable[dict[str, Any] | None]]


def with_kinds(
    func: GlobalStep, kinds: Sequence[MediaKind]
) -> Callable[[JobContext], Awaitable[dict[str, Any] | None]]:
    """The job function the registry runs: the step with this build's media kinds."""

    async def run(ctx: JobContext) -> dict[str, Any] | None:
        return await func(ctx, kinds)

    run.__name__ = run.__qualname__ = func.__name__
    return run


_DEFINITIONS = (
    JobDefinition(
        name=users.JOB,
        title="Sync users",
        category=CATEGORY,
        description="Import the media server's users; a user disabled or deleted there loses their AI "
        "libraries and picks here (their history is kept).",
        func=users.sync_users,
        default_schedule="*/30 * * * *",
        order=10,
    ),
    JobDefinition(
        name="refresh-top-picks",
        title="Refresh Top Picks",
        category=CATEGORY,
        description="What this server's users watched most lately, as a shared Top Picks library per "
        "media kind that every enabled user sees.",
        func=refresh_top_picks,
        default_schedule="0 5 * * *",
        order=20,
    ),
    JobDefinition(
        name="backup-database",
        title="Back up the database",
        category=CATEGORY,
        description="pg_dump to the backup folder, verified by a full read; the last backups are kept.",
        func=backup_database,
        default_schedule="0 2 * * *",
        order=30,
    ),
    JobDefinition(
        name="housekeeping",
        title="Housekeeping",
        category=CATEGORY,
        description="Prune old runs, webhook deliveries and deleted users' history; plan stored webhook "
        "events; remove orphaned library folders; vacuum tables that grew.",
        func=housekeeping,
        default_schedule="15 * * * *",
        order=40,
    ),
)


def global_jobs(kinds: Sequence[MediaKind]) -> tuple[JobDefinition, ...]:
    """The four jobs, each knowing the build's media kinds."""
    return tuple(dataclasses.replace(d, func=with_kinds(d.func, kinds)) for d in _DEFINITIONS)  # type: ignore[arg-type]
