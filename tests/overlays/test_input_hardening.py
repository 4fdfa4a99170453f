"""Bad input on the overlay command API and the overlay websocket: clear errors, nothing half-applied.

Complements test_api.py (malformed JSON, unknown types, 413) and test_hub.py (binary and
oversized frames): dates that overflow when moved to UTC, JSON nested past the parser's
recursion limit, values of the wrong type in every field, hostile text kept as text, repeated
commands, and an overlay socket that keeps serving after garbage frames.
"""

from __future__ import annotations

import io
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from livebot.appkeys import DATABASE
from tests.overlays.support import make_session, new_token
from tests.overlays.test_api import command, has_part, receive_until
from tests.support import bearer, login

NESTED = b'{"type": "featured", "question": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"}"
OVERFLOWING = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"]


async def state_of(client: TestClient, session_id: int, headers: dict[str, str]) -> dict[str, Any]:
    resp = await client.get(f"/api/v1/sessions/{session_id}/overlay", headers=headers)
    assert resp.status == 200
    return await resp.json()


@pytest.mark.parametrize("ends_at", OVERFLOWING)
async def test_countdown_that_overflows_in_utc_is_400_naming_ends_at(client: TestClient, ends_at: str) -> None:
    session_id, _ = await make_session(client.app[DATABASE])
    headers = await bearer(client, "producer")
    before = await state_of(client, session_id, headers)
    resp = await command(client, session_id, headers, type="countdown", title="开场", ends_at=ends_at)
    assert resp.status == 400, await resp.text()
    assert (await resp.json())["field"] == "ends_at"
    after = await state_of(client, session_id, headers)
    assert after["control"] == before["control"]
    ok = await command(client, session_id, headers, type="countdown", title="开场", ends_at="2026-11-24T20:30:00+08:00")
    assert ok.status == 200


async def test_json_nested_past_the_recursion_limit_is_400(client: TestClient) -> None:
    session_id, _ = await make_session(client.app[DATABASE])
    headers = await bearer(client, "producer")
    resp = await client.post(f"/api/v1/sessions/{session_id}/overlay", data=io.BytesIO(NESTED),
                             headers={**headers, "Content-Type": "application/json"})
    assert resp.status == 400, await resp.text()
    assert (await resp.json())["field"] == "body"
    assert (await client.get("/healthz")).status == 200


@pytest.mark.parametrize(("body", "field"), [
    ({"type": "featured", "question": ["问题"]}, "question"),
    ({"type": "featured", "question": {"x": 1}}, "question"),
    ({"type": "featured", "question": "奶源？", "answer": 42}, "answer"),
    ({"type": "featured", "question": "\x00\u202e\u200b"}, "question"),
    ({"type": "batch", "lot": "NB 2611"}, "lot"),
    ({"type": "batch", "lot": 2611}, "lot"),
    ({"type": "batch", "lot": "L" * 41}, "lot"),
    ({"type": "ticker", "enabled": "yes"}, "enabled"),
    ({"type": "ticker"}, "enabled"),
    ({"type": "site", "site_id": 2**70}, "site_id"),
    ({"type": "site", "site_id": True}, "site_id"),
    ({"type": "site", "site_id": -3}, "site_id"),
    ({"type": "countdown", "ends_at": "2026-11-24T20:30:00"}, "ends_at"),
    ({"type": "countdown", "ends_at": 1764000000}, "ends_at"),
    ({"type": "countdown", "ends_at": "2026-11-24T20:30:00+08:00" + " " * 40}, "ends_at"),
    ({"type": None}, "type"),
    ({"type": ["scene"]}, "type"),
    ({"type": "scene", "scene": None}, "scene"),
    ({"type": "scene", "scene": "'; DROP TABLE overlay_states;--"}, "scene"),
])
async def test_wrong_values_are_400_naming_the_field_and_change_nothing(client: TestClient, body: dict[str, Any],
                                                                          field: str) -> None:
    session_id, _ = await make_session(client.app[DATABASE])
    headers = await bearer(client, "producer")
    before = await state_of(client, session_id, headers)
    resp = await command(client, session_id, headers, **body)
    assert resp.status == 400, await resp.text()
    assert (await resp.json())["field"] == field
    assert (await state_of(client, session_id, headers))["control"] == before["control"]


