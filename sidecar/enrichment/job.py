"""The `enrich-metadata` job: TMDb details (and optionally OMDb ratings) for every item of every media
kind TMDb describes, one request per item, kept in `item_enrichment`.

What counts (../shared/spec/global-jobs.md §3.1, and what the product this re-imagines gets wrong in
§4): an item is enriched only by a real answer. A 404 marks it `not_found` and asks again after
`NOT_FOUND_RETRY_DAYS`; a timeout, a 429 or a 5xx after the client's bounded retries leaves it for
the next run. A refused key fails the run once, naming the setting. When TMDb stops answering
altogether (`UNANSWERED_IN_A_ROW` items in a row), the run fails saying so; what it stored stays, so
the next run resumes with the rest. Any other problem with one item is counted and logged, and the
run goes on. OMDb is asked only within its daily budget, counted per UTC day in the database.

An item whose stored fields changed gets a new `content_hash`: the embeddings job re-embeds it, with
the enriched fields in its text (sidecar/movies/text.py, sidecar/series/text.py).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from sidecar.enrichment import queries as q
from sidecar.enrichment.fields import OmdbFields, TmdbFields, omdb_fields, tmdb_fields
from sidecar.jobs.context import JobContext, JobError
from sidecar.media.kind import MediaKind
from sidecar.services.http import (
    QuotaSpent,
    ServiceAuthError,
    ServiceError,
    ServiceNotConfigured,
    ServiceNotFound,
    ServiceUnavailable,
)
from sidecar.services.omdb import OmdbClient
from sidecar.services.tmdb import TmdbClient, TmdbKind

VERSION = 1  # bump when the stored fields change: every item is enriched again
NOT_FOUND_RETRY_DAYS = 30
UNANSWERED_IN_A_ROW = 10  # items in a row without an answer (each after its retries): the service is down
WORKERS = 24  # items in flight (each waits mostly on TMDb); the client's rate limit sets the pace
OMDB_SERVICE = "omdb"
# TMDb's kind for each kind of library the media server has (MediaKind.collection_type).
TMDB_KINDS: dict[str, TmdbKind] = {"movies": "movie", "tvshows": "tv"}


@dataclass
class Outage:
    """Items in a row that got no answer; the last reason."""

    in_a_row: int = 0
    last: str = ""


@dataclass
class Run:
    """One run's clients, counts and stop signals, shared by its workers."""

    ctx: JobContext
    tmdb: TmdbClient
    omdb: OmdbClient | None
    omdb_limit: int
    counts: Counter[str] = field(default_factory=Counter)
    tmdb_outage: Outage = field(default_factory=Outage)
    fatal: BaseException | None = None  # a refused key or a dead service: every worker stops
    omdb_stopped: str | None = None  # why OMDb is not asked any more this run


async def enrich_metadata(ctx: JobContext, kinds: Sequence[MediaKind]) -> dict[str, Any]:
    settings = ctx.settings
    try:
        tmdb = TmdbClient.from_settings(settings)
    except ServiceNotConfigured as exc:
        # Not a failure: the feature is off until the key is set, and the card says which one.
        await ctx.info(f"{exc}; nothing to do")
        return {"not_configured": exc.setting}
    omdb = OmdbClient.from_settings(settings) if OmdbClient.is_configured(settings) else None
    run = Run(ctx, tmdb, omdb, settings.omdb_daily_limit)
    if omdb is not None:
        await _omdb_budget_left(run)
    try:
        for kind in kinds:
            if kind.collection_type in TMDB_KINDS:
                await _enrich_kind(run, kind, TMDB_KINDS[kind.collection_type])
    finally:
        await tmdb.close()
        if omdb is not None:
            await omdb.close()
    return _result(run)


def _result(run: Run) -> dict[str, Any]:
    counts = run.counts
    result: dict[str, Any] = {
        "enriched": counts["enriched"],
        "not_found": counts["not_found"],
        "deferred": counts["deferred"],
        "failed": counts["failed"],
        "changed": counts["changed"],
        "found_by_id": counts["found_by_id"],
        "requests": run.tmdb.requests,
    }
    if run.omdb is not None:
        result |= {
            "omdb_enriched": counts["omdb_enriched"],
            "omdb_not_found": counts["omdb_not_found"],
            "omdb_requests": run.omdb.requests,
        }
        if run.omdb_stopped:
            result["omdb_stopped"] = run.omdb_stopped
    return result


