"""Series picks keep to what the server's policy shows the user, at show level, in both dialects: a
show above their parental rating, with a blocked tag or in a TV library they lack is never picked,
and the library step drops such a show from picks made before the restriction."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from sidecar.settings import Settings
from tests.series.test_series_pipeline import KINDS, _picks, _run, _setup

VISIBLE = "SELECT item_ids FROM user_visible_items WHERE user_id = $1 AND media_type = 'series'"
ALL_SHOWS = {"Harbor Lights", "The Quiet Signal", "Who Killed Rosa? / Part: One", "Treehouse Club",
             "The Midnight Frontier", "The Blue Tower"}  # fmt: skip
# What each restriction leaves visible (sample ratings: Harbor TV-14, Quiet and Rosa TV-PG, Treehouse
# TV-Y, Midnight and Blue Tower TV-MA; Midnight and Blue Tower are tagged "survival").
EXPECTED = {
    "parental": {"The Quiet Signal", "Who Killed Rosa? / Part: One", "Treehouse Club"},
    "blocked_tags": ALL_SHOWS - {"The Midnight Frontier", "The Blue Tower"},
    "libraries": set(),
}


def _restrict(policy: dict[str, Any], rule: str) -> None:
    if rule == "parental":
        policy["MaxParentalRating"] = 10  # TV-PG and below
    elif rule == "blocked_tags":
        policy["BlockedTags"] = ["Survival"]
    elif rule == "libraries":
        policy["EnableAllFolders"] = False
        policy["EnabledFolders"] = []  # no TV library at all


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("rule", list(EXPECTED))
async def test_series_picks_and_library_keep_to_what_the_policy_shows(
    kind: str, rule: str, db: asyncpg.Pool, settings: Settings, tmp_path: Path, run_job: Any
) -> None:
    async with _setup(kind, settings, tmp_path) as setup:
        tv = setup.sim.state.tv
        viewer = setup.sim.state.add_user("viewer")
        treehouse = setup.shows["Treehouse Club"]
        for episode in tv.episodes_of(treehouse)[:2]:  # a started show: never a new pick
            tv.record_play(viewer.id, episode.id)
        _restrict(setup.sim.state.users[viewer.id].policy, rule)
        titles = {v: k for k, v in setup.shows.items()}

        for job in ("sync-series", "generate-series-embeddings"):
            await _run(run_job, setup, job)
        await _run(run_job, setup, "sync-series-watch-history", variant="full")
        assert {titles[i] for i in await db.fetchval(VISIBLE, viewer.id)} == EXPECTED[rule]
        assert await db.fetchval(VISIBLE, setup.users["alice"]) is None  # unrestricted: everything

        await _run(run_job, setup, "generate-series-recommendations")
        picked = {titles[i] for i in await _picks(db, viewer.id)}
        assert picked == EXPECTED[rule] - {"Treehouse Club"}  # every visible new show, nothing else
        assert len(await _picks(db, setup.users["alice"])) == 3  # others keep their picks

        # Picks made before the restriction (every show) never reach the library on disk.
        await db.execute("DELETE FROM series_recommendations WHERE user_id = $1", viewer.id)
        await db.execute(
            """INSERT INTO series_recommendations (user_id, series_id, rank, score, breakdown)
               SELECT $1, id, row_number() OVER (ORDER BY id), 1.0, '{}' FROM series""",
            viewer.id,
        )
        await _run(run_job, setup, "sync-series-libraries")
        folder = setup.root("viewer")
        shows = (
            [ET.parse(p / "tvshow.nfo").findtext("title") for p in folder.iterdir()]
            if folder.exists()
            else []
        )
        assert set(shows) == EXPECTED[rule]
