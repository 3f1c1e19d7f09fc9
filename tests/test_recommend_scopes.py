"""Scoped recommendation runs (webhooks) and top-K completeness with an HNSW index present."""

from __future__ import annotations

from typing import Any

import asyncpg
import numpy as np

from sidecar.jobs.resources import JobResources
from sidecar.media.kind import MediaKind, Step
from tests.factory import add_plays, add_user
from tests.recommend_helpers import (
    DIMS,
    MODEL,
    activate,
    add_movies,
    two_cluster_library,
    user_list,
)

JOB = Step.RECOMMENDATIONS


def _follow_ups(row: asyncpg.Record) -> list[dict[str, Any]]:
    return [{k: f[k] for k in ("job", "scope")} for f in row["result"].get("follow_ups", [])]


async def test_user_scope_recomputes_only_those_users_and_follows_up_libraries(
    media: MediaKind, db: asyncpg.Pool, run_job: Any
) -> None:
    space, _romance = await two_cluster_library(db)
    for user in ("u1", "u2"):
        await add_user(db, user, max_recs=5)
        await add_plays(db, user, space[:3])

    row = await run_job(media.job(JOB), scope={"user_ids": ["u1"]})

    assert row["status"] == "completed", row["error"]
    assert len(await user_list(db, "u1")) == 5
    assert await user_list(db, "u2") == []
    assert _follow_ups(row) == [{"job": media.job(Step.LIBRARIES), "scope": {"user_ids": ["u1"]}}]


async def test_full_run_never_follows_up(media: MediaKind, db: asyncpg.Pool, run_job: Any) -> None:
    space, _ = await two_cluster_library(db)
    await add_user(db, "u1")
    await add_plays(db, "u1", space[:3])

    row = await run_job(media.job(JOB))

    assert row["status"] == "completed", row["error"]
    assert "follow_ups" not in row["result"]


async def test_item_scope_removes_a_removed_movie_and_touches_only_affected_lists(
    media: MediaKind, db: asyncpg.Pool, run_job: Any
) -> None:
    space, romance = await two_cluster_library(db)
    await add_user(db, "sf", max_recs=5)
    await add_user(db, "ro", max_recs=5)
    await add_plays(db, "sf", space[:5], favourite=True)
    await add_plays(db, "ro", romance[:5], favourite=True)
    first = await run_job(media.job(JOB))
    sf_before = [r["movie_id"] for r in await user_list(db, "sf")]
    ro_before = await user_list(db, "ro")
    gone = sf_before[0]
    assert gone not in [r["movie_id"] for r in ro_before]
    await db.execute(media.sql("UPDATE {items} SET removed_at = now() WHERE id = $1"), gone)

    row = await run_job(media.job(JOB), scope={"item_ids": [gone]})

    assert row["status"] == "completed", row["error"]
    sf_after = [r["movie_id"] for r in await user_list(db, "sf")]
    assert gone not in sf_after and len(sf_after) == 5
    assert [r["run_id"] for r in await user_list(db, "ro")] == [first["id"]] * 5  # untouched
    assert row["result"]["users_unaffected"] == 1
    assert _follow_ups(row) == [{"job": media.job(Step.LIBRARIES), "scope": {"user_ids": ["sf"]}}]


async def test_item_scope_inserts_a_new_movie_where_it_beats_the_list(
    media: MediaKind, db: asyncpg.Pool, run_job: Any
) -> None:
    space, romance = await two_cluster_library(db)
    await add_user(db, "sf", max_recs=5)
    await add_user(db, "ro", max_recs=5)
    await add_plays(db, "sf", space[:5], favourite=True)
    await add_plays(db, "ro", romance[:5], favourite=True)
    await run_job(media.job(JOB))
    ro_before = await user_list(db, "ro")
    # A new movie right at the centre of the space fans' taste.
    centre = np.zeros(DIMS, dtype=np.float32)
    centre[0] = 1.0
    await add_movies(db, {"NEW": centre}, genre="Science Fiction")

    row = await run_job(media.job(JOB), scope={"item_ids": ["NEW"]})

    assert row["status"] == "completed", row["error"]
    assert "NEW" in [r["movie_id"] for r in await user_list(db, "sf")]
    assert [r["run_id"] for r in await user_list(db, "ro")] == [r["run_id"] for r in ro_before]
    assert _follow_ups(row) == [{"job": media.job(Step.LIBRARIES), "scope": {"user_ids": ["sf"]}}]


async def test_top_k_is_complete_with_an_hnsw_index_even_when_the_nearest_are_watched(
    media: MediaKind, db: asyncpg.Pool, run_job: Any
) -> None:
    rng = np.random.default_rng(3)
    raw = rng.normal(size=(400, DIMS)).astype(np.float32)
    vectors = {f"M{i:03d}": v / np.linalg.norm(v) for i, v in enumerate(raw)}
    await add_movies(db, vectors)
    await activate(db)
    # The index exactly as the embeddings job creates it.
    await db.execute(
        f"CREATE INDEX test_hnsw ON movie_embeddings USING hnsw ((embedding::vector({DIMS})) vector_cosine_ops) "
        f"WHERE model = '{MODEL}'"
    )
    taste = raw[0] / np.linalg.norm(raw[0])
    by_closeness = sorted(vectors, key=lambda m: -float(vectors[m] @ taste))
    watched = by_closeness[:150]  # everything an index's first beam would return is already watched
    await add_user(db, "u1", max_recs=60)
    await add_plays(db, "u1", watched)

    naive_query = (
        f"SELECT movie_id FROM movie_embeddings WHERE model = '{MODEL}' AND NOT movie_id = ANY($2) "
        f"ORDER BY embedding::vector({DIMS}) <=> $1::vector({DIMS}) LIMIT 60"
    )
    force_index = (
        "SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off"
    )
    async with db.acquire() as conn, conn.transaction():
        # Why this matters: a plain filtered index search stops at ef_search candidates, then filters.
        await conn.execute(force_index)
        naive = await conn.fetch(naive_query, taste, watched)
    async with db.acquire() as conn, conn.transaction():
        await conn.execute(
            force_index + "; SET LOCAL hnsw.ef_search = 100; SET LOCAL hnsw.iterative_scan = relaxed_order"
        )
        iterative = await conn.fetch(naive_query, taste, watched)
    assert len(naive) < 60
    assert len(iterative) == 60

    row = await run_job(media.job(JOB))

    assert row["status"] == "completed", row["error"]
    picks = [r["movie_id"] for r in await user_list(db, "u1")]
    assert len(picks) == 60
    plays = {
        r["movie_id"] for r in await db.fetch(media.sql("SELECT {item_id} FROM {plays} WHERE user_id = 'u1'"))
    }
    assert not set(picks) & plays


async def test_catalogue_cached_across_runs_is_refreshed_when_a_movie_changes(
    media: MediaKind, db: asyncpg.Pool, run_job: Any
) -> None:
    space, romance = await two_cluster_library(db)
    await add_user(db, "u1", max_recs=40)
    await add_plays(db, "u1", space[:3])
    resources = JobResources()
    await run_job(media.job(JOB), resources=resources)
    cached = resources.catalogs["movies"]
    await run_job(media.job(JOB), resources=resources)
    assert resources.catalogs["movies"] is cached  # nothing changed: reused
    gone = romance[0]
    await db.execute(media.sql("UPDATE {items} SET removed_at = now() WHERE id = $1"), gone)

    row = await run_job(media.job(JOB), resources=resources)

    assert row["status"] == "completed", row["error"]
    assert resources.catalogs["movies"] is not cached
    assert gone not in [r["movie_id"] for r in await user_list(db, "u1")]
