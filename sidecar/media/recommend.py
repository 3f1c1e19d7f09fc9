"""The recommendation steps (`generate-movie-recommendations`, `full-reset-movie-recommendations`, ...).

Per enabled user: history from the kind's plays, picks from `sidecar.recommender.ours`, explanations,
then the user's whole list replaced in one transaction (readers see the old list or the new one,
never an empty or half one). Everything per run is loaded once; scoring is an exact numpy scan
over the active model's vectors, so the top N is never cut short by an approximate index.

Scopes: {"user_ids"} recomputes those users; {"item_ids"} (movies added, changed or removed)
recomputes every enabled user but rewrites only the lists those movies enter or leave. Scoped runs
follow up with sync-movie-libraries for the users whose list changed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import numpy as np

from sidecar.db import relaxed_transaction
from sidecar.jobs.context import JobContext, JobError
from sidecar.media import recommend_queries as q
from sidecar.media.cold_start import Borrowed, borrowed_taste, cross_kind_model
from sidecar.media.explanations import LlmExplainer, PickText, template_explanation
from sidecar.media.kind import MediaKind, Step
from sidecar.media.recommend_data import RunData, load_run_data
from sidecar.recommender.cold_start import recommend_cold_start
from sidecar.recommender.cross_kind import CrossKind
from sidecar.recommender.data import Catalog, History, Pick, build_history
from sidecar.recommender.ours import recommend_many, recommend_ours
from sidecar.recommender.threads import single_threaded_blas

# Users scored, explained and written together: the content and EASE products of a batch are one
# matrix product each, and its lists one transaction (cancellation is checked between batches).
BATCH_USERS = 64
KEPT_EXPLANATION = "You started this from your AI Picks: it stays here until you finish or drop it."


@dataclass
class Tally:
    """The run's result counts."""

    users: int = 0
    users_processed: int = 0
    users_changed: int = 0
    users_unaffected: int = 0
    skipped_no_history: int = 0
    users_failed: int = 0
    recommendations_written: int = 0
    user_seconds: float = 0.0
    changed_user_ids: list[str] = field(default_factory=list)

    def as_result(self, model: str) -> dict[str, Any]:
        timed = self.users_processed + self.users_unaffected
        return {
            "model": model,
            "users": self.users,
            "users_processed": self.users_processed,
            "users_changed": self.users_changed,
            "users_unaffected": self.users_unaffected,
            "skipped_no_history": self.skipped_no_history,
            "users_failed": self.users_failed,
            "recommendations_written": self.recommendations_written,
            "mean_ms_per_user": round(1000 * self.user_seconds / timed, 2) if timed else 0.0,
        }


# --- picks to rows ---------------------------------------------------------------------------------
def _pick_text(data: RunData, catalog: Catalog, pick: Pick) -> PickText:
    movie_id = catalog.ids[pick.item]
    return PickText(
        title=catalog.titles[pick.item],
        year=data.years.get(movie_id),
        because=[catalog.titles[e.item] for e in pick.evidence],
        dominant=pick.carried_by,
    )


def _evidence(catalog: Catalog, pick: Pick) -> list[dict[str, Any]]:
    return [
        {
            "movie_id": catalog.ids[e.item],
            "title": catalog.titles[e.item],
            "similarity": round(e.similarity, 4),
        }
        for e in pick.evidence
    ]


@dataclass
class ListRows:
    """New lists of one or more users as rows of the picks table: [user id, item id, rank, score,
    breakdown, evidence, explanation], sent as one jsonb document (one parameter, parsed once by
    PostgreSQL; seven arrays of 3,000 values cost asyncpg more to encode than the whole document)."""

    rows: list[list[Any]] = field(default_factory=list)
    item_ids: list[str] = field(default_factory=list)  # the list in rank order (one user's)

    def add(self, user_id: str, catalog: Catalog, picks: list[Pick], explanations: list[str]) -> None:
        ids = [catalog.ids[p.item] for p in picks]
        # float32 first: the real column then stores exactly what a float4 parameter stored
        scores = np.asarray([p.score for p in picks], dtype=np.float32).astype(float).tolist()
        for rank, (item_id, score, pick, text) in enumerate(
            zip(ids, scores, picks, explanations, strict=True), 1
        ):
            breakdown = {k: round(v, 4) for k, v in pick.breakdown.items()}
            self.rows.append([user_id, item_id, rank, score, breakdown, _evidence(catalog, pick), text])
        self.item_ids += ids

    @classmethod
    def joined(cls, parts: Iterable[ListRows]) -> ListRows:
        rows = cls()
        for part in parts:
            rows.rows += part.rows
        return rows


