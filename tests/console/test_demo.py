"""The demo: replayed chat fills the queue, and group replies land on the local demo robot."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import orjson

from livebot.appkeys import DATABASE
from livebot.chat.signing import signed_headers
from livebot.console import store
from livebot.demo.app import DEMO_SECRET, demo_app
from tests.browser import free_port
from tests.support import csrf_from, eventually


async def log_in(base: str, username: str, password: str) -> tuple[aiohttp.ClientSession, str]:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(f"{base}/login") as resp:
        csrf = csrf_from(await resp.text())
    async with http.post(f"{base}/login", data={"username": username, "password": password, "csrf_token": csrf,
                                                "next": "/console"}, allow_redirects=False) as resp:
        assert resp.status == 302
    async with http.get(f"{base}/login") as resp:
        return http, csrf_from(await resp.text())


async def test_demo_queue_fills_and_group_replies_reach_the_demo_robot(live_server, tmp_path: Path) -> None:
    port = free_port()
    config, app = demo_app(None, "127.0.0.1", port, str(tmp_path / "demo"))
    server = await live_server(config, port=port, app=app)
    base = server.url
    http, csrf = await log_in(base, "advisor", "livebot-advisor")
    try:
        async with http.get(f"{base}/console", allow_redirects=False) as resp:
            assert resp.status == 302
            session_id = int(resp.headers["Location"].rsplit("/", 1)[1])

        async def queue_has_cards() -> bool:
            return bool((await store.snapshot(app[DATABASE], session_id, 100))[1])

        await eventually(queue_has_cards, timeout=20)
        body = orjson.dumps({"events": [{"id": "demo-test-1", "platform": "wecom", "channel": "wecom-parents-1",
                                         "kind": "comment", "ts": int(time.time() * 1000),
                                         "user": {"id": "wm-1", "name": "安安妈"}, "text": "请问这批奶粉的奶源来自哪里？"}]})
        async with http.post(f"{base}/api/v1/ingest/demo-relay", data=body,
                             headers={"Content-Type": "application/json", **signed_headers(DEMO_SECRET, body)}) as resp:
            assert resp.status == 202

        async def asked() -> bool:
            return any(a.get("id") == "demo-test-1" for c in (await store.snapshot(app[DATABASE], session_id, 500))[1]
                       for a in c.askers)

        await eventually(asked, timeout=10)
        _, cards = await store.snapshot(app[DATABASE], session_id, 500)
        card = next(c for c in cards if any(a.get("id") == "demo-test-1" for a in c.askers))
        async with http.post(f"{base}/api/v1/console/cards/{card.id}/answer", json={"text": "来自双城自有牧场。"},
                             headers={"X-CSRF-Token": csrf}) as resp:
            assert resp.status == 200, await resp.text()

        async def robot_got_it() -> bool:
            async with http.get(f"{base}/demo/robot") as resp:
                messages = (await resp.json())["messages"]
            return any("来自双城自有牧场。" in m["body"]["text"]["content"] for m in messages)

        await eventually(robot_got_it, timeout=10)
    finally:
        await http.close()


async def test_the_demo_robot_is_off_outside_the_demo(client) -> None:
    resp = await client.post("/demo/robot", json={"msgtype": "text", "text": {"content": "hi"}})
    assert resp.status == 404
