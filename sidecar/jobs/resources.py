"""What the worker lends every run: long-lived things too costly to open per run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sidecar.embeddings.local_provider import EncoderCache

if TYPE_CHECKING:
    from sidecar.jobs.queue import JobQueue
    from sidecar.media.kind import MediaKind
    from sidecar.mediaserver import MediaServerClient


@dataclass
class JobResources:
    """One per worker (tests and benchmarks build their own).

    `queue`: where follow-ups go; without one (inline runs) they are only reported in the result.
    `media_server`: a shared client; without one each run opens and closes its own.
    `encoder`: the local embedding model, loaded once.
    `catalogs`: the recommendation step's cached catalogue and run data (every play, co-watching), per
    media kind, kept while the database's change counters (sql/120_change_counters.sql) stay the same.
    `collaborative`: the recommendation step's fitted EASE model, per media kind (refit when plays change).
    `originals`: the watch-history step's provider ids of every played row, per media kind (to find a
    copy's original), kept while that table's change counter stays the same.
    `kinds`: every media kind of this build (a model switch and the own-library check count them all).
    `database_url`: what the worker connected to (embedded or configured), for the backup job.
    """

    queue: JobQueue | None = None
    media_server: MediaServerClient | None = None
    encoder: EncoderCache = field(default_factory=EncoderCache)
    catalogs: dict[str, Any] = field(default_factory=dict)
    collaborative: dict[str, Any] = field(default_factory=dict)
    originals: dict[str, Any] = field(default_factory=dict)
    kinds: tuple[MediaKind, ...] = ()
    database_url: str | None = None  # the database the worker uses (backups dump it)
