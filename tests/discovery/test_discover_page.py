"""The user view in Chromium after a real discovery run: the user's suggestions (titles the server
lacks) with their reasons, an admin's request through the simulated Jellyseerr from the page, the
job card's line; axe finds nothing serious."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, expect

from tests.discovery.conftest import JOB, SUGGESTIONS, DiscoveryWorld
from tests.page_support import browser, keyed_context, keyed_server, no_serious_violations, shot

__all__ = ["browser"]

API_KEY = "discover-page-key"
UI_WAIT_MS = 15_000


@pytest.fixture
async def server(
    dworld: DiscoveryWorld, run_job: Any, database_url: str, flushed_redis: str
) -> AsyncIterator[TestServer]:
    row = await run_job(JOB, settings=dworld.with_seerr())
    assert row["status"] == "completed", row["error"]
    async with keyed_server(
        dworld.with_seerr(), API_KEY, database_url=database_url, redis_url=flushed_redis
    ) as server:
        yield server


async def test_an_admin_sees_a_users_suggestions_and_requests_one(
    server: TestServer, browser: Browser, dworld: DiscoveryWorld, db: asyncpg.Pool
) -> None:
    user = await db.fetchrow("SELECT id, name FROM media_users ORDER BY name LIMIT 1")
    expected = await db.fetch(
        "SELECT s.tmdb_id, s.reason, t.title FROM discovery_suggestions s JOIN discovery_titles t"
        " ON t.media_type = 'movie' AND t.tmdb_id = s.tmdb_id WHERE s.user_id = $1 ORDER BY s.rank",
        user["id"],
    )
    context = await keyed_context(browser, API_KEY)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(str(server.make_url("/")))
    card = page.locator(f'article[data-job="{JOB}"] [data-role="last-result"]')
    await expect(card).to_contain_text(f"3 users · {3 * SUGGESTIONS} suggestions", timeout=UI_WAIT_MS)

    await page.goto(str(server.make_url(f"/#users/{user['id']}")))
    items = page.locator("#discover li.suggestion")
    await expect(items).to_have_count(SUGGESTIONS, timeout=UI_WAIT_MS)
    titles = [await items.nth(i).locator("h3").text_content() for i in range(SUGGESTIONS)]
    assert [t.split(" ", 1)[1].rsplit(" (", 1)[0] for t in titles if t] == [r["title"] for r in expected]
    first = items.first
    await expect(first.locator(".explanation")).to_have_text(expected[0]["reason"])
    await no_serious_violations(page, "users view with suggestions")
    await shot(page, "discover_page_01_suggestions")
    assert dworld.seerr.bodies == []  # nothing requested until the admin clicks

    await first.get_by_role("button", name=f"Request {expected[0]['title']}").click()
    await expect(first.locator(".request-state")).to_contain_text("Requested", timeout=UI_WAIT_MS)
    assert dworld.seerr.bodies == [{"mediaType": "movie", "mediaId": expected[0]["tmdb_id"]}]
    await page.reload()
    await expect(page.locator("#discover li.suggestion").first.locator(".request-state")).to_contain_text(
        "Requested", timeout=UI_WAIT_MS
    )
    await page.set_viewport_size({"width": 360, "height": 800})
    await page.wait_for_timeout(300)
    assert await page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    await no_serious_violations(page, "suggestions at phone width")
    await shot(page, "discover_page_02_phone")
    await context.close()
    assert errors == []
