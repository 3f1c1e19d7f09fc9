"""The user view's Trakt block in Chromium: link with the device code (shown, polled at the code's
interval until Trakt grants it), the linked line, unlink; accessible (axe) in light and dark."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, expect
from pydantic import SecretStr

from sidecar.composition import web_app
from sidecar.settings import Settings
from sidecar.simulator.services.trakt import TraktState
from tests.page_support import browser, no_serious_violations, shot
from tests.trakt.conftest import ALICE, seed_catalogue

__all__ = ["browser"]

API_KEY = "trakt-page-key"
UI_WAIT_MS = 20_000


@pytest.fixture
async def server(
    trakt_settings: Settings, db: asyncpg.Pool, database_url: str, flushed_redis: str
) -> AsyncIterator[TestServer]:
    await seed_catalogue(db)
    keyed = trakt_settings.model_copy(update={"api_key": SecretStr(API_KEY)})
    test_server = TestServer(
        web_app(keyed, database_url=database_url, redis_url=flushed_redis), host="127.0.0.1", port=0
    )
    await test_server.start_server()
    try:
        yield test_server
    finally:
        await test_server.close()


async def test_link_and_unlink_from_the_user_view(
    server: TestServer, browser: Browser, trakt: tuple[TraktState, str], db: asyncpg.Pool
) -> None:
    state, _ = trakt
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    await context.add_init_script(f"sessionStorage.setItem('sidecar-api-key', '{API_KEY}')")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(str(server.make_url(f"/#users/{ALICE}")))

    status = page.locator("#trakt-status")
    await expect(status).to_contain_text("Not linked", timeout=UI_WAIT_MS)
    await page.get_by_role("button", name="Link Trakt account").click()
    code = page.locator("#trakt-user-code")
    await expect(code).to_have_text(re.compile(r"^[A-Z0-9]{8}$"), timeout=UI_WAIT_MS)
    assert await code.text_content() == next(iter(state.device_codes.values())).user_code
    await expect(page.locator("#trakt-url")).to_have_attribute("href", "https://trakt.tv/activate")
    await no_serious_violations(page, "trakt code shown")
    await shot(page, "trakt_page_01_code")

    state.approve(await code.text_content() or "", "alice")
    await expect(status).to_contain_text("Linked since", timeout=UI_WAIT_MS)
    assert state.requests["POST /oauth/device/token"] <= 2  # the page kept to the 5 s interval
    assert await db.fetchval("SELECT count(*) FROM trakt_accounts") == 1
    await page.emulate_media(color_scheme="dark")
    await no_serious_violations(page, "trakt linked, dark")
    await shot(page, "trakt_page_02_linked")

    await page.get_by_role("button", name="Unlink Trakt").click()
    await expect(status).to_contain_text("Not linked", timeout=UI_WAIT_MS)
    assert await db.fetchval("SELECT count(*) FROM trakt_accounts") == 0
    await context.close()
    assert errors == []


async def test_not_configured_says_what_to_set(
    settings: Settings,
    db: asyncpg.Pool,
    browser: Browser,
    database_url: str,
    flushed_redis: str,
    aiohttp_client: Any,
) -> None:
    await seed_catalogue(db)
    keyed = settings.model_copy(update={"api_key": SecretStr(API_KEY)})
    test_server = TestServer(
        web_app(keyed, database_url=database_url, redis_url=flushed_redis), host="127.0.0.1"
    )
    await test_server.start_server()
    try:
        context = await browser.new_context(locale="en-GB")
        await context.add_init_script(f"sessionStorage.setItem('sidecar-api-key', '{API_KEY}')")
        page = await context.new_page()
        await page.goto(str(test_server.make_url(f"/#users/{ALICE}")))
        await expect(page.locator("#trakt-status")).to_contain_text(
            "set SIDECAR_TRAKT_CLIENT_ID", timeout=UI_WAIT_MS
        )
        await expect(page.get_by_role("button", name="Link Trakt account")).to_be_disabled()
        await context.close()
    finally:
        await test_server.close()
