"""`generate-discovery-suggestions`: per enabled user and media kind, titles that are not on the server.

For each kind with a TMDb counterpart (movies -> movie, tvshows -> tv) and an active embedding model:
1. seeds per user (`seeds.py`): favourites and highly rated titles, what they watched most, the head
   of their AI Picks; chosen so users share seeds;
2. TMDb recommendations and similar titles of every distinct seed, cached by title (`sources.py`);
3. candidates per user: their seeds' lists, de-duplicated, minus every title on the server (by TMDb,
   IMDb and TVDB id, `server.py`), what they played, adult titles;
4. each candidate embedded from its TMDb text with the active model (cached, `vectors.py`) and scored
   against the user's taste (`scoring.py`); users with a parental limit keep only titles rated as
   what the server shows them (`parental.py`);
5. the top SIDECAR_DISCOVERY_SUGGESTIONS stored with the reason naming the seeds.

Nothing is requested anywhere: requesting a suggestion is an admin's click (`requests.py`).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import numpy as np

from sidecar.db import relaxed_transaction
from sidecar.discovery import queries as q
from sidecar.discovery.parental import allowed, has_limit
from sidecar.discovery.scoring import Scored, Taste, popularity_prior, score_candidates, user_taste
from sidecar.discovery.seeds import Seed, choose_seeds, taste_seeds
from sidecar.discovery.server import ServerTitles, server_titles
from sidecar.discovery.sources import SeedList, seed_lists
from sidecar.discovery.tmdb_source import TMDB_TYPES, certifications, not_configured_result, open_tmdb
from sidecar.discovery.vectors import title_vectors
from sidecar.embeddings.base import EmbeddingProvider
from sidecar.embeddings.factory import EmbeddingSetupError, provider_from_settings
from sidecar.jobs.context import JobContext, JobError
from sidecar.media import recommend_queries as rq
from sidecar.media.kind import MediaKind, Step
from sidecar.media.recommend_data import _plays as plays_from_row  # one user's taste row as Plays
from sidecar.media.recommend_data import load_catalog
from sidecar.recommender.data import Catalog, build_history
from sidecar.services.http import ServiceAuthError, ServiceNotConfigured
from sidecar.services.tmdb import TmdbClient, TmdbKind

PICK_SEEDS_RANK = 3  # the head of the AI Picks that may seed
SHORTLIST_FACTOR = 3  # restricted users: candidates certified, in score order, per suggestion wanted
REASON_SEEDS = 2  # seeds named in a reason
# Every run's result has these counts (0 when nothing happened), more when something did.
RESULT_KEYS = (
    "users_processed", "suggestions_written", "users_failed", "seeds", "seeds_cached", "seeds_fetched",
    "seeds_failed", "candidates", "candidates_embedded", "tmdb_requests",
)  # fmt: skip


@dataclass
class KindData:
    """One kind's inputs, loaded once per run."""

    kind: MediaKind
    media_type: TmdbKind
    model: str
    catalog: Catalog
    server: ServerTitles
    visible_ratings: dict[str, frozenset[str]]


@dataclass
class UserPlan:
    user: asyncpg.Record
    played: set[int]  # TMDb ids they played (never suggested)
    seeds: list[Seed]
    taste: Taste | None


def _seed_json(seed: Seed, lists: list[str], similarity: float) -> dict[str, Any]:
    return {
        "item_id": seed.item_id,
        "title": seed.title,
        "tmdb_id": seed.tmdb_id,
        "why": seed.why,
        "lists": lists,
        "similarity": round(similarity, 4),
    }


def reason(seeds: Sequence[Mapping[str, Any]]) -> str:
    """'Because you watched X and Y' (the closest seeds first); picks say so."""
    watched = [s["title"] for s in seeds if s["why"] != "pick"][:REASON_SEEDS]
    if watched:
        return "Because you watched " + " and ".join(watched)
    return f"Because {seeds[0]['title']} is one of your AI Picks" if seeds else "Suggested for you"


async def _load_kind(
    ctx: JobContext,
    kind: MediaKind,
    media_type: TmdbKind,
    tmdb: TmdbClient,
    provider: EmbeddingProvider,
    counts: Counter[str],
) -> KindData | None:
    try:
        model, catalog, _bad, _years = await load_catalog(ctx.db, kind)  # daily: no cache needed
    except JobError:
        if not await ctx.db.fetchval(kind.sql(q.HAS_ITEMS)):
            return None  # the server has none of this kind: nothing to say
        await ctx.warning(
            f"no {kind.singular} suggestions: there are no active embeddings to score them with; "
            f"run {kind.job(Step.EMBEDDINGS)} first"
        )
        counts["kinds_skipped"] += 1
        return None
    if model != provider.model:
        await ctx.warning(
            f"no {kind.singular} suggestions: the active embedding model is {model} but the configured "
            f"one is {provider.model}; run {kind.job(Step.EMBEDDINGS)} so one model serves both"
        )
        counts["kinds_skipped"] += 1
        return None
    server = await server_titles(ctx, kind, media_type, tmdb, counts)
    visible = {
        r["user_id"]: frozenset(r["ratings"])
        for r in await ctx.db.fetch(kind.sql(q.VISIBLE_RATINGS), kind.name)
    }
    return KindData(kind, media_type, model, catalog, server, visible)


