"""Bad input on the console API and the console websocket: clear errors, nothing half-done.

Complements test_answer.py, test_claims.py and test_ws.py: JSON nested past the parser's
recursion limit, lone UTF-16 surrogates (which no database can store), identifiers with NUL
characters, oversized bodies, a repeated answer, and websocket frames with absurd card ids.
"""

from __future__ import annotations

import io
import json
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from livebot.appkeys import DATABASE
from livebot.console import store
from livebot.console.models import ConsoleAudit
from livebot.demo.console import ROBOT_LOG, add_robot
from tests.console.support import MILK, ask, make_session, wait_for_asks
from tests.console.test_ws import receive, receive_until
from tests.support import login

NESTED = b'{"text": "\xe5\xa5\xbd", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"


async def open_card(client: TestClient) -> tuple[int, int]:
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    await ask(app, session_id, "奶源是哪里的？", [MILK])
    [card] = await wait_for_asks(app, session_id, 1)
    return session_id, card.id


async def post_raw(advisor: Any, path: str, data: bytes) -> tuple[int, dict[str, Any]]:
    async with advisor.http.post(advisor.client.make_url(path), data=io.BytesIO(data),
                                 headers={"X-CSRF-Token": advisor.csrf, "Content-Type": "application/json"}) as resp:
        return resp.status, await resp.json(content_type=None)


@pytest.mark.parametrize("action", ["answer", "escalate", "feature"])
async def test_json_nested_past_the_recursion_limit_is_400(client: TestClient, advisors, action: str) -> None:
    _, card_id = await open_card(client)
    li = await advisors("li", "李营养师")
    status, body = await post_raw(li, f"/api/v1/console/cards/{card_id}/{action}", NESTED)
    assert (status, body.get("field")) == (400, "body")
    assert (await store.get_card(client.app[DATABASE], card_id)).status == "open"
    assert (await client.get("/healthz")).status == 200


@pytest.mark.parametrize(("action", "body", "field"), [
    ("answer", '{"text": "\\ud800"}', "text"),
    ("answer", '{"text": "\\udfff\\u0000"}', "text"),
    ("answer", '{"text": "好", "faq_id": "milk\\u0000"}', "faq_id"),
    ("answer", '{"text": "好", "faq_id": "\\ud800"}', "faq_id"),
    ("answer", '{"text": "好", "faq_id": "milk\\u202e"}', "faq_id"),
])
async def test_unstorable_characters_are_400_naming_the_field(client: TestClient, advisors, action: str, body: str,
                                                              field: str) -> None:
    _, card_id = await open_card(client)
    li = await advisors("li", "李营养师")
    status, answer = await post_raw(li, f"/api/v1/console/cards/{card_id}/{action}", body.encode())
    assert (status, answer.get("field")) == (400, field), answer
    assert (await store.get_card(client.app[DATABASE], card_id)).status == "open"


async def test_lone_surrogates_in_notes_and_featured_answers_are_dropped(client: TestClient, advisors) -> None:
    _, card_id = await open_card(client)
    li = await advisors("li", "李营养师")
    status, body = await post_raw(li, f"/api/v1/console/cards/{card_id}/escalate", '{"note": "请主管看\\ud800看"}'.encode())
    assert status == 200, body
    status, body = await post_raw(li, f"/api/v1/console/cards/{card_id}/feature", '{"answer": "双城\\udc00牧场"}'.encode())
    assert status == 200, body
    assert body["answer"] == "双城牧场"


async def test_oversized_body_is_413_and_changes_nothing(client: TestClient, advisors) -> None:
    _, card_id = await open_card(client)
    li = await advisors("li", "李营养师")
    status, _ = await post_raw(li, f"/api/v1/console/cards/{card_id}/answer",
                               orjson.dumps({"text": "长" * 600_000}))
    assert status == 413
    assert (await store.get_card(client.app[DATABASE], card_id)).status == "open"
    status, answer = await li.post(f"/api/v1/console/cards/{card_id}/answer", {"text": "奶源来自双城牧场。"})
    assert status == 200 and answer["card"]["status"] == "answered"


async def test_the_same_answer_twice_is_recorded_once(client: TestClient, advisors) -> None:
    _, card_id = await open_card(client)
    li = await advisors("li", "李营养师")
    first = await li.post(f"/api/v1/console/cards/{card_id}/answer", {"text": "奶源来自双城牧场。"})
    second = await li.post(f"/api/v1/console/cards/{card_id}/answer", {"text": "奶源来自双城牧场。"})
    assert first[0] == 200
    assert second[0] in (200, 409)
    async with client.app[DATABASE].sessions() as session:
        answers = await session.scalar(select(func.count()).select_from(ConsoleAudit).where(
            ConsoleAudit.card_id == card_id, ConsoleAudit.action == "answer"))
    assert answers == 1


@pytest.mark.parametrize("card", [2**63, 2**70, -1, "1; DROP TABLE question_cards", None, 1.5, True])
async def test_touch_with_an_absurd_card_id_keeps_the_socket_serving(client: TestClient, card: Any) -> None:
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    await login(client, "advisor")
    async with client.ws_connect(f"/ws/console/{session_id}") as ws:
        assert (await receive(ws))["type"] == "snapshot"
        await ws.send_str(json.dumps({"type": "touch", "card": card}))
        await ws.send_str(json.dumps({"type": "resync"}))
        frames = await receive_until(ws, lambda f: f["type"] == "snapshot")
        assert frames[-1]["session_id"] == session_id
    assert (await client.get("/healthz")).status == 200


async def test_binary_and_hostile_frames_are_ignored(client: TestClient) -> None:
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    await login(client, "advisor")
    async with client.ws_connect(f"/ws/console/{session_id}") as ws:
        await receive(ws)
        await ws.send_bytes(b"\x00\xff")
        for garbage in ("<script>alert(1)</script>", "'; DROP TABLE question_cards;--", "\u202e😀𠮷", "null",
                        '{"type": "\\ud800"}', '{"type": ' + "[" * 3000 + "]" * 3000 + "}"):
            await ws.send_str(garbage)
        await ask(app, session_id, "<b>几段</b>适合？😀", [MILK])
        frames = await receive_until(ws, lambda f: any(c["text"] == "<b>几段</b>适合？😀"
                                                       for r in f.get("ranges", ()) for c in r["cards"]))
        assert not ws.closed and frames[-1]["ranges"]


async def test_demo_robot_refuses_garbage_and_keeps_hostile_text_verbatim(database_url: str, app: web.Application,
                                                                           aiohttp_client: Any) -> None:
    add_robot(app)
    client = await aiohttp_client(app)
    for raw in (b"{not json", b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}", b"\xff\xfe"):
        resp = await client.post("/demo/robot", data=io.BytesIO(raw), headers={"Content-Type": "application/json"})
        assert resp.status == 200 and (await resp.json())["errcode"] == 40001
    hostile = {"msgtype": "text", "text": {"content": "<script>alert(1)</script>'; DROP TABLE x;-- 😀\u202e"}}
    for _ in range(2):
        assert (await (await client.post("/demo/robot", json=hostile)).json())["errcode"] == 0
    big = await client.post("/demo/robot", data=io.BytesIO(orjson.dumps({"text": "长" * 600_000})),
                            headers={"Content-Type": "application/json"})
    assert big.status == 413
    assert [m["body"] for m in client.app[ROBOT_LOG]] == [hostile, hostile]
