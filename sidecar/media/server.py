"""How a step gets its media-server client, and how client failures become job errors."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

from sidecar.jobs.context import JobContext, JobError
from sidecar.mediaserver import MediaServerClient, MediaServerError, open_client
from sidecar.mediaserver.errors import explain

T = TypeVar("T")


@contextlib.asynccontextmanager
async def media_client(ctx: JobContext) -> AsyncIterator[MediaServerClient]:
    """The worker's shared client when there is one, else a fresh one closed afterwards.

    Any MediaServerError escaping the block becomes a JobError with a message a person can act on.
    """
    async with optional_media_client(ctx, optional=False) as client:
        assert client is not None
        yield client


@contextlib.asynccontextmanager
async def optional_media_client(
    ctx: JobContext, *, optional: bool = True
) -> AsyncIterator[MediaServerClient | None]:
    """`media_client`, or None when no media server is configured (and none was handed in)."""
    shared = ctx.resources.media_server
    try:
        if shared is not None:
            yield shared
            return
        if optional and not ctx.settings.media_server_url:
            yield None
            return
        client = await open_client(ctx.settings)
        try:
            yield client
        finally:
            await client.close()
    except MediaServerError as exc:
        raise JobError(explain(exc)) from None


async def server_call(awaitable: Awaitable[T], doing: str) -> T:
    """Await one media-server call; a failure becomes a JobError naming the call."""
    try:
        return await awaitable
    except MediaServerError as exc:
        raise JobError(explain(exc, doing)) from None