async def _plan_users(ctx: JobContext, data: KindData, counts: Counter[str]) -> list[UserPlan]:
    """Every enabled user's seeds (sharing seeds across users), in user order."""
    kind, catalog = data.kind, data.catalog
    taste_sql = kind.taste_query or kind.sql(rq.PLAYS)
    plays_by_user = {row["user_id"]: plays_from_row(row) for row in await ctx.db.fetch(taste_sql, None)}
    picks: dict[str, list[str]] = {}
    for row in await ctx.db.fetch(kind.sql(q.TOP_PICKS), PICK_SEEDS_RANK):
        picks.setdefault(row["user_id"], []).append(row["item_id"])
    users = await ctx.db.fetch(kind.sql(q.ENABLED_USERS))
    await ctx.db.execute(q.DELETE_OTHER_USERS, kind.name, [u["id"] for u in users])
    shared: set[int] = set()
    plans = []
    now = time.time()
    for user in users:
        plays = plays_by_user.get(user["id"])
        history = build_history(catalog, plays, now) if plays is not None else None
        if history is None or len(history) == 0:
            counts["users_skipped_no_history"] += 1
            continue
        own = taste_seeds(history, catalog.ids, catalog.titles, data.server.tmdb_by_item)
        pick_seeds = [
            Seed(item, data.server.tmdb_by_item[item], data.server.titles.get(item, item), "pick")
            for item in picks.get(user["id"], [])
            if item in data.server.tmdb_by_item
        ]
        seeds = choose_seeds(own, pick_seeds, ctx.settings.discovery_seeds, shared)
        if not seeds:
            counts["users_skipped_no_seeds"] += 1
            continue
        counts["user_seeds"] += len(seeds)  # what the users' seeds would cost without sharing
        played = {data.server.tmdb_by_item[i] for i in plays.item_ids if i in data.server.tmdb_by_item}
        taste = user_taste(catalog.vectors, history)
        plans.append(UserPlan(user, played, seeds, taste))
    return plans


def _candidates(
    plan: UserPlan, lists: Mapping[int, SeedList], excluded: set[int]
) -> dict[int, list[tuple[Seed, str]]]:
    """TMDb id -> the (seed, list) pairs that led to it, minus what the user must not be shown."""
    found: dict[int, list[tuple[Seed, str]]] = {}
    own = {s.tmdb_id for s in plan.seeds}
    for seed in plan.seeds:
        seed_list = lists.get(seed.tmdb_id)
        if seed_list is None:
            continue
        for name, ids in (("recommendations", seed_list.recommended), ("similar", seed_list.similar)):
            for tmdb_id in ids:
                if tmdb_id in excluded or tmdb_id in plan.played or tmdb_id in own:
                    continue
                found.setdefault(tmdb_id, []).append((seed, name))
    return found


def _seed_entries(data: KindData, via: list[tuple[Seed, str]], vector: np.ndarray) -> list[dict[str, Any]]:
    """The seeds behind one suggestion, closest to it first."""
    by_seed: dict[int, tuple[Seed, list[str]]] = {}
    for seed, name in via:
        by_seed.setdefault(seed.tmdb_id, (seed, []))[1].append(name)
    entries = []
    for seed, names in by_seed.values():
        row = data.catalog.index.get(seed.item_id)
        similarity = float(data.catalog.vectors[row] @ vector) if row is not None else 0.0
        entries.append(_seed_json(seed, names, similarity))
    return sorted(entries, key=lambda e: -e["similarity"])


async def _restricted_pass(
    ctx: JobContext,
    data: KindData,
    tmdb: TmdbClient,
    plan: UserPlan,
    ranked: list[Scored],
    ids: list[int],
    titles: dict[int, Mapping[str, Any]],
    counts: Counter[str],
) -> list[Scored]:
    """A user with a parental limit: the best candidates whose certification is one the server shows
    them, certifications fetched (and cached) only for those looked at."""
    visible = data.visible_ratings.get(plan.user["id"], frozenset())
    wanted = ctx.settings.discovery_suggestions
    kept: list[Scored] = []
    if not visible:  # what the server shows them is not known yet: nothing can be shown safely
        await ctx.warning(
            f"no {data.kind.singular} suggestions for {plan.user['name']}: they have a parental limit and "
            f"the ratings the server shows them are not known yet; run {data.kind.job(Step.WATCH_HISTORY)}",
            user_id=plan.user["id"],
        )
        return kept
    for start in range(0, len(ranked), wanted * SHORTLIST_FACTOR):
        chunk = ranked[start : start + wanted * SHORTLIST_FACTOR]
        ratings = await certifications(
            ctx, tmdb, data.media_type, [ids[s.row] for s in chunk], titles, counts
        )
        for scored in chunk:
            if allowed(ratings.get(ids[scored.row]), visible):
                kept.append(scored)
            else:
                counts["parental_dropped"] += 1
            if len(kept) == wanted:
                return kept
    return kept


