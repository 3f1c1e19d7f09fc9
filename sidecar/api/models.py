"""Request bodies and query strings of the job API, validated before any handler logic runs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sidecar.jobs.schedules import MAX_TIMEZONE_CHARS
from sidecar.untrusted import INT64_MAX

RunStatus = Literal["queued", "running", "completed", "failed", "cancelled"]


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    variant: str = "regular"


class ScheduleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cron: str = Field(min_length=1, max_length=120)
    enabled: bool = True
    timezone: str = Field("UTC", min_length=1, max_length=MAX_TIMEZONE_CHARS)


class RunsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    job: str | None = None
    status: RunStatus | None = None
    limit: int = Field(50, ge=1, le=500)
    before: int | None = Field(
        None, ge=1, le=INT64_MAX, description="the next_before cursor of the previous page"
    )


class LogsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    after: int = Field(0, ge=0, le=INT64_MAX, description="the next_after cursor of the previous page")
    limit: int = Field(500, ge=1, le=5000)
