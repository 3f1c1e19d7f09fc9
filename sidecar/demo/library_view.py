"""What is in a user's library folder, and what changed between two looks at it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

_RANKED_ENTRY = re.compile(r"^(?P<rank>\d+) - (?P<title>.+)$")
_RANKED_SORT_TITLE = re.compile(r"^(?P<rank>\d+) ")


def _nfo_rank(entry: Path) -> int | None:
    """The rank an entry's NFO carries in its sort title (`07 Title`), as the server reads it."""
    for nfo in entry.glob("*.nfo"):
        match = _RANKED_SORT_TITLE.match(ET.parse(nfo).getroot().findtext("sorttitle") or "")
        if match:
            return int(match.group("rank"))
    return None


def read_entries(folder: Path) -> dict[str, int]:
    """`Title (Year)` -> rank for every entry folder (empty if there is no folder): the rank from a
    `NN - Title (Year)` folder name (ranked layout) or from the entry's NFO (the default layout)."""
    if not folder.is_dir():
        return {}
    entries = {}
    for child in folder.iterdir():
        if not child.is_dir() or child.name.startswith("."):
            continue
        match = _RANKED_ENTRY.match(child.name)
        if match:
            entries[match.group("title")] = int(match.group("rank"))
        elif (rank := _nfo_rank(child)) is not None:
            entries[child.name] = rank
    return entries


@dataclass(frozen=True)
class ShowOnDisk:
    rank: int
    seasons: int  # `Season NN` folders
    episodes: int  # episode entries (the video link or .strm; each has an NFO beside it)


def read_shows(folder: Path) -> dict[str, ShowOnDisk]:
    """`Title (Year)` -> what a series library's show folder holds (empty if there is no folder)."""
    shows = {}
    for name, rank in read_entries(folder).items():
        seasons = [p for p in (folder / name).iterdir() if p.is_dir() and p.name.startswith("Season ")]
        episodes = sum(1 for season in seasons for p in season.iterdir() if p.suffix != ".nfo")
        shows[name] = ShowOnDisk(rank, len(seasons), episodes)
    return shows


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
