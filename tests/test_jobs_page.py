"""The Jobs page end to end: headless Chromium on the real app, a real ARQ worker, real Postgres/Valkey."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, async_playwright, expect
from pydantic import SecretStr

from sidecar.api.app import create_app
from sidecar.jobs.context import JobContext
from sidecar.jobs.registry import JobDefinition, JobRegistry
from sidecar.settings import Settings
from tests.jobs_harness import Recorder, make_registry, running_worker, wait_status

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
API_KEY = "page-test-key"
PROGRESS_ITEMS = 300
HOSTILE_TITLE = '<img src=x onerror="document.title=1">Progress & <b>co</b>'
UI_WAIT_MS = 15_000


async def progress_loop(ctx: JobContext) -> dict[str, Any]:
    """A job with visible progress: one item every 50 ms, cooperatively cancellable."""
    await ctx.info("progress loop starting", items=PROGRESS_ITEMS)
    await ctx.step("Counting sheep", total=PROGRESS_ITEMS)
    for _ in range(PROGRESS_ITEMS):
        ctx.raise_if_cancelled()
        await asyncio.sleep(0.05)
        await ctx.advance()
    return {"counted": PROGRESS_ITEMS}


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


@pytest.fixture
def reg(rec: Recorder) -> JobRegistry:
    progress = JobDefinition(
        name="progress",
        title=HOSTILE_TITLE,
        category="demo",
        description="counts with a progress bar",
        func=progress_loop,
    )
    return make_registry(rec, extra=[progress])


@pytest.fixture
async def server(
    settings: Settings, database_url: str, flushed_redis: str, reg: JobRegistry, db: asyncpg.Pool
) -> AsyncIterator[TestServer]:
    keyed = settings.model_copy(update={"api_key": SecretStr(API_KEY)})
    app = create_app(keyed, database_url=database_url, redis_url=flushed_redis, registry=reg, kinds=())
    test_server = TestServer(app, host="127.0.0.1", port=0)
    await test_server.start_server()
    try:
        yield test_server
    finally:
        await test_server.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            await chromium.close()


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"jobs_page_{name}.png"), full_page=True)


def card(page: Page, job: str) -> Any:
    return page.locator(f'article[data-job="{job}"]')


async def progress_value(page: Page) -> float:
    value = await page.locator('#queue-running [data-role="bar"]').get_attribute("aria-valuenow")
    return float(value or "nan")


async def test_jobs_page_end_to_end(
    server: TestServer,
    browser: Browser,
    settings: Settings,
    database_url: str,
    flushed_redis: str,
    reg: JobRegistry,
    rec: Recorder,
    db: asyncpg.Pool,
) -> None:
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, timezone_id="UTC", locale="en-GB"
    )
    page = await context.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))
    base = str(server.make_url("/"))

    async with running_worker(settings, database_url, flushed_redis, reg):
        # The API needs a key: the page asks for it once, then shows the cards.
        await page.goto(base)
        key_form = page.locator("#key-form")
        await expect(key_form).to_be_visible(timeout=UI_WAIT_MS)
        await page.get_by_label("API key").fill(API_KEY)
        await page.get_by_role("button", name="Use key").click()
        await expect(key_form).to_be_hidden()
        await expect(card(page, "progress")).to_be_visible(timeout=UI_WAIT_MS)
        assert await page.evaluate("sessionStorage.getItem('sidecar-api-key')") == API_KEY

        # Server strings are text, never markup.
        await expect(card(page, "progress").locator('[data-role="title"]')).to_have_text(HOSTILE_TITLE)
        assert await card(page, "progress").locator("img").count() == 0
        # Cards are grouped by category in the API's order; manual-only jobs have no schedule editor.
        headings = await page.locator(".category h2").all_text_contents()
        assert headings == ["test", "demo"]
        await expect(card(page, "manual").locator('[data-role="manual-only"]')).to_be_visible()
        await expect(card(page, "manual").locator('[data-role="schedule"]')).to_be_hidden()
        await expect(card(page, "quick-b").get_by_label("Variant")).to_be_visible()
        await shot(page, "01_loaded")

        # The blocker holds the worker, so the progress run visibly waits in the queue.
        await card(page, "blocker").get_by_role("button", name="Run Blocker", exact=True).click()
        await expect(card(page, "blocker").locator('[data-role="badge"]')).to_have_text(
            "running", timeout=UI_WAIT_MS
        )
        await card(page, "progress").get_by_role("button", name="Run").click()
        await expect(card(page, "progress").locator('[data-role="badge"]')).to_have_text(
            "queued", timeout=UI_WAIT_MS
        )
        await expect(page.locator("#queue-waiting li")).to_have_count(1)
        await expect(page.locator("#queue-waiting li")).to_contain_text(HOSTILE_TITLE)
        await shot(page, "02_queued")
        run_id = await db.fetchval("SELECT id::text FROM job_runs WHERE job = 'progress'")

        # Released, the progress run starts and its bar moves.
        rec.release.set()
        await expect(card(page, "progress").locator('[data-role="badge"]')).to_have_text(
            "running", timeout=UI_WAIT_MS
        )
        running = page.locator('#queue-running [data-role="run"]')
        await expect(running).to_be_visible()
        await expect(running.locator('[data-role="step"]')).to_have_text("Counting sheep")
        await expect(running.locator('[data-role="items"]')).to_contain_text(f"/ {PROGRESS_ITEMS} items")
        await page.wait_for_function(
            "() => Number(document.querySelector('#queue-running [data-role=bar]').getAttribute('aria-valuenow')) > 0",
            timeout=UI_WAIT_MS,
        )
        first = await progress_value(page)
        await page.wait_for_function(
            f"() => Number(document.querySelector('#queue-running [data-role=bar]')"
            f".getAttribute('aria-valuenow')) > {first}",
            timeout=UI_WAIT_MS,
        )
        second = await progress_value(page)
        assert 0 < first < second < 100
        await expect(running.locator('[data-role="percent"]')).to_contain_text("%")
        await shot(page, "03_running")

        # Cancel from the card: the run ends cancelled.
        await card(page, "progress").get_by_role("button", name="Cancel").click()
        await expect(card(page, "progress").locator('[data-role="badge"]')).to_have_text(
            "cancelled", timeout=UI_WAIT_MS
        )
        await wait_status(db, run_id, "cancelled")
        await expect(page.locator('#queue-running [data-role="idle"]')).to_be_visible(timeout=UI_WAIT_MS)
        await shot(page, "04_cancelled")

        # History, then the log of that run, with levels.
        await card(page, "progress").get_by_role("button", name="History").click()
        dialog = page.locator("#history")
        await expect(dialog).to_be_visible()
        history_run = dialog.locator(f'button[data-run-id="{run_id}"]')
        await expect(history_run).to_contain_text("cancelled")
        await history_run.click()
        lines = dialog.locator("#log-lines li")
        await expect(lines.filter(has_text="progress loop starting")).to_have_count(1)
        await expect(lines.filter(has_text="progress loop starting").locator(".level")).to_have_text("INFO")
        await expect(lines.filter(has_text="Error: cancelled on request")).to_have_count(1)
        await shot(page, "05_history_log")
        await dialog.get_by_role("button", name="Close").click()
        await expect(dialog).to_be_hidden()

        # Editing a schedule changes the next run time.
        scheduled = card(page, "scheduled")
        next_run = scheduled.locator('[data-role="next-run"]')
        before = await next_run.text_content()
        await scheduled.get_by_label("Cron").fill("17 3 * * *")
        await scheduled.get_by_role("button", name="Save schedule").click()
        await expect(next_run).not_to_have_text(before or "", timeout=UI_WAIT_MS)
        await expect(next_run).to_contain_text("03:17")
        await expect(scheduled.locator('[data-role="schedule-description"]')).to_have_text("Daily at 03:17")
        await expect(page.locator("#notices")).to_contain_text("schedule saved")
        stored = await db.fetchval("SELECT cron FROM job_schedules WHERE job = 'scheduled'")
        assert stored == "17 3 * * *"
        await shot(page, "06_schedule_saved")

        # API errors are readable messages in the live region: a bad cron (422), then a 409.
        await scheduled.get_by_label("Cron").fill("every full moon")
        await scheduled.get_by_role("button", name="Save schedule").click()
        alert = page.locator("#messages")
        await expect(alert).to_have_attribute("aria-live", "assertive")
        await expect(alert).not_to_be_empty(timeout=UI_WAIT_MS)
        bad_cron_message = await alert.text_content()
        assert bad_cron_message and "{" not in bad_cron_message
        await expect(next_run).to_contain_text("03:17")  # the failed save changed nothing
        await card(page, "quick-a").get_by_role("button", name="Cancel").click()
        await expect(alert).to_have_text("quick-a has no running or queued run", timeout=UI_WAIT_MS)
        await page.wait_for_timeout(
            2500
        )  # a poll later, focus elsewhere, the rejected input is still there to fix
        await expect(scheduled.get_by_label("Cron")).to_have_value("every full moon")
        await shot(page, "07_error")

        # Keyboard only: Tab reaches the buttons (focus sits on quick-a's Cancel, just used), Enter runs a job.
        run_quick = card(page, "quick-a").get_by_role("button", name="Run Quick-A", exact=True)
        for _ in range(80):
            if await run_quick.evaluate("b => b === document.activeElement"):
                break
            await page.keyboard.press("Shift+Tab")
        await expect(run_quick).to_be_focused()
        outline = await run_quick.evaluate("b => getComputedStyle(b).outlineStyle")
        assert outline != "none"
        await page.keyboard.press("Enter")
        quick = card(page, "quick-a")
        await expect(quick.locator('[data-role="badge"]')).to_have_text("completed", timeout=UI_WAIT_MS)
        await expect(quick.locator('[data-role="last-result"]')).to_have_text("done: 1")
        await shot(page, "08_keyboard_run")

        # A hidden tab stops polling; showing it again refreshes at once.
        api_calls: list[str] = []
        page.on("request", lambda req: api_calls.append(req.url) if "/api/jobs" in req.url else None)
        await page.evaluate(
            "() => { Object.defineProperty(document, 'hidden', {value: true, configurable: true});"
            " document.dispatchEvent(new Event('visibilitychange')); }"
        )
        await page.wait_for_timeout(500)  # let a refresh already in flight finish
        api_calls.clear()
        await page.wait_for_timeout(4500)  # more than two poll intervals
        assert api_calls == []
        async with page.expect_request(lambda req: req.url.endswith("/api/jobs"), timeout=UI_WAIT_MS):
            await page.evaluate(
                "() => { Object.defineProperty(document, 'hidden', {value: false, configurable: true});"
                " document.dispatchEvent(new Event('visibilitychange')); }"
            )

        # Phone width: one column, nothing wider than the screen.
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.wait_for_timeout(300)
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        queue_box = await page.locator("#queue").bounding_box()
        jobs_box = await page.locator("#jobs").bounding_box()
        assert queue_box and jobs_box and jobs_box["y"] >= queue_box["y"] + queue_box["height"]
        await shot(page, "09_phone")

    await context.close()
    assert page_errors == []


async def test_page_and_assets_are_served_without_the_api_key(aiohttp_client: Any) -> None:
    from aiohttp import web

    from sidecar.api import page as page_module

    app = web.Application()
    page_module.setup_routes(app)
    client = await aiohttp_client(app)
    index = await client.get("/")
    assert index.status == 200 and index.content_type == "text/html"
    html = await index.text()
    assert "/static/app.js" in html and "/static/app.css" in html
    for asset, kind in (("app.js", "javascript"), ("app.css", "text/css")):
        resp = await client.get(f"/static/{asset}")
        assert resp.status == 200 and kind in resp.content_type
    assert (await client.get("/static/../api/page.py")).status in (403, 404)
