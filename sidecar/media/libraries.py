"""The libraries step (`sync-movie-libraries`, ...): each user's picks of a kind as a folder on disk
and a private library on the server.

Per user (progress counts users; cancellation is checked between users; one user's failure is
logged and counted and the others go on):

1. read the user's picks joined with the items;
2. write `<root>/users/<user>/<kind folder>/` entries (the kind's layout: for movies
   `ai-movies/NN - Title (Year)/`) by difference
   (`sidecar.library.writer`): unchanged entries are not touched;
3. find or create the user's library on the media server and ask for a scan of that library only,
   when something on disk changed or the library is new.

Then one pass over every server user makes each AI library (of every kind) visible to its owner only.
A user has one folder name under `users/` for all their libraries.

A user whose picks are gone (or who is no longer enabled) gets an empty folder, not a stale one;
an enabled user who never had picks gets nothing until they do. Without a media server configured
(and none handed in through `ctx.resources.media_server`) the folders are still written.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sidecar.jobs.context import JobCancelled, JobContext, JobError
from sidecar.library import names
from sidecar.library.entries import EntryOptions
from sidecar.library.paths import USERS_DIR, UnsafePathError, join_server_path, server_library_root
from sidecar.library.server import ensure_library
from sidecar.library.writer import TEMP_PREFIX, ensure_directory, manifest_hash, sync_folder
from sidecar.media import library_queries as q
from sidecar.media.kind import MediaKind
from sidecar.media.server import optional_media_client, server_call
from sidecar.media.visibility import restrict_ai_libraries
from sidecar.mediaserver.base import (
    Library,
    MediaServerAuthError,
    MediaServerClient,
    MediaServerError,
)
from sidecar.settings import Settings


@dataclass
class LibrarySyncCounts:
    users: int = 0
    users_skipped: int = 0  # enabled, but no picks and no library yet
    entries_written: int = 0
    entries_unchanged: int = 0
    entries_removed: int = 0
    entries_moved: int = 0  # folders renamed in place (a layout change)
    files_written: int = 0
    picks_skipped: int = 0  # picks with no usable file
    libraries_created: int = 0
    libraries_recreated: int = 0
    policies_updated: int = 0
    scans_requested: int = 0
    failed: int = 0


@dataclass(frozen=True)
class UserToSync:
    id: str
    name: str
    active: bool
    folder_name: str
    library_id: str | None
    has_library_row: bool


def _check_root_writable(root: Path) -> Path:
    """Create the root if needed and prove it writable, or fail the run naming the setting."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=TEMP_PREFIX):
            pass
    except OSError as exc:
        raise JobError(
            f"the library root {root} is not writable ({exc.strerror or exc}); "
            "check SIDECAR_LIBRARY_ROOT (default: <SIDECAR_DATA_DIR>/libraries) and the folder's "
            "permissions for the sidecar's user"
        ) from None
    return root.resolve()


def _entry_options(settings: Settings) -> EntryOptions:
    api_key = settings.media_server_api_key.get_secret_value() if settings.media_server_api_key else None
    return EntryOptions(
        mode=settings.library_mode,
        path_mappings=settings.path_mappings,
        strm_url_template=settings.strm_url_template,
        api_key=api_key,
        ranked_folders=settings.library_entry_names == "ranked",
    )


def _library_name(kind: MediaKind, settings: Settings, user_name: str) -> str:
    # replace, not format: a user name or template with braces must not raise or inject fields; then
    # a name the server stores unchanged (it would replace `:`, `/`, quotes ... with spaces)
    return names.server_library_name(kind.library.name_template(settings).replace("{user}", user_name))


async def _users_to_sync(ctx: JobContext, kind: MediaKind) -> list[UserToSync]:
    scope = ctx.scope or {}
    user_ids = scope.get("user_ids")
    # With user ids the whole folder of each is diffed anyway, so item ids narrow nothing further.
    item_ids = scope.get("item_ids") if user_ids is None else None
    rows = await ctx.db.fetch(kind.sql(q.USERS_TO_SYNC), user_ids, item_ids, kind.name)
    reserved = {r["user_id"]: r["folder_name"] for r in await ctx.db.fetch(q.USER_FOLDERS)}
    folders = names.allocate_user_folders(((r["id"], r["name"]) for r in rows), reserved)
    return [
        UserToSync(
            id=r["id"],
            name=r["name"],
            active=r["active"],
            folder_name=folders[r["id"]],
            library_id=r["library_id"],
            has_library_row=r["folder_name"] is not None,
        )
        for r in rows
    ]


