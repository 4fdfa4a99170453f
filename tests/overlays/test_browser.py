"""Overlay scenes in real headless Chromium: transparent 1920×1080 pages that follow live state."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page

from livebot.appkeys import BUS, DATABASE
from livebot.auth import store as auth_store
from livebot.config import Config
from livebot.overlays.keys import OVERLAY_SERVICE
from livebot.storage.base import utcnow
from livebot.topics import CHAT_ENRICHED, OVERLAY_CONTROL, OVERLAY_SCENES, TRACE_UPDATED, engagement_topic
from tests.browser import SCREENSHOTS, Dialogs, login_page
from tests.overlays.pngcheck import pixel_alpha
from tests.overlays.support import SUMMARY, engagement_figures, make_session, new_token, ticker_unreviewed
from tests.overlays.test_api import enriched
from tests.support import PASSWORD

pytestmark = pytest.mark.browser

HOSTILE_QUESTION = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>奶源在哪？\u202e'
HOSTILE_COMMENT = "<img src=y onerror=pwn()>好棒"
"""Short and digit-free so the ticker takes it; if it ever ran, ``pwn`` would be a page error."""
DARK = "#18212f"


class Watched:
    """A page with its console errors and every request it made, for the no-outside-traffic check."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.outside: list[str] = []
        page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("request", self.check_request)

    def check_request(self, request: Any) -> None:
        host = urlsplit(request.url).hostname
        if request.url.startswith(("data:", "about:")):
            return
        if host != "127.0.0.1":
            self.outside.append(request.url)


async def open_page(browser: Browser, url: str) -> Watched:  # noqa: F811
    context = await browser.new_context(viewport={"width": 1920, "height": 1080}, device_scale_factor=1)
    watched = Watched(await context.new_page())
    response = await watched.page.goto(url)
    assert response is not None and response.status == 200, url
    # Predicates are functions: the overlay CSP forbids eval, which a bare expression string would need.
    await watched.page.wait_for_function("() => window.livebotOverlay && window.livebotOverlay.connected()")
    return watched


async def send(app: web.Application, session_id: int, **command: Any) -> dict[str, Any]:
    """Publish a command the way other areas do and wait until this instance applied it."""
    service = app[OVERLAY_SERVICE]
    command_id = f"t{time.monotonic_ns()}"
    waiter = service.expect(command_id)
    await app[BUS].publish(OVERLAY_CONTROL, {"session_id": session_id, "by": "test", "cmd_id": command_id, **command})
    return await asyncio.wait_for(waiter, 5)


async def rich_state(app: web.Application, session_id: int, site_id: int) -> None:
    """Everything on: batch, featured Q&A, countdown, site, ticker comments and stats."""
    ticker_unreviewed(app)
    await send(app, session_id, type="batch", lot=SUMMARY["lot"])
    await send(app, session_id, type="site", site_id=site_id)
    await send(app, session_id, type="featured", question="奶源来自哪里？挤奶后多久进厂？", asker="小雨妈妈", platform="douyin",
               answer="本批奶源来自双城牧场自有牧群，挤奶后 105 分钟内进入工厂加工，全程 4 °C 冷链。")
    await send(app, session_id, type="countdown", title="工厂车间直连", ends_at=(utcnow() + timedelta(minutes=9)).isoformat())
    for pk, text in enumerate(["奶源看得见，放心！", "宝宝一直喝这个，很喜欢", "牧场好干净 👍", "支持国产好奶粉"], start=1):
        await app[BUS].publish(CHAT_ENRICHED, enriched(session_id, pk, text))
    await app[BUS].publish(engagement_topic(session_id), engagement_figures(session_id, 12873, 236, 0.68, 0.24, 0.08))
    await app[BUS].drained()


async def wait_shown(page: Page, selector: str, timeout: float = 5000) -> None:
    """Until every element matching ``selector`` is switched on (screenshots fast-forward the fade-in)."""
    await page.wait_for_function(
        """(sel) => { const nodes = [...document.querySelectorAll(sel)];
                      return nodes.length > 0 && nodes.every((n) => n.classList.contains('on')); }""",
        arg=selector, timeout=timeout)


