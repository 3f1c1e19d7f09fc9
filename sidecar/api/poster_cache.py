"""A bounded in-memory cache of poster bytes: least recently used out once over the byte budget."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Poster:
    body: bytes
    content_type: str


@dataclass
class PosterCache:
    max_bytes: int
    _entries: OrderedDict[str, Poster] = field(default_factory=OrderedDict)
    _size: int = 0

    def get(self, key: str) -> Poster | None:
        poster = self._entries.get(key)
        if poster is not None:
            self._entries.move_to_end(key)
        return poster

    def put(self, key: str, poster: Poster) -> None:
        if len(poster.body) > self.max_bytes:
            return  # never evict everything for one oversized image
        old = self._entries.pop(key, None)
        if old is not None:
            self._size -= len(old.body)
        self._entries[key] = poster
        self._size += len(poster.body)
        while self._size > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._size -= len(evicted.body)

    @property
    def size_bytes(self) -> int:
        return self._size

    def __len__(self) -> int:
        return len(self._entries)
