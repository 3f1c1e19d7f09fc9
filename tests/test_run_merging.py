"""Concurrent submits for one job merge their scopes into the single queued run without losing ids."""

from __future__ import annotations

import asyncio

import asyncpg

from sidecar.jobs.runs import create_run, merge_scopes


async def test_concurrent_submits_lose_no_item_ids(db: asyncpg.Pool) -> None:
    ids = [f"item-{i}" for i in range(60)]
    results = await asyncio.gather(
        *(create_run(db, "sync-movies", trigger="webhook", scope={"item_ids": [i]}) for i in ids)
    )
    rows = await db.fetch("SELECT id, scope FROM job_runs WHERE status = 'queued'")
    assert len(rows) == 1
    assert sorted(rows[0]["scope"]["item_ids"]) == sorted(ids)
    assert sum(created for _, created in results) == 1


def test_scope_union_and_everything_absorbs() -> None:
    assert merge_scopes({"item_ids": ["a"]}, {"item_ids": ["b", "a"]}) == {"item_ids": ["a", "b"]}
    assert merge_scopes(None, {"item_ids": ["a"]}) is None
    assert merge_scopes({"user_ids": ["u"]}, {"item_ids": ["a"]}) is None
    assert merge_scopes({"user_ids": ["u"], "item_ids": ["a"]}, {"user_ids": ["v"], "item_ids": ["b"]}) == {
        "item_ids": ["a", "b"],
        "user_ids": ["u", "v"],
    }
