"""The producer websocket: state on open, clock pings, cues and acks between site consoles."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer

from livebot.app import create_app
from tests.schedule.support import Api
from tests.support import bearer, login


async def receive(ws: Any, kind: str, timeout: float = 3.0) -> dict[str, Any]:
    """The next message of ``kind`` (others are skipped)."""
    async def wait() -> dict[str, Any]:
        while True:
            msg = await ws.receive()
            assert msg.type == WSMsgType.TEXT, msg
            data = orjson.loads(msg.data)
            if data["type"] == kind:
                return data

    return await asyncio.wait_for(wait(), timeout)


async def live_session(api: Api, future: Any) -> tuple[int, list[dict[str, Any]]]:
    sites = await api.sites()
    session = await api.session([s["id"] for s in sites], future(60), status="scheduled")
    await api.call("POST", f"/sessions/{session['id']}/segments", {"title": "开场", "duration_s": 300, "site_id": sites[0]["id"]}, 201)
    await api.call("POST", f"/sessions/{session['id']}/segments", {"title": "牧场直击", "duration_s": 600, "site_id": sites[2]["id"]}, 201)
    await api.call("POST", f"/sessions/{session['id']}/status", {"status": "live"}, 200)
    return session["id"], sites


async def test_two_site_consoles_see_each_others_cues_and_acks(client: TestClient, api: Api, future: Any,
                                                               make_config: Any) -> None:
    sid, sites = await live_session(api, future)
    other_client = client
    if make_config().bus.url.startswith("redis"):
        # a second instance over Redis: the consoles are on different app instances
        other_client = TestClient(TestServer(create_app(make_config(schedule={"scheduler_enabled": False}))))
        await other_client.start_server()
    try:
        beijing = await client.ws_connect(f"/ws/producer/{sid}", headers=api.headers)
        qiqihar = await other_client.ws_connect(f"/ws/producer/{sid}", headers=await bearer(other_client, "producer"))
        hello = await receive(beijing, "hello")
        assert hello["state"]["session"]["status"] == "live"
        assert [s["title"] for s in hello["state"]["session"]["segments"]] == ["开场", "牧场直击"]
        await receive(qiqihar, "hello")

        await beijing.send_str(orjson.dumps({"type": "cue", "cue": "next_segment", "from_site_id": sites[0]["id"]}).decode())
        cue = await receive(qiqihar, "cue")
        assert cue["label"] == "准备切到下一段：牧场直击" and cue["from_site_id"] == sites[0]["id"]
        await qiqihar.send_str(orjson.dumps({"type": "ack", "cue_id": cue["cue_id"], "site_id": sites[1]["id"]}).decode())
        ack = await receive(beijing, "ack")
        assert ack["text"] == "齐齐哈尔已就位" and ack["cue_id"] == cue["cue_id"]

        await beijing.send_str(orjson.dumps({"type": "advance"}).decode())
        moved = await receive(qiqihar, "segment")
        assert moved["segment"]["title"] == "牧场直击" and moved["on_air_site_id"] == sites[2]["id"]

        await qiqihar.send_str(orjson.dumps({"type": "note", "text": "<b>信号</b>稍有延迟 🐄", "site_id": sites[1]["id"]}).decode())
        note = await receive(beijing, "note")
        assert note["text"] == "<b>信号</b>稍有延迟 🐄" and note["site_name"] == "齐齐哈尔工厂"
        await beijing.close()
        await qiqihar.close()
    finally:
        if other_client is not client:
            await other_client.close()


async def test_ping_answers_with_server_time(client: TestClient, api: Api, future: Any) -> None:
    sid, _ = await live_session(api, future)
    ws = await client.ws_connect(f"/ws/producer/{sid}", headers=api.headers)
    await receive(ws, "hello")
    await ws.send_str(orjson.dumps({"type": "ping", "t": 1234}).decode())
    pong = await receive(ws, "pong")
    assert pong["t"] == 1234 and isinstance(pong["server_time"], int) and pong["server_time"] > 1_700_000_000_000
    await ws.close()


async def test_bad_messages_get_errors_and_change_nothing(client: TestClient, api: Api, future: Any) -> None:
    sid, sites = await live_session(api, future)
    ws = await client.ws_connect(f"/ws/producer/{sid}", headers=api.headers)
    await receive(ws, "hello")
    cases = [("{not json", "body"), ("[1,2]", "body"), ('{"type": "explode"}', "type"),
             ('{"type": "ack", "cue_id": "x", "site_id": 1}', "cue_id"),
             ('{"type": "note", "text": "' + "长" * 600 + '"}', "text"),
             ('{"type": "site", "site_id": 99999}', None),
             ('{"type": "cue", "cue": "switch_site"}', "site_id")]
    for raw, field in cases:
        await ws.send_str(raw)
        error = await receive(ws, "error")
        if field:
            assert error["field"] == field, (raw, error)
    state = await api.call("GET", f"/sessions/{sid}/live", status=200)
    assert state["cues"] == [] and state["notes"] == []
    assert state["session"]["on_air_site_id"] == sites[0]["id"]
    await ws.close()


async def test_socket_needs_a_producer_and_the_same_origin(client: TestClient, api: Api, future: Any) -> None:
    sid, _ = await live_session(api, future)
    resp = await client.get(f"/ws/producer/{sid}", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"].startswith("/login")
    advisor = await bearer(client, "advisor")
    resp = await client.get(f"/ws/producer/{sid}", headers=advisor)
    assert resp.status == 403
    await login(client, "producer")
    resp = await client.get(f"/ws/producer/{sid}", headers={"Origin": "https://evil.example", "Connection": "Upgrade",
                                                            "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                                                            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert resp.status == 403
    ws = await client.ws_connect(f"/ws/producer/{sid}")
    assert (await receive(ws, "hello"))["you"].startswith("producer-")
    await ws.close()
    assert (await client.get("/ws/producer/99999", headers=api.headers)).status == 404

