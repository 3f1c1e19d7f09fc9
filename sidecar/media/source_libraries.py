"""Which of the server's libraries a kind's sync reads: the configured ones, or every library of the
kind's collection type.

The sidecar's own "AI Picks" libraries look like ordinary libraries (copies of real items); they are
never sources, whatever the configuration says. A library is ours when the server's id for it is
one we recorded, when one of its folders lies in the library root, or when its name starts like the
library name template of any registered kind (in that order: ids survive renames and mount changes).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sidecar.library.paths import in_library_root
from sidecar.media.kind import MediaKind
from sidecar.mediaserver import Library
from sidecar.settings import Settings


@dataclass(frozen=True)
class LibrarySelection:
    chosen: list[Library]
    unmatched: list[str]  # configured names/ids the server does not have
    own: list[Library]  # the sidecar's own libraries, skipped


def own_name_prefixes(settings: Settings, kinds: Sequence[MediaKind]) -> set[str]:
    """What every kind's library name starts with before the user's name ("AI Picks – Movies (")."""
    prefixes = {kind.library.name_template(settings).split("{", 1)[0].strip() for kind in kinds}
    return {prefix for prefix in prefixes if prefix}


def is_own(
    library: Library, settings: Settings, kinds: Sequence[MediaKind], own_ids: Collection[str] = ()
) -> bool:
    if own_ids and {library.id, library.item_id, library.guid} & set(own_ids):
        return True
    if any(in_library_root(location, settings) for location in library.locations):
        return True
    return any(library.name.startswith(prefix) for prefix in own_name_prefixes(settings, kinds))


def select_libraries(
    libraries: list[Library],
    settings: Settings,
    kind: MediaKind,
    every_kind: Sequence[MediaKind] = (),
    own_ids: Collection[str] = (),
) -> LibrarySelection:
    """`every_kind`: the registered kinds (whose library names mark our own libraries too);
    `own_ids`: the server ids of the libraries we registered."""
    kinds = [kind, *(k for k in every_kind if k != kind)]
    own = [lib for lib in libraries if is_own(lib, settings, kinds, own_ids)]
    candidates = [lib for lib in libraries if lib not in own]
    configured = kind.source_libraries(settings)
    if not configured:
        return LibrarySelection(
            [lib for lib in candidates if lib.collection_type == kind.collection_type], [], own
        )
    chosen: list[Library] = []
    unmatched: list[str] = []
    for wanted in configured:
        key = wanted.strip()
        match = next(
            (
                lib
                for lib in candidates
                if key.lower() == lib.name.lower()
                or key.replace("-", "").lower() in (lib.id, lib.item_id, lib.guid)
            ),
            None,
        )
        if match is None:
            unmatched.append(wanted)
        elif match not in chosen:
            chosen.append(match)
    return LibrarySelection(chosen, unmatched, own)