async def replace_lists(
    db: asyncpg.Pool, kind: MediaKind, user_ids: list[str], run_id: uuid.UUID, rows: ListRows
) -> None:
    """DELETE + INSERT of these users' lists in one transaction: readers keep each old list until the
    new ones commit (a user listed with no rows is left with an empty list). Derived data, rebuilt
    by the next run: not worth waiting for a disk flush."""
    async with relaxed_transaction(db) as conn:
        await conn.execute(kind.sql(q.DELETE_USER_LISTS), user_ids)
        await conn.execute(kind.sql(q.INSERT_USER_LISTS), run_id, datetime.now(UTC), rows.rows)


# --- users, a batch at a time --------------------------------------------------------------------------------------
async def _explain(data: RunData, catalog: Catalog, picks: list[Pick], llm: LlmExplainer | None) -> list[str]:
    texts = [_pick_text(data, catalog, p) for p in picks]
    if llm is None or llm.gave_up:
        return [template_explanation(t) for t in texts]
    return await llm.explain(texts)


def _touches(movie_ids: list[str], item_ids: set[str]) -> bool:
    return any(m in item_ids for m in movie_ids)


def _has_stale(data: RunData, movie_ids: list[str]) -> bool:
    """Whether a stored list holds a movie that can no longer be recommended (removed, no vector)."""
    rows = [data.catalog.index.get(m) for m in movie_ids]
    return any(row is None or not data.catalog.recommendable[row] for row in rows)


def _affected(data: RunData, old_list: list[str], new_list: list[str], item_ids: set[str]) -> bool:
    """An items-scoped run rewrites a list only if those movies enter or leave it (or it went stale)."""
    return _touches(old_list, item_ids) or _touches(new_list, item_ids) or _has_stale(data, old_list)


@dataclass
class UserRun:
    """What one user's scoring needs besides the run data."""

    old_list: list[str]
    kept: list[str]  # item ids that stay at the head of the list (kind.kept_query)
    item_ids: set[str] | None
    visible: frozenset[str] | None = None  # what the server shows a restricted user (None: everything)


@dataclass(frozen=True)
class Taste:
    """What one user is scored from: their own history of this kind, or (`borrowed`) their taste in
    the kind named by `cold_start_from`, with the cross-kind model when users have both."""

    catalog: Catalog
    history: History
    borrowed: Borrowed | None = None
    cross: CrossKind | None = None


async def _taste(
    ctx: JobContext, kind: MediaKind, data: RunData, user: asyncpg.Record, borrowed: BorrowedData
) -> Taste:
    plays = data.plays_by_user.get(user["id"], [])
    history = build_history(data.catalog, plays, time.time())
    if len(history) or kind.cold_start_from is None:
        return Taste(data.catalog, history)
    source = await borrowed.load(ctx, kind.cold_start_from)
    if source is None or user["id"] not in source.plays_by_user:
        return Taste(data.catalog, history)
    taste = borrowed_taste(data.catalog, source.catalog, source.plays_by_user[user["id"]], time.time())
    if taste is None:
        return Taste(data.catalog, history)
    cross = borrowed.cross(ctx, kind, data, source)
    return Taste(taste.catalog, taste.history, taste, cross)


