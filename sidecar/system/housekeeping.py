"""`housekeeping` (hourly): what used to happen unseen in the worker's tick, as a run with a result.

1. history past its retention: finished runs (with logs), webhook deliveries, deleted users;
2. webhook events stored but never planned (the web process died between the insert and the plan):
   planned now (idempotent: a planned event is never planned again);
3. orphaned library folders: `users/<name>/ai-<kind>` folders under the library root that no user
   library row holds (a user purged, a row deleted by hand); links are unlinked, never followed;
4. `VACUUM (ANALYZE)` of the hot tables that changed by more than a tenth since their last vacuum or
   analyze (autocommit: VACUUM cannot run inside a transaction).

Runs through the single worker, so it never races a library write.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sidecar.jobs.context import JobContext
from sidecar.library.paths import USERS_DIR, UnsafePathError
from sidecar.media.kind import MediaKind
from sidecar.system import housekeeping_queries as q
from sidecar.system.retention import prune_history
from sidecar.system.user_output import remove_folder
from webhooks.planner import new_submitter, replan_unplanned

KIND_DIR_PREFIX = "ai-"
VACUUM_MIN_CHANGES = 1_000
VACUUM_SHARE = 0.1


def orphan_folders(root: Path, known: set[Path]) -> list[Path]:
    """`users/*/ai-*` folders not in `known` (resolved paths), and `users/*` folders left empty."""
    users = root / USERS_DIR
    if not users.is_dir() or users.is_symlink():
        return []
    orphans: list[Path] = []
    for user_dir in sorted(users.iterdir()):
        if user_dir.is_symlink() or not user_dir.is_dir():
            continue
        kinds = [p for p in user_dir.iterdir() if p.name.startswith(KIND_DIR_PREFIX)]
        orphans.extend(p for p in kinds if p.resolve() not in known)
        if not any(user_dir.iterdir()):
            orphans.append(user_dir)
    return orphans


def remove_orphans(root: Path, known_paths: list[str]) -> tuple[list[str], list[tuple[Path, Exception]]]:
    """Remove the orphans; returns (removed, relative to the root; failures)."""
    known = {Path(p).resolve() for p in known_paths}
    removed: list[str] = []
    failures: list[tuple[Path, Exception]] = []
    for folder in orphan_folders(root, known):
        try:
            remove_folder(root, folder)
            removed.append(str(folder.relative_to(root)))
        except (OSError, UnsafePathError) as exc:
            failures.append((folder, exc))
    return removed, failures


async def _remove_orphans(ctx: JobContext) -> list[str]:
    known = [r["folder_path"] for r in await ctx.db.fetch(q.KNOWN_LIBRARY_FOLDERS)]
    removed, failures = await asyncio.to_thread(remove_orphans, ctx.settings.resolved_library_root, known)
    for folder, exc in failures:
        await ctx.item_failed(f"removing the orphaned folder {folder}", exc)
    return removed


async def _vacuum(ctx: JobContext) -> list[str]:
    vacuumed = []
    for row in await ctx.db.fetch(q.TABLE_CHANGES, list(q.HOT_TABLES)):
        threshold = max(VACUUM_MIN_CHANGES, VACUUM_SHARE * row["n_live_tup"])
        if row["n_dead_tup"] < threshold and row["n_mod_since_analyze"] < threshold:
            continue
        ctx.raise_if_cancelled()
        name = row["relname"]
        assert name in q.HOT_TABLES  # only names from the fixed list reach the statement
        await ctx.db.execute(f'VACUUM (ANALYZE) "{name}"')  # pool connection: autocommit
        vacuumed.append(name)
    return vacuumed


async def housekeeping(ctx: JobContext, kinds: Sequence[MediaKind]) -> dict[str, Any]:
    await ctx.step("Pruning old history", total=4)
    pruned = await prune_history(ctx.db, ctx.settings, dt.datetime.now(dt.UTC))
    await ctx.advance()

    await ctx.step("Planning stored webhook events")
    queue = ctx.resources.queue
    replanned = None
    if queue is not None:
        replanned = await replan_unplanned(ctx.db, queue, new_submitter(), ctx.settings, kinds)
    else:
        await ctx.info(
            "no job queue in this process (an inline run): stored webhook events left for the worker"
        )
    await ctx.advance()
    ctx.raise_if_cancelled()

    await ctx.step("Removing orphaned library folders")
    orphans = await _remove_orphans(ctx)
    await ctx.advance()

    await ctx.step("Vacuuming tables that grew")
    vacuumed = await _vacuum(ctx)
    await ctx.advance()
    result = {
        "runs_deleted": pruned["job_runs"],
        "webhook_events_deleted": pruned["webhook_events"],
        "deleted_users_purged": pruned["deleted_users"],
        "webhook_events_planned": replanned,
        "orphaned_folders_removed": orphans,
        "tables_vacuumed": vacuumed,
    }
    await ctx.info("housekeeping done", **result)
    return result