class _LibrarySync:
    """One run's state: root, options, the server's library list, and the counts."""

    def __init__(
        self, ctx: JobContext, kind: MediaKind, root: Path, client: MediaServerClient | None
    ) -> None:
        self.ctx = ctx
        self.kind = kind
        self.root = root
        self.client = client
        self.options = _entry_options(ctx.settings)
        self.server_root = server_library_root(ctx.settings)
        self.libraries: list[Library] = []
        self.refreshed: set[str] = set()  # item ids of the libraries refreshed in this run
        self.counts = LibrarySyncCounts()

    async def sync_user(self, user: UserToSync) -> None:
        ctx = self.ctx
        kind = self.kind
        rows = await ctx.db.fetch(kind.library.picks_query, user.id) if user.active else []
        visible = await ctx.db.fetchval(q.VISIBLE_ITEMS, user.id, kind.name)
        if visible is not None:
            # Picks made before the admin restricted this user: a symlink would play what the
            # server hides from them. The next recommendation run replaces them.
            allowed = set(visible)
            rows = [r for r in rows if r[kind.tables.item_id] in allowed]
        if not rows and not user.has_library_row:
            self.counts.users_skipped += 1
            return
        user_dir_parts = (USERS_DIR, user.folder_name, kind.library.folder)
        local_dir = self.root.joinpath(*user_dir_parts)
        anchor: dt.datetime = await ctx.db.fetchval(
            q.RESERVE_FOLDER, user.id, user.folder_name, str(local_dir), kind.name
        )
        anchor = anchor.replace(microsecond=0)

        built = await asyncio.to_thread(kind.library.build_entries, rows, self.options, anchor)
        real_dir = await asyncio.to_thread(ensure_directory, self.root, *user_dir_parts)
        stats = await asyncio.to_thread(sync_folder, self.root, real_dir, built.entries)
        await ctx.db.execute(
            q.RECORD_SYNC, user.id, manifest_hash(built.entries), len(built.entries), kind.name
        )
        self.counts.users += 1
        self.counts.entries_written += stats.written
        self.counts.entries_unchanged += stats.unchanged
        self.counts.entries_removed += stats.removed
        self.counts.entries_moved += stats.moved
        self.counts.files_written += stats.files_written
        self.counts.picks_skipped += len(built.skipped)
        if built.skipped:
            first = built.skipped[0]
            await ctx.warning(
                f"{len(built.skipped)} pick(s) of {user.name} left out: {first.title}: {first.reason}",
                user_id=user.id,
                item_ids=[s.item_id for s in built.skipped],
            )
        if stats.changed:
            await ctx.debug(
                f"library folder of {user.name} updated",
                user_id=user.id,
                written=stats.written,
                unchanged=stats.unchanged,
                removed=stats.removed,
            )
        if self.client is not None:
            await self._register(user, changed=stats.changed)

    async def _register(self, user: UserToSync, *, changed: bool) -> None:
        assert self.client is not None
        server_path = join_server_path(
            self.server_root, USERS_DIR, user.folder_name, self.kind.library.folder
        )
        ensured = await ensure_library(
            self.client,
            self.libraries,
            name=_library_name(self.kind, self.ctx.settings, user.name),
            server_path=server_path,
            known_id=user.library_id,
            create=user.active,
            collection_type=self.kind.collection_type,
        )
        if ensured is None:
            return
        library = ensured.library
        await self.ctx.db.execute(
            q.RECORD_SERVER_LIBRARY,
            user.id,
            library.name,
            library.id,
            library.item_id,
            library.guid,
            server_path,
            self.kind.name,
        )
        if ensured.created:
            self.counts.libraries_created += 1
            what = "recreated (it was deleted on the server)" if ensured.recreated else "created"
            self.counts.libraries_recreated += int(ensured.recreated)
            await self.ctx.info(f"library {library.name!r} {what}", user_id=user.id, path=server_path)
        # Created and linked without a scan (refreshLibrary=false restarts the server's full scan of
        # every library): refresh this library, once per run, when anything in it changed.
        if (ensured.created or ensured.path_added or changed) and library.item_id not in self.refreshed:
            self.refreshed.add(library.item_id)
            await self.client.refresh_library(library)
            self.counts.scans_requested += 1

    async def restrict_visibility(self) -> None:
        assert self.client is not None
        result = await restrict_ai_libraries(self.ctx.db, self.client, self.libraries, self.server_root)
        self.counts.policies_updated += result.policies_updated
        for user_name, error in result.failures:
            self.counts.failed += 1
            await self.ctx.warning(f"could not restrict the libraries {user_name} sees: {error}")


async def sync_libraries(ctx: JobContext, kind: MediaKind) -> dict[str, Any]:
    root = _check_root_writable(ctx.settings.resolved_library_root)
    users = await _users_to_sync(ctx, kind)
    async with optional_media_client(ctx) as client:
        run = _LibrarySync(ctx, kind, root, client)
        if client is None:
            await ctx.warning(
                "no media server configured (SIDECAR_MEDIA_SERVER_URL): folders are written, "
                "but no library is registered"
            )
        else:
            run.libraries = await server_call(client.list_libraries(), "list the libraries")
        await ctx.step("Writing user libraries", total=len(users))
        try:
            for user in users:
                ctx.raise_if_cancelled()
                try:
                    await run.sync_user(user)
                    await ctx.advance()
                except MediaServerAuthError:
                    raise  # the key is wrong for everyone: stop at once
                except (OSError, MediaServerError, UnsafePathError, ValueError) as exc:
                    run.counts.failed += 1
                    await ctx.item_failed(f"library of {user.name}", exc, user_id=user.id)
        except JobCancelled:
            if client is not None and run.counts.libraries_created:
                # New libraries are visible to "all folders" users until this pass: do it first.
                await run.restrict_visibility()
            raise
        if client is not None and _policies_may_need_change(ctx, run.counts):
            await ctx.step("Restricting library visibility")
            await server_call(run.restrict_visibility(), "update user policies")
        return asdict(run.counts)


def _policies_may_need_change(ctx: JobContext, counts: LibrarySyncCounts) -> bool:
    """Every user's policy is read and checked by each full run and whenever a library was created.

    A scoped run (a webhook's: a few users' picks changed) that created no library changed no set of AI
    libraries, so no policy can need a change from it; checking would read every user's policy (one
    request per server user: 671 of the run's ~1,400 requests for MovieLens) on the webhook path. A
    policy an admin changes by hand is put right by the next full run (the daily schedule)."""
    return not ctx.scope or counts.libraries_created > 0
