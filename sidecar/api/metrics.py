"""GET /metrics: the job system in the Prometheus text format, read from Postgres at scrape time.

A fresh registry per scrape (not process-global counters): the web app may run several processes
and restarts, while the numbers live in the database, so every scrape reports the same truth.
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from sidecar.api import queries as q
from sidecar.api.keys import DB, REGISTRY
from sidecar.jobs.cards import job_cards
from sidecar.jobs.runs import FINISHED

JOB_STATES = ("idle", "queued", "running", *FINISHED)
RUN_STATUSES = ("queued", "running", *FINISHED)


class _Snapshot:
    """A collector over metric families already read (prometheus_client collectors are synchronous)."""

    def __init__(self, families: list[GaugeMetricFamily | CounterMetricFamily]) -> None:
        self.families = families

    def collect(self) -> list[GaugeMetricFamily | CounterMetricFamily]:
        return self.families


async def _families(request: web.Request) -> list[GaugeMetricFamily | CounterMetricFamily]:
    db = request.app[DB]
    cards = await job_cards(db, request.app[REGISTRY])
    state = GaugeMetricFamily("sidecar_job_state", "1 for the job's current state", labels=["job", "state"])
    duration = GaugeMetricFamily(
        "sidecar_job_last_duration_seconds", "duration of the job's last finished run", labels=["job"]
    )
    success = GaugeMetricFamily(
        "sidecar_job_last_success_timestamp_seconds",
        "when the job last completed (Unix time)",
        labels=["job"],
    )
    runs = CounterMetricFamily("sidecar_job_runs", "runs of the job by status", labels=["job", "status"])
    by_status = {(r["job"], r["status"]): r["runs"] for r in await db.fetch(q.RUNS_BY_STATUS)}
    last_success = {r["job"]: r["finished_at"] for r in await db.fetch(q.LAST_SUCCESS)}
    for card in cards:
        name = card["name"]
        for s in JOB_STATES:
            state.add_metric([name, s], 1.0 if card["state"] == s else 0.0)
        last = card["last_run"]
        if last and last["duration_ms"] is not None:
            duration.add_metric([name], last["duration_ms"] / 1000)
        if last_success.get(name) is not None:
            success.add_metric([name], last_success[name].timestamp())
        for s in RUN_STATUSES:
            runs.add_metric([name, s], float(by_status.get((name, s), 0)))
    queue = GaugeMetricFamily("sidecar_queue_length", "runs waiting in the queue")
    queue.add_metric([], float(await db.fetchval(q.QUEUE_LENGTH)))
    webhooks = CounterMetricFamily(
        "sidecar_webhook_events", "stored webhook deliveries by outcome", labels=["server", "outcome"]
    )
    for r in await db.fetch(q.WEBHOOK_EVENTS_BY_OUTCOME):
        webhooks.add_metric([r["server_kind"], r["outcome"]], float(r["events"]))
    return [state, duration, success, runs, queue, webhooks]


async def metrics(request: web.Request) -> web.Response:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(await _families(request)))  # type: ignore[arg-type]
    body = generate_latest(registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)
