"""Where things are: confinement to the library root, and the two views of every path.

The media server and the sidecar often run in different containers, so one file has two paths:
the server's (stored in `movies.path`, and what a library location must be) and the sidecar's
(what this process can open). `SIDECAR_PATH_MAPPINGS` translates server -> sidecar for movie files;
`SIDECAR_LIBRARY_SERVER_ROOT` is the library root as the server sees it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from sidecar.settings import Settings

# Under the library root: `users/<user folder>/<kind folder>/` holds each user's AI libraries.
USERS_DIR = "users"


class UnsafePathError(Exception):
    """A path that would leave the library root (symlinked parent, `..`, absolute name...)."""


def confined(root: Path, path: Path) -> Path:
    """`path` with its symlinks resolved, guaranteed inside `root` (itself resolved); else raise.

    Called before every write and delete: a `users` folder replaced by a symlink to /etc, or a name
    that slipped through sanitising, is refused rather than followed.
    """
    real_root = root.resolve()
    real = path.resolve()
    if real != real_root and not real.is_relative_to(real_root):
        raise UnsafePathError(f"{path} resolves to {real}, outside the library root {real_root}")
    return real


def is_within(path: str, root: str) -> bool:
    """Whether `path` is `root` or lies under it, by whole components, in either separator style
    (Emby on Windows sends backslashes); a trailing separator on either side changes nothing.
    The one rule for "is this path inside that folder" on media-server paths."""
    path, root = _comparable(path), _comparable(root)
    return path == root or path.startswith(root if root.endswith("/") else root + "/")


def _comparable(path: str) -> str:
    """Forward slashes, no trailing slash (the root stays "/")."""
    return path.strip().replace("\\", "/").rstrip("/") or "/"


def server_to_local(server_path: str, mappings: Mapping[str, str]) -> str:
    """Translate a media-server path to this process's view with the longest matching prefix.

    Prefixes match whole components only (`/media` maps `/media/x`, not `/mediax`). No mapping
    = the same path (sidecar and server share the mount layout).
    """
    best: tuple[str, str] | None = None
    for server_prefix, local_prefix in mappings.items():
        prefix = server_prefix.rstrip("/\\")
        if is_within(server_path, prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, local_prefix.rstrip("/\\"))
    if best is None:
        return server_path
    rest = server_path.strip()[len(best[0]) :].replace("\\", "/")
    return best[1] + rest


def in_library_root(path: str, settings: Settings) -> bool:
    """Whether a media-server path lies in the sidecar's library root, as the sidecar sees it (also
    after `SIDECAR_PATH_MAPPINGS`) or as the server sees it (`SIDECAR_LIBRARY_SERVER_ROOT`): an AI
    Picks library's folder, or a copy inside one."""
    roots = [str(settings.resolved_library_root)]
    if settings.library_server_root:
        roots.append(settings.library_server_root)
    candidates = {path, server_to_local(path, settings.path_mappings)}
    return any(is_within(candidate, root) for candidate in candidates for root in roots)


def server_library_root(settings: Settings) -> str:
    """The library root as the media server sees it: its own mount of the folder if set, else the
    sidecar's, symlinks resolved (the path the libraries were registered with)."""
    return settings.library_server_root or str(settings.resolved_library_root.resolve())


def join_server_path(server_root: str, *parts: str) -> str:
    """Join components onto a server-side root, keeping its separator style (Windows servers)."""
    separator = "\\" if "\\" in server_root and "/" not in server_root else "/"
    return separator.join([server_root.rstrip("/\\"), *parts])


def file_extension(server_path: str) -> str:
    """The extension of a server path in either separator style (`.mkv`), or '' when it has none."""
    name = server_path.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = name.rpartition(".")
    return f".{ext.lower()}" if dot and stem and ext and len(ext) <= 8 else ""


def is_existing_file(local_path: str) -> bool:
    return os.path.isfile(local_path)
