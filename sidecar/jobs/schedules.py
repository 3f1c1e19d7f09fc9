"""Cron schedules kept in Postgres, evaluated by the worker's tick.

`last_fired_at` is the due time last enqueued. A tick enqueues a job when the next due time after it
has passed, then moves it to *now*: however many due times were missed while the worker was down,
the job runs once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg
import structlog
from croniter import CroniterBadDateError, croniter

from sidecar.jobs import queries
from sidecar.jobs.registry import JobRegistry

log = structlog.get_logger(__name__)

NEXT_RUNS = 3  # fire times a card and the schedule editor preview
MAX_TIMEZONE_CHARS = 64  # the longest IANA name is 32; more is not a zone
_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


class InvalidSchedule(ValueError):
    """A cron expression or timezone the worker could not evaluate."""


# What evaluating a stored row can raise: a cron that never fires, an unknown or absurd timezone.
SCHEDULE_ERRORS = (CroniterBadDateError, ValueError, KeyError, OSError)


def _zone(timezone: str) -> ZoneInfo:
    """ZoneInfo raises OSError for names longer than a file name and ValueError for odd paths."""
    if len(timezone) > MAX_TIMEZONE_CHARS:
        raise InvalidSchedule(f"unknown timezone: names are at most {MAX_TIMEZONE_CHARS} characters")
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidSchedule(
            f"unknown timezone {timezone!r}: use an IANA name such as 'Europe/Berlin'"
        ) from None


def validate(cron: str, timezone: str, now: dt.datetime | None = None) -> None:
    """A five-field cron that fires within a year, in a known timezone; InvalidSchedule otherwise.

    A cron that never fires (`0 0 31 2 *`) is valid syntax, but nothing could show or plan it."""
    if len(cron.split()) != 5 or not croniter.is_valid(cron):
        raise InvalidSchedule(f"invalid cron expression {cron!r}: use five fields, e.g. '0 3 * * *'")
    local_now = (now or dt.datetime.now(dt.UTC)).astimezone(_zone(timezone))
    try:
        croniter(cron, local_now, max_years_between_matches=1).get_next(dt.datetime)
    except CroniterBadDateError:
        raise InvalidSchedule(
            f"cron expression {cron!r} never fires within a year (e.g. 31 February); pick a date that exists"
        ) from None


def next_due(cron: str, timezone: str, after: dt.datetime) -> dt.datetime:
    """The first due time strictly after `after`, in UTC; cron evaluated in the schedule's timezone."""
    local_after = after.astimezone(ZoneInfo(timezone))
    nxt = croniter(cron, local_after).get_next(dt.datetime)
    return nxt.astimezone(dt.UTC)


def next_fire_times(cron: str, timezone: str, after: dt.datetime, count: int) -> list[dt.datetime]:
    """The next `count` due times after `after`, in UTC (what a schedule editor previews)."""
    it = croniter(cron, after.astimezone(ZoneInfo(timezone)))
    return [it.get_next(dt.datetime).astimezone(dt.UTC) for _ in range(count)]


def describe(cron: str) -> str:
    """A short phrase for common patterns; the expression itself otherwise."""
    fields = cron.split()
    if len(fields) != 5:
        return cron
    minute, hour, dom, month, dow = fields
    if minute.isdigit() and hour.isdigit() and dom == "*" and month == "*":
        at = f"{int(hour):02d}:{int(minute):02d}"
        if dow == "*":
            return f"Daily at {at}"
        if dow.isdigit() and 0 <= int(dow) <= 7:
            return f"Every {_DAYS[int(dow) % 7]} at {at}"
        if dow in ("1-5", "MON-FRI", "mon-fri"):
            return f"Weekdays at {at}"
        if dow in ("0,6", "6,0", "6-7", "SAT,SUN", "sat,sun"):
            return f"Weekends at {at}"
    if minute.isdigit() and hour.isdigit() and dom.isdigit() and month == "*" and dow == "*":
        return f"Monthly on day {int(dom)} at {int(hour):02d}:{int(minute):02d}"
    if minute.isdigit() and all(h.isdigit() for h in hour.split(",")) and dom == month == dow == "*":
        times = [f"{int(h):02d}:{int(minute):02d}" for h in hour.split(",")]
        return f"Daily at {', '.join(times[:-1])} and {times[-1]}"
    if minute.isdigit() and hour.startswith("*/") and dom == month == dow == "*":
        return f"Every {hour[2:]} hours at minute {int(minute)}"
    if minute.isdigit() and hour == "*" and dom == month == dow == "*":
        return f"Hourly at minute {int(minute)}"
    if minute.startswith("*/") and hour == dom == month == dow == "*":
        return f"Every {minute[2:]} minutes"
    return f"cron {cron}"


def schedule_to_api(row: asyncpg.Record | None, now: dt.datetime | None = None) -> dict[str, Any] | None:
    if row is None:
        return None
    from sidecar.jobs.runs import iso

    now = now or dt.datetime.now(dt.UTC)
    try:
        upcoming = next_fire_times(
            row["cron"], row["timezone"], max(now, row["last_fired_at"] or now), NEXT_RUNS
        )
        description = describe(row["cron"])
    except SCHEDULE_ERRORS:
        # A row stored before validation existed (or edited by hand): show it, never fail the card.
        upcoming, description = [], f"cron {row['cron']} never fires: set a new schedule"
    return {
        "cron": row["cron"],
        "enabled": row["enabled"],
        "timezone": row["timezone"],
        "next_run_at": iso(upcoming[0]) if row["enabled"] and upcoming else None,
        "description": description,
        "next_runs": [iso(t) for t in upcoming] if row["enabled"] else [],
    }


async def seed(db: asyncpg.Pool, registry: JobRegistry, timezone: str) -> None:
    """Give registered jobs their default schedule once; forget schedules of jobs that are gone."""
    names = [d.name for d in registry]
    async with db.acquire() as conn, conn.transaction():
        await conn.execute(queries.DELETE_UNKNOWN_SCHEDULES, names)
        for d in registry:
            if d.default_schedule and not d.manual_only:
                await conn.execute(queries.SEED_SCHEDULE, d.name, d.default_schedule, timezone)


async def save(db: asyncpg.Pool, *, job: str, cron: str, enabled: bool, timezone: str) -> None:
    """Set a job's schedule (validated first); it counts from now, so no missed run fires at once."""
    await db.execute(queries.UPSERT_SCHEDULE, job, cron, enabled, timezone)


async def load(db: asyncpg.Pool | asyncpg.Connection) -> dict[str, asyncpg.Record]:
    return {r["job"]: r for r in await db.fetch(queries.LIST_SCHEDULES)}


async def claim_due(db: asyncpg.Pool, registry: JobRegistry, now: dt.datetime) -> list[str]:
    """Jobs whose schedule came due, each claimed once (compare-and-set on last_fired_at)."""
    due = []
    for job, row in (await load(db)).items():
        definition = registry.get(job)
        if definition is None or definition.manual_only or not row["enabled"]:
            continue
        last = row["last_fired_at"] or row["updated_at"]
        try:
            due_at = next_due(row["cron"], row["timezone"], last)
        except SCHEDULE_ERRORS as exc:
            # One bad row must not stop the other schedules (nor the rest of the tick).
            log.warning("schedule cannot be evaluated; skipped", job=job, cron=row["cron"], error=str(exc))
            continue
        if due_at > now:
            continue
        claimed = await db.execute(queries.MARK_SCHEDULE_FIRED, job, now, row["last_fired_at"])
        if claimed.endswith(" 1"):
            due.append(job)
    return due
