"""Offset paging with a bounded number of requests in flight, pages yielded in order.

The first page tells the total; the rest are fetched by a sliding window of `concurrency` tasks, so
memory stays at a few pages however large the library is. Offsets are tracked here, never read from
the response (Emby's QueryResult has no StartIndex).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from sidecar.mediaserver.base import MediaServerError

FetchPage = Callable[[int, int], Awaitable[dict[str, Any]]]


class Page(list[dict[str, Any]]):
    """The raw items of one page, plus where it sits in the listing."""

    def __init__(self, items: list[dict[str, Any]], start: int, total: int) -> None:
        super().__init__(items)
        self.start = start
        self.total = total


def _items_of(result: Any) -> tuple[list[dict[str, Any]], int]:
    if not isinstance(result, dict) or not isinstance(result.get("Items"), list):
        raise MediaServerError("the media server answered a listing without an Items list")
    items = [i for i in result["Items"] if isinstance(i, dict)]
    total = result.get("TotalRecordCount")
    return items, total if isinstance(total, int) else len(items)


async def iter_pages(fetch: FetchPage, *, page_size: int, concurrency: int) -> AsyncIterator[Page]:
    """Every page of a listing; an exception from any page ends the iteration with that exception."""
    first_items, total = _items_of(await fetch(0, page_size))
    yield Page(first_items, 0, total)
    if len(first_items) < page_size and total <= len(first_items):
        return
    starts = iter(range(page_size, total, page_size))
    window: deque[tuple[int, asyncio.Task[Any]]] = deque()

    def fill() -> None:
        while len(window) < concurrency:
            start = next(starts, None)
            if start is None:
                return
            window.append((start, asyncio.ensure_future(fetch(start, page_size))))

    fill()
    try:
        while window:
            start, task = window.popleft()
            items, _ = _items_of(await task)
            fill()
            yield Page(items, start, total)
    finally:
        for _, task in window:
            task.cancel()
        for _, task in window:
            with contextlib.suppress(BaseException):
                await task


async def iter_pages_sequential(
    fetch: FetchPage, *, page_size: int, first_page_size: int | None = None
) -> AsyncIterator[Page]:
    """One page at a time, for listings the caller may stop early (newest-first history).

    Starts with `first_page_size` and grows 4x per page up to `page_size`: an incremental walk
    usually stops within the first few items, a long one soon reaches full pages.
    """
    start = 0
    size = min(first_page_size or page_size, page_size)
    while True:
        items, total = _items_of(await fetch(start, size))
        yield Page(items, start, total)
        start += len(items)
        if not items or len(items) < size or start >= total:
            return
        size = min(page_size, size * 4)