class BorrowedData:
    """Another kind's run data (and the cross-kind model), loaded at most once per run and only when
    a user needs it."""

    def __init__(self) -> None:
        self._loaded: dict[str, RunData | None] = {}
        self._cross: dict[str, CrossKind | None] = {}

    async def load(self, ctx: JobContext, name: str) -> RunData | None:
        if name not in self._loaded:
            source = next((k for k in ctx.resources.kinds if k.name == name), None)
            try:
                self._loaded[name] = (
                    None if source is None else await load_run_data(ctx.db, source, ctx.resources.catalogs)
                )
            except JobError:  # that kind has nothing embedded: no borrowed taste
                self._loaded[name] = None
        return self._loaded[name]

    def cross(self, ctx: JobContext, kind: MediaKind, data: RunData, source: RunData) -> CrossKind | None:
        key = f"{kind.name}<-{kind.cold_start_from}"
        if key not in self._cross:
            scale = kind.cold_start_params.cross_scale
            self._cross[key] = cross_kind_model(data, source, scale, ctx.resources.collaborative, key)
        return self._cross[key]


def _kept_picks(catalog: Catalog, kept: list[str]) -> list[Pick]:
    rows = [catalog.index[i] for i in kept if i in catalog.index and catalog.recommendable[catalog.index[i]]]
    return [Pick(item=row, score=0.0, breakdown={"kept": 1.0}) for row in rows]


@dataclass
class Scored:
    """One user of a batch, ready to score: what to score them with, and their picks once scored."""

    user: asyncpg.Record
    run: UserRun
    catalog: Catalog
    history: History
    taste: Taste  # own history (scored with the run's server) or borrowed from another kind
    n: int
    picks: list[Pick] = field(default_factory=list)


async def _prepare(
    ctx: JobContext,
    kind: MediaKind,
    data: RunData,
    user: asyncpg.Record,
    run: UserRun,
    borrowed: BorrowedData,
    tally: Tally,
) -> Scored | None:
    """The user's history (own or borrowed) with what they may not see excluded; None: skipped."""
    taste = await _taste(ctx, kind, data, user, borrowed)
    catalog, history = taste.catalog, taste.history
    if run.visible is not None:  # the server's policy hides these from the user: never a pick
        hidden = np.flatnonzero(~np.isin(np.asarray(catalog.ids, dtype=object), list(run.visible)))
        history = dataclasses.replace(history, excluded=np.union1d(history.excluded, hidden))
    if len(history) == 0:
        await _log_skip(ctx, kind, user, len(data.plays_by_user.get(user["id"], [])), data.model)
        tally.skipped_no_history += 1
        return None
    n = kind.picks_per_user(ctx.settings, user["max_recommendations"])
    return Scored(user, run, catalog, history, taste, n)


def _score_alone(kind: MediaKind, data: RunData, scored: Scored) -> list[Pick]:
    """One user: own history with this kind's viewers (co-watching), or borrowed taste (cross-kind)."""
    borrowed = scored.taste.borrowed
    if borrowed is None:
        return recommend_ours(scored.catalog, scored.history, data.server, scored.n, kind.params)
    popularity = data.server.cowatch.popularity()  # this kind's viewers (none: all zeros)
    return recommend_cold_start(scored.catalog, scored.history, borrowed.source_rows, scored.taste.cross,
                                popularity, scored.n, kind.cold_start_params)  # fmt: skip


def _score(kind: MediaKind, data: RunData, batch: list[Scored]) -> list[Exception | None]:
    """Picks for every user of the batch (in a worker thread). Users with their own history are scored
    together; if that fails they are scored one by one, so a bad user fails alone. Users with borrowed
    taste (no history of this kind) are scored one by one."""
    together = [s for s in batch if s.taste.borrowed is None and s.catalog is data.catalog]
    try:
        many = recommend_many(
            data.catalog, [s.history for s in together], data.server, [s.n for s in together], kind.params
        )
    except Exception:
        together = []  # one of them is bad: everyone alone, to find who
    else:
        for scored, picks in zip(together, many, strict=True):
            scored.picks = picks
    done = {id(s) for s in together}
    errors: list[Exception | None] = []
    for scored in batch:
        error = None
        if id(scored) not in done:
            try:
                scored.picks = _score_alone(kind, data, scored)
            except Exception as exc:
                error = exc
        errors.append(error)
    return errors


