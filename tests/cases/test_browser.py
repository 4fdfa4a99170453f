"""Follow-up cases in real headless Chromium: opened from the console with ``o``, worked by another advisor
on the 跟进单 pages, an overdue adverse-reaction case flagged, and the batch alert for two of them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import Browser
from sqlalchemy import update

from livebot.auth import store as auth_store
from livebot.cases.models import FollowupCase
from livebot.config import Config
from livebot.storage.base import utcnow
from livebot.storage.engine import Database
from livebot.trace.service import import_epcis
from livebot.trace.settings import TraceSettings
from tests.browser import login_page, save_screenshot, wait_until
from tests.console.test_browser import card, event, ingest, open_console, prepare
from tests.support import PASSWORD
from tests.trace.support import CHAIN_LOT, EPCIS

pytestmark = pytest.mark.browser


async def seed_lot(config: Config) -> None:
    db = Database.open(config.database.url)
    try:
        await import_epcis(db, (EPCIS / "dairy_chain.jsonld").read_bytes(), TraceSettings())
    finally:
        await db.close()


async def cases_where(config: Config, **values: object) -> None:
    db = Database.open(config.database.url)
    try:
        async with db.sessions() as session:
            await session.execute(update(FollowupCase).values(**values))
            await session.commit()
    finally:
        await db.close()


async def test_case_from_card_to_resolution_with_overdue_and_batch_alert(browser: Browser, live_server, config: Config) -> None:
    session_id = await prepare(config)
    await seed_lot(config)
    db = Database.open(config.database.url)
    await auth_store.add_user(db, "wang", PASSWORD, "advisor", "王营养师")
    await db.close()
    server = await live_server(config)
    li = await open_console(browser, server.url, "li", session_id)

    question = f"宝宝喝了以后有点便秘，批号 {CHAIN_LOT}"
    await ingest(server.url, [event(question, "<b>豆豆妈</b>")])
    await card(li, question).click()
    await li.wait_for_selector("#a-case:enabled")
    await li.keyboard.press("o")
    toast = li.locator(".toast", has_text="已开跟进单")
    await toast.wait_for()
    assert "便秘" not in (await toast.text_content() or "") and "#1" in (await toast.text_content() or "")

    # another advisor sees it in the list, opens it and moves it on, with history and the batch's facts
    context = await browser.new_context(viewport={"width": 1366, "height": 820}, locale="zh-CN")
    wang = await context.new_page()
    await login_page(wang, server.url, "wang", PASSWORD, next_path="/cases")
    row = wang.locator("tr[data-case]", has_text="便秘")
    await row.wait_for()
    assert "过敏/不良反应" in (await row.text_content() or "") and CHAIN_LOT in (await row.text_content() or "")
    await row.locator("a").click()
    await wang.wait_for_selector("h1:has-text('跟进单 #1')")
    assert await wang.locator(".case-batch").count() == 1 and await wang.locator(".case-messages b").count() == 0
    await wang.fill("input[name=note]", "已私信家长，建议观察两天")
    await wang.click("button:has-text('改为「已联系」')")
    await wang.wait_for_selector("#case-status:has-text('已联系')")
    history = await wang.locator(".case-history").text_content() or ""
    assert "李营养师" in history and "王营养师" in history and "待跟进 → 已联系" in history and "已私信家长" in history

    # an adverse-reaction complaint opens its own case; the advisor records the batch the parent names later
    await ingest(server.url, [event("宝宝过敏起疹子了怎么办？", "小米妈")])
    await wait_until(lambda: wang.evaluate("fetch('/api/v1/cases').then(r => r.json()).then(b => b.cases.length === 2)"))
    await wang.goto(server.url + "/cases/2")
    assert "系统" in (await wang.locator(".case-history").text_content() or "")
    await wang.fill("input[name=code]", CHAIN_LOT)
    await wang.click("button:has-text('登记批次')")
    await wang.wait_for_selector(f".case-facts :text('{CHAIN_LOT}')")

    # once overdue it is flagged, and two adverse-reaction cases on one batch raise the alert
    await cases_where(config, due_at=utcnow() - timedelta(minutes=5))
    await wang.goto(server.url + "/cases")
    overdue = wang.locator("tr.overdue")
    assert await overdue.count() == 1 and "起疹子" in (await overdue.text_content() or "")
    alert = wang.locator(".alert.bad", has_text="质量预警")
    assert CHAIN_LOT in (await alert.text_content() or "")
    await save_screenshot(wang, "cases-list")
    await context.close()
