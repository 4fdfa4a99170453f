"""The fan-out hub: merged frames, heartbeats and silent clients, over real websockets."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiohttp import web

from livebot.auth.access import public
from livebot.overlays.hub import OverlayHub
from tests.support import eventually


async def hub_server(aiohttp_server: Any, hub: OverlayHub) -> Any:
    @public
    async def socket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False, max_msg_size=4096)
        await ws.prepare(request)
        await hub.serve(ws, 7, "digest", "test")
        return ws

    app = web.Application()
    app.router.add_get("/ws", socket)
    return await aiohttp_server(app)


async def test_a_burst_of_updates_is_merged_into_few_frames(aiohttp_server: Any) -> None:
    hub = OverlayHub(max_fps=10)
    server = await hub_server(aiohttp_server, hub)
    channel = hub.channel(7)
    channel.update({"stats": {"n": 0}})
    async with aiohttp.ClientSession() as http, http.ws_connect(server.make_url("/ws")) as ws:
        snapshot = await ws.receive_json(timeout=2)
        assert snapshot["t"] == "snapshot" and snapshot["parts"]["stats"] == {"n": 0}
        loop = asyncio.get_running_loop()
        start = loop.time()
        for n in range(1, 201):
            channel.update({"stats": {"n": n}, "ticker": {"items": [n]}})
            if n % 20 == 0:
                await asyncio.sleep(0.03)
        frames = []
        while True:
            frame = await ws.receive_json(timeout=2)
            frames.append((loop.time() - start, frame))
            if frame["parts"].get("stats") == {"n": 200}:
                break
        assert len(frames) <= (frames[-1][0] * 10) + 2, frames
        assert frames[-1][1]["parts"] == {"stats": {"n": 200}, "ticker": {"items": [200]}}
        assert len(frames) <= 6  # 200 updates over ~0.3 s: at most one frame per 100 ms


async def test_unchanged_values_send_nothing(aiohttp_server: Any) -> None:
    hub = OverlayHub(max_fps=50)
    server = await hub_server(aiohttp_server, hub)
    channel = hub.channel(7)
    channel.update({"scene": {"scene": "batch"}})
    async with aiohttp.ClientSession() as http, http.ws_connect(server.make_url("/ws")) as ws:
        await ws.receive_json(timeout=2)
        assert channel.update({"scene": {"scene": "batch"}}) == set()
        channel.update({"scene": {"scene": "chain"}})
        frame = await ws.receive_json(timeout=2)
        assert frame["parts"] == {"scene": {"scene": "chain"}}


async def test_pings_are_answered_and_silent_clients_dropped(aiohttp_server: Any) -> None:
    hub = OverlayHub(heartbeat=0.2, silence_slack=0.2)
    server = await hub_server(aiohttp_server, hub)
    async with aiohttp.ClientSession() as http, http.ws_connect(server.make_url("/ws"), autoping=False) as ws:
        await ws.receive_json(timeout=2)
        hub.ping_all()
        ping = await ws.receive_json(timeout=2)
        assert ping["t"] == "ping" and ping["n"] == 1 and ping["now"] > 0
        await ws.send_json({"t": "pong", "n": 1})
        message = await ws.receive(timeout=3)  # now stay silent: the server gives up after 0.6 s
        assert message.type == aiohttp.WSMsgType.CLOSE
    assert hub.client_count == 0


async def test_oversized_or_binary_client_frames_close_the_socket(aiohttp_server: Any) -> None:
    hub = OverlayHub()
    server = await hub_server(aiohttp_server, hub)
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(server.make_url("/ws")) as ws:
            await ws.receive_json(timeout=2)
            await ws.send_str("x" * 10_000)
            message = await ws.receive(timeout=2)
            assert message.type == aiohttp.WSMsgType.CLOSE
        async with http.ws_connect(server.make_url("/ws")) as ws:
            await ws.receive_json(timeout=2)
            await ws.send_bytes(b"\x00\xff")
            message = await ws.receive(timeout=2)
            assert message.type == aiohttp.WSMsgType.CLOSE
    await eventually(lambda: hub.client_count == 0)
