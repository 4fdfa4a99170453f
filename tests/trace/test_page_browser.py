"""The Digital Link page in a real phone-sized Chromium: readable, escaped, no console errors."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest
from playwright.async_api import Browser

from livebot.config import Config
from livebot.demo import trace as demo
from livebot.trace import store
from livebot.trace.keys import TRACE_SETTINGS
from livebot.trace.pushes import parse_batches
from tests.browser import save_screenshot
from tests.trace.support import CHAIN_GTIN, CHAIN_LOT

pytestmark = pytest.mark.browser


async def test_digital_link_page_on_a_phone(browser: Browser, live_server: Any, config: Config, chain_doc: dict[str, Any]) -> None:  # noqa: F811
    from livebot.appkeys import DATABASE
    from livebot.trace.epcis import parse_document
    from livebot.trace.importer import import_document

    server = await live_server(config)
    await import_document(server.app[DATABASE], parse_document(orjson.dumps(chain_doc)), server.app[TRACE_SETTINGS].zone,
                          server.app[TRACE_SETTINGS])
    context = await browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1, locale="zh-CN")
    page = await context.new_page()
    errors: list[str] = []
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 and "favicon" not in r.url else None)
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
    await page.goto(f"{server.url}/01/{CHAIN_GTIN}/10/{CHAIN_LOT}")
    assert await page.locator(".trace-minutes strong").inner_text() == "105"
    assert "2 小时承诺内" in await page.locator(".trace-promise").inner_text()
    assert await page.locator("section:not(.trace-journey) > .trace-timeline li.done").count() == 5
    assert await page.locator(".trace-qc tbody tr").count() == 12
    # this document has no herd, feed, ingredient or shipment data: those steps are gaps, never filled in
    journey = page.locator(".trace-journey .trace-timeline")
    assert await journey.locator("li.done").count() == 4 and await journey.locator("li.gap").count() == 4
    shown = await journey.inner_text()
    assert "牧场牛群 · 暂无数据" in shown and "发货 · 暂无数据" in shown
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the page must not scroll sideways on a phone"

    # the demo's sample can has the whole chain: herd and feed to shipment, no gaps; the README screenshot shows it
    sample = demo.SAMPLE_CAN
    await import_document(server.app[DATABASE], parse_document(orjson.dumps(demo.document(demo.chain_events(sample, random.Random(7))))),
                          server.app[TRACE_SETTINGS].zone, server.app[TRACE_SETTINGS])
    await page.goto(f"{server.url}/01/{sample.gtin}/10/{sample.lot}")
    journey = page.locator(".trace-journey .trace-timeline")
    assert await journey.locator("li.gap").count() == 0 and await journey.locator("li.done").count() == 8
    assert "乳铁蛋白 · 批次 LF20261124B08" in await journey.inner_text()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await page.locator(".trace-journey").scroll_into_view_if_needed()
    await save_screenshot(page, "trace-digital-link-chain")
    await page.evaluate("window.scrollTo(0, 0)")
    await save_screenshot(page, "trace-digital-link")

    hostile = "<img src=x onerror=alert(1)>\u202e牧场"
    await store.save_batches(server.app[DATABASE], parse_batches(
        {"gtin": "06901234543216", "lot": "EVIL2", "product_name": hostile, "raw_milk": {"lot": "RAWE", "farm": hostile}}),
        server.app[TRACE_SETTINGS])
    await page.goto(f"{server.url}/01/06901234543216/10/EVIL2")
    assert hostile in await page.locator("h1").inner_text()
    assert await page.locator("img").count() == 0
    assert errors == []
