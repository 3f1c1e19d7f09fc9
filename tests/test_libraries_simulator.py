"""sync-movie-libraries against the real simulator over HTTP, both dialects: each user's AI library is
created once, visible to that user only (also for users with "all folders"), and only it is scanned."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import pytest

from sidecar.settings import Settings
from sidecar.simulator import running_simulator
from tests.factory import add_user, set_picks
from tests.simhelpers import settings_for
from tests.test_sync_movie_libraries import add_movie


@pytest.mark.parametrize("kind", ["jellyfin", "emby"])
async def test_private_library_per_user_on_the_simulated_server(
    kind: str, db: asyncpg.Pool, settings: Settings, tmp_path: Path, run_job: Any
) -> None:
    media = tmp_path / "media"
    async with running_simulator(kind, seed="sample") as sim:
        users = {u.name: u for u in sim.state.users.values()}
        for user in users.values():
            await add_user(db, user.id, user.name)
        await add_movie(db, media, "m001", "First Pick")
        await add_movie(db, media, "m002", "Second Pick")
        await set_picks(db, users["alice"].id, ["m001", "m002"])
        await set_picks(db, users["bob"].id, ["m002"])
        run_settings = settings_for(
            settings, sim, library_root=tmp_path / "libraries", path_mappings={"/media": str(media)}
        )
        existing = {lib.item_id for lib in sim.state.libraries}

        first = await run_job("sync-movie-libraries", settings=run_settings)
        second = await run_job("sync-movie-libraries", settings=run_settings)

        assert first["status"] == second["status"] == "completed", (first["error"], second["error"])
        assert first["result"]["libraries_created"] == 2 and second["result"]["libraries_created"] == 0
        assert second["result"]["entries_written"] == 0 and second["result"]["scans_requested"] == 0
        ours = {lib.name: lib for lib in sim.state.libraries if lib.item_id not in existing}
        assert set(ours) == {"AI Picks – Movies (alice)", "AI Picks – Movies (bob)"}
        for owner in ("alice", "bob"):
            library = ours[f"AI Picks – Movies ({owner})"]
            seen_by = {name for name, user in users.items() if sim.state.can_see(user, library)}
            assert seen_by == {owner}
        # alice still sees the libraries she saw before ("all folders" was replaced by an explicit list).
        for lib in sim.state.libraries:
            if lib.item_id in existing:
                assert sim.state.can_see(users["alice"], lib)
        scanned = {r["item_id"] for r in sim.state.refresh_requests}
        assert scanned <= {lib.item_id for lib in ours.values()} and scanned
        folder = run_settings.resolved_library_root / "users" / "alice" / "ai-movies"
        assert sorted(p.name for p in folder.iterdir()) == [
            "First Pick (2000)",
            "Second Pick (2000)",
        ]
