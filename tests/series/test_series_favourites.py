"""Favourites count as series taste, in both dialects: a show marked favourite (the Series item) and
a favourite episode are read by the watch-history step, even unplayed, and become strong taste (rated
as a finished show) that is never a new pick; taking the favourite back takes it away."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import pytest

from sidecar.series.queries import TASTE
from sidecar.series.taste import STATE_RATING
from sidecar.settings import Settings
from tests.series.test_series_pipeline import KINDS, _picks, _run, _setup

STATE = "SELECT series_id, state, favourite FROM series_user_state WHERE user_id = $1"


async def _taste(db: asyncpg.Pool, user_id: str) -> dict[str, float]:
    row = next((r for r in await db.fetch(TASTE, None) if r["user_id"] == user_id), None)
    return {} if row is None else dict(zip(row["item_ids"], row["user_ratings"], strict=True))


@pytest.mark.parametrize("kind", KINDS)
async def test_favourite_shows_and_episodes_are_strong_taste(
    kind: str, db: asyncpg.Pool, settings: Settings, tmp_path: Path, run_job: Any
) -> None:
    async with _setup(kind, settings, tmp_path) as setup:
        tv = setup.sim.state.tv
        fan = setup.sim.state.add_user("fan")
        harbor, blue = setup.shows["Harbor Lights"], setup.shows["The Blue Tower"]
        quiet = setup.shows["The Quiet Signal"]
        tv.record_play(fan.id, tv.episodes_of(quiet)[0].id)  # one play elsewhere: a dropped-ish start
        tv.set_favorite(fan.id, harbor)  # the show itself, never played
        tv.set_favorite(fan.id, tv.episodes_of(blue)[1].id)  # one episode, never played
        for job in ("sync-series", "generate-series-embeddings", "sync-series-watch-history"):
            await _run(run_job, setup, job)

        states = {r["series_id"]: (r["state"], r["favourite"]) for r in await db.fetch(STATE, fan.id)}
        assert states[harbor] == ("started", True) and states[blue] == ("started", True)
        taste = await _taste(db, fan.id)
        assert taste[harbor] == taste[blue] == STATE_RATING["finished"] > taste[quiet]
        await _run(run_job, setup, "generate-series-recommendations")
        assert not {harbor, blue, quiet} & set(await _picks(db, fan.id))  # known shows: never new picks

        # The favourite taken back (a webhook's scoped run about the show) takes the taste away.
        tv.set_favorite(fan.id, harbor, False)
        await _run(run_job, setup, "sync-series-watch-history",
                   scope={"user_ids": [fan.id], "item_ids": [harbor]})  # fmt: skip
        states = {r["series_id"]: r["state"] for r in await db.fetch(STATE, fan.id)}
        assert harbor not in states and blue in states
