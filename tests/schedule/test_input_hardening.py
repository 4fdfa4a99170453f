"""Bad input on the schedule API and the producer websocket: clear errors, nothing half-saved.

Complements test_api.py and test_ws.py: times that overflow when moved to UTC, JSON nested
past any sane depth, oversized bodies, the same rules for text sent over the websocket as over
the API (no control or direction characters), huge numbers, binary and oversized frames, and
repeated acknowledgements stored once.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import orjson
import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from livebot.appkeys import DATABASE
from livebot.schedule import store
from tests.schedule.support import Api, iso
from tests.schedule.test_api import counts
from tests.schedule.test_ws import live_session, receive
from tests.support import login

OVERFLOWING = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"]
NESTED = b'{"title": ' + b"[" * 5000 + b"]" * 5000 + b"}"


@pytest.mark.parametrize("value", OVERFLOWING)
@pytest.mark.parametrize("field", ["planned_start", "planned_end"])
async def test_times_that_overflow_in_utc_are_400_and_save_nothing(client: TestClient, api: Api, future: Any,
                                                                    field: str, value: str) -> None:
    sites = await api.sites()
    start = future(60)
    body = {"title": "奶源专场", "planned_start": iso(start), "planned_end": iso(start + timedelta(hours=2)),
            "site_ids": [sites[0]["id"]], field: value}
    before = await counts(client)
    answer = await api.call("POST", "/sessions", body, 400)
    assert answer["field"] == field
    assert await counts(client) == before
    session = await api.session([sites[0]["id"]], start)
    changed = await api.call("PATCH", f"/sessions/{session['id']}", {field: value}, 400)
    assert changed["field"] == field
    assert (await api.call("GET", f"/sessions/{session['id']}", status=200))["planned_start"] == session["planned_start"]


@pytest.mark.parametrize("name", ["from", "to"])
async def test_query_times_that_overflow_are_400_naming_the_parameter(client: TestClient, api: Api, name: str) -> None:
    for path in ("/api/v1/schedule/sessions", "/api/v1/schedule/conflicts"):
        resp = await client.get(path, params={name: OVERFLOWING[0]}, headers=api.headers)
        assert resp.status == 400, (path, await resp.text())
        assert (await resp.json())["field"] == name


async def test_deeply_nested_and_oversized_bodies_are_refused(client: TestClient, api: Api) -> None:
    headers = {**api.headers, "Content-Type": "application/json"}
    nested = await client.post("/api/v1/schedule/sites", data=io.BytesIO(NESTED), headers=headers)
    assert nested.status == 400 and (await nested.json())["field"] == "body"
    big = orjson.dumps({"slug": "big", "name": "大", "role": "farm", "notes": "x" * 2_000_000})
    resp = await client.post("/api/v1/schedule/sites", data=io.BytesIO(big), headers=headers)
    assert resp.status == 413
    assert (await api.call("GET", "/sites", status=200))["sites"] == []
    assert (await api.call("POST", "/sites", {"slug": "ok", "name": "双城牧场", "role": "farm"}, 201))["slug"] == "ok"


async def test_hostile_session_text_is_escaped_on_every_producer_page(client: TestClient, api: Api, future: Any) -> None:
    sites = await api.sites()
    title = "<script>alert('x')</script>奶源'; DROP TABLE sessions;-- 🐄𠮷"
    session = await api.session([sites[0]["id"]], future(60), title=title, theme="<b>奶源</b>",
                                description='<img src=x onerror="alert(1)">\n第二行')
    assert session["title"] == title
    await api.call("POST", f"/sessions/{session['id']}/segments",
                   {"title": "<svg onload=alert(1)>开场", "duration_s": 300, "site_id": sites[0]["id"]}, 201)
    await login(client, "producer")
    for page in ("/producer", f"/producer/sessions/{session['id']}", f"/producer/sessions/{session['id']}/live",
                 "/producer/calendar"):
        resp = await client.get(page)
        assert resp.status == 200, page
        html = await resp.text()
        assert "<script>alert('x')</script>" not in html and "<svg onload" not in html, page
        assert "&lt;script&gt;alert(" in html, page


async def test_websocket_text_follows_the_api_rules(client: TestClient, api: Api, future: Any) -> None:
    sid, sites = await live_session(api, future)
    ws = await client.ws_connect(f"/ws/producer/{sid}", headers=api.headers)
    await receive(ws, "hello")
    cases = [
        ({"type": "note", "text": "牧场\x00信号"}, "text"),
        ({"type": "note", "text": "信号\u202e延迟"}, "text"),
        ({"type": "cue", "cue": "custom", "text": "准备\x07切换"}, "text"),
        ({"type": "cue", "cue": "custom", "text": "准备\u2066切换"}, "text"),
        ({"type": "note", "text": 5}, "text"),
        ({"type": "ack", "cue_id": 2**70, "site_id": sites[0]["id"]}, "cue_id"),
        ({"type": "site", "site_id": 2**70}, "site_id"),
        ({"type": "site", "site_id": 2**63}, "site_id"),
        ({"type": "ack", "cue_id": 2**63, "site_id": sites[0]["id"]}, "cue_id"),
        ({"type": "advance", "segment_id": -1}, "segment_id"),
        ({"type": ["note"]}, "type"),
    ]
    for message, field in cases:
        await ws.send_str(json.dumps(message))
        error = await receive(ws, "error")
        assert error.get("field") == field, (message, error)
    await ws.send_str('{"type": "note", "text": "\\ud800"}')
    assert (await receive(ws, "error"))["field"] == "body"
    state = await api.call("GET", f"/sessions/{sid}/live", status=200)
    assert state["notes"] == [] and state["cues"] == []
    await ws.send_str(orjson.dumps({"type": "note", "text": "<script>alert(1)</script> 信号稍有延迟 😀𠮷"}).decode())
    note = await receive(ws, "note")
    assert note["text"] == "<script>alert(1)</script> 信号稍有延迟 😀𠮷"
    await ws.close()


async def test_binary_and_garbage_frames_leave_the_socket_serving(client: TestClient, api: Api, future: Any) -> None:
    sid, _ = await live_session(api, future)
    ws = await client.ws_connect(f"/ws/producer/{sid}", headers=api.headers)
    await receive(ws, "hello")
    await ws.send_bytes(b"\x00\xff\xfe")
    await ws.send_str("")
    assert (await receive(ws, "error"))["field"] == "body"
    await ws.send_str(orjson.dumps({"type": "ping", "t": "<script>"}).decode())
    pong = await receive(ws, "pong")
    assert pong["t"] is None and isinstance(pong["server_time"], int)
    await ws.close()


async def test_oversized_frame_closes_the_socket_and_the_server_still_answers(client: TestClient, api: Api,
                                                                              future: Any) -> None:
    sid, _ = await live_session(api, future)
    ws = await client.ws_connect(f"/ws/producer/{sid}", headers=api.headers)
    await receive(ws, "hello")
    await ws.send_str(orjson.dumps({"type": "note", "text": "长" * 20_000}).decode())
    message = await ws.receive(timeout=5)
    assert message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED)
    assert ws.close_code == 1009
    assert (await api.call("GET", f"/sessions/{sid}/live", status=200))["notes"] == []
    again = await client.ws_connect(f"/ws/producer/{sid}", headers=api.headers)
    assert (await receive(again, "hello"))["state"]["session"]["id"] == sid
    await again.close()


async def test_repeated_ack_over_the_websocket_is_stored_once(client: TestClient, api: Api, future: Any) -> None:
    sid, sites = await live_session(api, future)
    cue = await api.call("POST", f"/sessions/{sid}/cues", {"cue": "next_segment", "from_site_id": sites[0]["id"]}, 201)
    ws = await client.ws_connect(f"/ws/producer/{sid}", headers=api.headers)
    await receive(ws, "hello")
    for _ in range(3):
        await ws.send_str(orjson.dumps({"type": "ack", "cue_id": cue["cue_id"], "site_id": sites[1]["id"]}).decode())
    await ws.send_str(orjson.dumps({"type": "ping", "t": 1}).decode())
    await receive(ws, "pong")
    rows = await store.timeline(client.app[DATABASE], sid, kinds=("ack",))
    assert len(rows) == 1
    await ws.close()


async def test_ids_beyond_bigint_are_400_not_a_crash(client: TestClient, api: Api, future: Any) -> None:
    sid, sites = await live_session(api, future)
    huge = 2**63
    cases = [
        (f"/sessions/{sid}/site", {"site_id": huge}, "site_id"),
        (f"/sessions/{sid}/notes", {"text": "信号", "site_id": huge}, "site_id"),
        (f"/sessions/{sid}/cues", {"cue": "switch_site", "site_id": huge}, "site_id"),
        (f"/sessions/{sid}/segments/reorder", {"order": [huge]}, "order[0]"),
        (f"/sessions/{sid}/advance", {"segment_id": huge}, "segment_id"),
    ]
    for path, body, field in cases:
        answer = await api.call("POST", path, body, 400)
        assert answer["field"] == field, (path, answer)
    start = future(120)
    created = await api.call("POST", "/sessions", {"title": "工艺专场", "planned_start": iso(start),
                                                   "planned_end": iso(start + timedelta(hours=1)), "site_ids": [huge]}, 400)
    assert created["field"] == "site_ids[0]"
    state = await api.call("GET", f"/sessions/{sid}/live", status=200)
    assert state["session"]["on_air_site_id"] == sites[0]["id"] and state["notes"] == []


@pytest.mark.parametrize("date", ["9999-12-31", "0001-01-01", "9999-12-01", "not-a-date", "2026-02-30", "<script>"])
@pytest.mark.parametrize("view", ["month", "week"])
async def test_calendar_page_with_an_absurd_date_falls_back_to_today(client: TestClient, api: Api, date: str,
                                                                     view: str) -> None:
    await login(client, "producer")
    resp = await client.get("/producer/calendar", params={"date": date, "view": view})
    assert resp.status == 200, await resp.text()
    html = await resp.text()
    assert "<script>" not in html and "导播台" in html
