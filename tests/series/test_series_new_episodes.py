"""A new episode of a show in a user's AI series library reaches that library without a full run, in
both dialects: the sync that finds it (the webhook's scoped `sync-series` for an ItemAdded Episode, or
the scheduled full one) asks for that user's library run, and the new entry appears."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import pytest

from sidecar.settings import Settings
from tests.series.test_series_pipeline import KINDS, SERIES_JOBS, _media_file, _picks, _run, _setup


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("scoped", [True, False], ids=["webhook-scoped", "full-sync"])
async def test_a_new_episode_appears_in_the_libraries_that_hold_its_show(
    kind: str, scoped: bool, db: asyncpg.Pool, settings: Settings, tmp_path: Path, run_job: Any
) -> None:
    async with _setup(kind, settings, tmp_path) as setup:
        tv = setup.sim.state.tv
        for job in SERIES_JOBS:
            await _run(run_job, setup, job)
        alice = setup.users["alice"]
        show_id = (await _picks(db, alice))[0]
        holders = {r["user_id"] for r in await db.fetch(
            "SELECT user_id FROM series_recommendations WHERE series_id = $1", show_id)}  # fmt: skip
        show = tv.series[show_id]
        season = next(s for s in tv.seasons_of(show_id) if s.index_number == 1)
        last = max(e.index_number for e in tv.episodes_of(show_id) if e.parent_index_number == 1)
        path = f"{show.path}/Season 01/{show.name} S01E{last + 1:02d}.mkv"
        _media_file(tmp_path / "media", path)
        episode = tv.add_episode(season, name="Brand New", index_number=last + 1, path=path)

        synced = await run_job("sync-series", settings=setup.settings,
                               scope={"item_ids": [episode.id]} if scoped else None)  # fmt: skip
        assert synced["status"] == "completed", synced["error"]
        assert synced["result"]["episodes"]["added"] == 1
        follow = [f for f in synced["result"]["follow_ups"] if f["job"] == "sync-series-libraries"]
        assert len(follow) == 1 and set(follow[0]["scope"]["user_ids"]) == holders

        entry = f"S01E{last + 1:02d}"
        folder = next(p for p in setup.root("alice").iterdir() if (p / "tvshow.nfo").exists()
                      and show.name.split(" ")[0] in p.name)  # fmt: skip
        assert not any(entry in p.name for p in folder.rglob("*"))
        libraries = await _run(run_job, setup, "sync-series-libraries", scope=follow[0]["scope"])
        assert libraries["users"] == len(holders)
        assert any(entry in p.name and p.suffix == ".mkv" for p in folder.rglob("*"))
