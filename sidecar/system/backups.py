"""`backup-database`: the database in one verified, private file, the last N kept.

`pg_dump` custom format into `SIDECAR_BACKUP_DIR` (default `<data dir>/backups`), file 0600 in a
0700 directory; then a full read with `pg_restore -f /dev/null` (a truncated file fails it, unlike
`--list`); then every backup older than the N-th newest verified one is deleted. Unverified files
are never counted as backups to keep. Restore stays the `sidecar restore FILE` command, with the
sidecar stopped: no HTTP route restores or uploads.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from sidecar.backup import BackupError, dump_database, tool_major_version, verify_backup
from sidecar.jobs.context import JobContext, JobError
from sidecar.jobs.runs import iso
from sidecar.media.kind import MediaKind
from sidecar.system import backup_queries as q

PREFIX = "sidecar-"
SUFFIX = ".dump"


def backup_name(now: dt.datetime) -> str:
    return f"{PREFIX}{now.astimezone(dt.UTC):%Y%m%dT%H%M%S}Z{SUFFIX}"


@dataclass(frozen=True)
class BackupFile:
    name: str
    size_bytes: int
    created_at: dt.datetime
    verified: bool | None  # None: not written or checked by the backup job
    verify_error: str | None = None

    def to_api(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "size_bytes": self.size_bytes,
            "created_at": iso(self.created_at),
            "verified": self.verified,
            "verify_error": self.verify_error,
        }


async def list_backups(db: asyncpg.Pool, directory: Path) -> list[BackupFile]:
    """The dump files on disk, newest first, with what the job recorded about each."""
    records = {r["name"]: r for r in await db.fetch(q.LIST_BACKUPS)}
    found = []
    paths = await asyncio.to_thread(
        lambda: sorted(directory.glob(f"*{SUFFIX}")) if directory.is_dir() else []
    )
    for path in paths:
        stat = path.stat()
        record = records.get(path.name)
        found.append(
            BackupFile(
                name=path.name,
                size_bytes=stat.st_size,
                created_at=record["created_at"]
                if record
                else dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC),
                verified=record["verified"] if record else None,
                verify_error=record["verify_error"] if record else None,
            )
        )
    return sorted(found, key=lambda b: b.created_at, reverse=True)


def to_prune(backups: list[BackupFile], keep: int) -> list[BackupFile]:
    """Ours (recorded) that are older than the `keep`-th newest verified backup."""
    verified = [b for b in backups if b.verified]
    if len(verified) < keep:
        return []
    oldest_kept = verified[keep - 1].created_at
    return [b for b in backups if b.verified is not None and b.created_at < oldest_kept]


async def _check_tool_version(ctx: JobContext) -> None:
    """pg_dump refuses a newer server: say so before dumping, naming both versions."""
    server = await ctx.db.fetchval(q.SERVER_VERSION_NUM) // 10000
    tool = await asyncio.to_thread(tool_major_version, "pg_dump")
    if tool is not None and tool < server:
        raise JobError(
            f"pg_dump {tool} cannot back up PostgreSQL {server}: install the client tools of version "
            f"{server} or newer (the sidecar image and the embedded extra ship 18)"
        )


async def backup_database(ctx: JobContext, kinds: Sequence[MediaKind]) -> dict[str, Any]:
    database_url = ctx.resources.database_url or ctx.settings.database_url
    if not database_url:
        raise JobError("no database URL is known to this worker; check SIDECAR_DATABASE_URL")
    directory = ctx.settings.resolved_backup_dir
    name = backup_name(dt.datetime.now(dt.UTC))
    target = directory / name
    try:
        await ctx.step("Checking pg_dump", total=3)
        await _check_tool_version(ctx)
        ctx.raise_if_cancelled()
        await ctx.step("Writing the backup")
        started = asyncio.get_running_loop().time()
        size = await asyncio.to_thread(dump_database, database_url, target)
        dump_ms = round((asyncio.get_running_loop().time() - started) * 1000)
        await ctx.advance()
        await ctx.step("Verifying the backup (full read)")
        problem = await asyncio.to_thread(verify_backup, target)
        await ctx.db.execute(q.RECORD_BACKUP, name, size, problem is None, problem, ctx.run_id)
        await ctx.advance()
    except BackupError as exc:
        raise JobError(f"{exc}; check the database URL and the PostgreSQL client tools") from None
    except OSError as exc:
        raise JobError(f"could not write {target}: {exc.strerror or exc}; check SIDECAR_BACKUP_DIR") from None
    if problem is not None:
        raise JobError(
            f"the backup {name} was written but does not read back ({problem}); it is kept, marked not "
            "verified, and no older backup was deleted. Check the disk and the PostgreSQL client tools"
        )
    await ctx.step("Deleting old backups")
    backups = await list_backups(ctx.db, directory)
    old = to_prune(backups, ctx.settings.backup_keep)
    for backup in old:
        (directory / backup.name).unlink(missing_ok=True)
    await ctx.db.execute(q.DELETE_BACKUP_ROWS, [b.name for b in old])
    await ctx.advance()
    result = {
        "file": name,
        "size_bytes": size,
        "dump_ms": dump_ms,
        "verified": True,
        "deleted": [b.name for b in old],
        "kept": len(backups) - len(old),
    }
    await ctx.info(f"backup {name} written and verified ({size / 1_000_000:.1f} MB)", **result)
    return result
