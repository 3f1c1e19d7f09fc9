"""The webhook loop end to end, every part real: the simulated server POSTs its webhooks to the sidecar
app on a real port, the real ARQ worker runs the real movie jobs on Postgres and Valkey, and the
user libraries are written as symlinks to media files that exist.

A play reaches only that user: their plays, their picks and their library folder change; every other
user's recommendation rows and library files stay byte-, inode- and mtime-identical. A movie added on
the server is synced and embedded. An item the server announces inside an AI Picks library never
becomes a movie.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from sidecar.api.app import create_app
from sidecar.jobs import schedules
from sidecar.jobs.registry import JobRegistry
from sidecar.settings import Settings
from sidecar.simulator import RunningSimulator, running_simulator
from sidecar.simulator.openai_server import OpenAIEmbeddingsSimulator, serve
from sidecar.simulator.seeds import MEDIA_ROOT, movie_path
from sidecar.simulator.webhook_sender import WebhookSender
from tests.fs_snapshot import snapshot
from tests.jobs_harness import running_worker, wait_for
from tests.simhelpers import settings_for
from tests.webhook_support import TOKEN, with_token

KINDS = ["jellyfin", "emby"]
SEED_MOVIES = 120  # synthetic: 3 users with 50 plays each, so every user has ~70 candidates
PICKS_PER_USER = 15
FULL_PIPELINE = [
    "sync-movies",
    "sync-movie-watch-history",
    "generate-movie-embeddings",
    "generate-movie-recommendations",
    "sync-movie-libraries",
]
PLAY_CHAIN = {"sync-movie-watch-history", "generate-movie-recommendations", "sync-movie-libraries"}


@dataclass
class Loop:
    sim: RunningSimulator
    settings: Settings
    media: Path  # the media files, as the sidecar sees them (server path /media/... mapped here)
    client: TestClient
    sender: WebhookSender

    @property
    def users_root(self) -> Path:
        return self.settings.resolved_library_root / "users"


def _create_media_file(media: Path, server_path: str) -> None:
    local = media / Path(server_path).relative_to("/media")
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes(b"video")


async def _recommendations(db: asyncpg.Pool) -> dict[str, list[tuple[Any, ...]]]:
    """Every user's rows, every column that a rewrite would change."""
    rows = await db.fetch(
        "SELECT user_id, movie_id, rank, score, run_id, generated_at FROM movie_recommendations "
        "ORDER BY user_id, rank"
    )
    by_user: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_user.setdefault(row["user_id"], []).append(tuple(row.values()))
    return by_user


async def _library_folders(db: asyncpg.Pool) -> dict[str, Path]:
    rows = await db.fetch("SELECT user_id, folder_path FROM user_libraries")
    return {r["user_id"]: Path(r["folder_path"]) for r in rows}


