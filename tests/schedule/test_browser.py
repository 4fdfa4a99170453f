"""Producer consoles in headless Chromium: two sites, a cue and its acknowledgement, the shared clock;
and the editor's field errors for bad input."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from livebot.appkeys import DATABASE
from livebot.auth import store as users
from livebot.config import Config
from livebot.schedule import live, store
from livebot.schedule.models import Segment
from livebot.schedule.validate import SegmentInput, SessionInput, SiteInput
from tests.browser import Dialogs, login_page, save_screenshot
from tests.schedule.support import SITES
from tests.support import PASSWORD

pytestmark = pytest.mark.browser

RUNDOWN = (("开场：从牧场到罐的 2 小时", 0, "lower_third", "主持人介绍三地连线"),
           ("双城牧场直击：挤奶与 4 °C 冷却", 2, "timeline", "挤奶后 2 小时内冷却到 4 °C 以下"),
           ("进厂检验：生乳指标", 1, "inspections", "蛋白质 ≥ 2.8 g/100 g"))


async def seeded_show(app: Any) -> tuple[int, list[Any]]:
    """Three sites, a live session with three segments, two producers."""
    db = app[DATABASE]
    sites = [await store.save_site(db, SiteInput(timezone="Asia/Shanghai", contact="", latitude=None, longitude=None,
                                                 **{k: v for k, v in s.items() if k not in ("latitude", "longitude")}))
             for s in SITES]
    now = datetime.now(UTC)
    session_id = await store.create_session(db, SessionInput(
        title="北境臻护 · 从牧场到罐的 2 小时", theme="奶源", description="", planned_start=now + timedelta(minutes=1),
        planned_end=now + timedelta(hours=2), timezone="Asia/Shanghai", status="scheduled",
        site_ids=[s.id for s in sites], channels=None, lots=None, robot_url="", mode="manual"), "producer", now)
    for title, site, scene, points in RUNDOWN:
        await store.create_segment(db, session_id, SegmentInput(title=title, offset_s=None, duration_s=600,
                                                                site_id=sites[site].id, pip_site_id=None, scene=scene,
                                                                lot="NB2611A", talking_points=points, faq_tags=["奶源"]))
    await live.transition(app, session_id, "live", "王导播")
    await users.add_user(db, "wang", PASSWORD, "producer", "王导播（北京）")
    await users.add_user(db, "liu", PASSWORD, "producer", "刘导播（齐齐哈尔）")
    return session_id, sites


async def test_two_site_consoles_cue_ack_and_share_the_clock(browser: Any, live_server: Any,  # noqa: F811
                                                             make_config: Callable[..., Config]) -> None:
    server = await live_server(make_config(schedule={"scheduler_enabled": False}))
    session_id, _ = await seeded_show(server.app)
    beijing_ctx = await browser.new_context(viewport={"width": 1366, "height": 820}, locale="zh-CN")
    qiqihar_ctx = await browser.new_context(viewport={"width": 1024, "height": 768}, locale="zh-CN", has_touch=True)
    beijing, qiqihar = await beijing_ctx.new_page(), await qiqihar_ctx.new_page()
    await login_page(beijing, server.url, "wang", PASSWORD)
    await login_page(qiqihar, server.url, "liu", PASSWORD)
    await beijing.goto(f"{server.url}/producer/sessions/{session_id}/live?site=beijing-studio")
    await qiqihar.goto(f"{server.url}/producer/sessions/{session_id}/live?site=qiqihar-factory")
    for page in (beijing, qiqihar):
        await page.wait_for_function("document.getElementById('conn').textContent === '已连接'", timeout=5000)
        await page.wait_for_function("document.getElementById('drift').textContent.includes('毫秒')", timeout=5000)

    # the same segment on both clocks
    assert await beijing.text_content("#current-title") == RUNDOWN[0][0]
    assert await qiqihar.text_content("#current-title") == RUNDOWN[0][0]
    assert (await beijing.text_content("#countdown") or "").startswith("剩余")

    # a cue from Beijing shows in Qiqihar within a second ...
    started = time.monotonic()
    await beijing.click("#cue-next")
    await qiqihar.wait_for_selector(".cue .cue-label", timeout=1000)
    shown_after = time.monotonic() - started
    assert "准备切到下一段" in (await qiqihar.text_content(".cue .cue-label") or "")
    assert shown_after < 1.0

    # ... and Qiqihar's acknowledgement comes back
    started = time.monotonic()
    await qiqihar.click("button[data-ack]")
    await beijing.wait_for_selector(".ack.done", timeout=1000)
    assert time.monotonic() - started < 1.0
    assert "齐齐哈尔已就位" in (await beijing.text_content(".ack.done") or "")

    # a note, then the switch: both consoles follow
    await qiqihar.fill("#note-text", "工厂机位已就绪，信号稳定")
    await qiqihar.click("#note-form button")
    await beijing.wait_for_selector("text=工厂机位已就绪，信号稳定", timeout=1000)
    await beijing.click("#go-next")
    for page in (beijing, qiqihar):
        await page.wait_for_function(f"document.getElementById('current-title').textContent === {RUNDOWN[1][0]!r}",
                                     timeout=1000)
        assert await page.text_content("#onair-site") == "双城牧场"
    await beijing.click("#cue-site")
    await qiqihar.wait_for_selector(".cue >> nth=0 >> text=准备切换到", timeout=1000)
    await qiqihar.click(".cue >> nth=0 >> button[data-ack]")
    await beijing.wait_for_selector(".cue >> nth=0 >> .ack.done", timeout=1000)
    path = await save_screenshot(beijing, "producer-console")
    assert path.stat().st_size < 300_000
    await beijing_ctx.close()
    await qiqihar_ctx.close()


async def test_console_forms_show_field_errors_and_save_nothing(browser: Any, live_server: Any,  # noqa: F811
                                                                make_config: Callable[..., Config]) -> None:
    server = await live_server(make_config(schedule={"scheduler_enabled": False}))
    session_id, _ = await seeded_show(server.app)
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    await login_page(page, server.url, "wang", PASSWORD)

    await page.goto(f"{server.url}/producer")
    await page.fill("#new-session input[name=title]", "过去的场次")
    await page.fill("#new-session input[name=planned_start]", "2020-01-01T20:00")
    await page.fill("#new-session input[name=planned_end]", "2020-01-01T22:00")
    await page.click("#new-session button[type=submit]")
    await page.wait_for_function(
        "document.querySelector('#new-session [data-error-for=\"planned_start\"]').textContent.length > 0", timeout=3000)
    error = page.locator('#new-session [data-error-for="planned_start"]')
    assert "开始时间已过" in (await error.text_content() or "")
    assert "invalid" in (await page.get_attribute("#new-session input[name=planned_start]", "class") or "")
    assert len(await store.list_sessions(server.app[DATABASE])) == 1

    await page.goto(f"{server.url}/producer/sessions/{session_id}")
    await page.fill("#segment-form input[name=title]", "插播")
    await page.fill("#segment-form input[name=duration_s]", "5")
    await page.fill("#segment-form input[name=offset_s]", "3")
    await page.click("#segment-form button[type=submit]")
    await page.wait_for_function(
        "document.querySelector('#segment-form [data-error-for=\"offset_s\"]').textContent.length > 0", timeout=3000)
    overlap = page.locator('#segment-form [data-error-for="offset_s"]')
    assert "重叠" in (await overlap.text_content() or "")
    async with server.app[DATABASE].sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Segment)) == 3
    await context.close()


async def test_a_cue_leaves_the_console_once_the_show_moved_past_it(browser: Any, live_server: Any,  # noqa: F811
                                                                   make_config: Callable[..., Config]) -> None:
    server = await live_server(make_config(schedule={"scheduler_enabled": False}))
    session_id, _ = await seeded_show(server.app)
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page, other = await context.new_page(), await context.new_page()
    await login_page(page, server.url, "wang", PASSWORD)
    for p in (page, other):
        await p.goto(f"{server.url}/producer/sessions/{session_id}/live?site=beijing-studio")
        await p.wait_for_function("document.getElementById('conn').textContent === '已连接'", timeout=5000)
    await page.click("#cue-next")
    await page.wait_for_selector("button[data-execute]", timeout=2000)
    # another console moves the show on twice: the stale cue's button must not survive
    await other.click("#go-next")
    await page.wait_for_function(f"document.getElementById('current-title').textContent === {RUNDOWN[1][0]!r}", timeout=2000)
    await other.click("#go-next")
    await page.wait_for_function(f"document.getElementById('current-title').textContent === {RUNDOWN[2][0]!r}", timeout=2000)
    await page.wait_for_function("!document.querySelector('button[data-execute]')", timeout=2000)
    await page.reload()
    await page.wait_for_function("document.getElementById('conn').textContent === '已连接'", timeout=5000)
    assert await page.locator(".cue").count() == 0
    assert (await store.control(server.app[DATABASE], session_id)).current_segment_id == (
        await store.segments(server.app[DATABASE], session_id))[2].id
    await context.close()


async def test_forms_show_every_field_error_at_once_and_ask_before_an_overlap(browser: Any, live_server: Any,  # noqa: F811
                                                                              make_config: Callable[..., Config]) -> None:
    server = await live_server(make_config(schedule={"scheduler_enabled": False}))
    session_id, _ = await seeded_show(server.app)
    await users.add_user(server.app[DATABASE], "chen", PASSWORD, "advisor", "陈营养师")
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = await context.new_page()
    dialogs = Dialogs(page)
    await login_page(page, server.url, "wang", PASSWORD)
    await page.goto(f"{server.url}/producer")
    form = "#new-session"
    await page.fill(f"{form} input[name=title]", "")
    await page.fill(f"{form} input[name=planned_end]", "")
    for box in await page.locator(f"{form} input[name=site_ids]").all():
        await box.uncheck()
    await page.click(f"{form} button[type=submit]")
    await page.wait_for_function(f"document.querySelector('{form} [data-error-for=\"site_ids\"]').textContent.length > 0")
    shown = await page.evaluate(f"""() => Object.fromEntries([...document.querySelectorAll('{form} .field-error')]
        .filter(n => n.textContent).map(n => [n.dataset.errorFor, n.textContent]))""")
    assert set(shown) == {"title", "planned_end", "site_ids"}, shown
    assert "至少选择一个站点" in shown["site_ids"]
    assert len(await store.list_sessions(server.app[DATABASE])) == 1

    # the same time and sites as the live show: asked first, refused when declined, saved when confirmed
    live_row = (await store.list_sessions(server.app[DATABASE]))[0]
    start = live_row.planned_start.astimezone(ZoneInfo("Asia/Shanghai")) + timedelta(minutes=10)
    await page.fill(f"{form} input[name=title]", "同一时段的第二场")
    await page.fill(f"{form} input[name=planned_start]", start.strftime("%Y-%m-%dT%H:%M"))
    await page.fill(f"{form} input[name=planned_end]", (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    await page.locator(f"{form} input[name=site_ids]").first.check()
    await page.click(f"{form} button[type=submit]")
    await page.wait_for_function(f"document.querySelector('{form} .form-message').textContent.length > 0")
    assert len(dialogs.messages) == 1 and "时间重叠" in dialogs.messages[0] and live_row.title in dialogs.messages[0]
    assert len(await store.list_sessions(server.app[DATABASE])) == 1
    dialogs.accept = True
    async with page.expect_navigation():
        await page.click(f"{form} button[type=submit]")
    assert len(await store.list_sessions(server.app[DATABASE])) == 2

    # a minutes field reports its range in time units, not raw seconds
    await page.goto(f"{server.url}/producer/sessions/{session_id}")
    await page.fill("#segment-form input[name=title]", "")
    await page.fill("#segment-form input[name=duration_s]", "0.1")
    await page.click("#segment-form button[type=submit]")
    await page.wait_for_function("document.querySelector('#segment-form [data-error-for=\"duration_s\"]').textContent.length > 0")
    duration = await page.text_content('#segment-form [data-error-for="duration_s"]') or ""
    assert "10 秒" in duration and "6 小时" in duration and "21600" not in duration
    assert await page.text_content('#segment-form [data-error-for="title"]')

    # /faq/new: every missing field in one submit
    faq_context = await browser.new_context(viewport={"width": 1024, "height": 768}, locale="zh-CN")
    faq = await faq_context.new_page()
    await login_page(faq, server.url, "chen", PASSWORD)
    await faq.goto(f"{server.url}/faq/new")
    await faq.click("form.faq-form button[type=submit]")
    await faq.wait_for_selector(".field-error[data-field]")
    fields = await faq.evaluate("() => [...document.querySelectorAll('.field-error[data-field]')].map(n => n.dataset.field)")
    assert {"id", "question", "answer"} <= set(fields), fields
    await faq_context.close()
    await context.close()
