"""Shared parts of the browser tests: Debian's Chromium (never a browser download), screenshots kept as
test artifacts (tests/artifacts/, git-ignored), and the axe-core scan shipped in axe-playwright-python."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from pydantic import SecretStr

from sidecar.composition import web_app
from sidecar.settings import Settings

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--headless=new",
]
BLOCKING_IMPACTS = ("serious", "critical")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            await chromium.close()


async def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


async def no_serious_violations(page: Page, where: str) -> None:
    """axe-core finds nothing serious or critical on what the page shows now."""
    results = await Axe().run(page)
    bad = [v for v in results.response["violations"] if v["impact"] in BLOCKING_IMPACTS]
    assert not bad, f"{where}: " + "; ".join(f"{v['id']}: {v['help']} ({len(v['nodes'])})" for v in bad)


@contextlib.asynccontextmanager
async def keyed_server(
    settings: Settings, api_key: str, *, database_url: str, redis_url: str
) -> AsyncIterator[TestServer]:
    """The whole web app behind `api_key`, on a free localhost port."""
    keyed = settings.model_copy(update={"api_key": SecretStr(api_key)})
    server = TestServer(
        web_app(keyed, database_url=database_url, redis_url=redis_url), host="127.0.0.1", port=0
    )
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


async def keyed_context(browser: Browser, api_key: str) -> BrowserContext:
    """A desktop-sized browser context whose page already holds the API key (as after entering it)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    await context.add_init_script(f"sessionStorage.setItem('sidecar-api-key', '{api_key}')")
    return context
