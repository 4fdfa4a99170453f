"""Every page as each role on the demo, in real Chromium at 1366×768 and 1024×768: no English status or
error words, no "UTC" or ISO timestamps shown to users, nothing wider than the window."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page
from sqlalchemy import select

from livebot.appkeys import DATABASE
from livebot.demo.app import demo_app
from livebot.faq.models import FaqEntryRow
from livebot.schedule.models import LiveSession
from livebot.trace.models import Batch as TraceBatch
from tests.browser import free_port, login_page

pytestmark = pytest.mark.browser

ENGLISH = ("draft", "scheduled", "live", "ended", "cancelled", "open", "claimed", "answered", "dismissed", "escalated",
           "pending", "failed", "sent", "retrying", "error", "expected", "must", "invalid", "required", "digits", "unknown",
           "not found", "forbidden", "true", "false", "null", "None", "UTC")
WORDS = re.compile(r"(?<![A-Za-z_./-])(" + "|".join(re.escape(w) for w in ENGLISH) + r")(?![A-Za-z_])")
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
URLS = re.compile(r"(https?://|/)[\w./?=&%:#~+-]*")
SIZES = ((1366, 768), (1024, 768))


def findings(text: str) -> list[str]:
    """English status/error words and ISO timestamps in what a user reads (URLs set aside)."""
    readable = URLS.sub(" ", text)
    return sorted({m.group(0) for m in WORDS.finditer(readable)} | {m.group(0) for m in ISO.finditer(text)})


async def pages_of(app: Any) -> dict[str, list[str]]:
    db = app[DATABASE]
    async with db.sessions() as s:
        sessions = list((await s.scalars(select(LiveSession).order_by(LiveSession.id))).all())
        entry = await s.scalar(select(FaqEntryRow.id).limit(1))
        batch = (await s.scalars(select(TraceBatch).limit(1))).first()
    live = next(x.id for x in sessions if x.status == "live")
    done = next(x.id for x in sessions if x.status == "ended")
    return {
        "advisor": ["/console", f"/console/{live}", "/faq", "/faq/new", "/faq/review", f"/faq/{entry}", f"/faq/{entry}/history",
                    "/producer"],
        "producer": ["/producer", f"/producer/sessions/{live}", f"/producer/sessions/{live}/live", "/producer/calendar",
                     "/overlays", f"/overlays/{live}"],
        "marketing": ["/reports", f"/reports/sessions/{done}", f"/reports/sessions/{live}/live", "/reports/compare"],
        "admin": ["/admin"],
        "public": [f"/01/{batch.gtin}/10/{batch.lot}" if batch else "/login", "/login"],
    }


async def check(page: Page, where: str, problems: list[str]) -> None:
    await page.wait_for_timeout(600)  # websockets and charts fill the page
    text = await page.evaluate("() => document.body.innerText")
    for found in findings(text):
        problems.append(f"{where}: shows {found!r}")
    wide = await page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    if wide > 1:
        culprit = await page.evaluate("""() => { const w = document.documentElement.clientWidth;
            const n = [...document.querySelectorAll('body *')].find(e => e.getBoundingClientRect().right > w + 1);
            return n ? n.tagName + '.' + n.className + ' ' + (n.textContent || '').slice(0, 40) : ''; }""")
        problems.append(f"{where}: {wide}px wider than the window ({culprit})")


async def test_every_page_as_each_role_is_chinese_local_and_fits(browser: Browser, live_server: Any, tmp_path: Path) -> None:
    port = free_port()
    config, app = demo_app(None, "127.0.0.1", port, str(tmp_path))
    server = await live_server(config, port=port, app=app)
    logins = {"advisor": "livebot-advisor", "producer": "livebot-producer", "marketing": "livebot-marketing",
              "admin": "livebot-admin"}
    problems: list[str] = []
    visited = 0
    for role, paths in (await pages_of(server.app)).items():
        for width, height in SIZES:
            context = await browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
            page = await context.new_page()
            if role != "public":
                await login_page(page, server.url, role, logins[role])
            for path in paths:
                response = await page.goto(f"{server.url}{path}")
                await check(page, f"{role} {width}×{height} {path}", problems)
                visited += 1
                if response is not None and response.status == 403:  # a page to find one's way back from
                    if await page.locator("nav a").count() == 0 or await page.locator("form.logout").count() != 1:
                        problems.append(f"{role} {path}: the 403 page has no navigation or logout")
            await context.close()
    print(f"sweep: {visited} page visits, {len(problems)} problems")
    assert visited == sum(len(p) for p in (await pages_of(server.app)).values()) * len(SIZES)
    assert problems == [], "\n".join(problems)
