"""`sync-users`: the server's users, and what follows from their state.

Every server user is stored by server id (never by name): name, admin and disabled flags, last
activity. A new user gets `SIDECAR_NEW_USERS_ENABLED` for every kind's switch (large servers turn it
off: each enabled user costs one library per kind). Users only disappear after a complete listing:
a failed or empty answer changes nothing. Then:

* disabled or deleted on the server: their AI libraries are deleted on the server and on disk and
  their picks dropped; their history stays (a deleted user's after the retention period:
  housekeeping purges it);
* back (enabled again on the server): their picks are asked for at once, and their libraries follow
  from the recommendation run (its follow-up), instead of waiting for the weekly schedule;
* every user's policy shows them their own AI libraries and no one else's (`sidecar.media.visibility`):
  a user just created on the server sees every library until this runs (every 30 minutes, and on
  the server's user webhooks), and a webhook's library run only checks policies when it created a
  library.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sidecar.jobs.context import JobContext, JobError
from sidecar.library.paths import UnsafePathError, server_library_root
from sidecar.media.kind import MediaKind
from sidecar.media.picks_queue import queue_picks
from sidecar.media.server import media_client
from sidecar.media.users import NoUsersListed, store_users
from sidecar.media.visibility import restrict_ai_libraries
from sidecar.mediaserver import MediaServerAuthError, MediaServerClient, MediaServerError, MediaUser
from sidecar.system import user_queries as q
from sidecar.system.user_output import remove_user_output

JOB = "sync-users"  # also planned by the server's user webhooks (webhooks/planner.py)


@dataclass
class UserSyncCounts:
    users_on_server: int = 0
    users_added: int = 0
    users_updated: int = 0
    users_removed: int = 0
    users_disabled: int = 0
    users_returned: int = 0
    libraries_deleted: int = 0
    folders_removed: int = 0
    picks_removed: int = 0
    policies_updated: int = 0
    failed: int = 0


async def _store_users(ctx: JobContext, users: list[MediaUser], counts: UserSyncCounts) -> None:
    try:
        stored = await store_users(ctx.db, users, new_users_enabled=ctx.settings.new_users_enabled)
    except NoUsersListed as exc:
        raise JobError(str(exc)) from None
    counts.users_added, counts.users_updated, counts.users_removed = (
        stored.added,
        stored.updated,
        len(stored.removed),
    )
    if stored.removed:
        await ctx.info(
            f"{len(stored.removed)} users are no longer on the media server; their libraries are removed, "
            f"their history is kept for {ctx.settings.deleted_users_retention_days} days",
            user_ids=[r["id"] for r in stored.removed],
        )


async def _restrict_visibility(ctx: JobContext, client: MediaServerClient, counts: UserSyncCounts) -> None:
    await ctx.step("Checking who sees which AI library")
    libraries = await client.list_libraries()  # again: removing users' output deleted some
    result = await restrict_ai_libraries(ctx.db, client, libraries, server_library_root(ctx.settings))
    counts.policies_updated = result.policies_updated
    for user_name, error in result.failures:
        counts.failed += 1
        await ctx.warning(f"could not restrict the libraries {user_name} sees: {error}")


async def sync_users(ctx: JobContext, kinds: Sequence[MediaKind]) -> dict[str, Any]:
    counts = UserSyncCounts()
    async with media_client(ctx) as client:
        await ctx.step("Listing users")
        users = await client.list_users()
        if not users:
            # Every server has at least its admin: an empty list is a broken answer, not "all gone".
            raise JobError(
                "the media server listed no users; nothing was changed. Check the API key's rights"
            )
        counts.users_on_server = len(users)
        counts.users_disabled = sum(1 for u in users if u.is_disabled)
        await _store_users(ctx, users, counts)
        ctx.raise_if_cancelled()

        inactive = await ctx.db.fetch(q.INACTIVE_USERS)
        if inactive:
            await ctx.step("Removing libraries of disabled and deleted users", total=len(inactive))
            libraries = await client.list_libraries()
            root = ctx.settings.resolved_library_root
            for user in inactive:
                ctx.raise_if_cancelled()
                try:
                    removed = await remove_user_output(
                        ctx, user, kinds, client=client, libraries=libraries, root=root
                    )
                except MediaServerAuthError:
                    raise
                except (MediaServerError, OSError, UnsafePathError) as exc:
                    counts.failed += 1
                    await ctx.item_failed(
                        f"removing the libraries of {user['name']}", exc, user_id=user["id"]
                    )
                    continue
                counts.libraries_deleted += removed.libraries_deleted
                counts.folders_removed += removed.folders_removed
                counts.picks_removed += removed.picks_removed
                if removed.libraries_deleted or removed.folders_removed or removed.picks_removed:
                    await ctx.info(
                        f"libraries and picks of {user['name']} removed",
                        user_id=user["id"],
                        **asdict(removed),
                    )
                await ctx.advance()
        await _restrict_visibility(ctx, client, counts)

    returned = await ctx.db.fetch(q.RETURNED_USERS)
    counts.users_returned = len(returned)
    result: dict[str, Any] = asdict(counts)
    if returned:
        result["queued"] = await queue_picks(
            ctx, kinds, lambda kind: [r["id"] for r in returned if r[kind.tables.enabled]]
        )

    await ctx.info("users synced", **result)
    return result
