"""generate-movie-embeddings end to end: real Postgres+pgvector, the fake OpenAI server, the real SDK."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import numpy as np
from pydantic import SecretStr

from sidecar.embeddings import store
from sidecar.media.kind import MediaKind, Step
from sidecar.movies import MOVIES
from sidecar.settings import Settings
from tests.embeddings.conftest import LiveSimulator, insert_movies, movie_row, stored_vectors

JOB = Step.EMBEDDINGS


def _with(settings: Settings, **update: Any) -> Settings:
    return settings.model_copy(update=update)


async def _vectors(db: asyncpg.Pool, media: MediaKind) -> dict[tuple[str, str], str]:
    rows = await db.fetch(media.sql("SELECT {item_id}, model, content_hash FROM {vectors}"))
    return {(r[media.tables.item_id], r["model"]): r["content_hash"] for r in rows}


async def test_full_run_embeds_every_current_movie_in_few_requests(
    media: MediaKind, db: asyncpg.Pool, run_job: Any, openai_settings: Settings, openai_server: LiveSimulator
) -> None:
    movies = [movie_row(i) for i in range(10)] + [movie_row(i, removed=True) for i in (10, 11)]
    await insert_movies(db, movies)
    settings = _with(openai_settings, embedding_batch_size=4, embedding_concurrency=2)

    row = await run_job(media.job(JOB), settings=settings)
    assert row["status"] == "completed", row["error"]
    result = row["result"]
    assert result["embedded"] == 10 and result["failed"] == 0 and result["skipped"] == 0
    assert result["requests"] == 3 == openai_server.sim.request_count
    assert result["model"] == result["active_model"] == "text-embedding-3-small"
    assert result["dimensions"] == 1536 and result["tokens"] > 0
    assert row["items_processed"] == 10 and row["items_total"] == 10
    stored = await _vectors(db, media)
    assert stored == {(m["id"], "text-embedding-3-small"): m["content_hash"] for m in movies[:10]}
    assert await store.active_model(db) == ("text-embedding-3-small", 1536)

    # The HNSW index exists with exactly the documented expression.
    indexdef = await db.fetchval("SELECT indexdef FROM pg_indexes WHERE indexname = $1", result["index"])
    assert "USING hnsw (((embedding)::vector(1536)) vector_cosine_ops)" in indexdef
    assert "WHERE (model = 'text-embedding-3-small'::text)" in indexdef

    again = await run_job(media.job(JOB), settings=settings)
    assert again["status"] == "completed"
    assert again["result"]["embedded"] == 0 and again["result"]["skipped"] == 10
    assert again["result"]["requests"] == 0 and openai_server.sim.request_count == 3


async def test_changed_content_hash_re_embeds_only_that_movie(
    media: MediaKind, db: asyncpg.Pool, run_job: Any, openai_settings: Settings, openai_server: LiveSimulator
) -> None:
    await insert_movies(db, [movie_row(i) for i in range(6)])
    assert (await run_job(media.job(JOB), settings=openai_settings))["result"]["embedded"] == 6
    changed = movie_row(2)["id"]
    await db.execute(
        media.sql(
            "UPDATE {items} SET content_hash = 'new', overview = 'A heist in Los Angeles' WHERE id = $1"
        ),
        changed,
    )
    before = await db.fetchval(
        media.sql("SELECT embedding FROM {vectors} WHERE {item_id} = $1"), movie_row(3)["id"]
    )

    row = await run_job(media.job(JOB), settings=openai_settings)
    assert row["result"]["embedded"] == 1 and row["result"]["skipped"] == 5
    assert openai_server.sim.requests[-1].inputs == 1
    assert (await _vectors(db, media))[(changed, "text-embedding-3-small")] == "new"
    after = await db.fetchval(
        media.sql("SELECT embedding FROM {vectors} WHERE {item_id} = $1"), movie_row(3)["id"]
    )
    np.testing.assert_array_equal(before.to_numpy(), after.to_numpy())


async def test_model_change_keeps_old_vectors_serving_until_new_set_is_complete(
    media: MediaKind, db: asyncpg.Pool, run_job: Any, openai_settings: Settings, openai_server: LiveSimulator
) -> None:
    await insert_movies(db, [movie_row(i) for i in range(8)] + [movie_row(9, title="POISON movie")])
    old = _with(openai_settings, embedding_dimensions=64, embedding_batch_size=3)
    first = await run_job(media.job(JOB), settings=old)
    assert first["result"]["embedded"] == 9
    old_index = first["result"]["index"]

    # New size = new model. One movie keeps failing: the new set is incomplete, the old one serves.
    openai_server.sim.faults.fail_marker = "POISON"
    new = _with(old, embedding_dimensions=32, embedding_max_attempts=2)
    partial = await run_job(media.job(JOB), settings=new)
    assert partial["status"] == "completed"
    assert partial["result"]["model"] == "text-embedding-3-small@32"
    assert partial["result"]["embedded"] == 6 and partial["result"]["failed"] == 3  # the poisoned batch
    assert partial["items_failed"] == 3
    assert partial["result"]["active_model"] == "text-embedding-3-small@64"
    assert await store.active_model(db) == ("text-embedding-3-small@64", 64)
    ids, old_vectors = await stored_vectors(db, "text-embedding-3-small@64")
    assert len(ids) == 9 and old_vectors.shape == (9, 64)
    logs = await db.fetch("SELECT message FROM job_run_logs WHERE run_id = $1", partial["id"])
    assert any("keeps serving" in r["message"] for r in logs)

    # The failure clears: the remaining movies are embedded, the new model takes over, old vectors go.
    openai_server.sim.faults.fail_marker = None
    done = await run_job(media.job(JOB), settings=new)
    assert done["result"]["embedded"] == 3 and done["result"]["skipped"] == 6
    assert done["result"]["active_model"] == "text-embedding-3-small@32"
    assert done["result"]["replaced_models"] == ["text-embedding-3-small@64"]
    assert done["result"]["deleted_vectors"] == 9
    assert await store.active_model(db) == ("text-embedding-3-small@32", 32)
    assert {model for _, model in await _vectors(db, media)} == {"text-embedding-3-small@32"}
    assert await db.fetchval("SELECT count(*) FROM embedding_models") == 1
    assert await db.fetchval("SELECT to_regclass($1)", old_index) is None
    indexdef = await db.fetchval(
        "SELECT indexdef FROM pg_indexes WHERE indexname = $1", done["result"]["index"]
    )
    assert "vector(32)" in indexdef


async def test_bad_key_fails_the_run_naming_the_setting(
    media: MediaKind, db: asyncpg.Pool, run_job: Any, openai_settings: Settings, openai_server: LiveSimulator
) -> None:
    await insert_movies(db, [movie_row(i) for i in range(3)])
    row = await run_job(
        media.job(JOB), settings=_with(openai_settings, openai_api_key=SecretStr("sk-nope-secret"))
    )
    assert row["status"] == "failed"
    assert "SIDECAR_OPENAI_API_KEY" in row["error"] and "sk-nope-secret" not in row["error"]
    assert openai_server.sim.request_count == 1
    assert await db.fetchval(media.sql("SELECT count(*) FROM {vectors}")) == 0


async def test_scoped_run_embeds_those_movies_and_asks_for_recommendations(
    media: MediaKind, db: asyncpg.Pool, run_job: Any, openai_settings: Settings
) -> None:
    movies = [movie_row(i) for i in range(5)] + [movie_row(5, removed=True)]
    await insert_movies(db, movies)
    wanted = [movies[1]["id"], movies[3]["id"], movies[5]["id"], "f" * 32]
    row = await run_job(
        media.job(JOB), settings=openai_settings, scope={"item_ids": wanted}, trigger="webhook"
    )
    assert row["status"] == "completed"
    result = row["result"]
    assert result["embedded"] == 2 and result["ignored"] == 2
    assert set(await _vectors(db, media)) == {(movies[i]["id"], "text-embedding-3-small") for i in (1, 3)}
    assert result["follow_ups"] == [
        {
            "job": media.job(Step.RECOMMENDATIONS),
            "variant": "regular",
            "scope": {"item_ids": sorted([movies[1]["id"], movies[3]["id"]])},
        }
    ]
    # The first model ever serves at once, even though a scoped run covers only part of the library.
    assert result["active_model"] == "text-embedding-3-small"

    repeat = await run_job(media.job(JOB), settings=openai_settings, scope={"item_ids": wanted})
    assert repeat["result"]["embedded"] == 0 and "follow_ups" not in repeat["result"]


async def test_scope_without_movies_does_nothing(
    media: MediaKind, db: asyncpg.Pool, run_job: Any, openai_settings: Settings, openai_server: LiveSimulator
) -> None:
    await insert_movies(db, [movie_row(0)])
    row = await run_job(media.job(JOB), settings=openai_settings, scope={"user_ids": ["a" * 32]})
    assert row["status"] == "completed" and row["result"]["embedded"] == 0
    assert openai_server.sim.request_count == 0


async def test_cancel_stops_between_batches_keeping_what_was_stored(
    media: MediaKind, db: asyncpg.Pool, run_job: Any, openai_settings: Settings, openai_server: LiveSimulator
) -> None:
    await insert_movies(db, [movie_row(i) for i in range(40)])
    openai_server.sim.faults.latency_seconds = 0.2
    settings = _with(openai_settings, embedding_batch_size=2, embedding_concurrency=1)

    async def cancel_after_first_batch() -> None:
        while not await db.fetchval(media.sql("SELECT count(*) FROM {vectors}")):
            await asyncio.sleep(0.02)
        await db.execute("UPDATE job_runs SET cancel_requested = true WHERE status = 'running'")

    canceller = asyncio.create_task(cancel_after_first_batch())
    row = await run_job(media.job(JOB), settings=settings)
    await canceller
    assert row["status"] == "cancelled"
    stored = await db.fetchval(media.sql("SELECT count(*) FROM {vectors}"))
    assert 0 < stored < 40
    assert stored % 2 == 0  # whole batches only

    openai_server.sim.faults.latency_seconds = 0
    resumed = await run_job(media.job(JOB), settings=settings)
    assert resumed["result"]["embedded"] == 40 - stored


async def test_load_vectors_and_index_expression_for_the_recommender(
    media: MediaKind, db: asyncpg.Pool, run_job: Any, openai_settings: Settings
) -> None:
    movies = [movie_row(i, title=f"Film {i}") for i in range(6)]
    await insert_movies(db, movies)
    result = (await run_job(media.job(JOB), settings=_with(openai_settings, embedding_dimensions=48)))[
        "result"
    ]
    model, dimensions = await store.active_model(db) or ("", 0)
    assert (model, dimensions) == ("text-embedding-3-small@48", 48)

    ids, matrix = await stored_vectors(db, model)
    assert ids == sorted(m["id"] for m in movies)
    assert matrix.dtype == np.float32 and matrix.shape == (6, 48)
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-5)
    some, _ = await stored_vectors(db, model, [movies[0]["id"], movies[4]["id"]])
    assert some == [movies[0]["id"], movies[4]["id"]]
    await db.execute(media.sql("UPDATE {items} SET removed_at = now() WHERE id = $1"), movies[0]["id"])
    assert movies[0]["id"] not in (await stored_vectors(db, model))[0]
    assert movies[0]["id"] in (await stored_vectors(db, model, include_removed=True))[0]

    # A nearest-neighbour query written with the shared expression can use the partial index.
    query = (
        f"SELECT movie_id FROM movie_embeddings WHERE model = {store.model_literal(model)} "
        f"ORDER BY {store.index_expression(dimensions)} <=> $1::{store.vector_cast(dimensions)} LIMIT 3"
    )
    async with db.acquire() as conn:
        await conn.execute("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + query, matrix[1]))
        nearest = await conn.fetch(query, matrix[1])
    assert result["index"] in plan
    assert nearest[0]["movie_id"] == ids[1]


async def test_large_vectors_get_a_halfvec_index(
    media: MediaKind, db: asyncpg.Pool, run_job: Any, openai_settings: Settings
) -> None:
    await insert_movies(db, [movie_row(i) for i in range(3)])
    row = await run_job(
        media.job(JOB), settings=_with(openai_settings, embedding_model="text-embedding-3-large")
    )
    assert row["status"] == "completed", row["error"]
    assert row["result"]["dimensions"] == 3072
    indexdef = await db.fetchval(
        "SELECT indexdef FROM pg_indexes WHERE indexname = $1", row["result"]["index"]
    )
    assert "((embedding)::halfvec(3072)) halfvec_cosine_ops" in indexdef
    assert store.index_sql(MOVIES.tables, "x'y", 5000) is None
    assert store.index_sql(MOVIES.tables, "it's", 10) == (
        "CREATE INDEX IF NOT EXISTS "
        + store.index_name(MOVIES.tables, "it's")
        + " ON movie_embeddings USING hnsw "
        "((embedding::vector(10)) vector_cosine_ops) WHERE model = 'it''s'"
    )


async def test_bulk_re_embed_rebuilds_the_index_once(
    media: MediaKind, db: asyncpg.Pool, run_job: Any, openai_settings: Settings, monkeypatch: Any
) -> None:
    from sidecar.media import embed

    await insert_movies(db, [movie_row(i) for i in range(8)])
    first = await run_job(media.job(JOB), settings=openai_settings)
    monkeypatch.setattr(embed, "INDEX_REBUILD_MIN_ITEMS", 4)
    await db.execute(
        media.sql("UPDATE {items} SET content_hash = content_hash || '-v2' WHERE id < $1"), movie_row(4)["id"]
    )
    small = await run_job(media.job(JOB), settings=openai_settings)  # 4 of 8 changed: 50% >= 25%, >= 4 movies
    await db.execute(
        media.sql("UPDATE {items} SET content_hash = content_hash || '-v3' WHERE id = $1"), movie_row(7)["id"]
    )
    tiny = await run_job(media.job(JOB), settings=openai_settings)  # 1 movie: updated in place

    async def messages(run: Any) -> list[str]:
        return [
            r["message"]
            for r in await db.fetch("SELECT message FROM job_run_logs WHERE run_id=$1", run["id"])
        ]

    assert any("dropped the model's vector index" in m for m in await messages(small))
    assert not any("dropped" in m for m in await messages(tiny))
    assert small["result"]["embedded"] == 4 and tiny["result"]["embedded"] == 1
    assert await db.fetchval("SELECT to_regclass($1) IS NOT NULL", first["result"]["index"])