async def test_every_scene_is_a_transparent_1920x1080_page(browser: Browser, live_server: Any, config: Config,  # noqa: F811
                                                         fake_trace: Any) -> None:
    fake_trace()
    server = await live_server(config)
    db = server.app[DATABASE]
    session_id, site_ids = await make_session(db)
    token = await new_token(db, session_id)
    await rich_state(server.app, session_id, site_ids[1])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for scene in (*OVERLAY_SCENES, "program"):
        watched = await open_page(browser, f"{server.url}/overlay/{session_id}/{scene}?token={token}")
        page = watched.page
        await wait_shown(page, ".part.on")
        look = await page.evaluate("""() => ({
            body: getComputedStyle(document.body).backgroundColor,
            html: getComputedStyle(document.documentElement).backgroundColor,
            font: getComputedStyle(document.body).fontFamily,
            width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight,
            overflow: getComputedStyle(document.body).overflow,
            shown: [...document.querySelectorAll('.part.on')].map((n) => n.dataset.part) })""")
        assert look["body"] == "rgba(0, 0, 0, 0)" and look["html"] == "rgba(0, 0, 0, 0)", scene
        assert look["font"].startswith('"Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC"'), look["font"]
        assert look["width"] <= 1920 and look["height"] <= 1080 and look["overflow"] == "hidden", look
        expected = {"program": ["batch", "site", "featured"]}.get(scene, [scene])  # program composes the featured Q&A
        assert sorted(look["shown"]) == sorted(expected), (scene, look["shown"])
        png = await page.screenshot(omit_background=True, animations="disabled")
        assert pixel_alpha(png, 4, 4) == 0 and pixel_alpha(png, 1915, 540) == 0, scene
        (SCREENSHOTS / f"overlay-{scene}.png").write_bytes(png)
        await page.evaluate(f"document.documentElement.style.background = '{DARK}'")
        dark = await page.screenshot(animations="disabled")
        assert pixel_alpha(dark, 4, 4) == 255
        (SCREENSHOTS / f"overlay-{scene}-dark.png").write_bytes(dark)
        assert watched.errors == [], (scene, watched.errors)
        assert watched.outside == [], (scene, watched.outside)
        await page.context.close()


async def test_stale_telemetry_is_greyed_and_labelled(browser: Browser, live_server: Any, config: Config,  # noqa: F811
                                                      fake_trace: Any) -> None:
    fake_trace()
    server = await live_server(config)
    db = server.app[DATABASE]
    session_id, _ = await make_session(db)
    token = await new_token(db, session_id)
    await send(server.app, session_id, type="batch", lot=SUMMARY["lot"])
    watched = await open_page(browser, f"{server.url}/overlay/{session_id}/telemetry?token={token}")
    await wait_shown(watched.page, ".telemetry")
    tiles = await watched.page.evaluate("""() => [...document.querySelectorAll('.tile')].map((t) => ({
        stale: t.classList.contains('stale'), badge: getComputedStyle(t.querySelector('.stale-badge')).display,
        color: getComputedStyle(t.querySelector('.value')).color, text: t.innerText }))""")
    assert [t["stale"] for t in tiles] == [False, False, True]
    assert tiles[2]["badge"] != "none" and "数据延迟" in tiles[2]["text"] and "最后更新" in tiles[2]["text"]
    assert tiles[0]["badge"] == "none" and tiles[0]["color"] == "rgb(255, 255, 255)"
    assert tiles[2]["color"] != "rgb(255, 255, 255)"


async def test_changes_show_on_an_open_overlay_within_a_second(browser: Browser, live_server: Any, config: Config,  # noqa: F811
                                                               fake_trace: Any) -> None:
    batches = fake_trace()
    server = await live_server(config)
    db = server.app[DATABASE]
    session_id, _ = await make_session(db)
    token = await new_token(db, session_id)
    await send(server.app, session_id, type="batch", lot=SUMMARY["lot"])
    watched = await open_page(browser, f"{server.url}/overlay/{session_id}/program?token={token}")
    page = watched.page
    await wait_shown(page, ".batch-card")

    await send(server.app, session_id, type="featured", question="婴儿配方奶粉的蛋白质含量是多少？", answer="本批次检测 3.1 g/100g。")
    await send(server.app, session_id, type="scene", scene="featured")
    await page.wait_for_function(
        "() => document.body.dataset.chosen === 'featured' && document.querySelector('.featured').classList.contains('on') && "
        "document.querySelector('.featured .question').textContent.startsWith('婴儿配方奶粉')", timeout=1000)
    assert not await page.evaluate("document.querySelector('.batch-card').classList.contains('on')")

    await send(server.app, session_id, type="scene", scene="batch")
    batches[SUMMARY["lot"]] = {**SUMMARY, "product": "北境臻护 婴儿配方奶粉 2段"}
    await server.app[BUS].publish(TRACE_UPDATED, {"lots": [SUMMARY["lot"]], "gtins": [SUMMARY["gtin"]]})
    await page.wait_for_function("() => document.querySelector('.batch-card .title').textContent.endsWith('2段')", timeout=1000)

    await send(server.app, session_id, type="scene", scene="chain")
    await page.wait_for_function("() => document.querySelector('.chain').classList.contains('on')", timeout=1000)
    assert "105 分钟 · 2 小时承诺内" in await page.inner_text(".chain .headline")
    assert watched.errors == [] and watched.outside == []


