"""housekeeping as a visible job: what it removed is in its result; orphaned library folders go
without following links; stored-but-unplanned webhook events are planned; grown tables vacuumed."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from sidecar.jobs.queue import JobQueue
from sidecar.jobs.resources import JobResources
from sidecar.settings import Settings


async def test_result_names_what_was_removed_and_folders_are_unlinked_not_followed(
    db: asyncpg.Pool, settings: Settings, tmp_path: Path, run_job: Any
) -> None:
    root = settings.resolved_library_root
    outside = tmp_path / "media"
    outside.mkdir()
    (outside / "film.mkv").write_bytes(b"video")
    kept = root / "users" / "alice" / "ai-movies"
    orphan = root / "users" / "gone" / "ai-movies" / "01 - Film (2000)"
    orphan.mkdir(parents=True)
    (orphan / "Film (2000).mkv").symlink_to(outside / "film.mkv")
    linked_dir = root / "users" / "gone2" / "ai-movies"
    linked_dir.parent.mkdir(parents=True)
    linked_dir.symlink_to(outside, target_is_directory=True)  # a link where a folder belongs
    (root / "users" / "empty").mkdir(parents=True)
    kept.mkdir(parents=True)
    (root / "users" / "alice" / "notes").mkdir()  # not a kind folder: never touched
    await db.execute("INSERT INTO media_users (id, name, enabled) VALUES ('u1', 'alice', true)")
    await db.execute(
        "INSERT INTO user_libraries (user_id, media_type, folder_name, folder_path) VALUES ('u1', 'movies', 'alice', $1)",
        str(kept),
    )
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=200)
    for status in ("completed", "completed"):
        await db.execute(
            """INSERT INTO job_runs (id, job, trigger, status, queued_at, finished_at)
               VALUES ($1, 'sync-movies', 'manual', $2, $3, $3)""",
            uuid.uuid4(),
            status,
            old,
        )

    run = await run_job("housekeeping")

    assert run["status"] == "completed", run["error"]
    result = run["result"]
    assert result["runs_deleted"] == 1  # the older of the two; the job's latest run stays
    assert sorted(result["orphaned_folders_removed"]) == [
        "users/empty",
        "users/gone/ai-movies",
        "users/gone2/ai-movies",
    ]
    assert (outside / "film.mkv").read_bytes() == b"video" and outside.is_dir()
    assert kept.is_dir() and (root / "users" / "alice" / "notes").is_dir()
    assert not (root / "users" / "gone" / "ai-movies").exists()
    assert result["webhook_events_planned"] is None  # inline: no queue to plan into


async def test_unplanned_webhook_events_are_planned_and_grown_tables_vacuumed(
    db: asyncpg.Pool, settings: Settings, run_job: Any
) -> None:
    event_id = uuid.uuid4()
    await db.execute(
        """INSERT INTO webhook_events (id, server_kind, source_event, event, received_at, body, dedupe_key,
                                       status, item_id, item_type)
           VALUES ($1, 'jellyfin', 'ItemAdded', 'item_added', now() - interval '10 minutes', '{}', 'k',
                   'received', 'abc', 'Movie')""",
        event_id,
    )
    async with db.acquire() as conn:
        await conn.execute(
            "INSERT INTO media_users (id, name, enabled) SELECT 'u' || g, 'n', true FROM generate_series(1, 3000) g"
        )
        await conn.execute("SELECT pg_stat_force_next_flush()")  # the statistics see the rows at once
        await conn.execute("UPDATE media_users SET name = 'm'")  # 3,000 dead rows
    queue = JobQueue(db, None, settings.queue_name)

    run = await run_job("housekeeping", resources=JobResources(queue=queue))

    assert run["status"] == "completed", run["error"]
    assert run["result"]["webhook_events_planned"] == 1
    assert await db.fetchval("SELECT status FROM webhook_events WHERE id = $1", event_id) == "planned"
    assert (
        await db.fetchval("SELECT count(*) FROM job_runs WHERE job = 'sync-movies' AND status = 'queued'")
        == 1
    )
    assert "media_users" in run["result"]["tables_vacuumed"]
    assert "job_runs" not in run["result"]["tables_vacuumed"]  # a handful of rows: left alone
