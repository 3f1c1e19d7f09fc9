"""`sync-trakt` (category global, every 6 h at :30): each linked user's Trakt ratings and watch history
imported for the titles on the server (importer.py), then the kinds' derived state rebuilt for the
users whose imports changed (series states) and their recommendations queued (their libraries follow).

Rules: without SIDECAR_TRAKT_CLIENT_ID / _SECRET the run completes at once with `not configured`
naming the setting; a refused client id fails the run once ("check SIDECAR_TRAKT_CLIENT_ID"); Trakt
unreachable after the bounded retries fails the run, and the next run resumes with the users not yet
imported (each user's stamps are stored with their rows). A user whose token Trakt refuses, or whose
stored tokens this SIDECAR_SECRET_KEY cannot open, is counted and logged; the others go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sidecar.jobs.context import JobContext, JobError
from sidecar.jobs.registry import JobDefinition
from sidecar.media.kind import MediaKind
from sidecar.media.picks_queue import queue_picks
from sidecar.services.http import (
    ServiceAuthError,
    ServiceNotConfigured,
    ServiceNotFound,
    ServiceRequestError,
    ServiceUnavailable,
)
from sidecar.services.trakt import TraktClient, TraktUserAuthError
from sidecar.system.jobs import CATEGORY, with_kinds
from sidecar.trakt import queries as q
from sidecar.trakt.importer import BAD_ITEMS_LOGGED, import_user, match
from sidecar.trakt.tokens import TokenCipher, TokenKeyMismatch

JOB_NAME = "sync-trakt"
DEFAULT_SCHEDULE = "30 */6 * * *"


@dataclass
class TraktCounts:
    linked_users: int = 0
    users_imported: int = 0
    users_unchanged: int = 0
    users_failed: int = 0
    tokens_refreshed: int = 0
    plays_read: int = 0
    ratings_read: int = 0
    bad_items: int = 0
    requests: int = 0
    changed_user_ids: list[str] = field(default_factory=list)

    def as_result(self) -> dict[str, Any]:
        return {
            "linked_users": self.linked_users,
            "users_imported": self.users_imported,
            "users_unchanged": self.users_unchanged,
            "users_failed": self.users_failed,
            "tokens_refreshed": self.tokens_refreshed,
            "plays_read": self.plays_read,
            "ratings_read": self.ratings_read,
            "bad_items": self.bad_items,
            "requests": self.requests,
        }


async def sync_trakt(ctx: JobContext, kinds: Sequence[MediaKind]) -> dict[str, Any]:
    try:
        client = TraktClient.from_settings(ctx.settings)
    except ServiceNotConfigured as exc:
        # Not a failure: the feature is off until the setting is made, and the card names it.
        await ctx.info(f"{exc}; nothing to do")
        return {"not_configured": exc.setting}
    user_ids = (ctx.scope or {}).get("user_ids")
    users = await ctx.db.fetch(q.LINKED_USERS, user_ids)
    counts = TraktCounts(linked_users=len(users))
    if not users:
        await client.close()
        await ctx.info("no user has linked a Trakt account (the user view of the page links one)")
        return counts.as_result()
    try:
        cipher = TokenCipher.from_settings(ctx.settings)
    except ServiceNotConfigured as exc:
        await client.close()
        raise JobError(
            f"{len(users)} Trakt account(s) are linked but {exc.setting} is not set: their "
            f"tokens cannot be read; check {exc.setting}"
        ) from None
    full = ctx.variant == "full"
    await ctx.step("Importing Trakt history and ratings", total=len(users))
    async with client:
        try:
            for user in users:
                ctx.raise_if_cancelled()
                await _one_user(ctx, client, cipher, user, full=full, counts=counts)
        except ServiceAuthError as exc:
            raise JobError(str(exc)) from None
        except ServiceUnavailable as exc:
            raise JobError(
                f"{exc} — {counts.users_imported + counts.users_unchanged} of {len(users)} users done; "
                "the next run resumes with the others"
            ) from None
        finally:
            counts.requests = client.requests
    # Titles added to the server since an earlier import: their waiting rows find them now.
    await match(ctx.db, [u["user_id"] for u in users], only_unmatched=True)
    result = counts.as_result()
    if counts.changed_user_ids:
        for kind in kinds:
            if kind.history.derive is not None:
                await kind.history.derive(ctx.db, ctx.settings, counts.changed_user_ids)
        # Their picks now, not at the weekly recommendations run (a run skips users it may not serve).
        result["queued"] = await queue_picks(ctx, kinds, lambda kind: counts.changed_user_ids)
    return result


async def _one_user(
    ctx: JobContext, client: TraktClient, cipher: TokenCipher, user: Any, *, full: bool, counts: TraktCounts
) -> None:
    name = user["name"]
    try:
        done = await import_user(ctx.db, client, cipher, user, full=full)
    except (TraktUserAuthError, TokenKeyMismatch, ServiceNotFound, ServiceRequestError) as exc:
        # This user's problem (a refused token, an answer Trakt gives for this account only, such
        # as 420 over the account's limits): counted and shown on the page; the others go on.
        counts.users_failed += 1
        await ctx.db.execute(q.FINISH_USER, user["user_id"], None, str(exc))
        await ctx.item_failed(f"Trakt import of {name}", exc, user_id=user["user_id"])
        return
    counts.tokens_refreshed += done.refreshed
    if done.skipped:
        counts.users_unchanged += 1
        await ctx.advance()
        return
    counts.users_imported += 1
    counts.plays_read += done.plays_read
    counts.ratings_read += done.ratings_read
    counts.bad_items += len(done.bad_items)
    counts.changed_user_ids.append(user["user_id"])
    for problem in done.bad_items[:BAD_ITEMS_LOGGED]:
        await ctx.warning(f"Trakt item skipped for {name}: {problem}", user_id=user["user_id"])
    await ctx.info(
        f"{name}: {done.plays_read} plays and {done.ratings_read} ratings read ({', '.join(done.parts)})"
        + (f", {len(done.bad_items)} unusable entries skipped" if done.bad_items else ""),
        user_id=user["user_id"],
    )
    await ctx.advance()


def trakt_job(kinds: Sequence[MediaKind]) -> JobDefinition:
    """The job definition for the composition root's GLOBAL_JOBS."""
    return JobDefinition(
        name=JOB_NAME,
        title="Sync Trakt",
        category=CATEGORY,
        description="Import linked users' Trakt ratings and watch history for the titles on the server; "
        "they count for their picks (a rating made on the server wins). Needs SIDECAR_TRAKT_CLIENT_ID.",
        func=with_kinds(sync_trakt, kinds),
        variants=("regular", "full"),
        default_schedule=DEFAULT_SCHEDULE,
        order=70,
    )
