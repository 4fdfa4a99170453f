"""The advisor queue holds still in real Chromium: arrivals wait in a "N 条新问题" bar while the
advisor points at the queue or works on a card; ``n`` (or the bar) shows them; a claim carries the
version of the card the advisor sees."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from playwright.async_api import Browser, Page

from livebot.appkeys import DATABASE
from livebot.auth import store as auth_store
from livebot.config import Config
from tests.browser import login_page
from tests.console.support import ask, make_session, wait_for_asks
from tests.support import PASSWORD

pytestmark = pytest.mark.browser

FIRST = ("奶源是哪个牧场的？", "蛋白质含量多少？", "几个月喝几段？", "冲泡水温多少度？")
LATER = ("罐底批号在哪里看？", "有没有直播优惠？", "过敏宝宝能喝吗？")


async def boxes(page: Page) -> dict[str, float]:
    """Each shown card's text and its top edge on screen."""
    rows = await page.evaluate("""() => [...document.querySelectorAll('#queue .qcard')].map(n =>
        [n.querySelector('.qtext').textContent, n.getBoundingClientRect().top])""")
    return {text: top for text, top in rows}


async def test_the_queue_holds_still_under_the_pointer_and_the_selection(browser: Browser, live_server: Any,
                                                                          config: Config) -> None:
    server = await live_server(config)
    session_id, _ = await make_session(server.app[DATABASE])
    await auth_store.add_user(server.app[DATABASE], "li", PASSWORD, "advisor", "李营养师")
    for text in FIRST:
        await ask(server.app, session_id, text, [])
    await wait_for_asks(server.app, session_id, len(FIRST))
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = await context.new_page()
    await login_page(page, server.url, "li", PASSWORD, next_path=f"/console/{session_id}")
    await page.wait_for_selector("#conn.conn-ok")
    await page.wait_for_function(f"document.querySelectorAll('#queue .qcard').length === {len(FIRST)}")
    before = await boxes(page)

    # the pointer rests on the third card (newest first) while two questions arrive
    third = page.locator("#queue .qcard").nth(2)
    third_text = await third.locator(".qtext").text_content()
    await third.hover()
    for text in LATER[:2]:
        await ask(server.app, session_id, text, [])
    await page.wait_for_function("document.getElementById('new-bar').textContent.startsWith('2 条新问题')", timeout=5000)
    assert await boxes(page) == before
    await third.click()
    # the detail pane renders on the next animation frame: wait for it, then compare
    await page.wait_for_function("document.getElementById('d-text').textContent !== ''", timeout=5000)
    assert await page.text_content("#d-text") == third_text

    # the pointer leaves, the card stays selected: still nothing moves, the count grows
    await page.mouse.move(5, 5)
    await ask(server.app, session_id, LATER[2], [])
    await page.wait_for_function("document.getElementById('new-bar').textContent.startsWith('3 条新问题')", timeout=5000)
    assert await boxes(page) == before
    assert await page.locator("#queue .qcard.selected .qtext").text_content() == third_text

    # claim (c) acts on the selected card and sends the version the advisor sees
    claims: list[dict[str, Any]] = []
    page.on("request", lambda r: claims.append(orjson.loads(r.post_data or "{}")) if r.url.endswith("/claim") else None)
    await page.keyboard.press("c")
    await page.wait_for_selector(".toast.ok")
    shown_version = await page.evaluate("(t) => [...window.liveConsole.cards.values()].find(c => c.text === t).version",
                                        third_text)
    assert claims and isinstance(claims[0]["version"], int) and claims[0]["version"] < shown_version
    assert await page.locator("#queue .qcard.selected .qtext").text_content() == third_text

    # n opens the new questions: they go on top, the bar goes away
    await page.keyboard.press("n")
    await page.wait_for_function("document.getElementById('new-bar').classList.contains('idle')", timeout=3000)
    order = await page.evaluate("() => [...document.querySelectorAll('#queue .qtext')].map(n => n.textContent)")
    assert order[:3] == list(reversed(LATER)) and len(order) == len(FIRST) + len(LATER)
    await context.close()


LONG = "本批奶源来自双城牧场自有牧群，挤奶后两小时内冷却到 4 °C 以下并进厂加工，全程冷链，检验报告可在罐底扫码查看。" * 3


async def test_the_answer_flow_and_the_featured_bar_fit_a_laptop_and_a_tablet(browser: Browser, live_server: Any,
                                                                               config: Config) -> None:
    server = await live_server(config)
    session_id, _ = await make_session(server.app[DATABASE])
    await auth_store.add_user(server.app[DATABASE], "li", PASSWORD, "advisor", "李营养师")
    suggestions = [{"id": f"faq-{i}", "score": 0.9 - i / 10, "question": f"奶源和冷链问题 {i}", "answer": LONG, "needs_human": False}
                   for i in range(3)]
    await ask(server.app, session_id, "你们的奶源在哪里？挤奶后多久冷却进厂？冷链温度是多少？" * 2, suggestions)
    await wait_for_asks(server.app, session_id, 1)
    for width, height in ((1366, 768), (1024, 768)):
        context = await browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        page = await context.new_page()
        await login_page(page, server.url, "li", PASSWORD, next_path=f"/console/{session_id}")
        await page.wait_for_selector("#conn.conn-ok")
        await page.locator("#queue .qcard").first.click()
        await page.keyboard.press("c")
        await page.wait_for_selector("#a-send:enabled")
        await page.keyboard.press("1")
        # 发送 is on screen and really clickable (not clipped, not under anything)
        box = await page.locator("#a-send").bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height, (width, box)
        hit = await page.evaluate("""() => { const r = document.getElementById('a-send').getBoundingClientRect();
            return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2)?.id; }""")
        assert hit == "a-send", (width, hit)
        # a toast never covers the answer box
        await page.keyboard.press("f")
        await page.wait_for_selector(".toast")
        overlap = await page.evaluate("""() => { const a = document.getElementById('d-answer').getBoundingClientRect();
            return [...document.querySelectorAll('.toast')].some((t) => { const r = t.getBoundingClientRect();
              return r.left < a.right && a.left < r.right && r.top < a.bottom && a.top < r.bottom; }); }""")
        assert overlap is False, width
        # the featured bar's 下屏 stays on one line
        await page.wait_for_selector("#featured:not([hidden])")
        clear = await page.evaluate("""() => { const b = document.getElementById('featured-clear');
            const lh = parseFloat(getComputedStyle(b).lineHeight) || parseFloat(getComputedStyle(b).fontSize) * 1.3;
            return [b.getBoundingClientRect().height, lh, b.scrollWidth <= b.clientWidth,
                    document.documentElement.scrollWidth <= document.documentElement.clientWidth]; }""")
        assert clear[0] < clear[1] * 2 + 12 and clear[2] and clear[3], (width, clear)
        await page.locator("#featured-clear").click()
        await page.wait_for_selector("#featured[hidden]", state="attached")
        await context.close()
