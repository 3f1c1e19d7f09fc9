"""Follow runs through the sidecar's own API until they end, showing them as they go."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

from sidecar.api_client import ApiClient
from sidecar.progress import FINISHED, RunsDisplay


class DemoTimeout(RuntimeError):
    """Something the demo waits for did not happen in time (or can no longer happen)."""


def _follow_up_ids(run: dict[str, Any]) -> list[str]:
    entries = (run.get("result") or {}).get("follow_ups") or []
    return [str(e["run_id"]) for e in entries if isinstance(e, dict) and e.get("run_id")]


async def _get_run(api: ApiClient, run_id: str) -> dict[str, Any]:
    status, body = await api.call("GET", f"/api/runs/{run_id}")
    if status != 200:
        raise RuntimeError(f"GET /api/runs/{run_id} answered {status}: {body}")
    return body


async def follow_runs(
    api: ApiClient,
    run_ids: Iterable[str],
    display: RunsDisplay,
    *,
    with_follow_ups: bool = False,
    poll_seconds: float = 0.5,
    timeout_seconds: float | None = None,
    worker_stopped: asyncio.Event | None = None,
) -> list[dict[str, Any]]:
    """Poll until every run has finished; with `with_follow_ups`, the runs a completed run queued as
    its next incremental step (result.follow_ups) are followed too. Returns the runs in order."""
    order = list(dict.fromkeys(run_ids))
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    while True:
        current: list[dict[str, Any]] = []
        for run_id in order:  # grows while it is walked: a follow-up's own follow-ups come along
            run = await _get_run(api, run_id)
            current.append(run)
            if with_follow_ups:
                order.extend(f for f in _follow_up_ids(run) if f not in order)
        display.update(current)
        if all(run["status"] in FINISHED for run in current):
            return current
        if worker_stopped is not None and worker_stopped.is_set():
            raise DemoTimeout("the worker stopped, so these runs will not finish; the log above says why")
        if deadline is not None and time.monotonic() > deadline:
            waiting = ", ".join(f"{r['job']} ({r['status']})" for r in current if r["status"] not in FINISHED)
            raise DemoTimeout(f"still waiting for {waiting} after {timeout_seconds:g} s; see the Jobs page")
        await asyncio.sleep(poll_seconds)


async def wait_until_idle(
    api: ApiClient, *, timeout_seconds: float, poll_seconds: float = 0.5, quiet_polls: int = 4
) -> None:
    """Until nothing is running or queued for `quiet_polls` polls in a row: a chain can have echoes
    (marking an original played comes back as a webhook and queues one more small run), and the
    demo must not stop the worker in the middle of one."""
    deadline = time.monotonic() + timeout_seconds
    quiet = 0
    while quiet < quiet_polls:
        status, body = await api.call("GET", "/api/queue")
        if status != 200:
            raise RuntimeError(f"GET /api/queue answered {status}: {body}")
        quiet = quiet + 1 if body["running"] is None and not body["queued"] else 0
        if time.monotonic() > deadline:
            raise DemoTimeout(f"runs still queued or running after {timeout_seconds:g} s; see the Jobs page")
        await asyncio.sleep(poll_seconds)
