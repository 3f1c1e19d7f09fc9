"""`sidecar demo` end to end on the session's real PostgreSQL and Valkey: simulated server (sample seed),
web + worker in-process, the movie pipeline with local embeddings, plays that the simulator reports by
webhook, and the one user's library changing on disk while the others stay as they were."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from sidecar.demo import DemoOptions, DemoReport, demo_session
from sidecar.demo.config import demo_settings
from sidecar.demo.library_view import LibraryChange, read_entries
from sidecar.demo.reset import DemoBusy, demo_lock
from sidecar.progress import RunsDisplay

SERIES_JOBS = (
    "sync-series",
    "sync-series-watch-history",
    "generate-series-embeddings",
    "generate-series-recommendations",
    "sync-series-libraries",
)

# A user's own configuration that would break the demo if it were read.
HOSTILE_ENVIRONMENT = {
    "SIDECAR_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/nothing",
    "SIDECAR_EMBEDDING_PROVIDER": "openai",
    "SIDECAR_OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
    "SIDECAR_LIBRARY_ROOT": "/proc/not-writable",
    "SIDECAR_MEDIA_SERVER_URL": "http://127.0.0.1:9",
    "SIDECAR_TIMEZONE": "Not/AZone",
    "SIDECAR_WEBHOOK_DEBOUNCE_SECONDS": "600",
}


def _options(data_dir: Path, kind: str) -> DemoOptions:
    return DemoOptions(
        data_dir=data_dir,
        port=0,
        kind=kind,  # type: ignore[arg-type]
        seed="sample",
        serve=False,
        webhook_debounce_seconds=0.2,
        chain_timeout_seconds=60,
        tty=False,
    )


def _assert_entries_resolve(user_folder: Path) -> int:
    """Every entry holds a symlink to an existing file and an NFO naming the movie; returns the count."""
    entries = [p for p in user_folder.iterdir() if p.is_dir()]
    for entry in entries:
        links = [p for p in entry.iterdir() if p.is_symlink()]
        nfos = [p for p in entry.iterdir() if p.suffix == ".nfo"]
        assert len(links) == 1 and len(nfos) == 1, sorted(p.name for p in entry.iterdir())
        assert links[0].resolve(strict=True).is_file()
        assert "<movie>" in nfos[0].read_text(encoding="utf-8")
    return len(entries)


async def _run(options: DemoOptions, database_url: str, redis_url: str) -> tuple[DemoReport, str]:
    out = io.StringIO()
    report = await demo_session(options, database_url, redis_url, out)
    return report, out.getvalue()


async def test_demo_writes_libraries_and_a_played_users_library_changes_by_webhook(
    tmp_path: Path, database_url: str, redis_url: str, db: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in HOSTILE_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    options = _options(tmp_path / "demo", "jellyfin")

    report, output = await _run(options, database_url, redis_url)

    users_root = options.library_root / "users"
    assert report.library_root == users_root
    assert f"libraries written: {users_root}" in output
    assert f"API:        {report.api_url}" in output and report.api_url.endswith("/api/jobs")
    # The chosen user watched picks: those left their library, and only theirs changed.
    assert report.user_name is not None and report.change is not None and report.change.changed
    assert report.played and {title for _, title in report.change.removed} == set(report.played)
    assert report.played_copies == len(report.played)  # played from their AI Picks library
    assert report.originals_marked == len(report.played)  # and the originals marked played on the server
    assert report.changed_users == [report.user_id]
    # The change came through the webhook chain, not the pipeline.
    library_runs = await db.fetch(
        "SELECT status, scope FROM job_runs WHERE job = 'sync-movie-libraries' AND trigger = 'webhook'"
    )
    assert [(r["status"], r["scope"]) for r in library_runs] == [
        ("completed", {"user_ids": [report.user_id]})
    ]
    # Real folders: the other users' entries link to files that exist, with NFOs.
    others = [p for p in users_root.iterdir() if p.name != report.user_name]
    assert others and sum(_assert_entries_resolve(p / "ai-movies") for p in others) > 0
    chosen_folder = users_root / report.user_name / "ai-movies"
    assert read_entries(chosen_folder) == report.change.after
    _assert_entries_resolve(chosen_folder)

    await _assert_series_part(report, output, db, users_root)

    # Again, as Emby, in the same directory: the demo starts from scratch and works the same way.
    again, second_output = await _run(_options(tmp_path / "demo", "emby"), database_url, redis_url)
    assert again.change is not None and again.change.before == report.change.before
    assert again.changed_users == [again.user_id] and "/webhooks/emby" in second_output
    # The movie pipeline's five runs, the first four series steps, and the scoped series library run.
    assert await db.fetchval("SELECT count(*) FROM job_runs WHERE trigger = 'pipeline'") == 10
    await _assert_series_part(again, second_output, db, users_root)


async def _assert_series_part(report: DemoReport, output: str, db: asyncpg.Pool, users_root: Path) -> None:
    """The series pipeline ran, the chosen user's picks and folder are the stored ones, and an episode
    played from their AI series library went through the webhook chain to their folder only."""
    series = report.series
    assert series is not None and series.user_id is not None and series.folder is not None
    ran = await db.fetch(
        "SELECT job, status, scope FROM job_runs WHERE trigger = 'pipeline' AND job LIKE '%series%'"
    )
    assert {r["job"] for r in ran} == set(SERIES_JOBS) and {r["status"] for r in ran} == {"completed"}
    library_run = next(r for r in ran if r["job"] == "sync-series-libraries")
    assert library_run["scope"] == {"user_ids": series.library_user_ids}
    # The picks shown were the stored ones; the folder held one show per pick, with real episodes.
    stored = [
        f"{r['title']} ({r['year']})"
        for r in await db.fetch(
            """SELECT s.title, s.year FROM series_recommendations r JOIN series s ON s.id = r.series_id
               WHERE r.user_id = $1 ORDER BY r.rank""",
            series.user_id,
        )
    ]
    assert series.picks and set(series.picks) <= set(stored) and stored[0] == series.played_show
    assert f"{series.user_name}'s series picks ({len(series.picks)}):" in output
    assert len(series.shows) == len(series.picks)
    for name, show in series.shows.items():
        assert show.seasons >= 1 and show.episodes >= 1
        links = [p for p in (series.folder / name).rglob("*") if p.is_symlink()]
        assert len(links) == show.episodes and all(p.resolve(strict=True).is_file() for p in links)
    assert series.folder == users_root / series.user_name / "ai-series"
    # The played pick (rank 2) moved to the top: started from the AI library, it stays until finished.
    assert series.played_copy and series.played_show is not None
    assert series.original_marked  # the copy's play marked the original episode played on the server
    assert series.played_show == series.picks[1] and series.played_folder in series.shows
    assert series.change is not None and series.change.after[series.played_folder] == 1
    assert series.change.before[series.played_folder] == 2
    assert series.changed_users == [series.user_id]
    chain = await db.fetch(
        "SELECT job, status, scope, result FROM job_runs WHERE trigger = 'webhook' AND job LIKE '%series%' ORDER BY seq"
    )
    # The scanned copies' announcements queue nothing (a new id with an original's provider ids is a
    # copy); marking the original played echoes back as a TogglePlayed event that may run the chain
    # once more for the same user.
    assert [r["job"] for r in chain if r["job"] == "sync-series"] == []
    steps = list(chain)
    assert list(dict.fromkeys(r["job"] for r in steps)) == [
        "sync-series-watch-history",
        "generate-series-recommendations",
        "sync-series-libraries",
    ]
    assert steps[0]["status"] == "completed" and steps[0]["result"]["plays_written"] == 1
    later = [r for r in steps if r["job"] != "sync-series-watch-history"]
    assert {r["status"] for r in later} == {"completed"}
    assert all(r["scope"] == {"user_ids": [series.user_id]} for r in later)
    state = await db.fetchval(
        """SELECT u.state FROM series_user_state u JOIN series s ON s.id = u.series_id
           WHERE u.user_id = $1 AND s.title || ' (' || s.year || ')' = $2""",
        series.user_id,
        series.played_show,
    )
    assert state == "watching"


async def test_demo_with_services_enriches_from_the_simulated_tmdb_and_the_plain_demo_stays_offline(
    tmp_path: Path, database_url: str, redis_url: str, db: asyncpg.Pool
) -> None:
    options = dataclasses.replace(_options(tmp_path / "demo", "jellyfin"), with_services=True)
    report, output = await _run(options, database_url, redis_url)
    assert "Outside services (simulated): TMDb http://127.0.0.1:" in output and "OMDb" in output
    assert "Trakt http://127.0.0.1:" in output  # the page's "Link Trakt account" works offline
    assert "metadata enriched: 4 items from TMDb (4 requests), 4 with OMDb ratings" in output
    assert await db.fetchval("SELECT count(*) FROM item_enrichment WHERE status = 'enriched'") == 4
    suggested = await db.fetchval("SELECT count(*) FROM discovery_suggestions")
    assert suggested > 0 and f"discovery: {suggested} suggestions of titles not on the server" in output
    assert "Jellyseerr http://127.0.0.1:" in output
    assert report.change is not None and report.change.changed  # the rest of the demo as always
    # The plain demo configures no outside service at all.
    plain = demo_settings(_options(tmp_path / "plain", "jellyfin"), database_url=database_url, redis_url=redis_url,
                          media_server_url="http://127.0.0.1:1", media_server_api_key="k", webhook_token="t",
                          api_key=None)  # fmt: skip
    assert plain.tmdb_api_key is None and plain.omdb_api_key is None and plain.trakt_client_id is None


def test_a_second_demo_on_the_same_directory_is_refused(tmp_path: Path) -> None:
    with demo_lock(tmp_path), pytest.raises(DemoBusy), demo_lock(tmp_path):
        pass
    with demo_lock(tmp_path):  # released after the first one ended
        pass


def test_library_change_separates_added_removed_and_moved() -> None:
    change = LibraryChange(
        before={"A (2000)": 1, "B (2001)": 2, "C (2002)": 3}, after={"B (2001)": 1, "D (2003)": 2}
    )
    assert change.removed == [(1, "A (2000)"), (3, "C (2002)")]
    assert change.added == [(2, "D (2003)")]
    assert change.moved == 1 and change.changed


def _run_row(run_id: str, status: str, **extra: Any) -> dict[str, Any]:
    progress = {"percent": 50.0, "items_processed": 1, "items_total": 2, "current_step": "Working"}
    return {"id": run_id, "job": f"job-{run_id}", "status": status, "duration_ms": 1500, "result": None,
            "error": None, "progress": progress, **extra}  # fmt: skip


def test_plain_display_prints_status_changes_once_and_terminal_display_redraws_in_place() -> None:
    plain = io.StringIO()
    display = RunsDisplay(plain, tty=False, plain_interval_seconds=3600)
    display.update([_run_row("1", "running"), _run_row("2", "queued")])
    display.update([_run_row("1", "running"), _run_row("2", "queued")])
    display.update([_run_row("1", "completed", result={"added": 4}), _run_row("2", "running")])
    lines = plain.getvalue().splitlines()
    assert len(lines) == 4 and "\x1b" not in plain.getvalue()
    assert lines[2].startswith("job-1") and lines[2].endswith("completed in 1.5 s: added 4")

    terminal = io.StringIO()
    display = RunsDisplay(terminal, tty=True)
    display.update([_run_row("1", "running"), _run_row("2", "queued")])
    display.update([_run_row("1", "running"), _run_row("2", "running")])
    assert terminal.getvalue().count("\x1b[2F") == 1  # the second frame overwrote the first two lines
    assert "[###############...............]  50.0% 1/2 items  Working" in terminal.getvalue()


def test_hostile_environment_is_really_hostile(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guard for the first test: these values do break the normal settings."""
    from sidecar.settings import Settings

    for name, value in HOSTILE_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match="timezone"):
        Settings(_env_file=None)  # type: ignore[call-arg]