async def test_hostile_featured_text_is_kept_as_text_within_the_caps(client: TestClient) -> None:
    session_id, _ = await make_session(client.app[DATABASE])
    headers = await bearer(client, "producer")
    question = "<script>alert('x')</script> 奶源'; DROP TABLE x;-- 😀𠮷"
    answer = '<img src=x onerror="alert(1)">双城牧场' + "长" * 400
    resp = await command(client, session_id, headers, type="featured", question=question + "\u202e\x07",
                         answer=answer, asker="<b>小雨妈妈</b>", platform="<douyin>")
    assert resp.status == 200, await resp.text()
    featured = (await resp.json())["state"]["control"]["featured"]
    assert featured["question"] == question
    assert featured["answer"].startswith('<img src=x onerror="alert(1)">双城牧场')
    assert len(featured["answer"]) == 300 and featured["answer"].endswith("…")
    assert featured["asker"] == "<b**" and featured["platform"] == "other"


async def test_the_same_command_twice_changes_the_state_once(client: TestClient) -> None:
    session_id, _ = await make_session(client.app[DATABASE])
    headers = await bearer(client, "producer")
    first = await command(client, session_id, headers, type="scene", scene="chain")
    version = (await first.json())["state"]["version"]
    again = await command(client, session_id, headers, type="scene", scene="chain")
    assert again.status == 200
    state = (await again.json())["state"]
    assert state["control"]["scene"] == "chain" and state["version"] == version


async def test_overlay_socket_ignores_text_garbage_and_keeps_serving(client: TestClient) -> None:
    db = client.app[DATABASE]
    session_id, _ = await make_session(db)
    token = await new_token(db, session_id)
    headers = await bearer(client, "producer")
    async with client.ws_connect(f"/ws/overlay/{session_id}?token={token}") as ws:
        await receive_until(ws, lambda f: f["t"] == "snapshot")
        for garbage in ("not json", "[1, 2]", '{"t": "pong", "n": "<script>"}', "\u202e😀𠮷", "'; DROP TABLE x;--"):
            await ws.send_str(garbage)
        resp = await command(client, session_id, headers, type="scene", scene="chain")
        assert resp.status == 200
        patch = await receive_until(ws, has_part("scene"))
        assert patch["parts"]["scene"] == {"scene": "chain"}


async def test_oversized_overlay_frame_closes_only_that_socket(client: TestClient) -> None:
    db = client.app[DATABASE]
    session_id, _ = await make_session(db)
    token = await new_token(db, session_id)
    async with client.ws_connect(f"/ws/overlay/{session_id}?token={token}") as other:
        await receive_until(other, lambda f: f["t"] == "snapshot")
        async with client.ws_connect(f"/ws/overlay/{session_id}?token={token}") as ws:
            await receive_until(ws, lambda f: f["t"] == "snapshot")
            await ws.send_str("x" * 10_000)
            message = await ws.receive(timeout=5)
            assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            assert ws.close_code == 1009
        headers = await bearer(client, "producer")
        await command(client, session_id, headers, type="scene", scene="stats")
        patch = await receive_until(other, has_part("scene"))
        assert patch["parts"]["scene"] == {"scene": "stats"}


@pytest.mark.parametrize("token", ["", "x" * 5000, "<script>", "'; DROP TABLE overlay_tokens;--", "\u202e😀"])
async def test_hostile_overlay_tokens_are_403(client: TestClient, token: str) -> None:
    session_id, _ = await make_session(client.app[DATABASE])
    page = await client.get(f"/overlay/{session_id}/program", params={"token": token})
    assert page.status == 403
    assert "<script>" not in await page.text()
    socket = await client.get(f"/ws/overlay/{session_id}", params={"token": token})
    assert socket.status == 403


async def test_hostile_session_title_is_escaped_on_producer_pages_and_sent_as_data(client: TestClient) -> None:
    title = "<script>alert('x')</script>奶源'; DROP TABLE sessions;-- 🐄𠮷"
    db = client.app[DATABASE]
    session_id, _ = await make_session(db, title=title)
    await login(client, "producer")
    for page in ("/overlays", f"/overlays/{session_id}", f"/overlay/{session_id}/program"):
        resp = await client.get(page)
        assert resp.status == 200, page
        html = await resp.text()
        assert "<script>alert('x')</script>" not in html, page
    token = await new_token(db, session_id)
    async with client.ws_connect(f"/ws/overlay/{session_id}?token={token}") as ws:
        snapshot = await receive_until(ws, lambda f: f["t"] == "snapshot")
        assert snapshot["parts"]["session"]["title"].startswith("<script>alert('x')</script>奶源")


@pytest.mark.parametrize("scene", ["%3Cscript%3E", "..%2F..%2Fetc%2Fpasswd", "x" * 300, "%00", "%E2%80%AE"])
async def test_unknown_or_hostile_scene_pages_are_404(client: TestClient, scene: str) -> None:
    db = client.app[DATABASE]
    session_id, _ = await make_session(db)
    token = await new_token(db, session_id)
    resp = await client.get(f"/overlay/{session_id}/{scene}?token={token}")
    assert resp.status == 404
    assert "<script>" not in await resp.text()
