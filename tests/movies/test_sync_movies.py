"""sync-movies end to end: real Postgres, the simulator over real HTTP, both dialects."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from sidecar.jobs.runs import cancel_run
from sidecar.media.kind import MediaKind, Step
from sidecar.settings import Settings
from sidecar.simulator import running_simulator
from tests.factory import add_user, add_user_library
from tests.simhelpers import settings_for

KINDS = ["jellyfin", "emby"]


async def _active_ids(db: asyncpg.Pool, media: MediaKind) -> set[str]:
    return {r["id"] for r in await db.fetch(media.sql("SELECT id FROM {items} WHERE removed_at IS NULL"))}


@pytest.mark.parametrize("kind", KINDS)
async def test_first_and_second_sync(
    media: MediaKind, kind: str, db: asyncpg.Pool, settings: Settings, run_job
) -> None:
    async with running_simulator(kind, 25) as sim:
        cfg = settings_for(settings, sim, media_server_page_size=10)
        row = await run_job(media.job(Step.SYNC), settings=cfg)
        assert row["status"] == "completed", row["error"]
        assert row["result"] == {
            "added": 25,
            "updated": 0,
            "removed": 0,
            "unchanged": 0,
            "failed": 0,
            "restored": 0,
        }
        assert await _active_ids(db, media) == set(sim.state.movies)
        first = next(iter(sim.state.movies.values()))
        stored = await db.fetchrow(media.sql("SELECT * FROM {items} WHERE id = $1"), first.id)
        assert stored["title"] == first.name
        assert stored["overview"] == first.overview
        assert stored["genres"] == first.genres
        assert stored["tmdb_id"] == first.provider_ids["Tmdb"]
        assert stored["path"] == first.path
        assert [p["name"] for p in stored["people"]] == [p["Name"] for p in first.people]
        assert stored["library_id"] == sim.state.libraries[0].item_id
        old_hash = stored["content_hash"]

        # Second sync: one added, one changed (overview), one changed outside the embedding text
        # (path), one removed.
        ids = list(sim.state.movies)
        sim.state.add_movie(name="Brand New", year=2026, overview="New.", path="/media/movies/new.mkv")
        sim.state.update_movie(ids[0], overview="A different plot.")
        sim.state.update_movie(ids[1], path="/media/movies/moved.mkv")
        sim.state.remove_movie(ids[2])
        row = await run_job(media.job(Step.SYNC), settings=cfg)
        assert row["status"] == "completed", row["error"]
        assert row["result"] == {
            "added": 1,
            "updated": 2,
            "removed": 1,
            "unchanged": 22,
            "failed": 0,
            "restored": 0,
        }
        changed = await db.fetchrow(
            media.sql("SELECT content_hash, overview FROM {items} WHERE id = $1"), ids[0]
        )
        assert changed["overview"] == "A different plot." and changed["content_hash"] != old_hash
        moved = await db.fetchrow(media.sql("SELECT content_hash, path FROM {items} WHERE id = $1"), ids[1])
        assert moved["path"] == "/media/movies/moved.mkv"
        removed = await db.fetchrow(media.sql("SELECT removed_at FROM {items} WHERE id = $1"), ids[2])
        assert removed["removed_at"] is not None

        # Idempotent: nothing changed, nothing written.
        row = await run_job(media.job(Step.SYNC), settings=cfg)
        assert (
            row["result"]["unchanged"] == 25 and row["result"]["updated"] == 0 and row["result"]["added"] == 0
        )


async def test_sample_skips_tv_and_own_libraries(
    media: MediaKind, db: asyncpg.Pool, settings: Settings, run_job
) -> None:
    async with running_simulator("jellyfin", "sample") as sim:
        cfg = settings_for(settings, sim, library_server_root="/recs")
        sim.state.host_paths.add("/recs/alice")
        own = sim.state.add_library("AI Picks – Movies (alice)", "movies", ["/recs/alice"])
        sim.state.add_movie(library_id=own.item_id, name="The Matrix (copy)", path="/recs/alice/m.strm")
        row = await run_job(media.job(Step.SYNC), settings=cfg)
        assert row["status"] == "completed", row["error"]
        assert row["result"]["added"] == 4
        titles = {r["title"] for r in await db.fetch(media.sql("SELECT title FROM {items}"))}
        assert titles == {"The Matrix", "Inception", "Spirited Away", "Arrival"}


@pytest.mark.parametrize("kind", KINDS)
async def test_a_library_we_registered_is_never_a_source_even_renamed_and_elsewhere(
    media: MediaKind, kind: str, db: asyncpg.Pool, settings: Settings, run_job
) -> None:
    async with running_simulator(kind, "sample") as sim:
        cfg = settings_for(settings, sim)
        # An AI library the admin renamed, on a mount path the sidecar does not know.
        ours = sim.state.add_library("Alice's picks", "movies", ["/mnt/other/alice"])
        sim.state.add_movie(library_id=ours.item_id, name="The Matrix (copy)", path="/mnt/other/alice/m.mkv")
        titles_sql = media.sql("SELECT title FROM {items}")
        await run_job(media.job(Step.SYNC), settings=cfg)
        assert "The Matrix (copy)" in {r["title"] for r in await db.fetch(titles_sql)}

        await db.execute(media.sql("TRUNCATE {items} CASCADE"))
        await add_user(db, "u1", "Alice")
        await add_user_library(
            db,
            "u1",
            kind=media,
            library_id=ours.folder_id if kind == "emby" else ours.item_id,
            library_item_id=ours.item_id,
            library_guid=ours.guid,
        )
        row = await run_job(media.job(Step.SYNC), settings=cfg)
        assert row["status"] == "completed", row["error"]
        titles = {r["title"] for r in await db.fetch(titles_sql)}
        assert titles == {"The Matrix", "Inception", "Spirited Away", "Arrival"}


async def test_configured_library_names(
    media: MediaKind, db: asyncpg.Pool, settings: Settings, run_job
) -> None:
    async with running_simulator("emby", "sample") as sim:
        extra = sim.state.add_library("Classics", "movies", ["/media/classics"])
        sim.state.add_movie(library_id=extra.item_id, name="Metropolis", year=1927)
        row = await run_job(
            media.job(Step.SYNC), settings=settings_for(settings, sim, movie_libraries=["classics"])
        )
        assert row["status"] == "completed", row["error"]
        assert [r["title"] for r in await db.fetch(media.sql("SELECT title FROM {items}"))] == ["Metropolis"]
        row = await run_job(
            media.job(Step.SYNC), settings=settings_for(settings, sim, movie_libraries=["Nope"])
        )
        assert row["status"] == "failed"
        assert "SIDECAR_MOVIE_LIBRARIES" in row["error"]


@pytest.mark.parametrize("kind", KINDS)
async def test_interrupted_listing_marks_nothing_removed(
    media: MediaKind, kind: str, db: asyncpg.Pool, settings: Settings, run_job
) -> None:
    async with running_simulator(kind, 30) as sim:
        cfg = settings_for(settings, sim, media_server_page_size=10, media_server_retries=1)
        assert (await run_job(media.job(Step.SYNC), settings=cfg))["status"] == "completed"
        for item_id in list(sim.state.movies)[:5]:
            sim.state.remove_movie(item_id)
        page = {"startindex" if kind == "jellyfin" else "StartIndex": "10"}
        sim.faults.fail("/Items", status=503, times=None, query=page)
        row = await run_job(media.job(Step.SYNC), settings=cfg)
        assert row["status"] == "failed"
        assert "HTTP 503" in row["error"]
        assert len(await _active_ids(db, media)) == 30  # the five gone movies are NOT marked removed
        sim.faults.clear()
        row = await run_job(media.job(Step.SYNC), settings=cfg)
        assert row["status"] == "completed" and row["result"]["removed"] == 5
        assert await _active_ids(db, media) == set(sim.state.movies)


async def test_removed_movie_that_comes_back_is_restored(
    media: MediaKind, db: asyncpg.Pool, settings: Settings, run_job
) -> None:
    async with running_simulator("jellyfin", "sample") as sim:
        cfg = settings_for(settings, sim)
        await run_job(media.job(Step.SYNC), settings=cfg)
        matrix = sim.state.movies["636a515bbdb34cc795500f084e480402"]
        sim.state.remove_movie(matrix.id)
        assert (await run_job(media.job(Step.SYNC), settings=cfg))["result"]["removed"] == 1
        sim.state.movies[matrix.id] = matrix
        sim.state.touch()
        row = await run_job(media.job(Step.SYNC), settings=cfg)
        assert row["result"]["restored"] == 1 and row["result"]["updated"] == 1
        assert matrix.id in await _active_ids(db, media)


async def test_movie_missed_by_paging_is_not_removed(
    media: MediaKind, db: asyncpg.Pool, settings: Settings, run_job
) -> None:
    """A page that silently returns fewer items (a library changing under offset paging) must not
    make the sync mark the skipped movies removed: candidates are confirmed by id first."""
    async with running_simulator("jellyfin", 20) as sim:
        cfg = settings_for(settings, sim, media_server_page_size=10)
        await run_job(media.job(Step.SYNC), settings=cfg)
        hidden = sim.state.sorted_movies(None)[12]
        original = sim.sim.items

        async def lossy_items(request):  # type: ignore[no-untyped-def]
            response = await original(request)
            if "ids" not in {k.lower() for k in request.query}:
                import json

                body = json.loads(response.body)
                body["Items"] = [i for i in body["Items"] if i["Id"] != hidden.id]
                response.body = json.dumps(body).encode()
            return response

        sim.sim.items = lossy_items  # type: ignore[method-assign]
        async with running_simulator(simulator=sim.sim) as lossy:
            row = await run_job(
                media.job(Step.SYNC), settings=settings_for(settings, lossy, media_server_page_size=10)
            )
        assert row["status"] == "completed", row["error"]
        assert row["result"]["removed"] == 0
        assert hidden.id in await _active_ids(db, media)


async def test_scoped_run_and_follow_ups(
    media: MediaKind, db: asyncpg.Pool, settings: Settings, run_job
) -> None:
    async with running_simulator("emby", "sample") as sim:
        cfg = settings_for(settings, sim)
        await run_job(media.job(Step.SYNC), settings=cfg)
        sim.requests.clear()
        new = sim.state.add_movie(name="Dune", year=2021, overview="Spice.")
        sim.state.update_movie("48213", overview="Changed plot.")
        sim.state.remove_movie("48227")
        row = await run_job(
            media.job(Step.SYNC), settings=cfg, scope={"item_ids": [new.id, "48213", "48227", "999"]}
        )
        assert row["status"] == "completed", row["error"]
        result = row["result"]
        assert (result["added"], result["updated"], result["removed"]) == (1, 1, 1)
        follow = {f["job"]: f["scope"] for f in result["follow_ups"]}
        assert sorted(follow[media.job(Step.EMBEDDINGS)]["item_ids"]) == sorted([new.id, "48213"])
        assert follow[media.job(Step.RECOMMENDATIONS)] == {"item_ids": ["48227"]}
        # Only the scoped ids were asked for: no full listing.
        item_requests = sim.requests_to("/Items")
        assert item_requests and all(any(k == "Ids" for k, _ in r.query) for r in item_requests)
        assert "51902" in await _active_ids(db, media)  # untouched movie stays


@pytest.mark.parametrize("kind", KINDS)
async def test_auth_failure_is_clear_and_not_retried(
    media: MediaKind, kind: str, db: asyncpg.Pool, settings: Settings, run_job
) -> None:
    async with running_simulator(kind, "sample") as sim:
        cfg = settings_for(settings, sim, media_server_kind=kind, media_server_retries=4)
        sim.faults.reject_auth = True
        row = await run_job(media.job(Step.SYNC), settings=cfg)
        assert row["status"] == "failed"
        assert row["error"] == "the media server rejected the API key; check SIDECAR_MEDIA_SERVER_API_KEY"
        assert len(sim.requests) == 1
        assert sim.api_key not in row["error"]


async def test_cancellation_mid_sync_leaves_consistent_data(
    media: MediaKind, db: asyncpg.Pool, settings: Settings, run_job
) -> None:
    async with running_simulator("jellyfin", 200) as sim:
        cfg = settings_for(settings, sim, media_server_page_size=10, media_server_concurrency=1)
        sim.faults.slow("/Items", seconds=0.15)
        task = asyncio.create_task(run_job(media.job(Step.SYNC), settings=cfg))
        while len(sim.requests_to("/Items")) < 4:
            await asyncio.sleep(0.02)
        run_id = await db.fetchval(
            "SELECT id FROM job_runs WHERE job = $1 AND status = 'running'", media.job(Step.SYNC)
        )
        await cancel_run(db, run_id)
        row = await task
        assert row["status"] == "cancelled"
        count = await db.fetchval(media.sql("SELECT count(*) FROM {items}"))
        assert 0 < count < 200
        assert await db.fetchval(media.sql("SELECT count(*) FROM {items} WHERE removed_at IS NOT NULL")) == 0
        # Every stored row is complete and matches the server.
        for r in await db.fetch(media.sql("SELECT id, title, content_hash FROM {items}")):
            assert sim.state.movies[r["id"]].name == r["title"] and r["content_hash"]
        sim.faults.clear()
        row = await run_job(media.job(Step.SYNC), settings=cfg)
        assert row["status"] == "completed"
        assert row["result"]["added"] == 200 - count and row["result"]["unchanged"] == count


async def test_one_unsavable_movie_is_counted_and_the_rest_saved(
    media: MediaKind, db: asyncpg.Pool, settings: Settings, run_job
) -> None:
    async with running_simulator("jellyfin", 12) as sim:
        bad = sim.state.add_movie(name="Far Future", year=10**11)  # does not fit an integer column
        row = await run_job(
            media.job(Step.SYNC), settings=settings_for(settings, sim, media_server_page_size=50)
        )
        assert row["status"] == "completed", row["error"]
        assert row["result"]["added"] == 12 and row["result"]["failed"] == 1
        assert row["items_failed"] == 1
        assert bad.id not in await _active_ids(db, media)
        logs = await db.fetch(
            "SELECT message FROM job_run_logs WHERE run_id = $1 AND level = 'warning'", row["id"]
        )
        assert any(bad.id in r["message"] for r in logs)


async def test_an_enriched_hash_survives_a_rewrite_outside_the_text(
    media: MediaKind, db: asyncpg.Pool, settings: Settings, run_job
) -> None:
    # A new rating or file rewrote the row and put back the server's hash: the item was re-embedded
    # although its text, enriched fields included, had not changed.
    async with running_simulator("jellyfin", "sample") as sim:
        cfg = settings_for(settings, sim)
        await run_job(media.job(Step.SYNC), settings=cfg)
        movie = next(iter(sim.state.movies))
        hash_of = media.sql("SELECT content_hash FROM {items} WHERE id = $1")
        enrich = media.sql(
            "UPDATE {items} SET content_hash = md5(content_hash || ':enriched:x') WHERE id = $1"
        )
        await db.execute(enrich, movie)  # what enrich-metadata does when its fields join the text
        enriched = await db.fetchval(hash_of, movie)

        sim.state.update_movie(movie, path="/media/movies/upgraded.mkv")
        moved = await run_job(media.job(Step.SYNC), settings=cfg, scope={"item_ids": [movie]})

        assert moved["result"]["updated"] == 1 and "follow_ups" not in moved["result"]
        assert await db.fetchval(hash_of, movie) == enriched
        sim.state.update_movie(movie, overview="Changed plot.")
        rewritten = await run_job(media.job(Step.SYNC), settings=cfg, scope={"item_ids": [movie]})
        follow = {f["job"]: f["scope"] for f in rewritten["result"]["follow_ups"]}
        assert follow[media.job(Step.EMBEDDINGS)] == {"item_ids": [movie]}
        assert await db.fetchval(hash_of, movie) not in (enriched, None)
