"""Who sees a shared library (Top Picks): the policy change for one user, or None.

A user with `EnableAllFolders=true` sees every library, a shared one included: fine when they
should, and when they should not they are switched to an explicit list of everything else they saw
(minus other users' private AI libraries, which "all folders" must never have exposed).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sidecar.mediaserver.base import normalise_id


def plan_shared_visibility(
    policy: dict[str, Any],
    *,
    guid: str,
    visible: bool,
    all_guids: Iterable[str],
    private_guids: set[str],
) -> dict[str, Any] | None:
    target = normalise_id(guid)
    if policy.get("EnableAllFolders"):
        if visible:
            return None
        folders = [g for g in all_guids if normalise_id(g) not in private_guids and normalise_id(g) != target]
    else:
        current = [str(f) for f in policy.get("EnabledFolders") or []]
        has = any(normalise_id(f) == target for f in current)
        if has == visible:
            return None
        folders = [*current, guid] if visible else [f for f in current if normalise_id(f) != target]
    updated = dict(policy)
    updated["EnableAllFolders"] = False
    updated["EnabledFolders"] = folders
    return updated