def _file_contents(folder: Path) -> dict[str, bytes]:
    """Regular files by content and symlinks by target: a rewrite with equal bytes still shows in mtimes."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            found[str(path.relative_to(folder))] = str(path.readlink()).encode()
        elif path.is_file():
            found[str(path.relative_to(folder))] = path.read_bytes()
    return found


async def _webhook_runs(db: asyncpg.Pool, after_seq: int) -> list[asyncpg.Record]:
    return list(await db.fetch("SELECT * FROM job_runs WHERE seq > $1 ORDER BY seq", after_seq))


async def _settled(db: asyncpg.Pool, after_seq: int, last_job: str) -> bool:
    """Nothing queued or running, and the chain reached `last_job` (follow-ups are queued before their
    parent is marked finished, so "nothing pending" cannot be seen in the middle of a chain)."""
    pending = await db.fetchval("SELECT count(*) FROM job_runs WHERE status IN ('queued', 'running')")
    reached = await db.fetchval(
        "SELECT count(*) FROM job_runs WHERE seq > $1 AND job = $2 AND status = 'completed'",
        after_seq,
        last_job,
    )
    return pending == 0 and reached > 0


async def _last_seq(db: asyncpg.Pool) -> int:
    return await db.fetchval("SELECT coalesce(max(seq), 0) FROM job_runs")


@pytest.fixture
def loop_factory(
    aiohttp_client: Any,
    db: asyncpg.Pool,
    settings: Settings,
    registry: JobRegistry,
    run_job: Any,
    database_url: str,
    flushed_redis: str,
    tmp_path: Path,
) -> Any:
    """`async with loop_factory(kind) as loop:` the whole loop, after one full pipeline run."""

    @contextlib.asynccontextmanager
    async def start(kind: str) -> AsyncIterator[Loop]:
        media = tmp_path / "media"
        async with (
            running_simulator(kind, seed=SEED_MOVIES) as sim,  # type: ignore[arg-type]
            serve(OpenAIEmbeddingsSimulator()) as openai_url,
        ):
            for movie in sim.state.movies.values():
                assert movie.path is not None
                _create_media_file(media, movie.path)
            loop_settings = with_token(
                settings_for(
                    settings,
                    sim,
                    media_server_page_size=100,
                    library_root=tmp_path / "libraries",
                    path_mappings={"/media": str(media)},
                    openai_base_url=openai_url,
                    embedding_dimensions=64,
                    recommendations_per_user=PICKS_PER_USER,
                    webhook_debounce_seconds=0.2,
                )
            )
            for job in FULL_PIPELINE:
                row = await run_job(job, settings=loop_settings)
                assert row["status"] == "completed", (job, row["error"])
            # Only webhooks may queue runs from here on: no schedule may come due mid-test.
            await schedules.seed(db, registry, loop_settings.timezone)
            await db.execute("UPDATE job_schedules SET enabled = false")
            app = create_app(loop_settings, database_url=database_url, redis_url=flushed_redis)
            client: TestClient = await aiohttp_client(app)
            sender = sim.send_webhooks_to(str(client.make_url(f"/webhooks/{kind}")), TOKEN)
            async with running_worker(loop_settings, database_url, flushed_redis, registry):
                yield Loop(sim, loop_settings, media, client, sender)

    return start


def _link_targets(folder: Path) -> set[str]:
    return {str(path.readlink()) for path in folder.rglob("*") if path.is_symlink()}


@pytest.mark.parametrize("kind", KINDS)
async def test_a_play_updates_that_users_picks_and_library_and_no_one_elses(
    kind: str, loop_factory: Any, db: asyncpg.Pool
) -> None:
    async with loop_factory(kind) as loop:
        state = loop.sim.state
        picks_before = await _recommendations(db)
        folders = await _library_folders(db)
        assert set(folders) == set(picks_before) == set(state.users)
        files_before = {user: snapshot(folder) for user, folder in folders.items()}
        bytes_before = {user: _file_contents(folder) for user, folder in folders.items()}
        user_id = next(u.id for u in state.users.values() if u.name == "viewer2")
        watched = [row[1] for row in picks_before[user_id][:2]]  # their two best picks
        assert _link_targets(folders[user_id]) >= {state.movies[m].path for m in watched}
        refreshes_before = len(state.refresh_requests)
        seq = await _last_seq(db)

        for movie_id in watched:
            state.record_play(user_id, movie_id)
        await loop.sender.drain()
        assert loop.sender.sent and all(s.status == 202 for s in loop.sender.sent), loop.sender.sent
        await wait_for(lambda: _settled(db, seq, "sync-movie-libraries"), within=45)

        # The chain: history -> picks -> library, each run from the webhook and for this user only.
        runs = await _webhook_runs(db, seq)
        assert {r["job"] for r in runs} == PLAY_CHAIN, [(r["job"], r["scope"]) for r in runs]
        assert all(r["status"] == "completed" for r in runs), [(r["job"], r["error"]) for r in runs]
        assert {r["trigger"] for r in runs} == {"webhook"}
        assert all(r["scope"]["user_ids"] == [user_id] for r in runs)
        history_items = {
            i for r in runs if r["job"] == "sync-movie-watch-history" for i in r["scope"]["item_ids"]
        }
        assert history_items == set(watched)

        plays = await db.fetch(
            "SELECT movie_id FROM movie_plays WHERE user_id = $1 AND movie_id = ANY($2) AND played",
            user_id,
            watched,
        )
        assert {r["movie_id"] for r in plays} == set(watched)

        picks_after = await _recommendations(db)
        mine = [row[1] for row in picks_after[user_id]]
        assert len(mine) == PICKS_PER_USER and not set(mine) & set(watched)
        assert mine != [row[1] for row in picks_before[user_id]]
        # The folder now links exactly the new picks (server paths; the sidecar resolved them locally).
        assert _link_targets(folders[user_id]) == {state.movies[m].path for m in mine}
        assert files_before[user_id] != snapshot(folders[user_id])

        for other in set(state.users) - {user_id}:
            assert picks_after[other] == picks_before[other], f"picks of {other} were rewritten"
            assert snapshot(folders[other]) == files_before[other], f"library of {other} was touched"
            assert _file_contents(folders[other]) == bytes_before[other]
        # Only this user's library was rescanned on the server.
        mine_on_server = await db.fetchval(
            "SELECT library_item_id FROM user_libraries WHERE user_id = $1", user_id
        )
        assert {r["item_id"] for r in state.refresh_requests[refreshes_before:]} == {mine_on_server}


@pytest.mark.parametrize("kind", KINDS)
async def test_a_movie_added_on_the_server_is_synced_and_embedded_and_own_items_never_become_movies(
    kind: str, loop_factory: Any, db: asyncpg.Pool
) -> None:
    async with loop_factory(kind) as loop:
        state = loop.sim.state
        seq = await _last_seq(db)
        path = movie_path("Harbor Echo Arrives", 2026)
        _create_media_file(loop.media, path)
        assert path.startswith(MEDIA_ROOT + "/")
        added = state.add_movie(
            name="Harbor Echo Arrives",
            year=2026,
            overview="A drama story about harbor and echo, set in 2026.",
            genres=["Drama", "Mystery"],
            provider_ids={"Tmdb": "990001", "Imdb": "tt0990001"},
            path=path,
        )
        await loop.sender.drain()
        assert [s.status for s in loop.sender.sent] == [202]
        await wait_for(lambda: _settled(db, seq, "generate-movie-recommendations"), within=45)

        runs = await _webhook_runs(db, seq)
        by_job = {r["job"]: r for r in runs}
        assert {"sync-movies", "generate-movie-embeddings", "generate-movie-recommendations"} <= set(by_job)
        assert all(r["status"] == "completed" and r["trigger"] == "webhook" for r in runs)
        for job in ("sync-movies", "generate-movie-embeddings", "generate-movie-recommendations"):
            assert by_job[job]["scope"] == {"item_ids": [added.id]}
        movie = await db.fetchrow("SELECT title, path, removed_at FROM movies WHERE id = $1", added.id)
        assert movie is not None and (movie["title"], movie["path"], movie["removed_at"]) == (
            "Harbor Echo Arrives",
            path,
            None,
        )
        vector = await db.fetchval(
            "SELECT e.dimensions FROM movie_embeddings e JOIN embedding_models m USING (model) "
            "WHERE e.movie_id = $1 AND m.active",
            added.id,
        )
        assert vector == 64

        # The server scans an AI Picks library and announces an item in it: never a movie, no loop.
        library = await db.fetchrow("SELECT library_item_id, server_path FROM user_libraries LIMIT 1")
        seq = await _last_seq(db)
        sent_before = len(loop.sender.sent)
        copy = state.add_movie(
            name="Harbor Echo Arrives",
            year=2026,
            library_id=library["library_item_id"],
            path=f"{library['server_path']}/01 - Harbor Echo Arrives (2026)/Harbor Echo Arrives (2026).mkv",
        )
        await loop.sender.drain()
        assert [s.status for s in loop.sender.sent[sent_before:]] == [202]
        if kind == "emby":  # Emby names the item's path: ignored at the door
            [event] = await db.fetch("SELECT ignored_reason FROM webhook_events WHERE item_id = $1", copy.id)
            assert event["ignored_reason"] == "own_library"
            assert await _webhook_runs(db, seq) == []
        else:  # Jellyfin's payload has no path: the sync re-fetches it, sees an AI library, skips it
            await wait_for(lambda: _settled(db, seq, "sync-movies"), within=30)
            [run] = await _webhook_runs(db, seq)
            assert run["scope"] == {"item_ids": [copy.id]} and "follow_ups" not in (run["result"] or {})
        assert await db.fetchval("SELECT count(*) FROM movies WHERE id = $1", copy.id) == 0
