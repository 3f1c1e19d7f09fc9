"""The Jobs page end to end: headless Chromium on the real app, a real ARQ worker, real Postgres/Valkey."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect
from pydantic import SecretStr

from sidecar.api.app import create_app
from sidecar.jobs.context import JobContext, JobError
from sidecar.jobs.registry import JobDefinition, JobGraph, JobRegistry
from sidecar.settings import Settings
from tests.jobs_harness import Recorder, make_registry, running_worker, wait_for
from tests.page_support import browser, no_serious_violations, shot

API_KEY = "page-test-key"
PROGRESS_ITEMS = 80
HOSTILE_TITLE = '<img src=x onerror="document.title=1">Progress & <b>co</b>'
UI_WAIT_MS = 15_000
__all__ = ["browser"]  # the fixture, used by name


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
    registry = make_registry(rec, extra=[progress])
    registry.register_graph(demo_pipeline())
    return registry


def demo_pipeline() -> JobGraph:
    """Three steps whose second fails: the page must show where the pipeline stopped."""

    async def ok(ctx: JobContext) -> dict[str, Any]:
        await ctx.info("step done")
        return {"done": 1}

    async def broken(ctx: JobContext) -> dict[str, Any]:
        raise JobError("step two broke; check step two")

    def step(name: str, func: Any, *after: str) -> JobDefinition:
        return JobDefinition(
            name=name,
            title=name.replace("-", " ").capitalize(),
            category="demo",
            description=f"{name} of the demo pipeline",
            func=func,
            prerequisites=after,
        )

    return JobGraph(
        "demo",
        (step("step-one", ok), step("step-two", broken, "step-one"), step("step-three", ok, "step-two")),
    )


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


def card(page: Page, job: str) -> Any:
    return page.locator(f'article[data-job="{job}"]')


async def bar_value(page: Page, job: str) -> float:
    value = await card(page, job).locator('[data-role="bar"]').get_attribute("aria-valuenow")
    return float(value or "nan")


async def seed_finished_runs(db: asyncpg.Pool, job: str, count: int) -> None:
    """Old finished runs of `job` (rows as the worker leaves them), a few failed, for the trend and paging."""
    now = dt.datetime.now(dt.UTC)
    rows = []
    for i in range(count):
        started = now - dt.timedelta(hours=count - i)
        status = "failed" if i % 7 == 3 else "completed"
        rows.append(
            (
                uuid.uuid4(),
                job,
                status,
                started,
                started + dt.timedelta(seconds=20 + (i % 5) * 8),
                {"done": i} if status == "completed" else None,
                "the thing failed; check the thing" if status == "failed" else None,
            )
        )
    await db.executemany(
        "INSERT INTO job_runs (id, job, variant, trigger, status, queued_at, started_at, finished_at,"
        " result, error) VALUES ($1, $2, 'regular', 'schedule', $3, $4, $4, $5, $6::jsonb, $7)",
        rows,
    )


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
    await seed_finished_runs(db, "quick-c", 26)

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
        # Whatever categories the API returns, in its order; an icon per card; manual-only says so.
        headings = await page.locator(".category h2").all_text_contents()
        assert headings == ["test", "demo"]
        assert await page.locator("article.card .job-icon svg").count() == len(reg)
        await expect(card(page, "manual").locator('[data-role="manual-only"]')).to_have_text("Manual only")
        await expect(card(page, "manual").locator('[data-role="gear"]')).to_be_hidden()
        await expect(card(page, "manual").locator('[data-role="next-run"]')).to_contain_text("Manual only")
        await expect(card(page, "quick-b").get_by_label("Variant of Quick-B")).to_be_visible()
        # Nothing to cancel on an idle card; a human result line, not raw keys.
        await expect(card(page, "quick-a").get_by_role("button", name="Cancel Quick-A")).to_be_hidden()
        await expect(card(page, "quick-c").locator('[data-role="last-result"]')).to_have_text("25 done")
        last_run = card(page, "quick-c").locator('[data-role="last-run"] time')
        assert (await last_run.text_content() or "").endswith("ago")
        assert await last_run.get_attribute("title")  # the absolute time on hover
        # The pipelines the API offers, one button each.
        await expect(page.get_by_role("button", name="Run the demo pipeline")).to_be_visible()
        await no_serious_violations(page, "jobs view")
        await shot(page, "jobs_page_01_loaded")

        # The blocker holds the worker; the progress run waits, and its card offers Cancel.
        await card(page, "blocker").get_by_role("button", name="Run Blocker", exact=True).click()
        await expect(card(page, "blocker").locator('[data-role="badge"]')).to_have_text(
            "running", timeout=UI_WAIT_MS
        )
        await card(page, "progress").get_by_role("button", name="Run", exact=False).first.click()
        await expect(card(page, "progress").locator('[data-role="badge"]')).to_have_text(
            "queued", timeout=UI_WAIT_MS
        )
        await expect(card(page, "progress").locator('[data-role="cancel"]')).to_be_visible()
        await expect(page.locator("#queue-waiting li")).to_have_count(1)
        await expect(page.locator("#queue-waiting li")).to_contain_text(HOSTILE_TITLE)
        await shot(page, "jobs_page_02_queued")

        # Cancel the blocker from its card; the progress run starts and its card shows the progress.
        await card(page, "blocker").get_by_role("button", name="Cancel Blocker").click()
        await expect(card(page, "blocker").locator('[data-role="badge"]')).to_have_text(
            "cancelled", timeout=UI_WAIT_MS
        )
        progress = card(page, "progress")
        await expect(progress.locator('[data-role="badge"]')).to_have_text("running", timeout=UI_WAIT_MS)
        live = progress.locator('[data-role="live"]')
        await expect(live).to_be_visible()
        await expect(live.locator('[data-role="step"]')).to_have_text("Counting sheep")
        await expect(live.locator('[data-role="items"]')).to_contain_text(f"/ {PROGRESS_ITEMS} items")
        await expect(live.locator('[data-role="elapsed"]')).to_contain_text("elapsed")
        await page.wait_for_function(
            "() => Number(document.querySelector('article[data-job=progress] [data-role=bar]')"
            ".getAttribute('aria-valuenow')) > 0",
            timeout=UI_WAIT_MS,
        )
        first = await bar_value(page, "progress")
        await page.wait_for_function(
            f"() => Number(document.querySelector('article[data-job=progress] [data-role=bar]')"
            f".getAttribute('aria-valuenow')) > {first}",
            timeout=UI_WAIT_MS,
        )
        assert 0 < first < await bar_value(page, "progress") <= 100
        await expect(live.locator('[data-role="percent"]')).to_contain_text("%")
        await shot(page, "jobs_page_03_running")
        # ... to done: the live block goes, the result line says what it did.
        await expect(progress.locator('[data-role="badge"]')).to_have_text("completed", timeout=30_000)
        await expect(live).to_be_hidden()
        await expect(progress.locator('[data-role="last-result"]')).to_have_text(f"{PROGRESS_ITEMS} counted")

        # A failure raises one alert (once per run), dismissible; the card keeps the error.
        await page.get_by_role("button", name="Run Fails", exact=True).click()
        alert = page.locator("#alerts .alert")
        await expect(alert).to_have_count(1, timeout=UI_WAIT_MS)
        await expect(alert).to_contain_text("Fails failed")
        await expect(alert).to_contain_text("the thing failed; check the thing")
        failed_card = card(page, "fails")
        await expect(failed_card.locator('[data-role="error-box"]')).to_be_visible()
        await expect(failed_card.locator('[data-role="check"]')).to_contain_text("What to check")
        await no_serious_violations(page, "jobs view with an alert")
        await shot(page, "jobs_page_04_failure_alert")
        await alert.get_by_role("button", name="Dismiss the alert about Fails").click()
        await expect(alert).to_have_count(0)
        await expect(page.locator("#main")).to_be_focused()  # focus is not lost with the button
        await page.reload()
        await expect(card(page, "fails").locator('[data-role="error-box"]')).to_be_visible(timeout=UI_WAIT_MS)
        await page.wait_for_timeout(2500)  # a poll later: that run is not announced again
        await expect(page.locator("#alerts .alert")).to_have_count(0)
        # Switched off, the choice is remembered and the next failure stays quiet.
        await page.get_by_label("Failure alerts").uncheck()
        assert await page.evaluate("localStorage.getItem('sidecar-failure-alerts')") == "off"
        await page.reload()
        await expect(page.get_by_label("Failure alerts")).not_to_be_checked(timeout=UI_WAIT_MS)
        await card(page, "fails").get_by_role("button", name="Run Fails", exact=True).click()
        await wait_for(
            lambda: db.fetchval("SELECT count(*) = 2 FROM job_runs WHERE job = 'fails' AND status = 'failed'")
        )
        await page.wait_for_timeout(2500)
        await expect(page.locator("#alerts .alert")).to_have_count(0)
        await page.get_by_label("Failure alerts").check()

        # The gear opens the schedule editor: a human reading and the next three fire times, then save.
        scheduled = card(page, "scheduled")
        await scheduled.get_by_role("button", name="Schedule of Scheduled").click()
        dialog = page.locator("#schedule-dialog")
        await expect(dialog).to_be_visible()
        cron = dialog.get_by_label("Cron expression")
        await expect(cron).to_be_focused()
        await cron.fill("17 3 * * 1-5")
        await expect(dialog.locator("#schedule-reading")).to_have_text(
            "Weekdays at 03:17", timeout=UI_WAIT_MS
        )
        await expect(dialog.locator("#schedule-next li")).to_have_count(3)
        await expect(dialog.locator("#schedule-next li").first).to_contain_text("03:17")
        await no_serious_violations(page, "schedule dialog")
        await shot(page, "jobs_page_05_schedule_dialog")
        await cron.fill("every full moon")
        await expect(dialog.locator("#schedule-reading")).to_contain_text("invalid cron", timeout=UI_WAIT_MS)
        await dialog.get_by_role("button", name="Save schedule").click()
        await expect(dialog.locator("#schedule-error")).to_contain_text("invalid cron")
        await expect(dialog).to_be_visible()  # a failed save keeps the editor open to fix it
        await cron.fill("17 3 * * 1-5")
        await dialog.get_by_label("Time zone").fill("Europe/Berlin")
        await dialog.get_by_role("button", name="Save schedule").click()
        await expect(dialog).to_be_hidden()
        await expect(scheduled.locator('[data-role="next-run"]')).to_contain_text("Weekdays at 03:17")
        await expect(page.locator("#notices")).to_contain_text("schedule saved")
        stored = await db.fetchrow("SELECT cron, timezone FROM job_schedules WHERE job = 'scheduled'")
        assert tuple(stored) == ("17 3 * * 1-5", "Europe/Berlin")

        # History: the runs with their result lines, the duration trend with failed runs marked, paging.
        await card(page, "quick-c").get_by_role("button", name="History Quick-C").click()
        await expect(page).to_have_url(re.compile("#history/quick-c$"))
        rows = page.locator("#history-runs tr")
        await expect(rows).to_have_count(20, timeout=UI_WAIT_MS)
        await expect(rows.first).to_contain_text("25 done")
        chart = page.locator("#trend-chart svg")
        await expect(chart).to_be_visible()
        assert await chart.locator(".mark").count() == 26
        assert await chart.locator('.mark[data-status="failed"]').count() == 4
        await expect(page.locator("#trend-caption")).to_contain_text("4 failed")
        await page.get_by_role("button", name="Older runs").click()
        await expect(rows).to_have_count(26)
        await expect(page.get_by_role("button", name="Older runs")).to_be_hidden()
        await no_serious_violations(page, "history view")
        await shot(page, "jobs_page_06_history")

        # A run's log: levels, errors highlighted, a filter.
        await page.locator("#history-job").select_option("fails")
        await expect(page).to_have_url(re.compile("#history/fails$"))
        await expect(rows).to_have_count(2, timeout=UI_WAIT_MS)
        await rows.first.get_by_role("button", name=re.compile("^Log")).click()
        log = page.locator("#log-dialog")
        await expect(log).to_be_visible()
        lines = log.locator("#log-lines li")
        await expect(lines.filter(has_text="about to fail")).to_have_count(1, timeout=UI_WAIT_MS)
        await expect(lines.filter(has_text="about to fail").locator(".level")).to_have_text("INFO")
        await expect(log.locator("#log-error")).to_contain_text("the thing failed")
        errors = lines.locator('xpath=self::li[@data-level="error"]')
        error_count = await errors.count()
        assert error_count >= 1
        await log.locator("#log-level").select_option("error")
        await expect(lines).to_have_count(error_count)
        await no_serious_violations(page, "log dialog")
        await shot(page, "jobs_page_07_log")
        await log.get_by_role("button", name="Close").click()
        await expect(log).to_be_hidden()

        # The pipeline: steps advance, and the one that failed is named as where it stopped.
        await page.get_by_role("link", name="Jobs").click()
        await page.get_by_role("button", name="Run the demo pipeline").click()
        box = page.locator('.pipeline[data-kind="demo"]')
        await expect(box.locator('li[data-job="step-one"]')).to_have_attribute(
            "data-state", "completed", timeout=UI_WAIT_MS
        )
        await expect(box.locator('li[data-job="step-two"]')).to_have_attribute(
            "data-state", "failed", timeout=UI_WAIT_MS
        )
        await expect(box.locator('li[data-job="step-three"]')).to_have_attribute(
            "data-state", "cancelled", timeout=UI_WAIT_MS
        )
        await expect(box.locator('[data-role="status"]')).to_contain_text(
            "Stopped at Step two: step two broke"
        )
        await shot(page, "jobs_page_08_pipeline_stopped")
        # A tab that did not start it (or a pruned history) shows each step's own last run instead.
        await page.evaluate("sessionStorage.removeItem('sidecar-pipeline-runs')")
        await page.reload()
        box = page.locator('.pipeline[data-kind="demo"]')
        await expect(box.locator('li[data-job="step-two"]')).to_have_attribute(
            "data-state", "failed", timeout=UI_WAIT_MS
        )
        await expect(box.locator('[data-role="status"]')).to_contain_text("each step's last run")
        await expect(page.get_by_role("button", name="Run the demo pipeline")).to_be_enabled()

        # Keyboard only: Tab reaches a Run button, Enter runs the job.
        run_quick = card(page, "quick-a").get_by_role("button", name="Run Quick-A", exact=True)
        await page.locator("body").focus()
        for _ in range(120):
            if await run_quick.evaluate("b => b === document.activeElement"):
                break
            await page.keyboard.press("Tab")
        await expect(run_quick).to_be_focused()
        assert await run_quick.evaluate("b => getComputedStyle(b).outlineStyle") != "none"
        await page.keyboard.press("Enter")
        await wait_for(
            lambda: db.fetchval(
                "SELECT count(*) = 1 FROM job_runs WHERE job = 'quick-a' AND status = 'completed'"
            )
        )

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

        # Phone width (360 px): one column, nothing wider than the screen, in every view.
        await page.set_viewport_size({"width": 360, "height": 800})
        for view in ("jobs", "history/quick-c"):
            await page.goto(f"{base}#{view}")
            await expect(card(page, "quick-a")).to_be_attached(timeout=UI_WAIT_MS)
            await page.wait_for_timeout(500)
            overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, view
            await shot(page, f"jobs_page_09_phone_{view.split('/')[0]}")
            await page.evaluate("window.scrollTo(0, 0)")
            await shot(page, f"jobs_page_09_phone_{view.split('/')[0]}_screen", full_page=False)
        queue_box = await page.locator("#queue").bounding_box()
        await page.goto(f"{base}#jobs")
        await page.wait_for_timeout(500)
        queue_box = await page.locator("#queue").bounding_box()
        jobs_box = await page.locator("#jobs").bounding_box()
        assert queue_box and jobs_box and jobs_box["y"] >= queue_box["y"] + queue_box["height"]
        await no_serious_violations(page, "phone width")

        # Dark mode follows the system.
        await page.emulate_media(color_scheme="dark")
        await page.set_viewport_size({"width": 1280, "height": 900})
        dark_bg = await page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
        await page.emulate_media(color_scheme="light")
        light_bg = await page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
        assert dark_bg != light_bg
        await page.emulate_media(color_scheme="dark")
        await no_serious_violations(page, "dark scheme")
        await shot(page, "jobs_page_10_dark")

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
