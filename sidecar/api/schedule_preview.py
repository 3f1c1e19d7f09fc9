"""GET /api/schedules/preview?cron=&timezone=: what a schedule would mean, before it is saved.

The schedule editor shows the human reading and the next fire times while the admin types; the
server computes them with the same croniter code the worker fires by, so the preview cannot lie.
"""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sidecar.api.errors import ApiError, validation_message
from sidecar.jobs import schedules
from sidecar.jobs.runs import iso


class PreviewQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    cron: str = Field(min_length=1, max_length=120)
    timezone: str = "UTC"


async def preview(request: web.Request) -> web.Response:
    try:
        q = PreviewQuery.model_validate(dict(request.query))
    except ValidationError as exc:
        raise ApiError(422, "invalid_parameter", validation_message(exc)) from None
    try:
        schedules.validate(q.cron, q.timezone)
    except schedules.InvalidSchedule as exc:
        raise ApiError(422, "invalid_schedule", str(exc)) from None
    upcoming = schedules.next_fire_times(q.cron, q.timezone, dt.datetime.now(dt.UTC), schedules.NEXT_RUNS)
    return web.json_response(
        {
            "cron": q.cron,
            "timezone": q.timezone,
            "description": schedules.describe(q.cron),
            "next_runs": [iso(t) for t in upcoming],
        }
    )


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/api/schedules/preview", preview)
