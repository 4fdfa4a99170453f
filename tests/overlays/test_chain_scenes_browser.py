"""The ingredient-list and shipping-path scenes in headless Chromium, fed by a real EPCIS import of the demo's whole chain."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest
from playwright.async_api import Browser

from livebot.appkeys import BUS, DATABASE
from livebot.config import Config
from livebot.demo import trace as demo
from livebot.topics import TRACE_UPDATED
from livebot.trace import service
from livebot.trace.keys import TRACE_SETTINGS
from tests.browser import SCREENSHOTS
from tests.overlays.support import make_session, new_token
from tests.overlays.test_browser import open_page, send, wait_shown

pytestmark = pytest.mark.browser
CAN = demo.SAMPLE_CAN


async def test_ingredient_and_shipping_scenes_show_the_lot_on_air(browser: Browser, live_server: Any, config: Config) -> None:
    server = await live_server(config)
    db = server.app[DATABASE]
    raw = orjson.dumps(demo.document(demo.chain_events(CAN, random.Random(7))))
    result = await service.import_epcis(db, raw, server.app[TRACE_SETTINGS])
    await server.app[BUS].publish(TRACE_UPDATED, {"lots": result.lots, "gtins": result.gtins})
    session_id, _ = await make_session(db)
    token = await new_token(db, session_id)
    await send(server.app, session_id, type="batch", lot=CAN.lot)
    watched = await open_page(browser, f"{server.url}/overlay/{session_id}/program?token={token}")
    page = watched.page

    await send(server.app, session_id, type="scene", scene="ingredients")
    await wait_shown(page, ".ingredients")
    text = await page.inner_text(".ingredients")
    assert "7 种配料批次" in text and "乳铁蛋白" in text and "批次 LF20261124B08 · 检验 1/1 合格" in text
    assert "示例乳铁蛋白供应商 · 新西兰" in text
    assert not await page.evaluate("document.querySelector('.batch-card').classList.contains('on')")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "overlay-ingredients-live.png").write_bytes(await page.screenshot(omit_background=True, animations="disabled"))

    await send(server.app, session_id, type="scene", scene="shipping")
    await wait_shown(page, ".shipping")
    text = await page.inner_text(".shipping")
    for label in ("生产", "包装", "入库", "发货", "哈尔滨成品仓", "已出厂发货"):
        assert label in text, label
    assert any(f"发往{region}" in text for region in demo.REGIONS)
    assert not await page.evaluate("document.querySelector('.ingredients').classList.contains('on')")
    (SCREENSHOTS / "overlay-shipping-live.png").write_bytes(await page.screenshot(omit_background=True, animations="disabled"))
    assert watched.errors == [] and watched.outside == []
    await page.context.close()
