"""Handlers of the job API: thin; the logic (and the SQL) lives in sidecar.jobs."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from sidecar.api.errors import ApiError, validation_message
from sidecar.api.inputs import request_json
from sidecar.api.keys import DB, QUEUE, REGISTRY
from sidecar.api.models import LogsQuery, RunRequest, RunsQuery, ScheduleRequest
from sidecar.jobs import runs, schedules
from sidecar.jobs.cards import job_cards
from sidecar.jobs.pipelines import PipelineConflict, queue_pipeline
from sidecar.jobs.registry import JobDefinition
from sidecar.jobs.runs import run_to_api

Model = TypeVar("Model", bound=BaseModel)


def _definition(request: web.Request) -> JobDefinition:
    name = request.match_info["name"]
    definition = request.app[REGISTRY].get(name)
    if definition is None:
        raise ApiError(404, "unknown_job", f"there is no job named {name!r}; GET /api/jobs lists them")
    return definition


def _run_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["run_id"])
    except ValueError:
        raise ApiError(400, "invalid_run_id", "a run id is a UUID, as returned in run.id") from None


async def _body(request: web.Request, model: type[Model], *, optional: bool = False) -> Model:
    """The body, parsed within bounds (sidecar.api.inputs), validated by `model`."""
    data = await request_json(request)
    if data is None:
        if optional:
            return model()
        raise ApiError(400, "missing_body", "this endpoint needs a JSON body")
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid_body", validation_message(exc)) from None


def _query(request: web.Request, model: type[Model]) -> Model:
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise ApiError(422, "invalid_parameter", validation_message(exc)) from None


async def list_jobs(request: web.Request) -> web.Response:
    return web.json_response({"jobs": await job_cards(request.app[DB], request.app[REGISTRY])})


async def get_job(request: web.Request) -> web.Response:
    d = _definition(request)
    (card,) = await job_cards(request.app[DB], request.app[REGISTRY], [d.name])
    return web.json_response(card)


async def start_run(request: web.Request) -> web.Response:
    d = _definition(request)
    body = await _body(request, RunRequest, optional=True)
    if body.variant not in d.variants:
        raise ApiError(
            422, "unknown_variant", f"{d.name} has the variants {', '.join(d.variants)}, not {body.variant!r}"
        )
    row, created = await request.app[QUEUE].submit(d.name, variant=body.variant, trigger="manual")
    return web.json_response({"run": run_to_api(row)}, status=202 if created else 200)


async def cancel_job(request: web.Request) -> web.Response:
    d = _definition(request)
    db = request.app[DB]
    cancelled = []
    for row in await runs.active_runs(db, job=d.name):
        if await runs.cancel_run(db, row["id"]) is not None:
            cancelled.append(str(row["id"]))
    if not cancelled:
        raise ApiError(409, "nothing_to_cancel", f"{d.name} has no running or queued run")
    return web.json_response({"cancelled": cancelled}, status=202)


async def _run_page(request: web.Request, job: str | None) -> web.Response:
    q = _query(request, RunsQuery)
    rows = await runs.list_runs(
        request.app[DB], job=job or q.job, status=q.status, before=q.before, limit=q.limit + 1
    )
    page = rows[: q.limit]
    next_before = page[-1]["seq"] if len(rows) > q.limit else None
    return web.json_response({"runs": [run_to_api(r) for r in page], "next_before": next_before})


async def job_runs(request: web.Request) -> web.Response:
    return await _run_page(request, _definition(request).name)


async def list_runs(request: web.Request) -> web.Response:
    return await _run_page(request, None)


async def put_schedule(request: web.Request) -> web.Response:
    d = _definition(request)
    body = await _body(request, ScheduleRequest)
    if d.manual_only:
        raise ApiError(409, "manual_only", f"{d.name} is manual-only and cannot be scheduled")
    try:
        schedules.validate(body.cron, body.timezone)
    except schedules.InvalidSchedule as exc:
        raise ApiError(422, "invalid_schedule", str(exc)) from None
    db = request.app[DB]
    await schedules.save(db, job=d.name, cron=body.cron, enabled=body.enabled, timezone=body.timezone)
    (card,) = await job_cards(db, request.app[REGISTRY], [d.name])
    return web.json_response(card)


async def get_run(request: web.Request) -> web.Response:
    row = await runs.get_run(request.app[DB], _run_id(request))
    if row is None:
        raise ApiError(404, "unknown_run", "no run has this id")
    return web.json_response(run_to_api(row))


async def cancel_one_run(request: web.Request) -> web.Response:
    run_id = _run_id(request)
    db = request.app[DB]
    row = await runs.cancel_run(db, run_id)
    if row is None:
        existing = await runs.get_run(db, run_id)
        if existing is None:
            raise ApiError(404, "unknown_run", "no run has this id")
        raise ApiError(409, "already_finished", f"this run already ended {existing['status']}")
    return web.json_response(run_to_api(row), status=202)


async def run_logs(request: web.Request) -> web.Response:
    run_id = _run_id(request)
    q = _query(request, LogsQuery)
    db = request.app[DB]
    if await runs.get_run(db, run_id) is None:
        raise ApiError(404, "unknown_run", "no run has this id")
    rows = await runs.list_logs(db, run_id, after=q.after, limit=q.limit)
    logs: list[dict[str, Any]] = [
        {
            "id": r["id"],
            "ts": runs.iso(r["ts"]),
            "level": r["level"],
            "message": r["message"],
            "data": r["data"],
        }
        for r in rows
    ]
    next_after = logs[-1]["id"] if logs else q.after
    return web.json_response({"logs": logs, "next_after": next_after})


async def queue_view(request: web.Request) -> web.Response:
    rows = await runs.queue_rows(request.app[DB])
    running = [run_to_api(r) for r in rows if r["status"] == "running"]
    queued = [run_to_api(r) for r in rows if r["status"] == "queued"]
    return web.json_response({"running": running[0] if running else None, "queued": queued})


async def start_pipeline(request: web.Request) -> web.Response:
    name = request.match_info["kind"]
    steps = request.app[REGISTRY].pipeline(name)
    if steps is None:
        known = ", ".join(request.app[REGISTRY].pipelines)
        raise ApiError(
            404, "unknown_pipeline", f"there is no pipeline named {name!r}; the pipelines are {known}"
        )
    try:
        chain, created = await queue_pipeline(request.app[QUEUE], steps)
    except PipelineConflict as exc:
        raise ApiError(409, "pipeline_conflict", str(exc)) from None
    return web.json_response({"runs": [run_to_api(r) for r in chain]}, status=202 if created else 200)


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/api/jobs", list_jobs)
    app.router.add_get("/api/jobs/{name}", get_job)
    app.router.add_post("/api/jobs/{name}/runs", start_run)
    app.router.add_get("/api/jobs/{name}/runs", job_runs)
    app.router.add_post("/api/jobs/{name}/cancel", cancel_job)
    app.router.add_put("/api/jobs/{name}/schedule", put_schedule)
    app.router.add_get("/api/runs", list_runs)
    app.router.add_get("/api/runs/{run_id}", get_run)
    app.router.add_post("/api/runs/{run_id}/cancel", cancel_one_run)
    app.router.add_get("/api/runs/{run_id}/logs", run_logs)
    app.router.add_get("/api/queue", queue_view)
    app.router.add_post("/api/pipelines/{kind}", start_pipeline)