async def _suggest(
    ctx: JobContext,
    data: KindData,
    tmdb: TmdbClient,
    plan: UserPlan,
    candidates: dict[int, list[tuple[Seed, str]]],
    titles: dict[int, Mapping[str, Any]],
    vectors: dict[int, np.ndarray],
    counts: Counter[str],
) -> None:
    ids = [t for t in candidates if t in vectors and t in titles]
    wanted = ctx.settings.discovery_suggestions
    restricted = has_limit(plan.user["access"])
    ranked: list[Scored] = []
    if ids and plan.taste is not None:
        matrix = np.vstack([vectors[t] for t in ids])
        support = np.array([len({s.tmdb_id for s, _ in candidates[t]}) for t in ids], dtype=float)
        prior = popularity_prior(np.array([titles[t]["popularity"] or 0.0 for t in ids], dtype=float))
        ranked = score_candidates(plan.taste, matrix, support, prior, len(ids) if restricted else wanted)
    if restricted:
        ranked = await _restricted_pass(ctx, data, tmdb, plan, ranked, ids, titles, counts)
    rows = []
    for rank, scored in enumerate(ranked[:wanted], start=1):
        tmdb_id = ids[scored.row]
        seeds = _seed_entries(data, candidates[tmdb_id], vectors[tmdb_id])
        rows.append(
            (tmdb_id, rank, scored.score, json.dumps(scored.breakdown), json.dumps(seeds), reason(seeds))
        )
    async with relaxed_transaction(ctx.db) as conn:
        await conn.execute(q.DELETE_USER_SUGGESTIONS, plan.user["id"], data.kind.name)
        if rows:
            await conn.execute(
                q.INSERT_USER_SUGGESTIONS,
                plan.user["id"],
                data.kind.name,
                ctx.run_id,
                *map(list, zip(*rows, strict=True)),
            )
    counts["suggestions_written"] += len(rows)
    counts["users_processed"] += 1


async def _discover_kind(
    ctx: JobContext, kind: MediaKind, tmdb: TmdbClient, provider: EmbeddingProvider, counts: Counter[str]
) -> None:
    media_type = TMDB_TYPES.get(kind.collection_type)
    if media_type is None:
        return
    await ctx.step(f"Loading {kind.name}: taste, seeds and what the server has")
    data = await _load_kind(ctx, kind, media_type, tmdb, provider, counts)
    if data is None:
        return
    plans = await _plan_users(ctx, data, counts)
    distinct = sorted({s.tmdb_id for p in plans for s in p.seeds})
    counts[f"{kind.name}_seeds"] = len(distinct)
    counts["seeds"] += len(distinct)
    lists = await seed_lists(ctx, tmdb, media_type, distinct, counts)
    per_user = {p.user["id"]: _candidates(p, lists, data.server.present) for p in plans}
    every = sorted({t for found in per_user.values() for t in found})
    titles = {r["tmdb_id"]: r for r in await ctx.db.fetch(q.TITLES, media_type, every) if not r["adult"]}
    await ctx.step(f"Embedding {len(titles)} {media_type} candidates ({data.model})")
    dimensions = data.catalog.vectors.shape[1]
    vectors = await title_vectors(ctx, provider, media_type, dimensions, titles, counts)
    counts["candidates"] += len(vectors)
    await ctx.step(f"Scoring {kind.name} suggestions", total=len(plans), reset_counts=True)
    for plan in plans:
        ctx.raise_if_cancelled()
        try:
            await _suggest(ctx, data, tmdb, plan, per_user[plan.user["id"]], titles, vectors, counts)
        except (ServiceAuthError, JobError):
            raise
        except Exception as exc:  # one user's failure never ends the run
            counts["users_failed"] += 1
            await ctx.item_failed(
                f"{kind.singular} suggestions for {plan.user['name']}", exc, user_id=plan.user["id"]
            )
            continue
        await ctx.advance()


async def generate_discovery_suggestions(ctx: JobContext, kinds: Sequence[MediaKind]) -> dict[str, Any]:
    try:
        tmdb = open_tmdb(ctx.settings)
    except ServiceNotConfigured as exc:
        await ctx.info(f"not configured: set {exc.setting} to get discovery suggestions")
        return not_configured_result(exc.setting)
    try:
        provider = provider_from_settings(ctx.settings, ctx.resources.encoder)
    except EmbeddingSetupError as exc:
        await tmdb.close()
        raise JobError(str(exc)) from None
    counts: Counter[str] = Counter(dict.fromkeys(RESULT_KEYS, 0))
    started = tmdb.requests
    try:
        for kind in kinds:
            await _discover_kind(ctx, kind, tmdb, provider, counts)
    except ServiceAuthError as exc:
        raise JobError(f"TMDb refused the API key: {exc}") from None
    finally:
        counts["tmdb_requests"] = tmdb.requests - started
        await tmdb.close()
        await provider.aclose()
    if counts["users_processed"] == 0 and counts["users_failed"]:
        raise JobError("discovery failed for every user; the run log has each error")
    return dict(counts)
