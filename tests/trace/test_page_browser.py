"""The Digital Link page in a real phone-sized Chromium: readable, escaped, no console errors."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from playwright.async_api import Browser

from livebot.config import Config
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
    assert await page.locator(".trace-timeline li.done").count() == 5
    assert await page.locator(".trace-qc tbody tr").count() == 12
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the page must not scroll sideways on a phone"
    await save_screenshot(page, "trace-digital-link")

    hostile = "<img src=x onerror=alert(1)>\u202e牧场"
    await store.save_batches(server.app[DATABASE], parse_batches(
        {"gtin": "06901234543216", "lot": "EVIL2", "product_name": hostile, "raw_milk": {"lot": "RAWE", "farm": hostile}}),
        server.app[TRACE_SETTINGS])
    await page.goto(f"{server.url}/01/06901234543216/10/EVIL2")
    assert hostile in await page.locator("h1").inner_text()
    assert await page.locator("img").count() == 0
    assert errors == []
