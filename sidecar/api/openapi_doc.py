"""The OpenAPI 3.1 document of the job API and the webhook routes, written by hand.

Schemas list every field the API sends today and allow more (`additionalProperties` is open: the
contract says fields are added, never renamed). tests/test_openapi.py validates real responses of
every operation against it, so this document cannot drift from the code unnoticed.
"""

from __future__ import annotations

from typing import Any

import sidecar
from sidecar.api.guard import WEBHOOK_PREFIX
from sidecar.api.inputs import API_PREFIX, STATE_CHANGING

JSON = "application/json"


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _obj(required: dict[str, Any], **optional: Any) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": {**required, **optional}}


STR = {"type": "string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
TIME = {"type": "string", "format": "date-time"}
RUN_STATUS = {"enum": ["queued", "running", "completed", "failed", "cancelled"]}
JOB_STATE = {"enum": ["idle", "queued", "running", "completed", "failed", "cancelled"]}

SCHEMAS: dict[str, Any] = {
    "Error": _obj({"error": _obj({"code": STR, "message": STR})}),
    "Progress": _obj(
        {
            "percent": _nullable({"type": "number", "minimum": 0, "maximum": 100}),
            "current_step": _nullable(STR),
            "items_processed": INT,
            "items_total": _nullable(INT),
            "items_failed": INT,
            "elapsed_ms": _nullable(INT),
        }
    ),
    "Run": _obj(
        {
            "id": {"type": "string", "format": "uuid"},
            "job": STR,
            "variant": STR,
            "trigger": {"enum": ["manual", "schedule", "webhook", "pipeline"]},
            "status": RUN_STATUS,
            "scope": _nullable({"type": "object"}),
            "queued_at": TIME,
            "started_at": _nullable(TIME),
            "finished_at": _nullable(TIME),
            "duration_ms": _nullable(INT),
            "progress": _ref("Progress"),
            "result": _nullable({"type": "object", "description": "job-specific counts"}),
            "error": _nullable({"type": "string", "description": "what failed and what to check"}),
            "cancel_requested": BOOL,
        },
        depends_on=_nullable(STR),
        not_before=_nullable(TIME),
    ),
    "Schedule": _obj(
        {
            "cron": STR,
            "enabled": BOOL,
            "timezone": STR,
            "next_run_at": _nullable(TIME),
            "description": STR,
        },
        next_runs={"type": "array", "items": TIME, "description": "the next three fire times"},
    ),
    "Job": _obj(
        {
            "name": STR,
            "title": STR,
            "category": STR,
            "description": STR,
            "state": JOB_STATE,
            "manual_only": BOOL,
            "variants": {"type": "array", "items": STR, "minItems": 1},
            "prerequisites": {"type": "array", "items": STR},
            "schedule": _nullable(_ref("Schedule")),
            "last_run": _nullable(_ref("Run")),
            "current_run": _nullable(_ref("Run")),
            "queued_runs": INT,
        }
    ),
    "JobList": _obj({"jobs": {"type": "array", "items": _ref("Job")}}),
    "RunPage": _obj({"runs": {"type": "array", "items": _ref("Run")}, "next_before": _nullable(INT)}),
    "RunAccepted": _obj({"run": _ref("Run")}),
    "RunList": _obj({"runs": {"type": "array", "items": _ref("Run")}}),
    "Cancelled": _obj({"cancelled": {"type": "array", "items": STR}}),
    "LogLine": _obj(
        {"id": INT, "ts": TIME, "level": STR, "message": STR, "data": _nullable({"type": "object"})}
    ),
    "LogPage": _obj({"logs": {"type": "array", "items": _ref("LogLine")}, "next_after": INT}),
    "Queue": _obj({"running": _nullable(_ref("Run")), "queued": {"type": "array", "items": _ref("Run")}}),
    "Health": _obj(
        {
            "status": {"enum": ["ok", "degraded"]},
            "database": STR,
            "redis": STR,
            "worker": _obj({"alive": BOOL, "last_seen_at": _nullable(TIME)}),
            "version": STR,
        }
    ),
    "Pipeline": _obj(
        {
            "kind": STR,
            "path": STR,
            "steps": {"type": "array", "items": _obj({"job": STR, "title": STR})},
        }
    ),
    "PipelineList": _obj({"pipelines": {"type": "array", "items": _ref("Pipeline")}}),
    "SchedulePreview": _obj(
        {"cron": STR, "timezone": STR, "description": STR, "next_runs": {"type": "array", "items": TIME}}
    ),
    "Item": _obj({"id": STR, "title": STR, "year": _nullable(INT), "genres": {"type": "array"}}),
    "Pick": _obj(
        {
            "rank": INT,
            "score": {"type": "number"},
            "breakdown": {"type": "object", "additionalProperties": {"type": "number"}},
            "evidence": {"type": "array"},
            "explanation": _nullable(STR),
            "generated_at": TIME,
        },
        movie=_ref("Item"),
        series=_ref("Item"),
    ),
    "Recommendations": _obj(
        {
            "user_id": STR,
            "generated_at": _nullable(TIME),
            "recommendations": {"type": "array", "items": _ref("Pick")},
        },
        user_name=_nullable(STR),
        library=_obj(
            {"written": BOOL, "entries": INT, "registered": BOOL, "last_synced_at": _nullable(TIME)}
        ),
    ),
    "WebhookAnswer": {
        "oneOf": [
            _obj(
                {
                    "accepted": {"const": True},
                    "event_id": STR,
                    "planned": {
                        "type": "array",
                        "items": _obj({"job": STR, "run_id": STR, "not_before": _nullable(TIME)}),
                    },
                }
            ),
            _obj({"accepted": {"const": False}, "ignored": STR}),
        ]
    },
    "UserKind": _obj(
        {
            "enabled": BOOL,
            "plays": INT,
            "picks": INT,
            "library": _obj(
                {"status": {"enum": ["ok", "pending", "none"]}},
                name=_nullable(STR),
                entries=_nullable(INT),
                last_synced_at=_nullable(TIME),
            ),
        }
    ),
    "User": _obj(
        {
            "id": STR,
            "name": STR,
            "is_admin": BOOL,
            "is_disabled": BOOL,
            "removed_at": _nullable(TIME),
            "last_activity_at": _nullable(TIME),
            "first_seen_at": TIME,
            "active": BOOL,
            "movies_enabled": BOOL,
            "series_enabled": BOOL,
            "kinds": {"type": "object", "additionalProperties": _ref("UserKind")},
        }
    ),
    "UserPage": _obj(
        {"users": {"type": "array", "items": _ref("User")}, "total": INT, "next_offset": _nullable(INT)}
    ),
    "UserPatched": _obj({"user": _ref("User"), "queued": {"type": "array", "items": _ref("Run")}}),
    "UserSwitches": {
        "type": "object",
        "properties": {"movies_enabled": BOOL, "series_enabled": BOOL},
        "minProperties": 1,
        "additionalProperties": False,
    },
    "BackupList": _obj(
        {
            "directory": STR,
            "backups": {
                "type": "array",
                "items": _obj(
                    {
                        "name": STR,
                        "size_bytes": INT,
                        "created_at": TIME,
                        "verified": _nullable(BOOL),
                        "verify_error": _nullable(STR),
                    }
                ),
            },
        }
    ),
    "TraktLink": _obj(
        {
            "state": {"enum": ["unlinked", "pending", "linked", "expired", "denied", "invalid"]},
            "configured": BOOL,
            "missing_setting": _nullable(STR),
        },
        user_code=_nullable(STR),
        verification_url=STR,
        expires_at=TIME,
        interval=INT,
        next_poll_at=TIME,
        linked_at=TIME,
        last_synced_at=_nullable(TIME),
        last_error=_nullable(STR),
        plays=INT,
        plays_matched=INT,
        ratings=INT,
        ratings_matched=INT,
    ),
    "Suggestion": _obj(
        {
            "rank": INT,
            "kind": STR,
            "tmdb_id": INT,
            "title": STR,
            "year": _nullable(INT),
            "overview": _nullable(STR),
            "genres": {"type": "array", "items": STR},
            "score": {"type": "number"},
            "breakdown": {"type": "object", "additionalProperties": {"type": "number"}},
            "seeds": {
                "type": "array",
                "items": _obj(
                    {"item_id": STR, "title": STR, "tmdb_id": INT, "why": STR, "lists": {"type": "array"}},
                    similarity={"type": "number"},
                ),
            },
            "reason": STR,
            "generated_at": TIME,
            "request": _nullable(_obj({"status": {"enum": ["requested", "failed"]}, "requested_at": TIME})),
        },
        original_title=_nullable(STR),
        certification=_nullable(STR),
        popularity=_nullable({"type": "number"}),
        vote_average=_nullable({"type": "number"}),
        vote_count=_nullable(INT),
        poster_url=_nullable(STR),
        tmdb_url=STR,
    ),
    "Discover": _obj(
        {
            "user_id": STR,
            "user_name": STR,
            "kinds": {"type": "array", "items": STR},
            "generated_at": _nullable(TIME),
            "requests_enabled": BOOL,
            "suggestions": {"type": "array", "items": _ref("Suggestion")},
        }
    ),
    "DiscoverRequest": _obj(
        {
            "request": _obj(
                {
                    "id": INT,
                    "user_id": STR,
                    "kind": STR,
                    "tmdb_id": INT,
                    "status": {"enum": ["requested", "failed"]},
                    "requested_at": TIME,
                },
                title=_nullable(STR),
                seasons=_nullable({"type": "array", "items": INT}),
                service_request_id=_nullable(INT),
                service_status=_nullable(INT),
                error=_nullable(STR),
            ),
            "already_requested_on_service": BOOL,
        }
    ),
    "RunRequest": {"type": "object", "properties": {"variant": STR}, "additionalProperties": False},
    "ScheduleRequest": {
        "type": "object",
        "required": ["cron"],
        "properties": {"cron": STR, "enabled": BOOL, "timezone": STR},
        "additionalProperties": False,
    },
}


def _answer(status: str, schema: str, what: str) -> dict[str, Any]:
    return {status: {"description": what, "content": {JSON: {"schema": _ref(schema)}}}}


def _errors(*statuses: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status in statuses:
        out.update(_answer(str(status), "Error", "see error.message"))
    return out


def _op(summary: str, ok: dict[str, Any], *errors: int, **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "responses": {**ok, **_errors(401, *errors)}, **extra}


def _param(name: str, where: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema}


def _body(schema: str, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {JSON: {"schema": _ref(schema)}}}


JOB = _param("name", "path", STR)
RUN = _param("run_id", "path", {"type": "string", "format": "uuid"})
PAGING = [
    _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 500}),
    _param("before", "query", INT),
]
WEBHOOK = {
    "summary": "a media server's webhook delivery",
    "security": [{"webhookToken": []}, {"webhookTokenQuery": []}],
    "responses": {
        **_answer("202", "WebhookAnswer", "stored (and planned, or ignored with the reason)"),
        **_errors(400, 401, 403, 413, 503),
    },
}

