"""`sidecar` command: run the service (up, web, worker, migrate) or talk to a running one (jobs, run, status)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp
import structlog

from sidecar.api_client import ApiClient
from sidecar.progress import progress_bar
from sidecar.settings import Settings, load_settings

log = structlog.get_logger("sidecar.cli")
EXIT_FOR_STATUS = {"completed": 0, "failed": 1, "cancelled": 3}


# --- running the service -----------------------------------------------------------------------------
async def _serve(settings: Settings, database_url: str, redis_url: str, *, web: bool, worker: bool) -> None:
    """Serve until SIGINT/SIGTERM (or until the worker ends on its own)."""
    from sidecar.service import serving

    async with serving(settings, database_url, redis_url, web=web, worker=worker) as service:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, service.stopped.set)
        await service.stopped.wait()


def _run_service(settings: Settings, *, web: bool, worker: bool) -> int:
    from sidecar.embedded import EmbeddedUnavailable, embedded_servers

    try:
        with embedded_servers(settings.data_dir, settings.database_url, settings.redis_url) as servers:
            assert servers.database_url is not None and servers.redis_url is not None
            asyncio.run(_serve(settings, servers.database_url, servers.redis_url, web=web, worker=worker))
    except EmbeddedUnavailable as exc:
        print(f"sidecar: {exc}", file=sys.stderr)
        return 2
    return 0


def _migrate(settings: Settings) -> int:
    from sidecar.db import migrate
    from sidecar.embedded import embedded_servers

    with embedded_servers(settings.data_dir, settings.database_url, "unused") as servers:
        assert servers.database_url is not None
        applied = asyncio.run(migrate(servers.database_url))
    print(f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else ""))
    return 0


def _backup(settings: Settings, command: str, path: Path) -> int:
    """Against the configured database, or the embedded one (attached to, if the sidecar is running)."""
    from sidecar.backup import BackupError, dump_database, restore_database
    from sidecar.embedded import embedded_servers

    with embedded_servers(settings.data_dir, settings.database_url, "unused") as servers:
        assert servers.database_url is not None
        try:
            if command == "backup":
                size = dump_database(servers.database_url, path)
                print(f"backup written: {path} ({size / 1_000_000:.1f} MB)")
            else:
                restore_database(servers.database_url, path)
                print(f"restored from {path}; start the sidecar again")
        except BackupError as exc:
            print(f"sidecar: {exc}", file=sys.stderr)
            return 1
    return 0


# --- talking to a running service ----------------------------------------------------------------------
async def _run_job(api: ApiClient, name: str, variant: str, wait: bool) -> int:
    status, body = await api.call("POST", f"/api/jobs/{name}/runs", {"variant": variant})
    if status >= 400:
        print(f"sidecar: {body['error']['message']}", file=sys.stderr)
        return 2
    run = body["run"]
    print(f"run {run['id']} {run['status']}" + (" (already queued)" if status == 200 else ""))
    if not wait:
        return 0
    tty = sys.stderr.isatty()
    last_print = 0.0
    while run["status"] in ("queued", "running"):
        await asyncio.sleep(0.5)
        _, run = await api.call("GET", f"/api/runs/{run['id']}")
        if tty:
            print("\r" + progress_bar(run["progress"]).ljust(120), end="", file=sys.stderr, flush=True)
        elif time.monotonic() - last_print > 5:
            print(progress_bar(run["progress"]), file=sys.stderr)
            last_print = time.monotonic()
    if tty:
        print(file=sys.stderr)
    print(f"{run['job']} {run['status']} in {run['duration_ms'] or 0} ms")
    if run["result"]:
        print(json.dumps(run["result"], indent=2))
    if run["error"]:
        print(f"error: {run['error']}", file=sys.stderr)
    return EXIT_FOR_STATUS.get(run["status"], 1)


async def _jobs(api: ApiClient) -> int:
    _, body = await api.call("GET", "/api/jobs")
    for job in body["jobs"]:
        schedule = (
            job["schedule"]["description"]
            if job["schedule"]
            else ("manual only" if job["manual_only"] else "-")
        )
        last = job["last_run"]["finished_at"] if job["last_run"] else "never"
        print(f"{job['name']:36} {job['state']:10} last: {last:28} schedule: {schedule}")
    return 0


async def _status(api: ApiClient) -> int:
    status, health = await api.call("GET", "/api/health")
    _, queue = await api.call("GET", "/api/queue")
    print(json.dumps({"health": health, "queue": queue}, indent=2))
    return 0 if status == 200 else 1


def _remote(settings: Settings, args: argparse.Namespace) -> int:
    api = ApiClient(settings, args.url)
    try:
        if args.command == "jobs":
            return asyncio.run(_jobs(api))
        if args.command == "status":
            return asyncio.run(_status(api))
        return asyncio.run(_run_job(api, args.name, args.variant, args.wait))
    except aiohttp.ClientConnectionError:
        print(f"sidecar: no sidecar answers at {api.base}; start it with 'sidecar up'", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sidecar", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="web + worker (+ embedded PostgreSQL and Valkey when no URLs are set)")
    sub.add_parser("web", help="the web process only (webhooks, JSON API, Jobs page)")
    sub.add_parser("worker", help="the job worker only")
    sub.add_parser("migrate", help="apply database migrations and exit")
    backup = sub.add_parser("backup", help="write the database to FILE (pg_dump custom format)")
    backup.add_argument("file", type=Path)
    restore = sub.add_parser(
        "restore", help="replace the database with a backup FILE (stop the sidecar first)"
    )
    restore.add_argument("file", type=Path)
    for name, text in (("jobs", "list jobs and their state"), ("status", "health and queue")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--url", help="the sidecar's base URL (default: from SIDECAR_HOST/PORT)")
    run = sub.add_parser("run", help="run a job now (queues behind a running one)")
    run.add_argument("name")
    run.add_argument("--variant", default="regular")
    run.add_argument(
        "--wait", action="store_true", help="show progress; exit 0 completed, 1 failed, 3 cancelled"
    )
    run.add_argument("--url")
    demo = sub.add_parser(
        "demo",
        help="the whole thing against a simulated server: pipeline, webhooks, libraries (own data dir)",
    )
    demo.add_argument("--kind", choices=("jellyfin", "emby"), default="jellyfin", help="the simulated server")
    demo.add_argument(
        "--seed", type=_seed, default="movielens", help="movielens (default), sample, or a number of movies"
    )
    demo.add_argument("--user", help="whose library to change (default: most picks, shortest history)")
    demo.add_argument("--plays", type=_positive, default=3, help="how many of the user's picks they watch")
    demo.add_argument("--port", type=int, help="web port (default: SIDECAR_PORT or 8787)")
    demo.add_argument("--no-serve", action="store_true", help="exit when done instead of serving")
    demo.add_argument(
        "--with-services",
        action="store_true",
        help="also simulate the outside services (TMDb, OMDb) and enrich metadata; without it the demo is offline",
    )
    return parser


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("a whole number of at least 1")
    return int(text)


def _seed(text: str) -> str | int:
    if text.isdigit():
        return int(text)
    if text in ("sample", "movielens"):
        return text
    raise argparse.ArgumentTypeError("use movielens, sample or a number of movies")


def _demo(args: argparse.Namespace) -> int:
    """Reads only SIDECAR_HOST/PORT/DATA_DIR: nothing else a user configured can change the demo."""
    from pydantic import ValidationError

    from sidecar.demo import options_from_environment, run_demo
    from sidecar.demo.config import DemoSettings
    from sidecar.logs import configure_logging

    configure_logging(DemoSettings(log_level="warning"))
    # The model's load progress bar would tear through the demo's own progress display.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        options = options_from_environment(
            kind=args.kind,
            seed=args.seed,
            user=args.user,
            plays=args.plays,
            port=args.port,
            serve=not args.no_serve,
            with_services=args.with_services,
        )
    except ValidationError as exc:
        for err in exc.errors():
            name = f"SIDECAR_{str(err['loc'][0]).upper()}"
            print(f"sidecar demo: invalid setting {name}: {err['msg']}", file=sys.stderr)
        return 2
    return run_demo(options)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        return _demo(args)
    settings = load_settings()
    from sidecar.logs import configure_logging

    configure_logging(settings)
    if args.command == "up":
        return _run_service(settings, web=True, worker=True)
    if args.command == "web":
        return _run_service(settings, web=True, worker=False)
    if args.command == "worker":
        return _run_service(settings, web=False, worker=True)
    if args.command == "migrate":
        return _migrate(settings)
    if args.command in ("backup", "restore"):
        return _backup(settings, args.command, args.file)
    return _remote(settings, args)


if __name__ == "__main__":
    sys.exit(main())
