"""What is in a user's library folder, and what changed between two looks at it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_RANKED_ENTRY = re.compile(r"^(?P<rank>\d+) - (?P<title>.+)$")


def read_entries(folder: Path) -> dict[str, int]:
    """`Title (Year)` -> rank for every `NN - Title (Year)` entry folder (empty if there is no folder)."""
    if not folder.is_dir():
        return {}
    entries = {}
    for child in folder.iterdir():
        match = _RANKED_ENTRY.match(child.name)
        if match and child.is_dir():
            entries[match.group("title")] = int(match.group("rank"))
    return entries


@dataclass(frozen=True)
class LibraryChange:
    before: dict[str, int]
    after: dict[str, int]

    @property
    def added(self) -> list[tuple[int, str]]:
        return sorted((rank, title) for title, rank in self.after.items() if title not in self.before)

    @property
    def removed(self) -> list[tuple[int, str]]:
        return sorted((rank, title) for title, rank in self.before.items() if title not in self.after)

    @property
    def moved(self) -> int:
        return sum(1 for title, rank in self.after.items() if self.before.get(title, rank) != rank)

    @property
    def changed(self) -> bool:
        return self.before != self.after


def snapshot(folders: dict[str, Path]) -> dict[str, dict[str, int]]:
    return {user_id: read_entries(folder) for user_id, folder in folders.items()}