PATHS: dict[str, Any] = {
    "/api/health": {
        "get": {
            "summary": "database, redis and worker liveness",
            "security": [],
            "responses": {**_answer("200", "Health", "all up"), **_answer("503", "Health", "a part is down")},
        }
    },
    "/api/jobs": {"get": _op("every job card, in pipeline order", _answer("200", "JobList", "the cards"))},
    "/api/jobs/{name}": {
        "parameters": [JOB],
        "get": _op("one job card", _answer("200", "Job", "the card"), 404),
    },
    "/api/jobs/{name}/runs": {
        "parameters": [JOB],
        "get": _op(
            "the job's runs, newest first", _answer("200", "RunPage", "a page"), 404, 422, parameters=PAGING
        ),
        "post": _op(
            "run now (queues if busy)",
            {
                **_answer("202", "RunAccepted", "queued"),
                **_answer("200", "RunAccepted", "joined the run already queued"),
            },
            400,
            404,
            422,
            requestBody=_body("RunRequest", required=False),
        ),
    },
    "/api/jobs/{name}/cancel": {
        "parameters": [JOB],
        "post": _op("cancel the job's running and queued runs", _answer("202", "Cancelled", "ids"), 404, 409),
    },
    "/api/jobs/{name}/schedule": {
        "parameters": [JOB],
        "put": _op(
            "set the schedule",
            _answer("200", "Job", "the card"),
            400,
            404,
            409,
            422,
            requestBody=_body("ScheduleRequest"),
        ),
    },
    "/api/runs": {
        "get": _op(
            "all runs, newest first",
            _answer("200", "RunPage", "a page"),
            422,
            parameters=[_param("job", "query", STR), _param("status", "query", RUN_STATUS), *PAGING],
        ),
    },
    "/api/runs/{run_id}": {
        "parameters": [RUN],
        "get": _op("one run", _answer("200", "Run", "the run"), 400, 404),
    },
    "/api/runs/{run_id}/cancel": {
        "parameters": [RUN],
        "post": _op("cancel one run", _answer("202", "Run", "cancelled or flagged"), 400, 404, 409),
    },
    "/api/runs/{run_id}/logs": {
        "parameters": [RUN],
        "get": _op(
            "the run's log lines, oldest first",
            _answer("200", "LogPage", "a page"),
            400,
            404,
            422,
            parameters=[_param("after", "query", INT), _param("limit", "query", INT)],
        ),
    },
    "/api/queue": {"get": _op("what runs now and what waits", _answer("200", "Queue", "the queue"))},
    "/api/pipelines": {
        "get": _op("the pipelines this build runs", _answer("200", "PipelineList", "by kind"))
    },
    "/api/pipelines/{kind}": {
        "parameters": [_param("kind", "path", STR)],
        "post": _op(
            "queue a kind's pipeline (movies, ...): each step only after the previous one completed",
            {**_answer("202", "RunList", "the steps' runs"), **_answer("200", "RunList", "already queued")},
            404,
            409,
        ),
    },
    "/api/schedules/preview": {
        "get": _op(
            "what a cron expression means, and its next three fire times",
            _answer("200", "SchedulePreview", "the reading"),
            422,
            parameters=[_param("cron", "query", STR, True), _param("timezone", "query", STR)],
        ),
    },
    "/api/users": {
        "get": _op(
            "the media server's users by name, with per-kind plays, picks and library",
            _answer("200", "UserPage", "a page"),
            422,
            parameters=[
                _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 500}),
                _param("offset", "query", {"type": "integer", "minimum": 0}),
                _param("q", "query", STR),
                _param("status", "query", {"enum": ["active", "disabled", "removed"]}),
            ],
        ),
    },
    "/api/users/{user_id}": {
        "parameters": [_param("user_id", "path", STR)],
        "get": _op("one user", _answer("200", "User", "the user"), 400, 404),
        "patch": _op(
            "switch a kind's picks on or off for the user (apply=true queues their library runs)",
            _answer("200", "UserPatched", "the user, and the runs queued"),
            400,
            404,
            422,
            parameters=[_param("apply", "query", BOOL)],
            requestBody=_body("UserSwitches"),
        ),
    },
    "/api/backups": {
        "get": _op("the database backups on disk, newest first", _answer("200", "BackupList", "the backups")),
    },
    "/api/users/{user_id}/recommendations": {
        "parameters": [_param("user_id", "path", STR)],
        "get": _op("a user's current picks, with why", _answer("200", "Recommendations", "the picks"), 404),
    },
    "/api/users/{user_id}/recommendations/{kind}": {
        "parameters": [_param("user_id", "path", STR), _param("kind", "path", STR)],
        "get": _op("a user's current picks of one kind", _answer("200", "Recommendations", "the picks"), 404),
    },
    "/api/users/{user_id}/trakt": {
        "parameters": [_param("user_id", "path", STR)],
        "get": _op(
            "the user's Trakt link (never a token)", _answer("200", "TraktLink", "the link"), 400, 404
        ),
        "delete": _op(
            "unlink: the tokens, a pending code and the rows imported from Trakt are deleted",
            _answer("200", "TraktLink", "unlinked"),
            400,
            404,
        ),
    },
    "/api/users/{user_id}/trakt/link": {
        "parameters": [_param("user_id", "path", STR)],
        "post": _op(
            "start the device-code link: the user enters `user_code` at `verification_url`",
            _answer("201", "TraktLink", "pending, with the code"),
            400,
            404,
            409,
            502,
            503,
        ),
    },
    "/api/users/{user_id}/trakt/poll": {
        "parameters": [_param("user_id", "path", STR)],
        "post": _op(
            "ask Trakt whether the code was entered (at most every `interval` seconds; more after a slow-down)",
            _answer("200", "TraktLink", "the link after the poll"),
            400,
            404,
            409,
            502,
            503,
        ),
    },
    "/api/users/{user_id}/discover": {
        "parameters": [_param("user_id", "path", STR)],
        "get": _op(
            "a user's discovery suggestions: titles not on the server, best first per kind, with the reason",
            _answer("200", "Discover", "the suggestions"),
            400,
            404,
            422,
            parameters=[_param("kind", "query", STR)],
        ),
    },
    "/api/users/{user_id}/discover/{kind}/{tmdb_id}/request": {
        "parameters": [
            _param("user_id", "path", STR),
            _param("kind", "path", STR),
            _param("tmdb_id", "path", {"type": "integer", "minimum": 1}),
        ],
        "post": _op(
            "request one of the user's suggestions from Jellyseerr/Overseerr (SIDECAR_SEERR_URL and "
            "SIDECAR_SEERR_API_KEY); approved at once for the service's admin key, so only on an admin's call",
            {
                **_answer("201", "DiscoverRequest", "requested"),
                **_answer("200", "DiscoverRequest", "the service had it requested already"),
            },
            400,
            404,
            409,
            502,
            503,
        ),
    },
    "/api/items/{item_id}/poster": {
        "parameters": [_param("item_id", "path", STR)],
        "get": _op(
            "the item's poster, from the media server through the sidecar",
            {"200": {"description": "the image", "content": {"image/*": {}}}},
            400,
            404,
            503,
        ),
    },
    "/metrics": {
        "get": _op(
            "Prometheus text format", {"200": {"description": "metrics", "content": {"text/plain": {}}}}
        ),
    },
    "/api/openapi.json": {
        "get": _op("this document", {"200": {"description": "OpenAPI 3.1", "content": {JSON: {}}}}),
    },
    "/webhooks/jellyfin": {"post": WEBHOOK},
    "/webhooks/emby": {"post": WEBHOOK},
}


