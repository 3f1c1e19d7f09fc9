"""The benchmark suite: every case in its own child process, one table, bench/results/summary.json.

Each case is a module run as `python -m <module> --runs N [--quick]` that saves its results JSON with
a "rows" list (see bench/report.py). A case that crashes, times out, or leaves no fresh results is
recorded as failed with the reason and the suite goes on; a module that does not exist (yet) is
"not available". The exit status is non-zero when any case failed.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import report

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SUMMARY = report.RESULTS_DIR / "summary.json"
# A partial or quick run must not replace the whole suite's table (the one the README quotes).
PARTIAL_SUMMARY = report.RESULTS_DIR / "summary-partial.json"
CASE_TIMEOUT_SECONDS = 240.0
OK, FAILED, NOT_AVAILABLE = "ok", "failed", "not available"


@dataclass(frozen=True)
class Case:
    name: str  # what --only selects
    module: str  # run as `python -m <module>`
    results: Path  # the JSON the module writes
    max_runs: int | None = None  # for a case whose one run already holds many samples
    min_timeout: float = (
        0.0  # a case paced by an outside rate limit, or a long one, needs longer than the default
    )

    def runs(self, wanted: int) -> int:
        return wanted if self.max_runs is None else min(wanted, self.max_runs)


def _case(
    name: str, results: str | None = None, max_runs: int | None = None, min_timeout: float = 0.0
) -> Case:
    return Case(
        name, f"bench.bench_{name}", report.RESULTS_DIR / (results or f"{name}.json"), max_runs, min_timeout
    )


# Fixed order; watch history is measured inside sync (it needs the synced movies).
CASES = (
    _case("sync"),
    _case("embeddings"),
    _case("recommend"),
    _case("libraries"),
    # One run = the whole pipeline set up, then 60 webhook events timed one by one (p50/p95 over
    # the events), about 1.5 minutes: more runs would not fit the suite's 10 minutes.
    _case("webhook_latency", max_runs=1),
    _case("webhooks", "webhooks_ingest.json"),
    _case("api"),
    _case("global"),  # sync-users, Top Picks, backup + verified restore
    # 9,066 TMDb requests at TMDb's 50/s take three minutes: one run, and time for it.
    _case("enrichment", max_runs=1, min_timeout=480.0),
    _case("trakt"),  # a 2,000-entry Trakt history imported and matched
    # The series jobs on the generated TV data set (60,283 episodes): sync, history, picks, libraries;
    # each run syncs and reads everything twice, so three runs take several minutes.
    _case("series", min_timeout=900),
    # One run = the series jobs set up once, then 20 finished episodes timed one by one.
    _case("series_webhook", max_runs=1, min_timeout=900),
    # 671 users against TMDb at 50 req/s: set-up, one cold run and a re-run take about 5 minutes.
    _case("discovery", max_runs=1, min_timeout=900.0),
)


@dataclass
class Outcome:
    case: str
    status: str
    runs: int = 0
    wall_seconds: float = 0.0
    reason: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)


def module_available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a missing parent package
        return False


def _failure_reason(returncode: int, tail: Sequence[str]) -> str:
    """The exception line if there is one (the last line naming an error), else the last line."""
    lines = [line.strip() for line in tail if line.strip()]
    for line in reversed(lines):
        if "Error" in line or "Exception" in line or line.startswith("SystemExit"):
            return f"exit {returncode}: {line}"
    return f"exit {returncode}: {lines[-1]}" if lines else f"exit {returncode}, no output"


def read_rows(path: Path, not_before: float) -> list[dict[str, Any]]:
    """The rows of a results file written at or after `not_before` (epoch seconds)."""
    if not path.exists():
        raise ValueError(f"wrote no {path.name}")
    if path.stat().st_mtime < not_before:
        raise ValueError(f"{path.name} is from an earlier run (not rewritten)")
    rows = json.loads(path.read_text(encoding="utf-8")).get("rows")
    if not isinstance(rows, list) or not rows:
        raise ValueError(f'{path.name} has no "rows" list')
    for row in rows:
        missing = [key for key in report.ROW_KEYS if key not in row]
        if missing:
            raise ValueError(f"{path.name}: a row lacks {', '.join(missing)}")
    return rows


def run_case(case: Case, *, runs: int, quick: bool, timeout: float = CASE_TIMEOUT_SECONDS) -> Outcome:
    """Run one case in a child process, echo its output indented, and collect its rows."""
    if not module_available(case.module):
        return Outcome(case.name, NOT_AVAILABLE, reason=f"module {case.module} does not exist")
    runs = case.runs(runs)
    command = [sys.executable, "-m", case.module, "--runs", str(runs), *(["--quick"] if quick else [])]
    path = [str(PROJECT_ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path), "PYTHONUNBUFFERED": "1"}
    started_wall, started = time.time(), time.perf_counter()
    tail: collections.deque[str] = collections.deque(maxlen=40)
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,  # its own process group, so a timeout ends its children too
    )

    def echo() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            tail.append(line.rstrip("\n"))
            print(f"    {line}", end="", flush=True)

    reader = threading.Thread(target=echo, daemon=True)
    reader.start()
    try:
        returncode = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop_group(process)
        reader.join(5)
        return Outcome(
            case.name,
            FAILED,
            runs,
            time.perf_counter() - started,
            f"timed out after {timeout:.0f} s (killed)",
        )
    reader.join(5)
    wall = time.perf_counter() - started
    if returncode != 0:
        return Outcome(case.name, FAILED, runs, wall, _failure_reason(returncode, tail))
    try:
        rows = read_rows(case.results, started_wall - 1)
    except (ValueError, json.JSONDecodeError) as exc:
        return Outcome(case.name, FAILED, runs, wall, str(exc))
    return Outcome(case.name, OK, runs, wall, rows=rows)


def _stop_group(process: subprocess.Popen[str]) -> None:
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def table_rows(outcomes: Sequence[Outcome]) -> tuple[list[str], list[dict[str, Any]]]:
    """(case label per row, rows): a case that did not produce rows gets one row saying why."""
    labels: list[str] = []
    rows: list[dict[str, Any]] = []
    for outcome in outcomes:
        if outcome.status == OK:
            labels += [outcome.case] * len(outcome.rows)
            rows += outcome.rows
            continue
        word = "FAILED" if outcome.status == FAILED else "not available"
        labels.append(outcome.case)
        rows.append(
            {
                "case": f"{word}: {outcome.reason}",
                "measured": "",
                "target": "",
                "meets_target": False if outcome.status == FAILED else None,
                "peak_rss_mb": None,
                "runs": "",
            }
        )
    return labels, rows


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s ({seconds:.0f} s)"


def format_summary(summary: dict[str, Any], outcomes: Sequence[Outcome]) -> str:
    start, end = summary["machine_at_start"], summary["machine_at_end"]
    ram = f", {start['ram_gb']} GB RAM" if start.get("ram_gb") else ""
    postgres = f", {summary['postgres']}" if summary.get("postgres") else ""
    labels, rows = table_rows(outcomes)
    walls = ", ".join(
        f"{o.case} {o.wall_seconds:.0f} s" + ("" if o.status == OK else f" ({o.status})") for o in outcomes
    )
    failed = [o.case for o in outcomes if o.status == FAILED]
    return "\n".join(
        [
            f"benchmark suite, {summary['started_at']}"
            + (f", commit {summary['commit']}" if summary.get("commit") else ""),
            f"machine: {start['cpu_model']}, {start['cores']} cores{ram}; Python {start['python']}{postgres}",
            f"load average 1/5/15 min: at start {' '.join(map(str, start['load_average']))}, "
            f"at end {' '.join(map(str, end['load_average']))}",
            f"runs per case: up to {summary['runs']}"
            + (" (quick)" if summary["quick"] else "")
            + "; figures are medians over the runs column",
            "",
            report.format_rows(rows, prefix=labels),
            "",
            f"wall time per case: {walls}",
            f"total wall time: {_duration(summary['total_wall_seconds'])}",
            f"failed: {', '.join(failed) if failed else 'none'}",
        ]
    )


def _commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except OSError:
        return None
    return done.stdout.strip() or None


def run_suite(
    cases: Sequence[Case],
    *,
    runs: int,
    quick: bool,
    timeout: float = CASE_TIMEOUT_SECONDS,
    summary_path: Path = SUMMARY,
) -> tuple[dict[str, Any], list[Outcome]]:
    """Run `cases` in order, print the table, save the summary; one failing case never stops the rest."""
    started = time.perf_counter()
    summary: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "commit": _commit(),
        "runs": runs,
        "quick": quick,
        "machine_at_start": report.machine_info(),
        "postgres": report.postgres_version(),
    }
    outcomes = []
    for case in cases:
        print(
            f"\n=== {case.name} ({case.module} --runs {case.runs(runs)}{' --quick' if quick else ''})",
            flush=True,
        )
        outcome = run_case(case, runs=runs, quick=quick, timeout=max(timeout, case.min_timeout))
        if outcome.status != OK:
            print(f"=== {case.name}: {outcome.status}: {outcome.reason}", flush=True)
        outcomes.append(outcome)
    summary["machine_at_end"] = report.machine_info()
    summary["total_wall_seconds"] = round(time.perf_counter() - started, 1)
    summary["cases"] = [
        {
            "case": o.case,
            "status": o.status,
            "reason": o.reason,
            "runs": o.runs,
            "wall_seconds": round(o.wall_seconds, 1),
            "rows": o.rows,
        }
        for o in outcomes
    ]
    print("\n" + format_summary(summary, outcomes))
    summary_path.parent.mkdir(parents=True, exist_ok=True)
    summary_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"saved {summary_path}")
    return summary, outcomes


def select(names: str | None, cases: Sequence[Case] | None = None) -> list[Case]:
    """The cases named in a comma-separated --only list, in suite order; all when None."""
    cases = CASES if cases is None else cases
    if not names:
        return list(cases)
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    known = {c.name for c in cases}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise SystemExit(
            f"unknown case(s) {', '.join(unknown)}; the cases are {', '.join(c.name for c in cases)}"
        )
    return [c for c in cases if c.name in wanted]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", help=f"comma-separated cases: {','.join(c.name for c in CASES)}")
    parser.add_argument("--runs", type=int, default=3, help="runs per case (each reports medians)")
    parser.add_argument("--quick", action="store_true", help="each case's smaller workload (a smoke check)")
    parser.add_argument("--timeout", type=float, default=CASE_TIMEOUT_SECONDS, help="seconds per case")
    parser.add_argument(
        "--summary", type=Path, help="where to save the summary JSON (default: summary.json for a full run)"
    )
    args = parser.parse_args(argv)
    partial = bool(args.only) or args.quick
    summary_path = args.summary or (PARTIAL_SUMMARY if partial else SUMMARY)
    _, outcomes = run_suite(
        select(args.only), runs=args.runs, quick=args.quick, timeout=args.timeout, summary_path=summary_path
    )
    return 1 if any(o.status == FAILED for o in outcomes) else 0
