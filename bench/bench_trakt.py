"""Trakt import at the size the issue names: one linked user with a 2,000-entry watch history (movies
and episodes, about a tenth of them titles the server does not have) and 200 ratings, imported by
`sync-trakt` from the Trakt simulator over HTTP into a real embedded PostgreSQL, matched against
MovieLens (9,066 movies) and the sample TV library synced from the media-server simulator.

What is timed: a full import (`sync-trakt --variant full`: token check, last activities, every
history page of 250 entries, the three rating lists, the writes and the id matching) from an empty
import, then a regular re-run with nothing changed on Trakt (one request).

    python -m bench.bench_trakt [--runs 3] [--quick]   # saves bench/results/trakt.json

`--quick`: a 500-entry history.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import time
from typing import Any

import structlog
from pydantic import SecretStr

from bench import report
from bench.scratch import scratch_database
from sidecar.composition import build_registry
from sidecar.jobs.executor import run_inline
from sidecar.settings import Settings
from sidecar.simulator import running_simulator
from sidecar.simulator.services import serve
from sidecar.simulator.services.trakt import TraktState, seed_user
from sidecar.trakt.tokens import TokenCipher

TARGET_SECONDS = 10.0
SECRET_KEY = "bench-trakt-secret-key"


async def _bench(runs: int, quick: bool) -> dict[str, Any]:
    registry = build_registry()
    history = 500 if quick else 2000
    async with scratch_database("bench-trakt-") as (work, url, pool):
        base = Settings(_env_file=None, database_url=url, data_dir=work / "data", log_level="warning")  # type: ignore[call-arg]
        async with running_simulator("jellyfin", seed="movielens", tv="sample") as sim:
            cfg = base.model_copy(
                update={"media_server_url": sim.url, "media_server_api_key": SecretStr(sim.api_key)}
            )
            for job in ("sync-users", "sync-movies", "sync-series"):
                row = await run_inline(pool, registry, cfg, job)
                assert row["status"] == "completed", (job, row["error"])
            trakt = TraktState()
            seeded = seed_user(trakt, "bench", sim.state, plays=history, ratings=200)
        await pool.execute("ANALYZE")
        user_id = await pool.fetchval("SELECT id FROM media_users ORDER BY name LIMIT 1")
        tokens = trakt.issue_tokens("bench")
        cipher = TokenCipher(SECRET_KEY)
        await pool.execute(
            "INSERT INTO trakt_accounts (user_id, access_token, refresh_token, expires_at) VALUES ($1, $2, $3, $4)",
            user_id,
            cipher.encrypt(tokens["access_token"]),
            cipher.encrypt(tokens["refresh_token"]),
            dt.datetime.now(dt.UTC) + dt.timedelta(seconds=tokens["expires_in"]),
        )
        full, rerun, requests = [], [], []
        async with serve(trakt.create_app()) as trakt_url:
            settings = base.model_copy(
                update={
                    "trakt_client_id": SecretStr(trakt.client_id),
                    "trakt_client_secret": SecretStr(trakt.client_secret),
                    "trakt_url": trakt_url,
                    "secret_key": SecretStr(SECRET_KEY),
                }
            )
            for _ in range(runs):
                await pool.execute("DELETE FROM imported_plays; DELETE FROM imported_ratings")
                started = time.perf_counter()
                row = await run_inline(pool, registry, settings, "sync-trakt", variant="full")
                full.append(time.perf_counter() - started)
                assert row["status"] == "completed" and row["result"]["plays_read"] == history, row["error"]
                requests.append(row["result"]["requests"])
                result = row["result"]
                started = time.perf_counter()
                again = await run_inline(pool, registry, settings, "sync-trakt")
                rerun.append(time.perf_counter() - started)
                assert again["result"]["users_unchanged"] == 1 and again["result"]["requests"] == 1
        matched = await pool.fetchrow(
            """SELECT count(*) FILTER (WHERE item_table = 'movies' AND item_id IS NOT NULL) AS movies,
                      count(*) FILTER (WHERE item_table = 'episodes' AND item_id IS NOT NULL) AS episodes,
                      count(*) FILTER (WHERE item_id IS NULL) AS unmatched
               FROM imported_plays"""
        )
        return {
            "benchmark": "trakt",
            "what": "sync-trakt full import of one user via run_inline, Trakt simulator over HTTP, embedded PostgreSQL",
            "runs": runs,
            "history_entries": history,
            "seeded": seeded.__dict__,
            "ratings_read": result["ratings_read"],
            "requests_per_import": report.median(requests),
            "plays_matched": dict(matched),
            "full_import_seconds_median": round(report.median(full), 3),
            "full_import_seconds_all": [round(t, 3) for t in full],
            "unchanged_rerun_seconds_median": round(report.median(rerun), 3),
            "load_average_1min_at_end": round(os.getloadavg()[0], 2),
            "peak_rss_mib": round(report.peak_rss_mb(), 1),
        }


def rows_of(results: dict[str, Any]) -> list[dict[str, Any]]:
    rss, runs = results["peak_rss_mib"], results["runs"]
    return [
        report.seconds_row(
            f"Trakt import, {results['history_entries']:,}-entry history + {results['ratings_read']} ratings, "
            f"{results['requests_per_import']:g} requests",
            results["full_import_seconds_median"],
            TARGET_SECONDS,
            runs=runs,
            peak_rss_mb=rss,
        ),
        report.seconds_row(
            "Trakt re-run, nothing changed (1 request)",
            results["unchanged_rerun_seconds_median"],
            TARGET_SECONDS,
            runs=runs,
            peak_rss_mb=rss,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a 500-entry history")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))  # warnings and up
    results = asyncio.run(_bench(args.runs, args.quick))
    report.print_details(
        [
            ("full import, each s", str(results["full_import_seconds_all"])),
            ("plays matched", str(results["plays_matched"])),
            ("1-min load average at end (2 cores)", str(results["load_average_1min_at_end"])),
        ]
    )
    report.print_and_save("trakt", results, rows_of(results))


if __name__ == "__main__":
    main()
