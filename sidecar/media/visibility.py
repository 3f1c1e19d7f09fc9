"""Every AI library (of every kind) visible to its owner only: one pass over every server user.

Run by each full libraries run and each run that created a library (`sidecar.media.libraries`), and
by `sync-users` (every 30 minutes and on the server's user webhooks), so a user created on the
server never sees other users' picks for longer than that, even on days without a library run.
"""

from __future__ import annotations

import asyncpg

from sidecar.library.paths import USERS_DIR, is_within, join_server_path
from sidecar.library.server import find_library
from sidecar.media import library_queries as q
from sidecar.mediaserver.base import Library, MediaServerClient, normalise_id
from sidecar.mediaserver.visibility import VisibilityResult, restrict_visibility


async def restrict_ai_libraries(
    db: asyncpg.Pool, client: MediaServerClient, libraries: list[Library], server_root: str
) -> VisibilityResult:
    """Ours from the database, plus any library whose folder sits under the server-side `users/`
    root (one we lost track of is still someone's picks). Writes only the policies that change."""
    rows = await db.fetch(q.SERVER_LIBRARIES)
    users_root = join_server_path(server_root, USERS_DIR)
    own: dict[str, list[str]] = {}
    for row in rows:
        library = find_library(libraries, row["library_id"])
        if library is not None:
            own.setdefault(row["user_id"], []).append(library.guid)
    owned_guids = {guid for guids in own.values() for guid in guids}
    ai_guids = {normalise_id(r["library_guid"]) for r in rows if r["library_guid"]}
    for library in libraries:
        inside = any(is_within(loc, users_root) and loc != users_root for loc in library.locations)
        if library.guid in owned_guids or inside:
            ai_guids.add(normalise_id(library.guid))
    return await restrict_visibility(client, libraries, own_libraries_by_user=own, ai_guids=ai_guids)
