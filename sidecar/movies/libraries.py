"""`sync-movie-libraries`: each user's picks as a folder on disk and a private library on the server.

Per user (progress counts users; cancellation is checked between users; one user's failure is
logged and counted and the others go on):

1. read the user's picks joined with the movies;
2. write `<root>/users/<user>/ai-movies/NN - Title (Year)/` entries by difference
   (`sidecar.library.writer`): unchanged entries are not touched;
3. find or create the user's library on the media server and ask for a scan of that library only,
   when something on disk changed or the library is new.

Then one pass over every server user makes each AI library visible to its owner only.

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

import asyncpg

from sidecar.jobs.context import JobCancelled, JobContext, JobError
from sidecar.library import names
from sidecar.library.entries import EntryOptions, build_entries
from sidecar.library.model import RankedMovie
from sidecar.library.paths import UnsafePathError, join_server_path
from sidecar.library.server import ensure_library, find_library, is_under, restrict_visibility
from sidecar.library.writer import TEMP_PREFIX, ensure_directory, manifest_hash, sync_folder
from sidecar.media.kind import MediaKind
from sidecar.mediaserver.base import (
    Library,
    MediaServerAuthError,
    MediaServerClient,
    MediaServerError,
    normalise_id,
)
from sidecar.movies import library_queries as q
from sidecar.settings import Settings

USERS_DIR = "users"
MEDIA_DIR = "ai-movies"


@dataclass
class LibrarySyncCounts:
    users: int = 0
    users_skipped: int = 0  # enabled, but no picks and no library yet
    entries_written: int = 0
    entries_unchanged: int = 0
    entries_removed: int = 0
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
    )


def _server_root(settings: Settings, local_root: Path) -> str:
    return settings.library_server_root or str(local_root)


def _library_name(settings: Settings, user_name: str) -> str:
    # replace, not format: a user name or template with braces must not raise or inject fields
    return settings.library_name_template.replace("{user}", user_name).strip()


def _ranked_movie(row: asyncpg.Record) -> RankedMovie:
    return RankedMovie(
        movie_id=row["movie_id"],
        rank=row["rank"],
        title=row["title"],
        year=row["year"],
        original_title=row["original_title"],
        overview=row["overview"],
        tagline=row["tagline"],
        genres=tuple(row["genres"] or ()),
        studios=tuple(row["studios"] or ()),
        community_rating=row["community_rating"],
        critic_rating=row["critic_rating"],
        official_rating=row["official_rating"],
        runtime_ticks=row["runtime_ticks"],
        tmdb_id=row["tmdb_id"],
        imdb_id=row["imdb_id"],
        premiere_date=row["premiere_date"],
        path=row["path"],
        explanation=row["explanation"],
        provider_ids=dict(row["provider_ids"] or {}),
    )


async def _users_to_sync(ctx: JobContext) -> list[UserToSync]:
    scope = ctx.scope or {}
    user_ids = scope.get("user_ids")
    # With user ids the whole folder of each is diffed anyway, so item ids narrow nothing further.
    item_ids = scope.get("item_ids") if user_ids is None else None
    rows = await ctx.db.fetch(q.USERS_TO_SYNC, user_ids, item_ids)
    reserved = {r["user_id"]: r["folder_name"] for r in await ctx.db.fetch(q.LIBRARY_FOLDERS)}
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


async def _open_media_server(ctx: JobContext) -> tuple[MediaServerClient | None, bool]:
    """(client, whether this job opened it and must close it)."""
    client = ctx.resources.media_server
    if client is not None:
        return client, False
    if not ctx.settings.media_server_url:
        return None, False
    try:
        from sidecar.mediaserver import open_client  # type: ignore[attr-defined]
    except ImportError:
        raise JobError("this build has no media-server client; check the installation") from None
    return await _server_call(open_client(ctx.settings), "connect"), True


class _LibrarySync:
    """One run's state: root, options, the server's library list, and the counts."""

    def __init__(self, ctx: JobContext, root: Path, client: MediaServerClient | None) -> None:
        self.ctx = ctx
        self.root = root
        self.client = client
        self.options = _entry_options(ctx.settings)
        self.server_root = _server_root(ctx.settings, root)
        self.libraries: list[Library] = []
        self.counts = LibrarySyncCounts()

    async def sync_user(self, user: UserToSync) -> None:
        ctx = self.ctx
        rows = await ctx.db.fetch(q.USER_PICKS, user.id) if user.active else []
        if not rows and not user.has_library_row:
            self.counts.users_skipped += 1
            return
        user_dir_parts = (USERS_DIR, user.folder_name, MEDIA_DIR)
        local_dir = self.root.joinpath(*user_dir_parts)
        anchor: dt.datetime = await ctx.db.fetchval(
            q.RESERVE_FOLDER, user.id, user.folder_name, str(local_dir)
        )
        anchor = anchor.replace(microsecond=0)

        picks = [_ranked_movie(r) for r in rows]
        built = await asyncio.to_thread(build_entries, picks, self.options, anchor)
        real_dir = await asyncio.to_thread(ensure_directory, self.root, *user_dir_parts)
        stats = await asyncio.to_thread(sync_folder, self.root, real_dir, built.entries)
        await ctx.db.execute(q.RECORD_SYNC, user.id, manifest_hash(built.entries), len(built.entries))
        self.counts.users += 1
        self.counts.entries_written += stats.written
        self.counts.entries_unchanged += stats.unchanged
        self.counts.entries_removed += stats.removed
        self.counts.files_written += stats.files_written
        self.counts.picks_skipped += len(built.skipped)
        if built.skipped:
            first = built.skipped[0]
            await ctx.warning(
                f"{len(built.skipped)} pick(s) of {user.name} left out: {first.title}: {first.reason}",
                user_id=user.id,
                movie_ids=[s.movie_id for s in built.skipped],
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
        server_path = join_server_path(self.server_root, USERS_DIR, user.folder_name, MEDIA_DIR)
        ensured = await ensure_library(
            self.client,
            self.libraries,
            name=_library_name(self.ctx.settings, user.name),
            server_path=server_path,
            known_id=user.library_id,
            create=user.active,
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
        )
        if ensured.created:
            self.counts.libraries_created += 1
            what = "recreated (it was deleted on the server)" if ensured.recreated else "created"
            self.counts.libraries_recreated += int(ensured.recreated)
            await self.ctx.info(f"library {library.name!r} {what}", user_id=user.id, path=server_path)
        if ensured.created or changed:
            await self.client.refresh_library(library)
            self.counts.scans_requested += 1

    async def restrict_visibility(self) -> None:
        """Each AI library to its owner only: ours from the database, plus any library whose folder
        sits under the server-side `users/` root (one we lost track of is still someone's picks)."""
        assert self.client is not None
        rows = await self.ctx.db.fetch(q.SERVER_LIBRARIES)
        users_root = join_server_path(self.server_root, USERS_DIR)
        ai_guids: set[str] = set()
        own: dict[str, str] = {}
        for row in rows:
            library = find_library(self.libraries, row["library_id"])
            if library is not None:
                own[row["user_id"]] = library.guid
        for library in self.libraries:
            if library.guid in own.values() or any(is_under(loc, users_root) for loc in library.locations):
                ai_guids.add(normalise_id(library.guid))
        ai_guids.update(normalise_id(r["library_guid"]) for r in rows if r["library_guid"])
        result = await restrict_visibility(
            self.client, self.libraries, own_library_by_user=own, ai_guids=ai_guids
        )
        self.counts.policies_updated += result.policies_updated
        for user_name, error in result.failures:
            self.counts.failed += 1
            await self.ctx.warning(f"could not restrict the libraries {user_name} sees: {error}")


async def sync_movie_libraries(ctx: JobContext, kind: MediaKind) -> dict[str, Any]:
    root = _check_root_writable(ctx.settings.resolved_library_root)
    users = await _users_to_sync(ctx)
    client, owned = await _open_media_server(ctx)
    try:
        run = _LibrarySync(ctx, root, client)
        if client is None:
            await ctx.warning(
                "no media server configured (SIDECAR_MEDIA_SERVER_URL): folders are written, "
                "but no library is registered"
            )
        else:
            run.libraries = await _server_call(client.list_libraries(), "list the libraries")
        await ctx.step("Writing user libraries", total=len(users))
        try:
            for user in users:
                ctx.raise_if_cancelled()
                try:
                    await run.sync_user(user)
                    await ctx.advance()
                except MediaServerAuthError as exc:
                    raise _auth_error(exc) from None
                except (OSError, MediaServerError, UnsafePathError, ValueError) as exc:
                    run.counts.failed += 1
                    await ctx.item_failed(f"library of {user.name}", exc, user_id=user.id)
        except JobCancelled:
            if client is not None and run.counts.libraries_created:
                # New libraries are visible to "all folders" users until this pass: do it first.
                await run.restrict_visibility()
            raise
        if client is not None:
            await ctx.step("Restricting library visibility")
            await _server_call(run.restrict_visibility(), "update user policies")
        return asdict(run.counts)
    finally:
        if owned and client is not None:
            await client.close()


async def _server_call(awaitable: Any, what: str) -> Any:
    try:
        return await awaitable
    except MediaServerAuthError as exc:
        raise _auth_error(exc) from None
    except MediaServerError as exc:
        raise JobError(
            f"media server: could not {what}: {exc}; check SIDECAR_MEDIA_SERVER_URL and that the server is up"
        ) from None


def _auth_error(exc: MediaServerAuthError) -> JobError:
    return JobError(f"the media server rejected the API key ({exc}); check SIDECAR_MEDIA_SERVER_API_KEY")