async def _write(ctx: JobContext, kind: MediaKind, lists: dict[str, ListRows]) -> dict[str, Exception]:
    """All the batch's new lists in one transaction; if that fails, user by user: who failed, and why."""
    if not lists:
        return {}
    try:
        await replace_lists(ctx.db, kind, list(lists), ctx.run_id, ListRows.joined(lists.values()))
        return {}
    except Exception:
        pass  # retried one by one below, to find the list it was about
    failed: dict[str, Exception] = {}
    for user_id, rows in lists.items():
        try:
            await replace_lists(ctx.db, kind, [user_id], ctx.run_id, rows)
        except Exception as exc:
            failed[user_id] = exc
    return failed


async def _process_batch(
    ctx: JobContext,
    kind: MediaKind,
    data: RunData,
    batch: list[tuple[asyncpg.Record, UserRun]],
    borrowed: BorrowedData,
    llm: LlmExplainer | None,
    tally: Tally,
) -> None:
    """Score a batch of users together, explain each pick, write every new list in one transaction."""
    prepared: list[Scored] = []
    for user, run in batch:
        try:
            scored = await _prepare(ctx, kind, data, user, run, borrowed, tally)
        except Exception as exc:
            await _failed(ctx, user, exc, tally)
            continue
        if scored is None:
            await ctx.advance()
        else:
            prepared.append(scored)
    started = time.perf_counter()
    errors = await asyncio.to_thread(_score, kind, data, prepared)
    lists: dict[str, ListRows] = {}
    changed: list[str] = []
    unaffected = 0
    for scored, error in zip(prepared, errors, strict=True):
        try:
            if error is not None:
                raise error
            rows = await _user_rows(data, scored, llm)
        except Exception as exc:
            await _failed(ctx, scored.user, exc, tally)
            continue
        if rows is None:
            unaffected += 1
            continue
        lists[scored.user["id"]] = rows
        if rows.item_ids != scored.run.old_list:
            changed.append(scored.user["id"])
    failed = await _write(ctx, kind, lists)
    tally.user_seconds += time.perf_counter() - started
    for scored in prepared:
        user_id = scored.user["id"]
        if user_id in failed:
            await _failed(ctx, scored.user, failed[user_id], tally)
    written = [user_id for user_id in lists if user_id not in failed]
    tally.users_processed += len(written)
    tally.recommendations_written += sum(len(lists[u].item_ids) for u in written)
    tally.changed_user_ids += [u for u in changed if u not in failed]
    tally.users_changed = len(tally.changed_user_ids)
    tally.users_unaffected += unaffected
    await ctx.advance(unaffected + len(written))  # the failed ones advanced when they were logged


async def _user_rows(data: RunData, scored: Scored, llm: LlmExplainer | None) -> ListRows | None:
    """The user's new list as rows, or None when an items-scoped run leaves it as it is."""
    catalog, run, picks = scored.catalog, scored.run, scored.picks
    kept = _kept_picks(catalog, run.kept)  # started shows: in the history, so never among `picks`
    new_list = [catalog.ids[p.item] for p in kept + picks]
    if run.item_ids is not None and not _affected(data, run.old_list, new_list, run.item_ids):
        return None
    explanations = [KEPT_EXPLANATION] * len(kept) + await _explain(data, catalog, picks, llm)
    rows = ListRows()
    rows.add(scored.user["id"], catalog, kept + picks, explanations)
    return rows


async def _failed(ctx: JobContext, user: asyncpg.Record, exc: BaseException, tally: Tally) -> None:
    tally.users_failed += 1
    await ctx.item_failed(f"recommendations for {user['name']}", exc, user_id=user["id"])


async def _log_skip(ctx: JobContext, kind: MediaKind, user: asyncpg.Record, plays: int, model: str) -> None:
    if plays == 0:
        await ctx.info(
            f"skipped {user['name']}: no watch history yet; run {kind.job(Step.WATCH_HISTORY)} first",
            user_id=user["id"],
            reason="no_watch_history",
        )
    else:
        await ctx.info(
            f"skipped {user['name']}: none of their {plays} watched {kind.name} has a {model} embedding; "
            f"run {kind.job(Step.EMBEDDINGS)} first",
            user_id=user["id"],
            reason="no_embedded_history",
        )