async def _enrich_kind(run: Run, kind: MediaKind, tmdb_kind: TmdbKind) -> None:
    ctx = run.ctx
    await ctx.step(f"Finding {kind.name} to enrich")
    due = await ctx.db.fetch(kind.sql(q.DUE), VERSION, run.omdb is not None and run.omdb_stopped is None)
    await ctx.info(f"{len(due)} {kind.name} to enrich from TMDb" + (" and OMDb" if run.omdb else ""))
    await ctx.step(f"Enriching {kind.name}", total=len(due), reset_counts=True)
    queue: asyncio.Queue[asyncpg.Record] = asyncio.Queue()
    for row in due:
        queue.put_nowait(row)
    # The first item alone: a refused key or a dead service shows on one request, not on WORKERS.
    await _worker(run, kind, tmdb_kind, queue, limit=1)
    workers = [asyncio.create_task(_worker(run, kind, tmdb_kind, queue)) for _ in range(WORKERS)]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
    await ctx.flush()
    if run.fatal is not None:
        raise run.fatal
    ctx.raise_if_cancelled()


async def _worker(
    run: Run,
    kind: MediaKind,
    tmdb_kind: TmdbKind,
    queue: asyncio.Queue[asyncpg.Record],
    limit: int | None = None,
) -> None:
    ctx = run.ctx
    while run.fatal is None and not queue.empty() and limit != 0:
        if ctx.cancelled:
            return  # the executor records the cancel; what is stored stays
        limit = None if limit is None else limit - 1
        row = queue.get_nowait()
        try:
            await _enrich_item(run, kind, tmdb_kind, row)
        except ServiceAuthError as exc:
            run.fatal = JobError(str(exc))
            return
        except Exception as exc:  # one bad item never aborts the run
            run.counts["failed"] += 1
            await ctx.item_failed(f"{kind.singular} {row['id']}", _describe(exc), item_id=row["id"])
            continue
        await ctx.advance()


def _describe(exc: Exception) -> str:
    return str(exc) if isinstance(exc, ServiceError) else f"{type(exc).__name__}: {exc}"


async def _enrich_item(run: Run, kind: MediaKind, tmdb_kind: TmdbKind, row: asyncpg.Record) -> None:
    imdb_id = row["known_imdb_id"] or row["imdb_id"]
    if row["needs_tmdb"]:
        fields = await _ask_tmdb(run, kind, tmdb_kind, row)
        if fields is None:
            return
        imdb_id = fields.imdb_id or imdb_id
    if run.omdb is not None and run.omdb_stopped is None and imdb_id:
        await _ask_omdb(run, kind, row["id"], imdb_id)


async def _ask_tmdb(run: Run, kind: MediaKind, tmdb_kind: TmdbKind, row: asyncpg.Record) -> TmdbFields | None:
    """One TMDb request (two for an item known only by IMDb/TVDB id); the answer stored."""
    db, table = run.ctx.db, kind.tables.items
    try:
        tmdb_id = await _tmdb_id(run, tmdb_kind, row)
        if tmdb_id is None:
            raise ServiceNotFound("TMDb", "no TMDb title for the item's IMDb/TVDB id")
        document = await run.tmdb.details(tmdb_kind, tmdb_id)
    except ServiceNotFound:
        await db.execute(
            q.UPSERT_NOT_FOUND, table, row["id"], row["source_key"], VERSION, NOT_FOUND_RETRY_DAYS
        )
        run.counts["not_found"] += 1
        run.tmdb_outage.in_a_row = 0
        return None
    except ServiceUnavailable as exc:
        run.counts["deferred"] += 1  # left for the next run
        await _unanswered(run, exc)
        return None
    run.tmdb_outage.in_a_row = 0
    fields = tmdb_fields(tmdb_kind, document)
    data_hash = fields.data_hash
    changed = data_hash != row["data_hash"]
    await db.execute(
        kind.sql(q.SAVE_ENRICHED), table, row["id"], row["source_key"], VERSION, fields.tmdb_id or tmdb_id,
        fields.imdb_id or row["imdb_id"], fields.tvdb_id or row["tvdb_id"], fields.collection_id,
        fields.collection_name, fields.original_language, fields.certification, fields.keywords,
        fields.cast_names, fields.directors, fields.writers, fields.created_by, fields.networks, data_hash,
        changed,
    )  # fmt: skip
    run.counts["changed"] += changed
    run.counts["enriched"] += 1
    return fields


