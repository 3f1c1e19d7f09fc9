"""Taking away what the sidecar made for a user: their AI libraries (server and disk) and picks.

Used when a user is disabled or deleted on the server. Their plays stay (history is kept; a deleted
user's rows go only after the retention period, in housekeeping). Folders are removed inside the
library root only, without following links: an entry's symlink is unlinked, never walked into.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from sidecar.jobs.context import JobContext
from sidecar.library.paths import UnsafePathError, confined
from sidecar.library.server import find_library
from sidecar.media.kind import MediaKind
from sidecar.mediaserver.base import Library, MediaServerClient
from sidecar.mediaserver.http import MediaServerStatusError
from sidecar.system import user_queries as q


@dataclass
class RemovedOutput:
    libraries_deleted: int = 0
    folders_removed: int = 0
    picks_removed: int = 0


def remove_folder(root: Path, folder: Path, *, empty_parent: bool = False) -> bool:
    """Remove one library folder under `root` (with `empty_parent`, its parent too once empty: the
    user's folder). False if it was gone already."""
    if not folder.exists() and not folder.is_symlink():
        return False
    if folder.is_symlink():  # a link where our folder was: unlink it, never follow it
        folder.unlink()
        return True
    real = confined(root, folder)
    if real == root.resolve():
        raise UnsafePathError("refusing to remove the library root itself")
    shutil.rmtree(real)  # does not follow symlinks inside: entries' links are unlinked
    parent = real.parent
    if empty_parent and parent != root.resolve() and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
    return True


async def _delete_on_server(client: MediaServerClient, libraries: list[Library], library_id: str) -> bool:
    library = find_library(libraries, library_id)
    if library is None:
        return False  # already deleted on the server
    try:
        await client.delete_library(library)
    except MediaServerStatusError as exc:
        if exc.status != 404:
            raise
    libraries.remove(library)
    return True


async def remove_user_output(
    ctx: JobContext,
    user: asyncpg.Record,
    kinds: Sequence[MediaKind],
    *,
    client: MediaServerClient | None,
    libraries: list[Library],
    root: Path,
) -> RemovedOutput:
    """Every kind's library of this user, then their picks; the database follows each step."""
    removed = RemovedOutput()
    for row in await ctx.db.fetch(q.USER_LIBRARIES, user["id"]):
        if client is not None and row["library_id"]:
            removed.libraries_deleted += int(await _delete_on_server(client, libraries, row["library_id"]))
        if await asyncio.to_thread(remove_folder, root, Path(row["folder_path"]), empty_parent=True):
            removed.folders_removed += 1
        await ctx.db.execute(q.DELETE_USER_LIBRARY, user["id"], row["media_type"])
    for kind in kinds:
        status = await ctx.db.execute(kind.sql(q.DELETE_PICKS), user["id"])
        removed.picks_removed += int(status.split()[-1])
    await ctx.db.execute(q.MARK_LIBRARIES_REMOVED, user["id"])
    return removed
