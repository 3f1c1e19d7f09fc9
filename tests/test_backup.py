"""Backup and restore with the embedded server's own pg_dump/pg_restore, on the real database."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from sidecar.backup import BackupError, _url_and_env, dump_database, restore_database
from tests.factory import add_item


def _other_database(database_url: str, name: str) -> str:
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _movie_titles(url: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        return [r["title"] for r in await conn.fetch("SELECT title FROM movies ORDER BY title")]
    finally:
        await conn.close()


async def test_backup_restores_into_an_empty_database_and_over_an_existing_one(
    db: asyncpg.Pool, database_url: str, tmp_path: Path
) -> None:
    for title in ("Heat", "Alien"):
        await add_item(db, uuid.uuid4().hex, title=title)
    target = tmp_path / "backups" / "sidecar.dump"
    size = dump_database(database_url, target)
    assert size == target.stat().st_size > 0
    assert not (tmp_path / "backups" / "sidecar.dump.partial").exists()

    name = f"restore_{uuid.uuid4().hex[:8]}"
    await db.execute(f'CREATE DATABASE "{name}"')
    copy_url = _other_database(database_url, name)
    try:
        restore_database(copy_url, target)
        assert await _movie_titles(copy_url) == ["Alien", "Heat"]
        # Restoring again over the restored copy replaces, never duplicates.
        conn = await asyncpg.connect(copy_url)
        await conn.execute("INSERT INTO movies (id, title, content_hash) VALUES ('x', 'Later', 'h')")
        await conn.close()
        restore_database(copy_url, target)
        assert await _movie_titles(copy_url) == ["Alien", "Heat"]
    finally:
        await db.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_failures_name_the_tool_and_never_the_password(tmp_path: Path) -> None:
    url = "postgresql://sidecar:s3cret-pw@127.0.0.1:9/sidecar"
    with pytest.raises(BackupError) as caught:
        dump_database(url, tmp_path / "x.dump")
    assert "pg_dump failed" in str(caught.value)
    assert "s3cret-pw" not in str(caught.value)
    assert not (tmp_path / "x.dump").exists()
    with pytest.raises(BackupError, match="no backup file"):
        restore_database(url, tmp_path / "missing.dump")


def test_password_travels_in_the_environment_not_the_url() -> None:
    url, env = _url_and_env("postgresql://sidecar:pa%40ss@db:5432/sidecar")
    assert url == "postgresql://sidecar@db:5432/sidecar"
    assert env["PGPASSWORD"] == "pa@ss"  # percent-decoded, as libpq would


def test_cli_backup_of_a_configured_database_writes_a_file(database_url: str, tmp_path: Path) -> None:
    target = tmp_path / "cli.dump"
    done = subprocess.run(
        [sys.executable, "-m", "sidecar.cli", "backup", str(target)],
        env={**os.environ, "SIDECAR_DATABASE_URL": database_url, "SIDECAR_DATA_DIR": str(tmp_path / "d")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"backup written: {target}" in done.stdout
    assert target.stat().st_size > 0
