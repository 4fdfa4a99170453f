"""Answers: replies to group robots through the outbox, on-air answers, learning, featuring, audit."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from livebot.app import create_app
from livebot.appkeys import BUS, DATABASE
from livebot.console import store
from livebot.console.delivery import ReplyRoutes, backoff, deliver_due, mention_prefix
from livebot.console.models import ConsoleAudit, QuestionAsk, ReplyOutbox
from livebot.console.settings import ConsoleSettings
from livebot.console.state import CONSOLE
from livebot.errors import ConfigError
from livebot.faq.models import FaqDismissal, FaqEntryRow, FaqProposal
from livebot.storage.base import utcnow
from livebot.topics import OVERLAY_CONTROL
from tests.console.support import MILK, PROTEIN, STAGE, advisor, ask, make_session, wait_for_asks
from tests.fakes.wecom import FakeWecom
from tests.support import eventually

GROUP = "wecom-parents-1"


@pytest.fixture
async def wecom() -> Any:
    fake = await FakeWecom().start()
    yield fake
    await fake.close()


@pytest.fixture
async def robot_client(make_config, aiohttp_client, wecom) -> TestClient:
    return await aiohttp_client(create_app(make_config(replies=robots(wecom))))


def robots(wecom: FakeWecom) -> dict[str, Any]:
    return {"robots": [{"source": "test-hook", "channel": GROUP, "url": wecom.robot_url("parents")}]}


async def add_entry(client: TestClient, entry: dict[str, Any]) -> None:
    async with client.app[DATABASE].sessions() as session:
        session.add(FaqEntryRow(id=entry["id"], question=entry["question"], aliases=[], answer=entry["answer"], tags=[]))
        await session.commit()


async def audit_actions(client: TestClient, card_id: int) -> list[tuple[str, str]]:
    async with client.app[DATABASE].sessions() as session:
        rows = (await session.scalars(select(ConsoleAudit).where(ConsoleAudit.card_id == card_id).order_by(ConsoleAudit.id))).all()
    return [(row.action, row.actor) for row in rows]


async def test_answer_with_suggestion_two_reaches_the_group_robot(robot_client: TestClient, wecom) -> None:
    client = robot_client
    app = client.app
    await add_entry(client, STAGE)
    session_id, _ = await make_session(app[DATABASE])
    await ask(app, session_id, "宝宝6个月喝几段？", [MILK, STAGE, PROTEIN], platform="wecom", channel=GROUP, user="安安妈")
    await ask(app, session_id, "6个月宝宝用几段？", [MILK, STAGE], platform="wecom", channel=GROUP, user="乐乐妈")
    await ask(app, session_id, "六个月几段啊", [MILK, STAGE], platform="douyin", user="小雨妈妈")
    [card] = await wait_for_asks(app, session_id, 3)
    li = await advisor(client, "li", "李营养师")
    try:
        assert (await li.post(f"/api/v1/console/cards/{card.id}/claim"))[0] == 200
        edited = STAGE["answer"] + "如有疑问欢迎私信。"
        status, body = await li.post(f"/api/v1/console/cards/{card.id}/answer", {"text": edited, "suggestion": 2})
    finally:
        await li.http.close()
    assert status == 200, body
    assert body["card"]["status"] == "answered"
    assert body["mode"] == "mixed" and body["copy"] is True  # the douyin asker is answered on air
    await wecom.wait_for(lambda: len(wecom.robot_messages) == 1)
    content = wecom.robot_messages[0]["content"]
    assert content.startswith("@安安妈 @乐乐妈 ") and content.endswith(edited)
    await eventually(lambda: _reply_status(client, card.id, "sent"))
    async with app[DATABASE].sessions() as session:
        asks = (await session.scalars(select(QuestionAsk).where(QuestionAsk.card_id == card.id))).all()
        proposals = (await session.scalars(select(FaqProposal))).all()
    assert len(asks) == 3
    assert all(a.first_answer_at is not None and a.first_answer_at >= a.asked_at for a in asks)
    assert {a.answered_by for a in asks} == {"li"} and {a.faq_id for a in asks} == {"stage-choice"}
    assert {p.entry_id for p in proposals} == {"stage-choice"} and len(proposals) == 3
    actions = await audit_actions(client, card.id)
    assert ("claim", "li") in actions and ("answer", "li") in actions and ("edit", "li") in actions
    assert ("reply_sent", "system") in actions


async def _reply_status(client: TestClient, card_id: int, status: str) -> bool:
    return (await store.get_card(client.app[DATABASE], card_id)).reply_status == status


async def test_failed_replies_are_retried_with_backoff_then_shown(robot_client: TestClient, wecom) -> None:
    client = robot_client
    app, db = client.app, client.app[DATABASE]
    routes: ReplyRoutes = app[CONSOLE].routes
    session_id, _ = await make_session(db)
    await ask(app, session_id, "奶源是哪里的？", [MILK], platform="wecom", channel=GROUP)
    [card] = await wait_for_asks(app, session_id, 1)
    wecom.fail_next("/cgi-bin/webhook/send", 0, times=100, status=500)
    actor = store.Actor("li", "李营养师")
    await store.answer(db, card.id, actor, MILK["answer"], None, 0, app[CONSOLE].claim_timeout, routes.resolve)
    await eventually(lambda: _reply_status(client, card.id, "retrying"))
    [row] = await store.outbox_rows(db, card.id)
    assert row.attempts == 1 and "HTTP 500" in row.last_error and "key=" not in row.last_error and row.next_try > utcnow()
    assert (await store.get_card(db, card.id)).reply_error == row.last_error
    future = utcnow()
    for _ in range(10):
        future += timedelta(minutes=10)
        await deliver_due(db, routes, max_attempts=3, now=future)
    [row] = await store.outbox_rows(db, card.id)
    assert row.status == "failed" and row.attempts == 3
    assert (await store.get_card(db, card.id)).reply_status == "failed"
    wecom.failures.clear()
    li = await advisor(client, "li", "李营养师")
    try:
        status, body = await li.post(f"/api/v1/console/cards/{card.id}/retry")
        assert status == 200 and body["card"]["reply_status"] == "pending"
        await wecom.wait_for(lambda: len(wecom.robot_messages) == 1)
        await eventually(lambda: _reply_status(client, card.id, "sent"))
        status, body = await li.post(f"/api/v1/console/cards/{card.id}/retry")
        assert (status, body["field"]) == (400, "card")
    finally:
        await li.http.close()


async def test_a_pending_reply_survives_a_restart(make_config, aiohttp_client, wecom) -> None:
    config = make_config(replies=robots(wecom))
    first = await aiohttp_client(create_app(config))
    app, db = first.app, first.app[DATABASE]
    session_id, _ = await make_session(db)
    await ask(app, session_id, "奶源是哪里的？", [MILK], platform="wecom", channel=GROUP)
    [card] = await wait_for_asks(app, session_id, 1)
    wecom.fail_next("/cgi-bin/webhook/send", 0, times=1, status=503)
    await store.answer(db, card.id, store.Actor("li", "李营养师"), "来自双城牧场", None, None,
                       app[CONSOLE].claim_timeout, app[CONSOLE].routes.resolve)
    await eventually(lambda: _reply_status(first, card.id, "retrying"))
    await first.close()
    async with db_engine(config) as later_db:
        async with later_db.sessions() as session:
            row = await session.scalar(select(ReplyOutbox))
            row.next_try = utcnow() - timedelta(seconds=1)
            await session.commit()
    second = await aiohttp_client(create_app(config))
    await wecom.wait_for(lambda: len(wecom.robot_messages) == 1)
    await eventually(lambda: _reply_status(second, card.id, "sent"))


def db_engine(config: Any) -> Any:
    from contextlib import asynccontextmanager

    from livebot.storage.engine import Database

    @asynccontextmanager
    async def opened() -> Any:
        db = Database.open(config.database.url)
        try:
            yield db
        finally:
            await db.close()

    return opened()


async def test_live_platform_questions_are_answered_on_air(client: TestClient, advisors) -> None:
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    await ask(app, session_id, "奶源是哪里的？", [MILK], platform="kuaishou")
    [card] = await wait_for_asks(app, session_id, 1)
    li = await advisors("li", "李营养师")
    status, body = await li.post(f"/api/v1/console/cards/{card.id}/answer", {"text": MILK["answer"], "suggestion": 1})
    assert status == 200
    assert body["mode"] == "on_air" and body["copy"] is True and body["card"]["reply_status"] == "on_air"
    assert await store.outbox_rows(app[DATABASE], card.id) == []
    status, body = await li.post(f"/api/v1/console/cards/{card.id}/answer", {"text": "再答一次"})
    assert (status, body) == (409, {"error": "已由 李营养师 回答"})


@pytest.mark.parametrize("body, field", [
    ({"text": ""}, "text"), ({"text": "   \u200b "}, "text"), ({"text": "长" * 2001}, "text"), ({"text": 5}, "text"),
    ({"text": "好", "suggestion": 4}, "suggestion"), ({"text": "好", "suggestion": "2"}, "suggestion"),
    ({"text": "好", "suggestion": True}, "suggestion"), ({"text": "好", "faq_id": ["x"]}, "faq_id"),
])
async def test_answer_input_is_checked(client: TestClient, advisors, body: dict[str, Any], field: str) -> None:
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    await ask(app, session_id, "奶源是哪里的？", [MILK])
    [card] = await wait_for_asks(app, session_id, 1)
    li = await advisors("li", "李营养师")
    status, answer = await li.post(f"/api/v1/console/cards/{card.id}/answer", body)
    assert (status, answer.get("field")) == (400, field)
    assert (await store.get_card(app[DATABASE], card.id)).status == "open"


async def test_answer_body_must_be_a_json_object(client: TestClient, advisors) -> None:
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    await ask(app, session_id, "奶源是哪里的？", [MILK])
    [card] = await wait_for_asks(app, session_id, 1)
    li = await advisors("li", "李营养师")
    for raw in (b"{not json", b"[1,2]", b"\xff\xfe"):
        async with li.http.post(client.make_url(f"/api/v1/console/cards/{card.id}/answer"), data=raw,
                                headers={"X-CSRF-Token": li.csrf, "Content-Type": "application/json"}) as resp:
            assert resp.status == 400 and (await resp.json())["field"] == "body"


async def test_hostile_answer_text_is_kept_as_text(client: TestClient, advisors) -> None:
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    await ask(app, session_id, "奶源是哪里的？", [MILK])
    [card] = await wait_for_asks(app, session_id, 1)
    li = await advisors("li", "李营养师")
    text = "<script>alert(1)</script> 奶源🐄\u202e来自牧场"
    status, body = await li.post(f"/api/v1/console/cards/{card.id}/answer", {"text": text})
    assert status == 200 and body["card"]["answer_text"] == "<script>alert(1)</script> 奶源🐄来自牧场"


async def test_dismiss_teaches_the_faq_stage(client: TestClient, advisors) -> None:
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    await ask(app, session_id, "哈哈哈主播好可爱？")
    [card] = await wait_for_asks(app, session_id, 1)
    li = await advisors("li", "李营养师")
    status, body = await li.post(f"/api/v1/console/cards/{card.id}/dismiss")
    assert status == 200 and body["card"]["status"] == "dismissed"
    async with app[DATABASE].sessions() as session:
        dismissals = (await session.scalars(select(FaqDismissal))).all()
        asks = (await session.scalars(select(QuestionAsk))).all()
    assert [d.text for d in dismissals] == ["哈哈哈主播好可爱？"]
    assert [a.status for a in asks] == ["dismissed"]
    assert ("dismiss", "li") in await audit_actions(client, card.id)


async def test_feature_and_clear_drive_the_overlay(client: TestClient, advisors) -> None:
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    controls: list[dict[str, Any]] = []

    async def record(message: dict[str, Any]) -> None:
        controls.append(message)

    app[BUS].subscribe(OVERLAY_CONTROL, record, name="test-overlay")
    await ask(app, session_id, "奶源是哪里的？", [MILK], platform="bilibili", user="豆豆爸")
    await ask(app, session_id, "蛋白质含量多少？", [PROTEIN])
    first, second = sorted(await wait_for_asks(app, session_id, 2), key=lambda c: c.id)
    li = await advisors("li", "李营养师")
    status, body = await li.post(f"/api/v1/console/cards/{first.id}/feature")
    assert status == 200 and body["card"]["featured"] is True
    await eventually(lambda: _has(controls, 1))
    assert controls[0] == {"session_id": session_id, "type": "featured", "question": "奶源是哪里的？",
                           "answer": MILK["answer"], "asker": "豆豆爸", "platform": "bilibili", "by": "李营养师"}
    await li.post(f"/api/v1/console/cards/{second.id}/feature", {"answer": "每 100 克 11.2 克"})
    featured = (await li.get(f"/api/v1/sessions/{session_id}/featured"))[1]["card"]
    assert featured["id"] == second.id
    assert not (await store.get_card(app[DATABASE], first.id)).featured
    producer = await advisors("wang", "王导播", role="producer")
    status, body = await producer.post(f"/api/v1/sessions/{session_id}/featured/clear")
    assert (status, body) == (200, {"cleared": [second.id]})
    await eventually(lambda: _has(controls, 3))
    assert controls[-1] == {"session_id": session_id, "type": "featured_clear", "by": "王导播"}
    marketing = await advisors("chen", "陈市场", role="marketing")
    assert (await marketing.post(f"/api/v1/sessions/{session_id}/featured/clear"))[0] == 403


async def _has(items: list[Any], count: int) -> bool:
    await asyncio.sleep(0)
    return len(items) >= count


async def test_feature_needs_an_answer(client: TestClient, advisors) -> None:
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    await ask(app, session_id, "你们直播几点结束？")
    [card] = await wait_for_asks(app, session_id, 1)
    li = await advisors("li", "李营养师")
    status, body = await li.post(f"/api/v1/console/cards/{card.id}/feature")
    assert (status, body["field"]) == (400, "answer")


async def test_audit_endpoint_reports_first_response_time(client: TestClient, advisors) -> None:
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    await ask(app, session_id, "奶源是哪里的？", [MILK], ts=utcnow() - timedelta(seconds=42))
    [card] = await wait_for_asks(app, session_id, 1)
    li = await advisors("li", "李营养师")
    await li.post(f"/api/v1/console/cards/{card.id}/answer", {"text": "双城牧场"})
    status, body = await li.get(f"/api/v1/console/cards/{card.id}/audit")
    assert status == 200
    assert [a["action"] for a in body["audit"]] == ["answer"]
    [one] = body["asks"]
    assert 42 <= one["first_response_seconds"] < 60


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="console.claim_timeout_seconds"):
        ConsoleSettings(claim_timeout_seconds=1)
    with pytest.raises(ConfigError, match="console.reply_poll_seconds"):
        ConsoleSettings(reply_poll_seconds=0)


def test_config_errors_name_the_key(make_config) -> None:
    with pytest.raises(ConfigError, match="console.frame_interval_ms"):
        make_config(console={"frame_interval_ms": "fast"}).section("console", ConsoleSettings)
    with pytest.raises(ConfigError, match="console.robots"):
        make_config(console={"robots": []}).section("console", ConsoleSettings)


def test_mentions_and_backoff() -> None:
    assert mention_prefix(["a", "b", "a"]) == "@a @b "
    assert mention_prefix([f"u{i}" for i in range(7)]).endswith("等 7 位家长 ")
    assert timedelta(seconds=1.5) <= backoff(1) <= timedelta(seconds=2.5)
    assert backoff(30) <= timedelta(seconds=360)


async def test_a_refused_reply_fails_at_once_and_says_why(make_config, aiohttp_client, wecom) -> None:
    bad_key = f"{wecom.api_base}/cgi-bin/webhook/send?key=not-registered"
    client = await aiohttp_client(create_app(make_config(
        replies={"robots": [{"source": "test-hook", "channel": GROUP, "url": bad_key}]})))
    app, db = client.app, client.app[DATABASE]
    session_id, _ = await make_session(db)
    await ask(app, session_id, "奶源是哪里的？", [MILK], platform="wecom", channel=GROUP)
    [card] = await wait_for_asks(app, session_id, 1)
    await store.answer(db, card.id, store.Actor("li", "李营养师"), "双城牧场", None, None,
                       app[CONSOLE].claim_timeout, app[CONSOLE].routes.resolve)
    app[CONSOLE].outbox_wake.set()
    await eventually(lambda: _reply_status(client, card.id, "failed"))
    [row] = await store.outbox_rows(db, card.id)
    assert row.attempts == 1 and "93000" in row.last_error and "not-registered" not in row.last_error


def test_example_config_console_section(monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    from livebot.config import load_config

    monkeypatch.setenv("LIVEBOT_SESSION_SECRET", "s")
    monkeypatch.setenv("LIVEBOT_RELAY_SECRET", "r")
    config = load_config(Path(__file__).resolve().parents[2] / "config.example.toml")
    settings = config.section("console", ConsoleSettings)
    assert settings.claim_timeout_seconds == 300 and "过敏" in settings.complaint_words
