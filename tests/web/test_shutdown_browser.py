"""A stop with consoles, a producer console and overlays connected: every websocket is closed with
"going away" (1001), the stop takes less than its shutdown timeout, the pages say 重新连接中, and a
rotated overlay token takes the old frame off air."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser

from livebot.appkeys import DATABASE
from livebot.auth import store as auth_store
from livebot.config import Config
from tests.browser import login_page
from tests.overlays.support import make_session, new_token
from tests.support import PASSWORD

pytestmark = pytest.mark.browser
RUNNER_SHUTDOWN_TIMEOUT = 2.0
"""What tests.browser.start_server gives aiohttp's runner (the configured ``shutdown_timeout`` in production)."""


async def test_stop_closes_every_socket_going_away_within_the_timeout(browser: Browser, live_server: Any, config: Config) -> None:
    server = await live_server(config)
    db = server.app[DATABASE]
    session_id, _ = await make_session(db)
    token = await new_token(db, session_id)
    await auth_store.add_user(db, "li", PASSWORD, "advisor", "李营养师")
    await auth_store.add_user(db, "wang", PASSWORD, "producer", "王导播")
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    console = await context.new_page()
    await login_page(console, server.url, "li", PASSWORD, next_path=f"/console/{session_id}")
    await console.wait_for_selector("#conn.conn-ok")
    producer_ctx = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    producer = await producer_ctx.new_page()
    await login_page(producer, server.url, "wang", PASSWORD)
    await producer.goto(f"{server.url}/producer/sessions/{session_id}/live")
    await producer.wait_for_function("document.getElementById('conn').textContent === '已连接'", timeout=5000)
    overlay = await context.new_page()
    await overlay.goto(f"{server.url}/overlay/{session_id}/program?token={token}")
    await overlay.wait_for_function("() => window.livebotOverlay && window.livebotOverlay.connected()")

    async with aiohttp.ClientSession() as http:
        raw = await http.ws_connect(f"{server.url.replace('http', 'ws')}/ws/overlay/{session_id}?token={token}")
        await raw.receive(timeout=5)  # the snapshot
        started = time.monotonic()
        await server.stop()
        took = time.monotonic() - started
        message = await raw.receive(timeout=5)
        while message.type == aiohttp.WSMsgType.TEXT:
            message = await raw.receive(timeout=5)
        assert message.type == aiohttp.WSMsgType.CLOSE and message.data == 1001, message  # going away
        await raw.close()
    print(f"stop with 4 websockets open took {took:.2f} s (runner shutdown_timeout {RUNNER_SHUTDOWN_TIMEOUT} s)")
    assert took < RUNNER_SHUTDOWN_TIMEOUT
    await console.wait_for_function("document.getElementById('conn').textContent.startsWith('重新连接中')", timeout=3000)
    await producer.wait_for_function("document.getElementById('conn').textContent.startsWith('重新连接中')", timeout=3000)
    await context.close()
    await producer_ctx.close()


async def test_a_rotated_token_takes_the_open_overlay_off_air(browser: Browser, live_server: Any, config: Config) -> None:
    server = await live_server(config)
    db = server.app[DATABASE]
    session_id, site_ids = await make_session(db)
    token = await new_token(db, session_id)
    context = await browser.new_context(viewport={"width": 1920, "height": 1080})
    overlay = await context.new_page()
    await overlay.goto(f"{server.url}/overlay/{session_id}/site?token={token}")
    await overlay.wait_for_function("() => window.livebotOverlay && window.livebotOverlay.connected()")
    from tests.overlays.test_browser import send, wait_shown
    await send(server.app, session_id, type="site", site_id=site_ids[0])
    await wait_shown(overlay, ".lower-third")
    await new_token(db, session_id)
    from livebot.appkeys import BUS
    from livebot.topics import OVERLAY_TOKENS
    await server.app[BUS].publish(OVERLAY_TOKENS, {"session_id": session_id, "by": "test"})
    await overlay.wait_for_function("() => document.querySelectorAll('.part.on').length === 0", timeout=5000)
    await context.close()
