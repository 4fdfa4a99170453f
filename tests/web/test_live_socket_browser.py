"""The shared browser websocket client (/static/js/live-socket.js) in real Chromium, against a scripted server.

The server closes the socket: the page shows 重新连接中, reconnects by itself, takes the fresh
snapshot and applies every later frame with no gap. Within one connection a lost frame makes the
page ask for a resync (after a short wait), and frames that arrive out of order are applied in order.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import WSCloseCode, web
from playwright.async_api import Browser, Page

from livebot.config import Config
from tests.browser import start_server

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[2] / "livebot" / "web" / "static"
PAGE = """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>t</title><body>
<span id="conn">连接中…</span>
<script type="module">
import { LiveSocket, SequenceGate } from "/static/js/live-socket.js";
const t = { applied: [], snapshots: [], statuses: [] };
window.t = t;
const gate = new SequenceGate({
  apply: (r) => { for (let s = r.from; s <= r.to; s++) t.applied.push(s); },
  onGap: () => socket.send({ type: "resync" }),
  waitMs: 300,
});
const socket = new LiveSocket({
  path: "/ws", statusNode: document.getElementById("conn"), base: 200, cap: 400,
  onStatus: (kind, text) => t.statuses.push(text),
  onMessage(m, ws) {
    if (m.type === "snapshot") { ws.settled(); gate.reset(m.seq); t.snapshots.push(m.seq); }
    else if (m.type === "batch") gate.offer(m.ranges);
  },
});
t.socket = socket;
socket.start();
</script></body></html>"""


class Scripted:
    """A server whose sequence number the test drives; each socket starts with a snapshot."""

    def __init__(self, page: str = PAGE) -> None:
        self.html = page
        self.seq = 0
        self.sockets: list[web.WebSocketResponse] = []
        self.resyncs = 0
        self.connected = asyncio.Event()

    async def page(self, request: web.Request) -> web.Response:
        return web.Response(text=self.html, content_type="text/html")

    async def socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_str(orjson.dumps({"type": "snapshot", "seq": self.seq}).decode())
        self.connected.set()
        async for message in ws:
            if orjson.loads(message.data).get("type") == "resync":
                self.resyncs += 1
                await ws.send_str(orjson.dumps({"type": "snapshot", "seq": self.seq}).decode())
        return ws

    async def send(self, *ranges: tuple[int, int]) -> None:
        await self.sockets[-1].send_str(orjson.dumps({"type": "batch", "ranges": [{"from": a, "to": b} for a, b in ranges]}).decode())

    async def publish(self, count: int = 1) -> None:
        """New frames: sent to the open socket (if any), the sequence moves on either way."""
        start, self.seq = self.seq + 1, self.seq + count
        if self.sockets and not self.sockets[-1].closed:
            await self.send((start, self.seq))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self.page)
        app.router.add_get("/ws", self.socket)
        app.router.add_static("/static/", STATIC)
        return app


async def applied_after_last_snapshot(page: Page) -> list[int]:
    return list(await page.evaluate("""() => { const last = window.t.snapshots[window.t.snapshots.length - 1];
        return window.t.applied.filter((s) => s > last); }"""))


async def test_server_close_shows_reconnecting_then_resyncs_without_gap(browser: Browser, config: Config) -> None:
    script = Scripted()
    server = await start_server(config, app=script.app())
    try:
        page: Any = await (await browser.new_context(locale="zh-CN")).new_page()
        await page.goto(server.url + "/")
        await page.wait_for_function("() => document.getElementById('conn').textContent === '已连接' && window.t.snapshots.length === 1")
        await script.publish(2)
        await page.wait_for_function("() => window.t.applied.join() === '1,2'")

        # the server drops the socket; frames published meanwhile reach the page through the snapshot
        await script.sockets[-1].close(code=WSCloseCode.GOING_AWAY, message=b"restart")
        await page.wait_for_function("() => document.getElementById('conn').textContent.startsWith('重新连接中')")
        await script.publish(3)
        await page.wait_for_function("() => window.t.snapshots.length === 2 && document.getElementById('conn').textContent === '已连接'")
        assert await page.evaluate("() => window.t.snapshots") == [0, 5]
        await script.publish(2)
        await page.wait_for_function("() => window.t.applied.length === 4")
        assert await applied_after_last_snapshot(page) == [6, 7]

        # a frame lost inside one connection: the page waits briefly, then asks for a resync
        script.seq += 1  # 8 never reaches the page
        await script.publish()  # 9
        await page.wait_for_function("() => window.t.snapshots.length === 3")
        assert script.resyncs == 1 and await page.evaluate("() => window.t.snapshots[2]") == 9
        assert 8 not in await page.evaluate("() => window.t.applied") and 9 not in await page.evaluate("() => window.t.applied")

        # out of order but complete: applied in order, no resync; repeats are dropped
        script.seq = 11
        await script.send((11, 11))
        await script.send((10, 10), (11, 11))
        await page.wait_for_function("() => window.t.applied.length === 6")
        assert await applied_after_last_snapshot(page) == [10, 11]
        await page.wait_for_timeout(500)  # longer than the gap wait: a resync would have been asked for by now
        assert script.resyncs == 1
        statuses = await page.evaluate("() => window.t.statuses")
        assert statuses[0] == "已连接" and any(s.startswith("重新连接中…（") for s in statuses) and statuses[-1] == "已连接"
    finally:
        await server.stop()


async def test_stop_codes_end_reconnecting(browser: Browser, config: Config) -> None:
    """A close the page cannot fix by retrying (e.g. 4403 token rotated) stops the client."""
    script = Scripted(PAGE.replace("cap: 400,", "cap: 400, stopCodes: [4403],"))
    server = await start_server(config, app=script.app())
    try:
        page: Any = await (await browser.new_context(locale="zh-CN")).new_page()
        await page.goto(server.url + "/")
        await page.wait_for_function("() => window.t.snapshots.length === 1")
        await script.sockets[-1].close(code=4403, message=b"token rotated")
        await page.wait_for_function("() => document.getElementById('conn').textContent === '连接已结束，请刷新页面'")
        await page.wait_for_timeout(800)  # twice the longest backoff: no new socket
        assert len(script.sockets) == 1
    finally:
        await server.stop()
