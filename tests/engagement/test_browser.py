"""The report and the war room in headless Chromium: charts drawn, no console errors, nothing off 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page

from livebot.appkeys import DATABASE
from livebot.auth import store as auth_store
from livebot.config import Config
from livebot.engagement.rebuild import rebuild
from tests.browser import login_page, save_screenshot
from tests.engagement.support import ev, insert_events, make_show, store_transcript
from tests.support import PASSWORD

pytestmark = pytest.mark.browser


def watch(page: Page) -> tuple[list[str], list[str]]:
    """Console errors and uncaught exceptions; every URL the page requested."""
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    return errors, requests


def off_host(requests: list[str]) -> list[str]:
    return [u for u in requests if not u.startswith("data:") and urlsplit(u).hostname != "127.0.0.1"]


async def test_session_report_draws_its_charts(browser: Any, live_server: Any, make_config: Callable[..., Config]) -> None:
    config = make_config(schedule={"scheduler_enabled": False}, engagement={"flush_seconds": 300})
    server = await live_server(config)
    db = server.app[DATABASE]
    show = await make_show(db)
    await store_transcript(db, show.session_id)
    # a busier hour on top of the hand-counted transcript, so the screenshot shows real curves
    extra = []
    for minute in range(30):
        extra.append(ev(minute * 60 + 1, "viewers", viewers=1200 + minute * 90 - max(0, minute - 20) * 150))
        extra.append(ev(minute * 60 + 2, "viewers", platform="kuaishou", viewers=500 + minute * 20))
        for n in range(3 + minute % 5):
            extra.append(ev(minute * 60 + 5 + n, user=f"v{minute}-{n}", text=["奶源在哪里", "工厂好干净", "水温多少度", "太贵了"][n % 4],
                            platform=["douyin", "kuaishou", "channels"][n % 3],
                            label=["neutral", "positive", "neutral", "negative"][n % 4], score=[0.0, 0.7, 0.1, -0.6][n % 4]))
    await insert_events(db, show.session_id, extra)
    await rebuild(db, show.session_id)
    await auth_store.add_user(db, "chen", PASSWORD, "marketing", "陈市场")
    context = await browser.new_context(viewport={"width": 1360, "height": 900})
    page = await context.new_page()
    errors, requests = watch(page)
    await login_page(page, server.url, "chen", PASSWORD)
    await page.goto(f"{server.url}/reports/sessions/{show.session_id}")
    await page.wait_for_selector("svg.chart[data-chart=viewers] polyline")
    charts = await page.eval_on_selector_all("svg.chart", "els => els.map(e => [e.dataset.chart, e.getBoundingClientRect().width, "
                                             "e.querySelectorAll('polyline, rect.bar, circle.point').length])")
    drawn = {name: (width, marks) for name, width, marks in charts}
    for name in ("viewers", "comments", "sentiment", "questions", "platforms", "keywords", "segments", "answer-times"):
        assert drawn[name][0] > 300 and drawn[name][1] > 0, name
    assert await page.locator("svg.chart[data-chart=viewers] g.band").count() >= 4
    assert await page.locator("svg.chart[data-chart=viewers] g.marker").count() == 3
    assert await page.locator("[data-kpi=viewers_peak] .value").inner_text() == "3,900"  # douyin 3000 + kuaishou 900 at 20:20
    await save_screenshot(page, "report")
    assert errors == []
    assert off_host(requests) == []
    await context.close()


async def test_war_room_refreshes_itself(browser: Any, live_server: Any, make_config: Callable[..., Config]) -> None:
    config = make_config(schedule={"scheduler_enabled": False}, engagement={"flush_seconds": 1})
    server = await live_server(config)
    db = server.app[DATABASE]
    show = await make_show(db, status="live")
    await store_transcript(db, show.session_id)
    await rebuild(db, show.session_id)
    await auth_store.add_user(db, "chen", PASSWORD, "marketing", "陈市场")
    context = await browser.new_context(viewport={"width": 1360, "height": 900})
    page = await context.new_page()
    errors, requests = watch(page)
    await login_page(page, server.url, "chen", PASSWORD)
    await page.goto(f"{server.url}/reports/sessions/{show.session_id}/live")
    await page.wait_for_selector("svg.chart[data-chart=viewers]")
    async with page.expect_response(lambda r: r.url.endswith("/live/panel") and r.status == 200, timeout=10_000):
        pass
    await page.wait_for_function("document.querySelector('#updated').textContent.startsWith('更新于')")
    assert await page.locator("[data-kpi=comments] .value").inner_text() == "11"
    assert errors == []
    assert off_host(requests) == []
    await context.close()


OVERLAPS = """() => {
  const found = [];
  for (const svg of document.querySelectorAll('svg.chart')) {
    const boxes = [...svg.querySelectorAll('text')].filter((t) => t.textContent.trim())
      .map((t) => [t.textContent, t.getBoundingClientRect()]).filter(([, r]) => r.width > 0);
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, ra] = boxes[i], [b, rb] = boxes[j];
        const x = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
        const y = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
        if (x > 0.5 && y > 0.5) found.push(`${svg.dataset.chart}: “${a}” × “${b}”`);
      }
    }
  }
  return found;
}"""


@pytest.mark.parametrize("width", [1366, 1024])
async def test_war_room_chart_labels_do_not_overlap(browser: Any, live_server: Any, make_config: Callable[..., Config],
                                                    width: int) -> None:
    config = make_config(schedule={"scheduler_enabled": False}, engagement={"flush_seconds": 300})
    server = await live_server(config)
    db = server.app[DATABASE]
    show = await make_show(db, status="live")
    await store_transcript(db, show.session_id)
    extra = []
    for minute in range(30):
        extra.append(ev(minute * 60 + 1, "viewers", viewers=12000 + minute * 900))
        for n in range(2 + minute % 4):
            extra.append(ev(minute * 60 + 5 + n, user=f"v{minute}-{n}", text=["奶源在哪里", "工厂好干净", "多少钱"][n % 3],
                            platform=["douyin", "kuaishou", "channels", "bilibili", "wecom"][n % 5],
                            label=["neutral", "positive", "negative"][n % 3], score=[0.0, 0.7, -0.6][n % 3]))
    await insert_events(db, show.session_id, extra)
    await rebuild(db, show.session_id)
    await auth_store.add_user(db, "chen", PASSWORD, "marketing", "陈市场")
    context = await browser.new_context(viewport={"width": width, "height": 768}, locale="zh-CN")
    page = await context.new_page()
    await login_page(page, server.url, "chen", PASSWORD)
    await page.goto(f"{server.url}/reports/sessions/{show.session_id}/live")
    await page.wait_for_selector("svg.chart[data-chart=viewers] polyline")
    assert await page.locator("svg.chart[data-chart=viewers] g.marker").count() >= 1
    assert await page.evaluate(OVERLAPS) == []
    await context.close()


async def test_one_click_sentiment_correction_on_the_report(browser: Any, live_server: Any, make_config: Callable[..., Config]) -> None:
    config = make_config(schedule={"scheduler_enabled": False}, engagement={"flush_seconds": 300})
    server = await live_server(config)
    db = server.app[DATABASE]
    show = await make_show(db)
    hostile = "<img src=x onerror=alert(1)>主播是演的吧"
    ids = await insert_events(db, show.session_id, [ev(60, user="a", text=hostile, label="neutral", score=0.0),
                                                    ev(61, user="b", text="好喝", label="positive", score=0.6)])
    await auth_store.add_user(db, "chen", PASSWORD, "marketing", "陈市场")
    context = await browser.new_context(viewport={"width": 1360, "height": 900})
    page = await context.new_page()
    errors, requests = watch(page)
    await login_page(page, server.url, "chen", PASSWORD)
    await page.goto(f"{server.url}/reports/sessions/{show.session_id}")
    row = page.locator(f'tr[data-message-id="{ids[0]}"]')
    assert await row.locator("td.text").inner_text() == hostile  # shown as text, not markup
    assert await page.locator("#sentiment-messages img").count() == 0
    await row.get_by_role("button", name="标错了").click()
    await row.locator('[data-choose="negative"]').click()
    await page.wait_for_selector(f'tr[data-message-id="{ids[0]}"] .label[data-label="negative"]')
    assert await row.locator(".label").inner_text() == "负面"
    assert "已纠正" in await page.locator("#correction-status").inner_text()
    resp = await page.request.get(f"{server.url}/api/v1/engagement/sessions/{show.session_id}/sentiment/corrections")
    assert [(c["message_id"], c["label"], c["text"]) for c in (await resp.json())["corrections"]] == [(ids[0], "negative", hostile)]
    assert not errors and not off_host(requests)
    await context.close()
