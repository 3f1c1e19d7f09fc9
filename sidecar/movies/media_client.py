"""How a job gets its media-server client, and how client failures become job errors."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sidecar.jobs.context import JobContext, JobError
from sidecar.mediaserver import MediaServerAuthError, MediaServerClient, MediaServerError, open_client

# ctx.resources keys: a long-lived client the worker owns, or just a shared aiohttp session.
CLIENT_RESOURCE = "media_server"
SESSION_RESOURCE = "http_session"


@contextlib.asynccontextmanager
async def media_client(ctx: JobContext) -> AsyncIterator[MediaServerClient]:
    """The worker's shared client when there is one, else a fresh one closed afterwards.

    Any MediaServerError escaping the block becomes a JobError with a message a person can act on.
    """
    shared = ctx.resources.get(CLIENT_RESOURCE)
    try:
        if shared is not None:
            yield shared
            return
        client = await open_client(ctx.settings, ctx.resources.get(SESSION_RESOURCE))
        try:
            yield client
        finally:
            await client.close()
    except MediaServerAuthError as exc:
        raise JobError(str(exc)) from None
    except MediaServerError as exc:
        raise JobError(f"talking to the media server failed: {exc}") from None
