"""The webhook loop end to end, every part real: the simulated server POSTs its webhooks to the sidecar
app on a real port, the real ARQ worker runs the real movie jobs on Postgres and Valkey, and the
user libraries are written as symlinks to media files that exist.

A play reaches only that user: their plays, their picks and their library folder change; every other
user's recommendation rows and library files stay byte-, inode- and mtime-identical. A movie added on
the server is synced and embedded. An item the server announces inside an AI Picks library never
becomes a movie.

The simulator scans each AI Picks library when the sidecar asks (like the real servers), so every pick
also exists as a *copy* in its user's library, with the original's provider ids and therefore its user
data. A play of a copy, the product's main loop, goes through the same chain for the original movie;
the scan that follows the library rewrite announces the new copies (ItemAdded / library.new), which
must not loop: both dialects' are ignored at the door (Emby's by their path, Jellyfin's by the
original's provider ids on an id the catalogue does not hold), and so are the dropped copies' deletions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from sidecar.composition import web_app
from sidecar.jobs import schedules
from sidecar.jobs.registry import JobRegistry
from sidecar.jobs.runs import create_run
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
# What a library scan announces: copies added and removed (Jellyfin plugin / Emby names).
SCAN_EVENTS = {"ItemAdded", "ItemDeleted", "library.new", "library.deleted"}
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


async def _nothing_pending(db: asyncpg.Pool) -> bool:
    return await db.fetchval("SELECT count(*) FROM job_runs WHERE status IN ('queued', 'running')") == 0


async def _after_the_rescan(loop: Loop, db: asyncpg.Pool) -> None:
    """The library run rescanned the AI library on the server, which announced the changed copies:
    wait until those webhooks were answered (their runs are queued before the answer) and ran."""
    await loop.sender.drain()
    await wait_for(lambda: _nothing_pending(db), within=30)


def _split_scan_runs(kind: str, runs: list[asyncpg.Record]) -> list[asyncpg.Record]:
    """The runs of a play; the scan's echo made none: the copies' announcements are ignored at the
    door in both dialects."""
    echo = [r for r in runs if r["job"] == "sync-movies"]
    assert echo == [], (kind, [(r["job"], r["scope"]) for r in echo])
    return runs


def _copies(state: Any, library_item_id: str) -> dict[str, Any]:
    """The copies the server holds in one AI library, by the TMDb id they share with their original."""
    return {m.provider_ids["Tmdb"]: m for m in state.movies.values() if m.library_id == library_item_id}


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
    async def start(kind: str, sharing: str = "item") -> AsyncIterator[Loop]:
        media = tmp_path / "media"
        async with (
            running_simulator(kind, seed=SEED_MOVIES) as sim,  # type: ignore[arg-type]
            serve(OpenAIEmbeddingsSimulator()) as openai_url,
        ):
            sim.state.user_data_sharing = sharing  # type: ignore[assignment]
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
            app = web_app(loop_settings, database_url=database_url, redis_url=flushed_redis)
            client: TestClient = await aiohttp_client(app)
            sender = sim.send_webhooks_to(str(client.make_url(f"/webhooks/{kind}")), TOKEN)
            async with running_worker(loop_settings, database_url, flushed_redis, registry):
                yield Loop(sim, loop_settings, media, client, sender)

    return start


async def _before(
    db: asyncpg.Pool,
) -> tuple[dict[str, list[tuple[Any, ...]]], dict[str, Path], dict[str, Any]]:
    """Every user's picks, library folder and that folder's file snapshot, before the event."""
    folders = await _library_folders(db)
    return await _recommendations(db), folders, {user: snapshot(folder) for user, folder in folders.items()}


def _link_targets(folder: Path) -> set[str]:
    return {str(path.readlink()) for path in folder.rglob("*") if path.is_symlink()}


@pytest.mark.parametrize("kind", KINDS)
async def test_a_play_updates_that_users_picks_and_library_and_no_one_elses(
    kind: str, loop_factory: Any, db: asyncpg.Pool
) -> None:
    async with loop_factory(kind) as loop:
        state = loop.sim.state
        picks_before, folders, files_before = await _before(db)
        assert set(folders) == set(picks_before) == set(state.users)
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
        await _after_the_rescan(loop, db)

        # The chain: history -> picks -> library, each run from the webhook and for this user only.
        runs = _split_scan_runs(kind, await _webhook_runs(db, seq))
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
        await _after_the_rescan(loop, db)  # if the new movie became someone's pick

        runs = await _webhook_runs(db, seq)
        by_job: dict[str, asyncpg.Record] = {}
        for run in runs:  # the first of each job (a library rewrite may echo a sync-movies run later)
            by_job.setdefault(run["job"], run)
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


@pytest.mark.parametrize("kind", KINDS)
async def test_playing_a_copy_from_the_ai_library_moves_the_original_through_the_loop(
    kind: str, loop_factory: Any, db: asyncpg.Pool
) -> None:
    # Per-item user data (Jellyfin 10.11; assumed for Emby): only the copy holds the play, the sidecar
    # marks the original played, and the server's webhook for that mark must not start another chain.
    async with loop_factory(kind) as loop:
        state = loop.sim.state
        added_copies: list[str] = []  # every item the server adds from now on (copies, after rescans)
        state.listeners.append(
            lambda e: added_copies.append(e["item_id"]) if e["type"] == "item_added" else None
        )
        picks_before, folders, files_before = await _before(db)
        libraries = {
            r["user_id"]: r["library_item_id"]
            for r in await db.fetch("SELECT user_id, library_item_id FROM user_libraries")
        }
        # The pipeline's scan made one copy per pick in each user's AI library, with the original's ids.
        copies_before = {user: _copies(state, library) for user, library in libraries.items()}
        for user, copies in copies_before.items():
            originals = {state.movies[row[1]].provider_ids["Tmdb"]: row[1] for row in picks_before[user]}
            assert set(copies) == set(originals) and len(copies) == PICKS_PER_USER
            for tmdb, copy in copies.items():
                assert copy.id != originals[tmdb]
                assert copy.provider_ids["Imdb"] == state.movies[originals[tmdb]].provider_ids["Imdb"]
        user_id = next(u.id for u in state.users.values() if u.name == "viewer3")
        original_id = picks_before[user_id][0][1]  # their best pick, watched from the AI Picks library
        original = state.movies[original_id]
        copy = copies_before[user_id][original.provider_ids["Tmdb"]]
        assert state.user_data_of(user_id, original_id) is None
        seq = await _last_seq(db)

        state.record_play(user_id, copy.id)
        await loop.sender.drain()
        assert loop.sender.sent and all(s.status == 202 for s in loop.sender.sent), loop.sender.sent
        plays = [s for s in loop.sender.sent if s.event not in SCAN_EVENTS]
        assert plays and {s.item_id for s in plays} == {copy.id}  # the server names the copy
        await wait_for(lambda: _settled(db, seq, "sync-movie-libraries"), within=45)
        await _after_the_rescan(loop, db)

        # One chain, for the original, for this user; the rescan's announcements did not loop.
        all_runs = await _webhook_runs(db, seq)
        runs = _split_scan_runs(kind, all_runs)
        assert sorted(r["job"] for r in runs) == sorted(PLAY_CHAIN), [
            (r["job"], r["scope"]) for r in all_runs
        ]
        assert all(r["status"] == "completed" and r["scope"]["user_ids"] == [user_id] for r in runs)
        [history] = [r for r in runs if r["job"] == "sync-movie-watch-history"]
        assert set(history["scope"]["item_ids"]) == {original_id, copy.id}  # the copy holds the play
        echo_events = [s for s in loop.sender.sent if s.event in SCAN_EVENTS]
        assert len(echo_events) >= 2 and all(s.status == 202 for s in echo_events)  # added and removed copies
        reasons = await db.fetch(
            "SELECT ignored_reason FROM webhook_events WHERE source_event = ANY($1)", list(SCAN_EVENTS)
        )
        assert len(reasons) == len(echo_events)
        # Emby names the path (ours); Jellyfin: a new id with an original's ids, a deleted id never synced
        expected = {"own_library"} if kind == "emby" else {"own_library", "not_in_catalogue"}
        assert {r["ignored_reason"] for r in reasons} == expected

        played = await db.fetchval(
            "SELECT played FROM movie_plays WHERE user_id = $1 AND movie_id = $2", user_id, original_id
        )
        assert played is True
        # The sidecar marked the original played on the server; that mark's webhook was its echo.
        assert state.user_data_of(user_id, original_id).played
        echo = await db.fetch(
            "SELECT ignored_reason FROM webhook_events WHERE item_id = $1 AND user_id = $2",
            original_id,
            user_id,
        )
        assert [r["ignored_reason"] for r in echo] == ["own_mark"]
        picks_after = await _recommendations(db)
        mine = [row[1] for row in picks_after[user_id]]
        assert len(mine) == PICKS_PER_USER and original_id not in mine
        # Their library, on disk and on the server, no longer holds the played movie.
        assert original.path not in _link_targets(folders[user_id])
        copies_after = _copies(state, libraries[user_id])
        assert original.provider_ids["Tmdb"] not in copies_after and copy.id not in state.movies
        assert set(copies_after) == {state.movies[m].provider_ids["Tmdb"] for m in mine}
        # Nobody else's picks, folder or copies changed.
        for other in set(state.users) - {user_id}:
            assert picks_after[other] == picks_before[other], f"picks of {other} were rewritten"
            assert snapshot(folders[other]) == files_before[other], f"library of {other} was touched"
            assert {m.id for m in _copies(state, libraries[other]).values()} == {
                m.id for m in copies_before[other].values()
            }
        # No copy, before or after the rescan, ever became a movie.
        every_copy = {m.id for copies in copies_before.values() for m in copies.values()} | set(added_copies)
        assert (
            added_copies
            and await db.fetchval("SELECT count(*) FROM movies WHERE id = ANY($1)", list(every_copy)) == 0
        )


@pytest.mark.parametrize("kind", KINDS)
async def test_a_movie_deleted_on_the_server_leaves_every_list_and_only_the_affected_libraries_change(
    kind: str, loop_factory: Any, db: asyncpg.Pool
) -> None:
    async with loop_factory(kind) as loop:
        state = loop.sim.state
        picks_before, folders, files_before = await _before(db)
        # A movie in some users' picks but not in everyone's, so both sides of the check are exercised.
        holders: dict[str, set[str]] = {}
        for user, rows in picks_before.items():
            for row in rows:
                holders.setdefault(row[1], set()).add(user)
        gone, affected = next((m, users) for m, users in holders.items() if 0 < len(users) < len(folders))
        gone_path = state.movies[gone].path
        seq = await _last_seq(db)

        state.remove_movie(gone)
        await loop.sender.drain()
        assert [s.status for s in loop.sender.sent] == [202]
        await wait_for(lambda: _settled(db, seq, "sync-movie-libraries"), within=45)
        await _after_the_rescan(loop, db)

        runs = await _webhook_runs(db, seq)
        first = {}
        for run in runs:
            first.setdefault(run["job"], run)
        assert first["sync-movies"]["scope"] == {"item_ids": [gone]}
        assert first["sync-movies"]["result"]["removed"] == 1
        assert first["generate-movie-recommendations"]["scope"] == {"item_ids": [gone]}
        assert sorted(first["sync-movie-libraries"]["scope"]["user_ids"]) == sorted(affected)
        assert all(r["status"] == "completed" and r["trigger"] == "webhook" for r in runs)
        assert await db.fetchval("SELECT removed_at IS NOT NULL FROM movies WHERE id = $1", gone)

        picks_after = await _recommendations(db)
        assert not any(gone == row[1] for rows in picks_after.values() for row in rows)
        for user, folder in folders.items():
            assert gone_path not in _link_targets(folder)
            if user in affected:
                assert len(picks_after[user]) == PICKS_PER_USER  # the gap was filled
                assert snapshot(folder) != files_before[user]
            else:
                assert picks_after[user] == picks_before[user], f"picks of {user} were rewritten"
                assert snapshot(folder) == files_before[user], f"library of {user} was touched"


@pytest.mark.parametrize("kind", KINDS)
async def test_a_play_that_joins_a_queued_scheduled_run_still_reaches_that_users_library(
    kind: str, loop_factory: Any, db: asyncpg.Pool
) -> None:
    """The 2-hourly history schedule queued a full run just before the webhook came: the event's work
    joins it (one queued run per job) and the full run must still carry the play on to the picks and
    the library of that user, and only that user."""
    async with loop_factory(kind) as loop:
        state = loop.sim.state
        picks_before, folders, files_before = await _before(db)
        user_id = next(u.id for u in state.users.values() if u.name == "viewer1")
        watched = picks_before[user_id][0][1]
        seq = await _last_seq(db)
        soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
        scheduled, _ = await create_run(db, "sync-movie-watch-history", trigger="schedule", not_before=soon)

        state.record_play(user_id, watched)
        await loop.sender.drain()
        assert loop.sender.sent and all(s.status == 202 for s in loop.sender.sent)
        await wait_for(lambda: _settled(db, seq, "sync-movie-libraries"), within=45)
        await _after_the_rescan(loop, db)

        play_events = await db.fetch("SELECT planned_run_ids FROM webhook_events WHERE user_id = $1", user_id)
        assert play_events and {run for row in play_events for run in row[0]} == {scheduled["id"]}
        run = await db.fetchrow("SELECT * FROM job_runs WHERE id = $1", scheduled["id"])
        assert (run["trigger"], run["scope"], run["status"]) == ("schedule", None, "completed")
        assert [f["scope"] for f in run["result"]["follow_ups"]] == [{"user_ids": [user_id]}]

        picks_after = await _recommendations(db)
        assert watched not in [row[1] for row in picks_after[user_id]]
        assert state.movies[watched].path not in _link_targets(folders[user_id])
        for other in set(state.users) - {user_id}:
            assert picks_after[other] == picks_before[other], f"picks of {other} were rewritten"
            assert snapshot(folders[other]) == files_before[other], f"library of {other} was touched"
