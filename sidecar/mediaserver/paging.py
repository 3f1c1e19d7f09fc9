"""Offset paging: checked walks for complete listings (one page at a time), growing pages for
newest-first walks the caller stops early, and a concurrent window (`iter_pages`).

Movie and user-data listings use the checked walk: the servers' orders are not stable under ties
and changes, and a walk must see the listing as one sequence to notice what it missed. Offsets are
tracked here, never read from the response (Emby's QueryResult has no StartIndex).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from sidecar.mediaserver.base import MediaServerError

LISTING_ATTEMPTS = 2  # a listing that changed while paged is walked once more for what it missed
ONE_PAGE_FALLBACK_MAX = 5000  # then read in one request, if it is at most this long
FetchPage = Callable[[int, int], Awaitable[dict[str, Any]]]


class Page(list[dict[str, Any]]):
    """The raw items of one page, plus where it sits in the listing. `complete` is set on the last
    page of a checked walk (`iter_pages_checked`): whether every item the server counted was seen."""

    def __init__(self, items: list[dict[str, Any]], start: int, total: int) -> None:
        super().__init__(items)
        self.start = start
        self.total = total
        self.complete: bool | None = None


class IncompleteListingError(MediaServerError):
    """The server counted more items than its pages returned (the listing changed while paged)."""


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


async def iter_pages_checked(
    fetch: FetchPage, *, page_size: int, attempts: int = LISTING_ATTEMPTS
) -> AsyncIterator[Page]:
    """Every item once: pages read one at a time, repeats (by Id) dropped, and the count checked.

    Offset paging is only as good as the order: the servers break sort ties arbitrarily (Jellyfin
    orders by SortName, then Name, and leaves the rest to the database: jellyfin/jellyfin
    `Jellyfin.Server.Implementations/Item/BaseItemRepository.cs` ApplyOrder), and items added or
    removed during the walk shift later pages. So an item can appear on two pages and another on
    none. Repeats are dropped here; when fewer distinct items were seen than the server counted,
    the listing is walked again (only unseen items are yielded), and then read in one request when
    it is short enough. The last page says whether the walk ended complete; callers must not treat
    what they did not see as gone unless it did.
    """
    seen: set[str] = set()
    expected, start = 0, 0
    attempts = max(1, attempts)
    for attempt in range(attempts + 1):
        size = page_size
        if attempt == attempts:
            # Still short: one request for the whole listing has no page boundaries for ties to
            # cross. Only for listings small enough to answer in one go.
            if expected > ONE_PAGE_FALLBACK_MAX:
                break
            size = max(page_size, expected)
        start = 0
        while True:
            items, total = _items_of(await fetch(start, size))
            expected = max(expected, total)
            fresh = []
            for item in items:
                item_id = str(item.get("Id"))
                if item_id not in seen:
                    seen.add(item_id)
                    fresh.append(item)
            page = Page(fresh, start, total)
            start += len(items)
            if not items or len(items) < size or start >= total:
                break
            yield page
        if len(seen) >= expected:
            page.complete = True
            yield page
            return
        yield page  # partial: its items are new, the walk goes on
    final = Page([], start, expected)
    final.complete = False
    yield final
