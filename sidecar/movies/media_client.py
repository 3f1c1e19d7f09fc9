"""How a job gets its media-server client, and how client failures become job errors."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sidecar.jobs.context import JobContext, JobError
from sidecar.mediaserver import MediaServerAuthError, MediaServerClient, MediaServerError, open_client


@contextlib.asynccontextmanager
async def media_client(ctx: JobContext) -> AsyncIterator[MediaServerClient]:
    """The worker's shared client when there is one, else a fresh one closed afterwards.

    Any MediaServerError escaping the block becomes a JobError with a message a person can act on.
    """
    shared = ctx.resources.media_server
    try:
        if shared is not None:
            yield shared
            return
        client = await open_client(ctx.settings)
        try:
            yield client
        finally:
            await client.close()
    except MediaServerAuthError as exc:
        raise JobError(str(exc)) from None
    except MediaServerError as exc:
        raise JobError(f"talking to the media server failed: {exc}") from None
