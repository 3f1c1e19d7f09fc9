"""A folder tree as {relative path: (inode, mtime_ns)}: proves which entries a library run left untouched."""

from __future__ import annotations

import os
from pathlib import Path


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Without following symlinks, so a link counts as the link itself."""
    result = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            result[str(path.relative_to(folder))] = (st.st_ino, st.st_mtime_ns)
    return result