async def test_overlay_reconnects_after_a_restart_with_the_same_state(browser: Browser, live_server: Any,  # noqa: F811
                                                                       config: Config, fake_trace: Any) -> None:
    fake_trace()
    server = await live_server(config)
    db = server.app[DATABASE]
    session_id, _ = await make_session(db)
    token = await new_token(db, session_id)
    await send(server.app, session_id, type="featured", question="开罐后能放多久？", answer="开罐后请在 4 周内用完。")
    await send(server.app, session_id, type="scene", scene="featured")
    url = f"{server.url}/overlay/{session_id}/program?token={token}"
    watched = await open_page(browser, url)
    page = watched.page
    await wait_shown(page, ".featured")
    port = server.port
    await server.stop()
    await page.wait_for_function("() => !window.livebotOverlay.connected()", timeout=5000)

    restarted = await live_server(config, port=port)
    await page.wait_for_function("() => window.livebotOverlay.connected()", timeout=15000)
    assert await page.evaluate("window.livebotOverlay.state().featured.question") == "开罐后能放多久？"
    assert await page.evaluate("window.livebotOverlay.state().scene.scene") == "featured"
    await send(restarted.app, session_id, type="scene", scene="stats")
    await page.wait_for_function("() => document.querySelector('.stats').classList.contains('on')", timeout=1000)

    fresh = await open_page(browser, url)
    await fresh.page.wait_for_function("() => window.livebotOverlay.state().scene.scene === 'stats'", timeout=2000)
    assert await fresh.page.evaluate("window.livebotOverlay.state().featured.question") == "开罐后能放多久？"
    # Connection failures while the server was down are network errors, not page errors.
    assert [e for e in watched.errors if "WebSocket" not in e and "ERR_CONNECTION_REFUSED" not in e] == []


async def test_hostile_text_renders_as_text(browser: Browser, live_server: Any, config: Config) -> None:  # noqa: F811
    server = await live_server(config)
    db = server.app[DATABASE]
    session_id, _ = await make_session(db)
    token = await new_token(db, session_id)
    await send(server.app, session_id, type="featured", question=HOSTILE_QUESTION, asker="<b>坏人</b>")
    ticker_unreviewed(server.app)
    await server.app[BUS].publish(CHAT_ENRICHED, enriched(session_id, 9, HOSTILE_COMMENT))
    await server.app[BUS].drained()
    featured = await open_page(browser, f"{server.url}/overlay/{session_id}/featured?token={token}")
    await wait_shown(featured.page, ".featured")
    ticker = await open_page(browser, f"{server.url}/overlay/{session_id}/ticker?token={token}")
    await wait_shown(ticker.page, ".ticker")
    for page in (featured.page, ticker.page):
        assert await page.evaluate("document.querySelectorAll('.stage img, .stage script, .stage b').length") == 0
        assert await page.evaluate("window.__pwned") is None
    assert await featured.page.inner_text(".featured .question") == HOSTILE_QUESTION.replace("\u202e", "")
    assert "<b>坏人</b>"[:2] in await featured.page.inner_text(".featured .asker")
    assert HOSTILE_COMMENT in await ticker.page.inner_text(".ticker-track")
    assert featured.errors == [] and ticker.errors == []


async def test_wrong_token_gets_403_in_the_browser(browser: Browser, live_server: Any, config: Config) -> None:  # noqa: F811
    server = await live_server(config)
    session_id, _ = await make_session(server.app[DATABASE])
    await new_token(server.app[DATABASE], session_id)
    context = await browser.new_context()
    page = await context.new_page()
    response = await page.goto(f"{server.url}/overlay/{session_id}/program?token=not-the-token")
    assert response is not None and response.status == 403
    assert "OBS" in await page.inner_text("body")


