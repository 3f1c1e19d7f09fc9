"""What enrichment changes elsewhere: the embedding text and content hash (so the embeddings job
re-embeds exactly the changed items), and the franchise signal in the recommender's breakdown."""

from __future__ import annotations

from typing import Any

import asyncpg
import numpy as np

from sidecar.embeddings import store
from sidecar.media.explanations import PickText, template_explanation
from sidecar.movies import MOVIES
from sidecar.recommender.data import BOOSTS, COMPONENTS, Play, build_catalog, build_history
from sidecar.recommender.ours import OursParams, recommend_ours
from sidecar.series import SERIES
from tests.enrichment.conftest import World
from tests.factory import add_model, add_plays, add_user, add_vectors
from tests.recommend_helpers import two_cluster_library, user_list

MODEL = "text-model"


async def _texts(db: asyncpg.Pool, kind: Any) -> dict[str, str]:
    ids = [r["id"] for r in await db.fetch(f"SELECT id FROM {kind.tables.items}")]
    return {row["title"]: kind.text(row) for row in await db.fetch(kind.text_query, ids)}


async def test_enriched_fields_reach_the_text_and_only_changed_items_are_re_embedded(
    world: World, run_job: Any, db: asyncpg.Pool
) -> None:
    # Every item has a current vector made from its server metadata.
    for kind in (MOVIES, SERIES):
        for row in await db.fetch(f"SELECT id, content_hash FROM {kind.tables.items}"):
            await add_vectors(
                db, {row["id"]: _unit()}, model=MODEL, content_hash=row["content_hash"], kind=kind
            )
    await add_model(db, MODEL, 4)
    before = {kind.name: await _texts(db, kind) for kind in (MOVIES, SERIES)}
    assert await store.ids_to_embed(db, MOVIES.tables, MODEL, None) == []
    await db.execute("UPDATE movies SET tmdb_id = '99999999' WHERE title = 'Arrival'")  # TMDb: not found

    assert (await run_job("enrich-metadata", settings=world.settings))["status"] == "completed"

    movies, shows = await _texts(db, MOVIES), await _texts(db, SERIES)
    matrix = movies["The Matrix"]
    assert "Part of: The Matrix Collection" in matrix and "Keywords: " in matrix
    assert "Starring: Keanu Reeves" in matrix  # the server's credits stay first
    assert "Starring: " in movies["Filler 3"] and "Directed by: " in movies["Filler 3"]  # TMDb's fill the gap
    assert "Network: " in shows["Only Tvdb"] and "Starring: " in shows["Only Tvdb"]
    assert movies["Arrival"] == before["movies"]["Arrival"]  # not enriched: text and hash unchanged
    changed = set(await store.ids_to_embed(db, MOVIES.tables, MODEL, None))
    arrival = await db.fetchval("SELECT id FROM movies WHERE title = 'Arrival'")
    assert arrival not in changed and len(changed) == await db.fetchval("SELECT count(*) FROM movies") - 1
    assert len(await store.ids_to_embed(db, SERIES.tables, MODEL, None)) == len(shows)

    # Once re-embedded, a second enrichment pass (nothing new) changes no hash.
    for kind in (MOVIES, SERIES):
        rows = await db.fetch(f"SELECT id, content_hash FROM {kind.tables.items}")
        await db.execute(f"DELETE FROM {kind.tables.vectors}")
        for row in rows:
            await add_vectors(
                db, {row["id"]: _unit()}, model=MODEL, content_hash=row["content_hash"], kind=kind
            )
    await db.execute("UPDATE item_enrichment SET version = 0")  # as after a job upgrade: all asked again
    again = await run_job("enrich-metadata", settings=world.settings)
    assert again["result"]["enriched"] == world.items - 1 and again["result"]["changed"] == 0
    assert await store.ids_to_embed(db, MOVIES.tables, MODEL, None) == []


def _unit() -> Any:
    return np.array([1.0, 0.0, 0.0, 0.0], dtype=np.float32)


async def test_a_title_of_a_watched_collection_gets_the_franchise_boost_in_its_breakdown(
    db: asyncpg.Pool, run_job: Any
) -> None:
    space, romance = await two_cluster_library(db)
    await add_user(db, "u1")
    await add_plays(db, "u1", space[:5])
    assert (await run_job("generate-movie-recommendations"))["status"] == "completed"
    before = {p["movie_id"]: p for p in await user_list(db, "u1")}
    assert "franchise" not in before[romance[7]]["breakdown"]  # no collections known: no such part
    # One romance title shares a collection with a watched space title (as enrich-metadata stores it,
    # renewing the items' updated_at so cached catalogues reload).
    for item_id in (space[0], romance[7]):
        await db.execute(
            "INSERT INTO item_enrichment (items_table, item_id, source_key, version, status, collection_id, "
            "collection_name) VALUES ('movies', $1, 'tmdb:' || $1, 1, 'enriched', 77, 'Saga Collection')",
            item_id,
        )
        await db.execute("UPDATE movies SET updated_at = now() WHERE id = $1", item_id)
    run = await run_job("generate-movie-recommendations")
    assert run["status"] == "completed", run["error"]
    picks = {p["movie_id"]: p for p in await user_list(db, "u1")}
    boosted = picks[romance[7]]
    assert boosted["breakdown"]["franchise"] == 0.1
    assert boosted["rank"] < before[romance[7]]["rank"]
    others = [picks[m] for m in romance if m != romance[7] and m in picks]
    assert others and all(p["breakdown"]["franchise"] == 0.0 for p in others)
    # The stored parts add up to the relevance, up to their rounding to 4 decimals (half a unit each).
    parts = (*COMPONENTS, *BOOSTS)
    rounding = 0.5e-4 * (len(parts) + 1)
    assert abs(sum(boosted["breakdown"][k] for k in parts) - boosted["breakdown"]["relevance"]) <= rounding


def test_a_pick_carried_by_the_franchise_names_the_watched_title_of_its_collection() -> None:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(30, 8))
    ids = [f"m{i}" for i in range(30)]
    collections = [0] * 30
    collections[2] = collections[25] = 9  # m2 (watched, far down the history) and m25 share a collection
    catalog = build_catalog(ids, ids, vectors, [["Drama"]] * 30, collections=collections)
    plays = [Play(f"m{i}", last_played=1_000_000 - i) for i in range(6)]
    history = build_history(catalog, plays, now=1_000_100)
    picks = recommend_ours(catalog, history, None, 5, OursParams(franchise=5.0))
    top = picks[0]
    assert catalog.ids[top.item] == "m25" and top.carried_by == "franchise"
    assert catalog.ids[top.evidence[0].item] == "m2"
    text = template_explanation(
        PickText("m25", None, [catalog.ids[e.item] for e in top.evidence], top.carried_by)
    )
    assert text.startswith("Because you watched m2") and "same collection" in text
