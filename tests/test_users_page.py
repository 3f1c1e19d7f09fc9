"""The users view in Chromium on a real world: the movie pipeline run on the simulator, then an admin
opens a user and sees their picks in rank order, with posters proxied through the sidecar, the score
breakdown, the evidence and explanation, and whether their library is written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, expect

from sidecar.settings import Settings
from tests.movie_world import PICKS_PER_USER, SEED_MOVIES, World, movie_world
from tests.page_support import browser, keyed_context, keyed_server, no_serious_violations, shot

__all__ = ["browser"]

API_KEY = "users-page-key"
UI_WAIT_MS = 15_000


@pytest.fixture
async def world(settings: Settings, run_job: Any, tmp_path: Path, db: asyncpg.Pool) -> AsyncIterator[World]:
    async with movie_world(settings, run_job, tmp_path) as w:
        yield w


@pytest.fixture
async def server(world: World, database_url: str, flushed_redis: str) -> AsyncIterator[TestServer]:
    async with keyed_server(
        world.settings, API_KEY, database_url=database_url, redis_url=flushed_redis
    ) as server:
        yield server


async def test_an_admin_opens_a_user_and_sees_their_picks(
    server: TestServer, browser: Browser, world: World, db: asyncpg.Pool
) -> None:
    user = await db.fetchrow("SELECT id, name FROM media_users ORDER BY name LIMIT 1")
    expected = await db.fetch(
        "SELECT m.title, m.year FROM movie_recommendations r JOIN movies m ON m.id = r.movie_id"
        " WHERE r.user_id = $1 ORDER BY r.rank",
        user["id"],
    )
    context = await keyed_context(browser, API_KEY)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    seen_urls: list[str] = []
    page.on("request", lambda req: seen_urls.append(req.url))
    await page.goto(str(server.make_url("/#users")))

    # The users from GET /api/users, each with their picks and library status; one click opens the picks.
    users_link = page.locator(f'#user-list a[data-user-id="{user["id"]}"]')
    await expect(page.locator("#user-list a")).to_have_count(3, timeout=UI_WAIT_MS)
    await expect(users_link).to_contain_text(f"movies: {PICKS_PER_USER} picks · library ok")
    await users_link.click()
    await expect(users_link).to_have_attribute("aria-current", "true")

    picks = page.locator("#picks li.pick")
    await expect(picks).to_have_count(PICKS_PER_USER, timeout=UI_WAIT_MS)
    titles = [await picks.nth(i).locator("h3").text_content() for i in range(PICKS_PER_USER)]
    assert titles == [
        f"#{i + 1} {r['title']}" + (f" ({r['year']})" if r["year"] else "") for i, r in enumerate(expected)
    ]
    await expect(page.locator("#picks-meta")).to_contain_text(f"Library written: {PICKS_PER_USER} entries")
    first = picks.first
    await expect(first.locator(".explanation")).to_contain_text("Because you watched")
    await expect(first).to_contain_text("Because they watched:")
    await first.get_by_text("Score breakdown").click()
    bars = first.locator(".bars .bar")
    assert await bars.count() >= 4
    assert await bars.first.evaluate("b => b.getBoundingClientRect().width") > 0
    # Posters: real images, fetched from the sidecar, never from the media server's address.
    await page.wait_for_function(
        "() => [...document.querySelectorAll('#picks .poster img')].filter(i => i.complete && i.naturalWidth > 0).length"
        f" === {PICKS_PER_USER}",
        timeout=UI_WAIT_MS,
    )
    assert not [u for u in seen_urls if u.startswith(world.sim.url)]
    assert any("/api/items/" in u and u.endswith("/poster") for u in seen_urls)
    await no_serious_violations(page, "users view")
    await shot(page, "users_page_01_picks")

    await page.set_viewport_size({"width": 360, "height": 800})
    await page.wait_for_timeout(300)
    assert await page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    await no_serious_violations(page, "users view at phone width")
    await shot(page, "users_page_02_phone")
    await page.emulate_media(color_scheme="dark")
    await page.set_viewport_size({"width": 1280, "height": 900})
    await no_serious_violations(page, "users view, dark")
    await shot(page, "users_page_03_dark")
    await context.close()
    assert errors == []


async def test_cards_say_in_one_line_what_the_real_movie_jobs_did(
    server: TestServer, browser: Browser, world: World
) -> None:
    """The result dicts of a real pipeline run read as people's words on the cards, with job icons."""
    context = await keyed_context(browser, API_KEY)
    page = await context.new_page()
    await page.goto(str(server.make_url("/")))
    users = world.results["sync-movie-watch-history"]["users_processed"]
    picks = world.results["generate-movie-recommendations"]["recommendations_written"]
    expected = {
        "sync-movies": f"{SEED_MOVIES} added · 0 failed",
        "generate-movie-embeddings": f"{SEED_MOVIES} embedded · 0 failed",
        "generate-movie-recommendations": f"{users} users · {picks} picks · 0 failed",
        "sync-movie-libraries": f"{users} users · {picks} entries written · {users} libraries created · 0 failed",
    }
    for job, line in expected.items():
        result = page.locator(f'article[data-job="{job}"] [data-role="last-result"]')
        await expect(result).to_have_text(line, timeout=UI_WAIT_MS)
    raw = await page.locator("#jobs").text_content() or ""
    assert "follow_ups" not in raw and "replaced_models" not in raw  # raw keys stay in the run details
    await expect(page.locator('article[data-job="full-reset-movie-recommendations"]')).to_contain_text(
        "Manual only"
    )
    await expect(page.get_by_role("button", name="Run the movies pipeline")).to_be_visible()
    await no_serious_violations(page, "jobs view of the real jobs")
    await shot(page, "users_page_00_real_jobs")
    await context.close()
