"""Who may see the sidecar's libraries: each user their own AI libraries, nobody else's.

A library is visible to every user whose policy says `EnableAllFolders=true`. Leaving such users
alone would show everyone's picks to everyone (the old product's bug), so those users are switched
to an explicit folder list: every non-AI library plus their own AI libraries. Works through the
`MediaServerClient` protocol only, so both dialects behave the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sidecar.mediaserver.base import (
    Library,
    MediaServerAuthError,
    MediaServerClient,
    MediaServerError,
    normalise_id,
)


def plan_policy(
    policy: Mapping[str, Any],
    *,
    own_guids: list[str],
    ai_guids: set[str],
    non_ai_guids: list[str],
) -> dict[str, Any] | None:
    """The user's complete new policy, or None when it already shows exactly the right AI libraries
    (their own, one per media kind).

    Guids are compared normalised (Jellyfin returns dashed GUIDs); folders the user had that are not
    AI libraries are kept as they are.
    """
    own = {normalise_id(guid) for guid in own_guids}
    foreign_ai = ai_guids - own
    enabled = [str(f) for f in policy.get("EnabledFolders") or []]
    enabled_norm = {normalise_id(f) for f in enabled}

    if policy.get("EnableAllFolders"):
        if not foreign_ai:
            return None  # sees everything, and "everything" holds no one else's picks
        folders = [*non_ai_guids, *own_guids]
    else:
        folders = [f for f in enabled if normalise_id(f) not in ai_guids] + list(own_guids)
        if enabled_norm == {normalise_id(f) for f in folders}:
            return None
    updated = dict(policy)
    updated["EnableAllFolders"] = False
    updated["EnabledFolders"] = folders
    return updated


@dataclass
class VisibilityResult:
    policies_updated: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (user name, error)


async def restrict_visibility(
    client: MediaServerClient,
    libraries: list[Library],
    *,
    own_libraries_by_user: Mapping[str, list[str]],
    ai_guids: set[str],
) -> VisibilityResult:
    """For every server user: their own AI libraries visible, nobody else's. Writes only changes.

    `own_libraries_by_user` maps user id -> guids of that user's AI libraries; `ai_guids` are the
    normalised guids of every AI library (all users, all kinds).
    """
    result = VisibilityResult()
    non_ai = [lib.guid for lib in libraries if normalise_id(lib.guid) not in ai_guids]
    own_by_user = {normalise_id(user_id): guids for user_id, guids in own_libraries_by_user.items()}
    for user in await client.list_users():
        try:
            # Both servers list each user with their complete policy: one listing, not a GET per user
            # (a webhook's one-user library run would otherwise read every account's policy again).
            policy = dict(user.policy) if user.policy else await client.get_user_policy(user.id)
            updated = plan_policy(
                policy,
                own_guids=own_by_user.get(normalise_id(user.id), []),
                ai_guids=ai_guids,
                non_ai_guids=non_ai,
            )
            if updated is not None:
                await client.set_user_policy(user.id, updated)
                result.policies_updated += 1
        except MediaServerAuthError:
            raise
        except MediaServerError as exc:
            result.failures.append((user.name, str(exc)))
    return result