# --- the run ---------------------------------------------------------------------------------------
def _scope_ids(scope: dict[str, Any] | None, key: str) -> list[str] | None:
    if not scope or scope.get(key) is None:
        return None
    return [str(v) for v in scope[key]]


async def _load(ctx: JobContext, kind: MediaKind) -> RunData:
    await ctx.step("Loading embeddings and watch history")
    data = await load_run_data(
        ctx.db,
        kind,
        ctx.resources.catalogs,
        ctx.resources.collaborative,
        user_ids=_scope_ids(ctx.scope, "user_ids"),
    )
    if data.bad_vectors:
        await ctx.warning(
            f"{len(data.bad_vectors)} {kind.name} have a {data.model} vector of the wrong size and were "
            f"left out; run {kind.job(Step.EMBEDDINGS)} to rebuild them",
            item_ids=data.bad_vectors[:20],
        )
    return data


async def _generate(
    ctx: JobContext, kind: MediaKind, data: RunData, scope: dict[str, Any] | None
) -> dict[str, Any]:
    user_ids = _scope_ids(scope, "user_ids")
    item_scope = _scope_ids(scope, "item_ids")
    item_ids = set(item_scope) if item_scope is not None else None
    old_lists = {
        r["user_id"]: list(r["item_ids"]) for r in await ctx.db.fetch(kind.sql(q.CURRENT_LISTS), user_ids)
    }
    kept: dict[str, list[str]] = {}
    if kind.kept_query is not None:
        for row in await ctx.db.fetch(kind.kept_query, user_ids):
            kept.setdefault(row["user_id"], []).append(row["item_id"])
    await ctx.db.execute(kind.sql(q.DELETE_REMOVED_ITEMS), user_ids)
    users = await ctx.db.fetch(kind.sql(q.ENABLED_USERS), user_ids)
    borrowed = BorrowedData()
    visible = {r["user_id"]: frozenset(r["item_ids"]) for r in await ctx.db.fetch(q.VISIBLE_ITEMS, kind.name)}
    tally = Tally(users=len(users))
    llm = LlmExplainer.from_settings(ctx.settings, kind)
    await ctx.step("Scoring users", total=len(users))
    try:
        with single_threaded_blas():
            for start in range(0, len(users), BATCH_USERS):
                ctx.raise_if_cancelled()
                batch = [
                    (
                        user,
                        UserRun(
                            old_lists.get(user["id"], []),
                            kept.get(user["id"], []),
                            item_ids,
                            visible.get(user["id"]),
                        ),
                    )
                    for user in users[start : start + BATCH_USERS]
                ]
                await _process_batch(ctx, kind, data, batch, borrowed, llm, tally)
    finally:
        if llm is not None:
            await llm.close()
    if llm is not None and llm.requests_failed:
        await ctx.warning(
            f"{llm.requests_failed} LLM explanation requests failed; those picks use the template"
        )
    if users and tally.users_failed == len(users):
        raise JobError("recommendations failed for every user; the run log has each error")
    if scope is not None and tally.changed_user_ids:
        ctx.follow_up(kind.job(Step.LIBRARIES), scope={"user_ids": tally.changed_user_ids})
    return tally.as_result(data.model)


async def generate_recommendations(ctx: JobContext, kind: MediaKind) -> dict[str, Any]:
    return await _generate(ctx, kind, await _load(ctx, kind), ctx.scope)


async def full_reset_recommendations(ctx: JobContext, kind: MediaKind) -> dict[str, Any]:
    """Delete every recommendation of the kind, then rebuild all lists; user settings are not touched."""
    data = await _load(ctx, kind)  # checked first: a reset without embeddings would only leave users empty
    await ctx.step(f"Deleting all {kind.singular} recommendations")
    status = await ctx.db.execute(kind.sql(q.DELETE_ALL))
    deleted = int(status.split()[-1])
    await ctx.info(f"deleted {deleted} {kind.singular} recommendations")
    result = await _generate(ctx, kind, data, None)  # a reset always rebuilds everyone
    return {"deleted": deleted, **result}