async def _tmdb_id(run: Run, tmdb_kind: TmdbKind, row: asyncpg.Record) -> int | None:
    source, _, value = row["source_key"].partition(":")
    if source == "tmdb":
        return int(value)
    found = await run.tmdb.find_id(tmdb_kind, value, "imdb_id" if source == "imdb" else "tvdb_id")
    if found is None and source == "imdb" and row["tvdb_id"]:
        found = await run.tmdb.find_id(tmdb_kind, row["tvdb_id"], "tvdb_id")  # series: TVDB next
    if found is not None:
        run.counts["found_by_id"] += 1
    return found


async def _unanswered(run: Run, exc: ServiceUnavailable) -> None:
    """Count an item TMDb did not answer; many in a row mean it is down: stop the run."""
    outage = run.tmdb_outage
    outage.in_a_row += 1
    outage.last = str(exc)
    if outage.in_a_row == 1:
        await run.ctx.warning(f"{exc}; the item is left for the next run")
    if outage.in_a_row >= UNANSWERED_IN_A_ROW and run.fatal is None:
        run.fatal = JobError(
            f"TMDb did not answer {outage.in_a_row} items in a row ({outage.last}); "
            f"{run.counts['enriched']} items enriched in this run are kept and the next run resumes "
            "with the rest"
        )


async def _ask_omdb(run: Run, kind: MediaKind, item_id: str, imdb_id: str) -> None:
    """OMDb for one item, within the day's budget. A spent quota stops OMDb for this run."""
    assert run.omdb is not None
    db, table = run.ctx.db, kind.tables.items
    if await db.fetchval(q.RESERVE_REQUEST, OMDB_SERVICE, run.omdb_limit) is None:
        await _stop_omdb(run, f"daily limit of {run.omdb_limit} requests reached (SIDECAR_OMDB_DAILY_LIMIT)")
        return
    try:
        document = await run.omdb.by_imdb(imdb_id)
    except QuotaSpent:
        await db.execute(q.MARK_SPENT, OMDB_SERVICE)
        await _stop_omdb(run, "OMDb says the key's daily request limit is reached")
        return
    except ServiceNotFound:
        await db.execute(
            q.UPDATE_OMDB, table, item_id, "not_found", NOT_FOUND_RETRY_DAYS, None, None, None, None
        )
        run.counts["omdb_not_found"] += 1
        return
    except ServiceUnavailable as exc:
        run.counts["omdb_deferred"] += 1
        await run.ctx.debug(f"{exc}; OMDb is asked again next run", item_id=item_id)
        return
    found: OmdbFields = omdb_fields(document)
    await db.execute(
        q.UPDATE_OMDB, table, item_id, "enriched", NOT_FOUND_RETRY_DAYS,
        found.rotten_tomatoes, found.metacritic, found.imdb_rating, found.awards,
    )  # fmt: skip
    run.counts["omdb_enriched"] += 1


async def _omdb_budget_left(run: Run) -> None:
    """A budget spent earlier today stops OMDb before any item is looked at."""
    used = await run.ctx.db.fetchrow(q.USED_TODAY, OMDB_SERVICE)
    if used is not None and used["spent"]:
        await _stop_omdb(run, "OMDb said earlier today that the key's daily request limit is reached")
    elif used is not None and used["requests"] >= run.omdb_limit:
        await _stop_omdb(run, f"daily limit of {run.omdb_limit} requests reached (SIDECAR_OMDB_DAILY_LIMIT)")


async def _stop_omdb(run: Run, why: str) -> None:
    if run.omdb_stopped is None:
        run.omdb_stopped = why
        await run.ctx.info(f"OMDb stopped for today: {why}; the rest is asked after 00:00 UTC")
