"""Series Top Picks in both dialects: the shows most watched lately by distinct users enabled for
series (any episode counts once per viewer), written as show folders with their episodes in a shared
`tvshows` library every enabled user sees; a server with no TV plays gets no empty library."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from sidecar.settings import Settings
from tests.series.test_series_pipeline import KINDS, _run, _setup

NOW = dt.datetime.now(dt.UTC)


async def _watch(db: asyncpg.Pool, user_id: str, series_id: str, episodes: int, days_ago: float) -> None:
    await db.execute(
        """INSERT INTO episode_plays (user_id, episode_id, played, play_count, last_played_at)
           SELECT $1, id, true, 1, $3 FROM episodes WHERE series_id = $2 AND season_number = 1
           ORDER BY episode_number LIMIT $4
           ON CONFLICT (user_id, episode_id) DO NOTHING""",
        user_id,
        series_id,
        NOW - dt.timedelta(days=days_ago),
        episodes,
    )


@pytest.mark.parametrize("kind", KINDS)
async def test_series_top_picks_rank_shows_by_recent_viewers(
    kind: str, db: asyncpg.Pool, settings: Settings, tmp_path: Path, run_job: Any
) -> None:
    async with _setup(kind, settings, tmp_path) as setup:
        empty = await _run(run_job, setup, "refresh-top-picks")
        assert "series" not in empty or empty["series"]["entries"] == 0
        assert not any(lib.name == "Top Picks – Series" for lib in setup.sim.state.libraries)

        await _run(run_job, setup, "sync-series")
        carol = setup.sim.state.add_user("carol")
        await _run(run_job, setup, "sync-users")
        users = [setup.users["alice"], setup.users["bob"], carol.id]
        shows = setup.shows
        for user in users:  # three viewers, one a binge of five episodes (still one viewer)
            await _watch(db, user, shows["Treehouse Club"], 5 if user == carol.id else 1, days_ago=1)
        for user in users[:2]:
            await _watch(db, user, shows["The Blue Tower"], 2, days_ago=2)
        await _watch(db, users[0], shows["Harbor Lights"], 12, days_ago=0)  # one viewer: too few
        for user in users:
            await _watch(db, user, shows["The Quiet Signal"], 1, days_ago=45)  # outside the window

        result = await _run(run_job, setup, "refresh-top-picks")
        assert result["series"]["entries"] == 2 and result["series"]["library_created"]
        folder = setup.settings.resolved_library_root / "top-picks" / "series"
        nfos = [ET.parse(p).getroot() for p in folder.glob("*/tvshow.nfo")]
        ranked = [n.findtext("title") for n in sorted(nfos, key=lambda n: n.findtext("sorttitle") or "")]
        assert ranked == ["Treehouse Club", "The Blue Tower"]
        assert nfos[0].findtext("plot", "").startswith("Watched by")
        treehouse = next(p for p in folder.iterdir() if p.name.startswith("Treehouse Club"))
        assert list(treehouse.glob("Season */Treehouse Club S*E*.mkv"))  # episodes, as in the AI libraries
        library = next(lib for lib in setup.sim.state.libraries if lib.name == "Top Picks – Series")
        assert library.collection_type == "tvshows"
        seen_by = {u.name for u in setup.sim.state.users.values() if setup.sim.state.can_see(u, library)}
        assert seen_by == {"alice", "bob", "kids", "carol"}
