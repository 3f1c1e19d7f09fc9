"""refresh-top-picks against the simulator in both dialects: the most watched titles among enabled
users, ranked by viewers with decay, written like the AI libraries and visible to every enabled user
and no one else (also users with "all folders")."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from sidecar.settings import Settings
from sidecar.simulator import running_simulator
from sidecar.system.top_picks import explanation
from tests.simhelpers import settings_for
from tests.test_sync_movie_libraries import add_movie

NOW = dt.datetime.now(dt.UTC)


def _ranked_titles(folder: Path) -> list[str]:
    """Titles in the order the server shows them: by the NFO sort title (which carries the rank)."""
    nfos = [ET.parse(nfo).getroot() for nfo in folder.glob("*/*.nfo")]
    return [n.findtext("title") or "" for n in sorted(nfos, key=lambda n: n.findtext("sorttitle") or "")]


async def _play(
    db: asyncpg.Pool, user_id: str, movie_id: str, *, days_ago: float, played: bool = True
) -> None:
    await db.execute(
        """INSERT INTO movie_plays (user_id, movie_id, played, play_count, last_played_at, position_ticks)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        user_id,
        movie_id,
        played,
        int(played),
        NOW - dt.timedelta(days=days_ago),
        0 if played else 1000,
    )


@pytest.mark.parametrize("kind", ["jellyfin", "emby"])
async def test_top_picks_ranked_written_and_visible_to_enabled_users_only(
    kind: str, db: asyncpg.Pool, settings: Settings, tmp_path: Path, run_job: Any
) -> None:
    media = tmp_path / "media"
    async with running_simulator(kind, seed="sample") as sim:
        for name in ("carol", "dave", "erin"):
            sim.state.add_user(name)
        cfg = settings_for(
            settings, sim, library_root=tmp_path / "libraries", path_mappings={"/media": str(media)}
        )
        assert (await run_job("sync-users", settings=cfg))["status"] == "completed"
        ids = {r["name"]: r["id"] for r in await db.fetch("SELECT id, name FROM media_users")}
        for movie_id, title in [("m1", "Three Recent"), ("m2", "Three Old"), ("m3", "Two Started"),
                                ("m4", "One Viewer"), ("m5", "Too Old"), ("m6", "Hidden From Kids")]:  # fmt: skip
            await add_movie(db, media, movie_id, title)
        # kids may see only "Movies": a title from another library stays out of the shared library.
        movies_lib = next(lib for lib in sim.state.libraries if lib.name == "Movies")
        uhd = sim.state.add_library("Movies 4K", "movies", ["/media/uhd"])
        await db.execute("UPDATE movies SET library_id = $1", movies_lib.item_id)
        await db.execute("UPDATE movies SET library_id = $1 WHERE id = 'm6'", uhd.item_id)
        for name in ("alice", "bob", "carol"):
            await _play(db, ids[name], "m6", days_ago=0)
            await _play(db, ids[name], "m1", days_ago=1)
            await _play(db, ids[name], "m2", days_ago=25)
        for name in ("dave", "erin"):
            await _play(db, ids[name], "m3", days_ago=1, played=False)
            await _play(db, ids[name], "m5", days_ago=40)
        await _play(db, ids["alice"], "m4", days_ago=0)
        # Plays of a user who is off for movies, or disabled on the server, do not count.
        await db.execute("UPDATE media_users SET enabled = false WHERE name = 'dave'")
        erin = next(u for u in sim.state.users.values() if u.name == "erin")
        erin.policy["IsDisabled"] = True
        await db.execute("UPDATE media_users SET is_disabled = true WHERE name = 'erin'")

        run = await run_job("refresh-top-picks", settings=cfg)
        again = await run_job("refresh-top-picks", settings=cfg)

        assert run["status"] == "completed", run["error"]
        folder = cfg.resolved_library_root / "top-picks" / "movies"
        assert _ranked_titles(folder) == ["Three Recent", "Three Old"]
        nfo = ET.parse(next(folder.glob("*/Three Recent (2000).nfo"))).getroot()
        assert nfo.findtext("sorttitle") == "01 Three Recent"
        assert nfo.findtext("plot").startswith("Watched by 3 people here this month.")
        assert nfo.findtext("mpaa") == "PG-13"  # the server applies each user's parental limit to it
        library = next(lib for lib in sim.state.libraries if lib.name == "Top Picks – Movies")
        seen_by = {u.name for u in sim.state.users.values() if sim.state.can_see(u, library)}
        assert seen_by == set(ids) - {"dave", "erin"}
        assert run["result"]["movies"]["library_created"] and run["result"]["movies"]["scan_requested"]
        # Unchanged: nothing written, no scan, no policy touched.
        assert (
            again["result"]["movies"]["entries_written"] == 0
            and not again["result"]["movies"]["scan_requested"]
        )
        assert again["result"]["movies"]["policies_updated"] == 0

        # dave switched on again: he sees it at the next run, and his plays count: m3 enters with two
        # recent viewers (one finished, one started) and, decayed, passes three viewers of 25 days ago.
        await db.execute("UPDATE media_users SET enabled = true WHERE name = 'dave'")
        await _play(db, ids["bob"], "m3", days_ago=2)
        third = await run_job("refresh-top-picks", settings=cfg)
        assert third["status"] == "completed"
        assert _ranked_titles(folder) == ["Three Recent", "Two Started", "Three Old"]
        assert "dave" in {u.name for u in sim.state.users.values() if sim.state.can_see(u, library)}


def test_explanation_names_people_and_the_window() -> None:
    assert explanation(7, 30) == "Watched by 7 people here this month."
    assert explanation(1, 7) == "Watched by 1 person here in the last 7 days."