def _with_guard_answers(paths: dict[str, Any]) -> dict[str, Any]:
    """Every operation with the answers of the middlewares in front of all handlers: the stranger
    guard's 403 (a host not allowed without an API key, a state change from another origin) and,
    for a state change under /api/, the body check's 415 (a body not declared JSON). Added here once
    so no operation can forget them."""
    out: dict[str, Any] = {}
    for path, item in paths.items():
        out[path] = dict(item)
        for method, op in item.items():
            if method == "parameters" or path.startswith(WEBHOOK_PREFIX):
                continue
            statuses = [403]
            if method.upper() in STATE_CHANGING and path.startswith(API_PREFIX):
                statuses.append(415)
            out[path][method] = {**op, "responses": {**op["responses"], **_errors(*statuses)}}
    return out


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "AI Picks sidecar: job API and webhooks",
            "version": sidecar.__version__,
            "description": "Field names are a contract: added, never renamed. Times are UTC ISO-8601.",
        },
        "security": [{"bearer": []}, {"apiKey": []}],
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "SIDECAR_API_KEY"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
                "webhookToken": {"type": "apiKey", "in": "header", "name": "X-Webhook-Token"},
                "webhookTokenQuery": {"type": "apiKey", "in": "query", "name": "token"},
            },
        },
        "paths": _with_guard_answers(PATHS),
    }