async def test_producer_page_switches_scenes_and_previews(browser: Browser, live_server: Any, config: Config,  # noqa: F811
                                                          fake_trace: Any) -> None:
    fake_trace()
    server = await live_server(config)
    db = server.app[DATABASE]
    session_id, _ = await make_session(db)
    await send(server.app, session_id, type="batch", lot=SUMMARY["lot"])
    await auth_store.add_user(db, "wang-producer", PASSWORD, "producer", "王导播")
    context = await browser.new_context(viewport={"width": 1600, "height": 1500})
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    await login_page(page, server.url, "wang-producer", PASSWORD, f"/overlays/{session_id}")
    errors.clear()  # the shared login page has no favicon of its own; only the overlay page is judged here
    await page.goto(f"{server.url}/overlays/{session_id}")
    await page.click("button[data-scene=inspections]")
    await page.wait_for_function("() => document.getElementById('last-result').textContent === '已生效'")
    assert await page.inner_text("#current-scene") == "检验清单"
    program = page.frame_locator(".program-preview iframe")
    await program.locator(".checklist.on").wait_for(timeout=3000)
    await page.screenshot(path=str(SCREENSHOTS / "overlay-producer.png"), animations="disabled")
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.click("#rotate-token")
    await page.wait_for_selector("#link-table:not([hidden]) td")
    links = await page.inner_text("#link-table")
    assert f"/overlay/{session_id}/program?token=ovl_" in links
    assert errors == []


async def test_the_program_output_composes_the_featured_qa_over_every_scene(browser: Browser, live_server: Any,  # noqa: F811
                                                                             config: Config, fake_trace: Any) -> None:
    fake_trace()
    server = await live_server(config)
    session_id, site_ids = await make_session(server.app[DATABASE])
    token = await new_token(server.app[DATABASE], session_id)
    await rich_state(server.app, session_id, site_ids[1])
    watched = await open_page(browser, f"{server.url}/overlay/{session_id}/program?token={token}")
    page = watched.page
    for scene in (s for s in OVERLAY_SCENES if s != "featured"):
        await send(server.app, session_id, type="scene", scene=scene)
        await page.wait_for_function("(s) => document.body.dataset.chosen === s", arg=scene, timeout=3000)
        await wait_shown(page, ".featured")
        await page.wait_for_timeout(500)  # let the fade-in settle before measuring
        rects = await page.evaluate("""() => [...document.querySelectorAll('.part.on')].map((n) => {
            const r = n.getBoundingClientRect(); return [n.dataset.part, r.left, r.top, r.right, r.bottom]; })""")
        shown = {r[0] for r in rects}
        assert "featured" in shown, (scene, shown)
        featured = next(r for r in rects if r[0] == "featured")
        for other in rects:
            if other[0] == "featured":
                continue
            apart = featured[3] <= other[1] or other[3] <= featured[1] or featured[4] <= other[2] or other[4] <= featured[2]
            assert apart, (scene, featured, other)
        assert featured[3] <= 1920 and featured[4] <= 1080, (scene, featured)
    assert watched.errors == []
    await page.context.close()


async def test_producer_is_warned_before_an_unknown_lot_goes_on_air(browser: Browser, live_server: Any, config: Config,  # noqa: F811
                                                                    fake_trace: Any) -> None:
    fake_trace()
    server = await live_server(config)
    db = server.app[DATABASE]
    session_id, _ = await make_session(db)
    await auth_store.add_user(db, "wang-producer", PASSWORD, "producer", "王导播")
    context = await browser.new_context(viewport={"width": 1366, "height": 768})
    page = await context.new_page()
    await login_page(page, server.url, "wang-producer", PASSWORD, f"/overlays/{session_id}")
    await page.goto(f"{server.url}/overlays/{session_id}")
    dialogs = Dialogs(page)
    await page.fill("#batch-form input[name=lot]", "NOPE999")
    await page.click("#batch-form button[type=submit]")
    await page.wait_for_function("() => document.getElementById('last-result').textContent.startsWith('失败')")
    assert len(dialogs.messages) == 1 and "NOPE999" in dialogs.messages[0] and "溯源" in dialogs.messages[0]
    assert (await server.app[OVERLAY_SERVICE].ensure(session_id)).control["lot"] is None
    dialogs.accept = True
    await page.click("#batch-form button[type=submit]")
    await page.wait_for_function("() => document.getElementById('last-result').textContent === '已生效'")
    assert (await server.app[OVERLAY_SERVICE].ensure(session_id)).control["lot"] == "NOPE999"
    await context.close()
