"""The compliance guard in real headless Chromium: a blocked answer cannot be sent and shows the
rule and a rewording; a warned answer waits for a senior's approval on the 合规审核 page; the
ticker overlay never shows a blocked viewer comment; the card audit and the compliance log
show every step."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser
from sqlalchemy import select

from livebot.appkeys import BUS, DATABASE
from livebot.auth import store as auth_store
from livebot.compliance import store as compliance_store
from livebot.console.models import ConsoleAudit, QuestionCard
from livebot.schedule.models import Channel
from livebot.storage.engine import Database
from livebot.topics import CHAT_ENRICHED
from tests.browser import login_page, save_screenshot
from tests.console.support import make_session
from tests.console.test_browser import GROUP, SOURCE, card, event, ingest
from tests.overlays.support import new_token
from tests.overlays.test_api import enriched
from tests.support import PASSWORD

pytestmark = pytest.mark.browser

BLOCKED = "能显著提高免疫力，营养最接近母乳，是最好的奶粉"
WARNED = "北境臻护不添加蔗糖，也不添加香精香料。"
QUESTION = "奶粉有没有加蔗糖呀？"
BAD_COMMENT = "喝了之后宝宝免疫力提高了，比母乳还好！"
GOOD_COMMENT = "工厂好干净"


async def prepare(url: str) -> int:
    db = Database.open(url)
    try:
        session_id, site_id = await make_session(db, "北境臻护 · 合规演示")
        async with db.sessions() as session:
            session.add(Channel(session_id=session_id, source_id=SOURCE, channel=GROUP, platform="wecom", site_id=site_id,
                                label=GROUP))
            await session.commit()
        await auth_store.add_user(db, "li", PASSWORD, "advisor", "李营养师")
        await auth_store.add_user(db, "wang", PASSWORD, "advisor", "王主管")
        return session_id
    finally:
        await db.close()


async def test_blocked_and_warned_answers_and_the_ticker(browser: Browser, live_server, make_config) -> None:
    config = make_config(compliance={"senior_advisors": ["wang"]}, overlays={"ticker_review": "off"})
    session_id = await prepare(config.database.url)
    server = await live_server(config)
    base, app = server.url, server.app

    li_context = await browser.new_context(viewport={"width": 1366, "height": 820}, locale="zh-CN")
    li = await li_context.new_page()
    await login_page(li, base, "li", PASSWORD, next_path=f"/console/{session_id}")
    await li.wait_for_selector("#conn.conn-ok")
    await ingest(base, [event(QUESTION, "安安妈")])
    await card(li, QUESTION).wait_for(timeout=30000)  # the first message loads the NLP models
    await card(li, QUESTION).click()
    await li.wait_for_selector("#a-claim:enabled")
    await li.keyboard.press("c")

    # block: cannot be sent; the rule and a rewording are shown under the answer
    await li.fill("#d-answer", BLOCKED)
    await li.click("#a-send")
    box = li.locator("#d-compliance.verdict-block")
    await box.wait_for()
    text = await box.inner_text()
    assert "不能发送" in text and "function-claim" in text and "breastmilk-substitute" in text and "建议改为" in text
    assert await card(li, QUESTION).count() == 1

    # warn: goes to a senior; not sent meanwhile
    await li.fill("#d-answer", WARNED)
    await li.click("#a-send")
    warn_box = li.locator("#d-compliance.verdict-warn")
    await warn_box.wait_for()
    assert "资深顾问审核" in await warn_box.inner_text() and "zero-additive" in await warn_box.inner_text()
    assert await li.locator("#d-compliance-override").is_hidden()

    # the senior approves it on the 合规审核 page, with a reason
    wang_context = await browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    wang = await wang_context.new_page()
    await login_page(wang, base, "wang", PASSWORD, next_path="/compliance")
    pending = wang.locator("li.approval", has_text=WARNED)
    await pending.wait_for()
    await pending.locator("input[name=reason]").fill("质量部已核实配料表")
    await pending.locator("button[data-decision=approve]").click()
    await wang.locator("#no-pending").wait_for()

    # now the same answer goes out
    await li.click("#a-send")
    await card(li, QUESTION).wait_for(state="detached")
    async with app[DATABASE].sessions() as session:
        status = (await session.scalars(select(QuestionCard.status).where(QuestionCard.text == QUESTION))).one()
    assert status == "answered"

    # the ticker overlay never shows the blocked viewer comment
    token = await new_token(app[DATABASE], session_id)
    ticker_context = await browser.new_context(viewport={"width": 1280, "height": 720})
    ticker = await ticker_context.new_page()
    await ticker.goto(f"{base}/overlay/{session_id}/ticker?token={token}")
    await ticker.wait_for_function("() => window.livebotOverlay && window.livebotOverlay.connected()", timeout=15000)
    await app[BUS].publish(CHAT_ENRICHED, enriched(session_id, 901, BAD_COMMENT))
    await app[BUS].publish(CHAT_ENRICHED, enriched(session_id, 902, GOOD_COMMENT))
    await app[BUS].drained()
    await ticker.locator(".ticker-track", has_text=GOOD_COMMENT).wait_for(timeout=5000)
    # the bad comment went first on the same topic: once the good one shows, its fate is decided
    assert BAD_COMMENT not in await ticker.inner_text("body")

    # the card audit and the session's compliance log show each event
    async with app[DATABASE].sessions() as session:
        audit = [(a.action, a.actor) for a in (await session.scalars(select(ConsoleAudit).order_by(ConsoleAudit.id))).all()]
    for step in (("compliance_blocked", "li"), ("compliance_warned", "li"), ("compliance_approved", "wang"), ("answer", "li")):
        assert step in audit
    log = [(e.surface, e.action, e.actor) for e in await compliance_store.session_log(app[DATABASE], session_id)]
    assert log == [("answer", "blocked", "li"), ("answer", "warned", "li"), ("answer", "approved", "wang"),
                   ("answer", "passed", "li"), ("ticker", "blocked", "viewer")]
    await wang.reload()
    rows = await wang.locator("table.log tbody tr").all_inner_texts()
    assert any("拦截" in row and "李营养师" in row and "function-claim" in row for row in rows)
    assert any("提醒待审" in row and "zero-additive" in row for row in rows)
    assert any("批准" in row and "质量部已核实配料表" in row for row in rows)
    assert any("评论滚动" in row and BAD_COMMENT in row for row in rows)
    await save_screenshot(wang, "compliance-page")
