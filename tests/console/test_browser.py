"""Two advisors in real headless Chromium: the whole path from a signed webhook to a WeCom group.

A question enters through ``POST /api/v1/ingest/{source}``, is enriched by the FAQ stage, and
appears in both consoles; both click claim, one wins; the winner answers with suggestion 2;
the card leaves both queues; the group robot (a fake WeCom on 127.0.0.1) receives the reply;
the audit trail and first-response time are stored; hostile text renders as text; after a
server restart the queue comes back the same.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import orjson
import pytest
from playwright.async_api import Browser, Page
from sqlalchemy import select

from livebot.appkeys import DATABASE
from livebot.auth import store as auth_store
from livebot.chat.signing import signed_headers
from livebot.config import Config
from livebot.console.models import ConsoleAudit, QuestionAsk, QuestionCard
from livebot.faq.models import FaqEntryRow
from livebot.schedule.models import Channel
from livebot.storage.engine import Database
from tests.browser import free_port, login_page, save_screenshot
from tests.console.support import MILK, PROTEIN, STAGE, make_session
from tests.fakes.wecom import FakeWecom
from tests.support import PASSWORD

pytestmark = pytest.mark.browser

SOURCE, SECRET, GROUP = "test-hook", "test-webhook-secret", "wecom-parents-1"
STAGE_AGE = {"id": "stage-age", "question": "宝宝几个月喝几段？", "answer": "1 段 0-6 月龄，2 段 6-12 月龄，3 段 12-36 月龄。"}
ALLERGY_ENTRY = {"id": "allergy-advice", "question": "宝宝过敏怎么办？", "answer": "请先停用并咨询儿科医生，我们的营养顾问会私信您。"}
PLATFORM_CHANNELS = {"wecom": GROUP, "douyin": "douyin-room-7731", "kuaishou": "ks-room-5520", "bilibili": "bili-2233"}


async def prepare(config: Config) -> int:
    """Knowledge base, a live session and its channels, two advisors; returns the session id."""
    db = Database.open(config.database.url)
    try:
        session_id, site_id = await make_session(db, "北境臻护 · 从牧场到罐的 2 小时")
        async with db.sessions() as session:
            for entry in (MILK, STAGE, STAGE_AGE, PROTEIN, ALLERGY_ENTRY):
                session.add(FaqEntryRow(id=entry["id"], question=entry["question"], aliases=[], answer=entry["answer"],
                                        tags=[], needs_human=entry["id"] == "allergy-advice"))
            for platform, channel in PLATFORM_CHANNELS.items():
                session.add(Channel(session_id=session_id, source_id=SOURCE, channel=channel, platform=platform,
                                    site_id=site_id, label=channel))
            await session.commit()
        await auth_store.add_user(db, "li", PASSWORD, "advisor", "李营养师")
        await auth_store.add_user(db, "zhang", PASSWORD, "advisor", "张营养师")
        return session_id
    finally:
        await db.close()


async def ingest(base: str, events: list[dict[str, Any]]) -> None:
    """Post events through the signed webhook, as a relay would."""
    body = orjson.dumps({"events": events})
    headers = {"Content-Type": "application/json", **signed_headers(SECRET, body)}
    async with aiohttp.ClientSession() as http, http.post(f"{base}/api/v1/ingest/{SOURCE}", data=body, headers=headers) as resp:
        assert resp.status == 202, await resp.text()


SERIAL = iter(range(1, 10_000))


def event(text: str, user: str, platform: str = "wecom") -> dict[str, Any]:
    return {"id": f"br-{next(SERIAL)}", "platform": platform, "channel": PLATFORM_CHANNELS[platform], "kind": "comment",
            "ts": int(time.time() * 1000), "user": {"id": f"u-{user}", "name": user}, "text": text}


async def open_console(browser: Browser, base: str, username: str, session_id: int) -> Page:
    context = await browser.new_context(viewport={"width": 1366, "height": 820}, locale="zh-CN")
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = await context.new_page()
    await login_page(page, base, username, PASSWORD, next_path=f"/console/{session_id}")
    await page.wait_for_selector("#conn.conn-ok")
    return page


def card(page: Page, text: str) -> Any:
    return page.locator(".qcard", has_text=text)


async def queue_state(page: Page) -> list[tuple[str, ...]]:
    """Each card in screen order: its text, status classes (not the transient flash) and flags."""
    rows = await page.evaluate("""() => [...document.querySelectorAll('#queue .qcard')].map(n => [
        n.querySelector('.qtext').textContent, n.className.replace(' flash', ''),
        n.querySelector('.qmeta').textContent, (n.querySelector('.qflags') || {}).textContent || ''])""")
    return [tuple(row) for row in rows]


async def test_two_advisors_claim_answer_and_restart(browser: Browser, live_server, config: Config, make_config) -> None:
    wecom = await FakeWecom().start()
    try:
        config = make_config(replies={"robots": [{"source": SOURCE, "channel": GROUP, "url": wecom.robot_url("parents")}]})
        session_id = await prepare(config)
        port = free_port()
        server = await live_server(config, port=port)
        base = server.url
        li = await open_console(browser, base, "li", session_id)
        zhang = await open_console(browser, base, "zhang", session_id)
        dialogs: list[str] = []
        for page in (li, zhang):
            page.on("dialog", lambda d: (dialogs.append(d.message), asyncio.ensure_future(d.dismiss())))

        # a question through the signed webhook shows up in both consoles (bench/console.py measures how fast)
        question = "六个月的宝宝喝几段，几段适合？"
        await ingest(base, [event(question, "安安妈")])
        await asyncio.gather(card(li, question).wait_for(timeout=3000), card(zhang, question).wait_for(timeout=3000))

        # both claim at the same moment (key c): exactly one wins, the other is told who did
        await asyncio.gather(card(li, question).click(), card(zhang, question).click())
        await asyncio.gather(li.wait_for_selector("#a-claim:enabled"), zhang.wait_for_selector("#a-claim:enabled"))
        await asyncio.gather(li.keyboard.press("c"), zhang.keyboard.press("c"))
        toasts = {}
        for name, page in (("li", li), ("zhang", zhang)):
            await page.wait_for_selector(".toast")
            toasts[name] = await page.locator(".toast").first.text_content()
        winner_name = "li" if toasts["li"] == "已认领" else "zhang"
        winner, loser = (li, zhang) if winner_name == "li" else (zhang, li)
        display = "李营养师" if winner_name == "li" else "张营养师"
        assert toasts["zhang" if winner_name == "li" else "li"] == f"已被 {display} 认领"
        await loser.locator(".qcard .flag-claim", has_text=f"{display} 认领中").wait_for()
        assert await loser.locator("#a-send").is_disabled()

        # the winner picks suggestion 2 with the keyboard and sends with Enter
        await winner.locator("body").press("2")
        suggestions = await winner.evaluate("(q) => [...window.liveConsole.cards.values()].find(c => c.text === q).suggestions", question)
        assert len(suggestions) >= 2, suggestions
        second = await winner.evaluate("(q) => [...window.liveConsole.cards.values()].find(c => c.text === q).suggestions[1]", question)
        assert await winner.input_value("#d-answer") == second["answer"]
        await winner.locator("body").press("Enter")
        await asyncio.gather(card(li, question).wait_for(state="detached"), card(zhang, question).wait_for(state="detached"))

        # the reply reached the WeCom group robot, audit and first-response time are stored
        await wecom.wait_for(lambda: len(wecom.robot_messages) == 1)
        assert wecom.robot_messages[0]["content"] == f"@安安妈 {second['answer']}"
        db = server.app[DATABASE]
        async with db.sessions() as session:
            [ask] = (await session.scalars(select(QuestionAsk))).all()
            actions = [(a.action, a.actor) for a in (await session.scalars(select(ConsoleAudit).order_by(ConsoleAudit.id))).all()]
        assert ask.first_answer_at is not None and ask.answered_by == winner_name and ask.faq_id == second["id"]
        assert (ask.first_answer_at - ask.asked_at).total_seconds() >= 0
        assert ("claim", winner_name) in actions and ("answer", winner_name) in actions

        # hostile text is shown as text: no element, no script, no dialog
        hostile = '<img src=x onerror="window.__xss=1;alert(1)">奶源是哪里的？'
        await ingest(base, [event(hostile, "<b>黑客</b>", "douyin")])
        await asyncio.gather(card(li, "奶源是哪里的？").wait_for(), card(zhang, "奶源是哪里的？").wait_for())
        for page in (li, zhang):
            assert await card(page, "奶源是哪里的？").locator(".qtext").text_content() == hostile
            assert await page.locator("#queue img, #chat img").count() == 0
            assert await page.evaluate("() => window.__xss === undefined")
        assert dialogs == []

        # a lively queue for the screenshot
        await ingest(base, [
            event("你们的奶源在哪个牧场？", "豆豆爸", "kuaishou"), event("蛋白质含量是多少呀", "乐乐妈", "bilibili"),
            event("宝宝喝了起红疹，是不是过敏？", "小雨妈妈", "wecom"), event("奶源来自哪里", "Lily", "douyin"),
            event("主播好专业！", "路人甲", "douyin"), event("今天有直播优惠吗？", "糖糖", "kuaishou"),
        ])
        # li's pointer rests on the queue: the arrivals wait in the "N 条新问题" bar until li opens them
        await li.wait_for_function("""() => { const texts = [...window.liveConsole.cards.values()].map(c => c.text);
            return ['红疹', '今天有直播优惠吗'].every(t => texts.some(x => x.includes(t))); }""")
        await li.keyboard.press("n")
        await card(li, "红疹").wait_for()
        await card(li, "今天有直播优惠吗").wait_for()
        await li.wait_for_timeout(300)
        await card(li, "奶源是哪里的？").click()
        await li.locator("body").press("1")
        shot = await save_screenshot(li, "advisor-console")
        assert shot.stat().st_size < 300_000

        # restart: both consoles reconnect by themselves and show the same queue
        before = {name: await queue_state(page) for name, page in (("li", li), ("zhang", zhang))}
        async with db.sessions() as session:
            cards_before = {(c.id, c.status, c.version) for c in (await session.scalars(select(QuestionCard))).all()}
        await server.stop()
        await li.wait_for_selector("#conn.conn-bad")
        server = await live_server(config, port=port)
        for page in (li, zhang):
            await page.wait_for_selector("#conn.conn-ok", timeout=15000)
        await li.wait_for_timeout(300)
        after = {name: await queue_state(page) for name, page in (("li", li), ("zhang", zhang))}
        assert after == before
        assert len(before["li"]) >= 4
        db = server.app[DATABASE]
        async with db.sessions() as session:
            cards_after = {(c.id, c.status, c.version) for c in (await session.scalars(select(QuestionCard))).all()}
        assert cards_after == cards_before
    finally:
        await wecom.close()
