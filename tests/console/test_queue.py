"""Questions become cards: grouping, flags, hostile text, duplicates, the sequence."""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from livebot.appkeys import BUS, DATABASE
from livebot.console.cards import group_key, normalised_text
from livebot.console.models import QuestionAsk
from livebot.storage.base import utcnow
from livebot.topics import CHAT_ENRICHED
from tests.console.support import ALLERGY, MILK, PROTEIN, STAGE, ask, cards_of, enriched, make_session, store_event, wait_for_asks
from tests.support import login


async def test_question_becomes_a_card_with_suggestions(client: TestClient) -> None:
    session_id, site_id = await make_session(client.app[DATABASE])
    await ask(client.app, session_id, "奶源是哪里的？", [MILK, STAGE], site_id=site_id)
    [card] = await wait_for_asks(client.app, session_id, 1)
    assert card.status == "open"
    assert card.text == "奶源是哪里的？"
    assert [s["id"] for s in card.suggestions] == ["milk-source-location", "stage-choice"]
    assert card.group_key == "faq:milk-source-location"
    assert card.platforms == ["douyin"] and card.site_ids == [site_id]
    assert card.version >= 1


async def test_chatter_and_hidden_messages_stay_out(client: TestClient) -> None:
    session_id, _ = await make_session(client.app[DATABASE])
    await ask(client.app, session_id, "主播好漂亮", is_question=False)
    await ask(client.app, session_id, "加我微信领券？", [MILK], hidden=True)
    await ask(client.app, session_id, "几段适合六个月宝宝？", [STAGE])
    cards = await wait_for_asks(client.app, session_id, 1)
    await client.app[BUS].drained()
    assert [c.text for c in await cards_of(client.app, session_id)] == ["几段适合六个月宝宝？"]
    assert len(cards) == 1


async def test_same_top_suggestion_groups_across_platforms(client: TestClient) -> None:
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    await ask(app, session_id, "奶源是哪里的？", [MILK], platform="douyin", user="小雨妈妈")
    await ask(app, session_id, "你们的奶源在哪", [MILK], platform="kuaishou", user="豆豆爸")
    await ask(app, session_id, "奶源来自哪个牧场？", [MILK], platform="wecom", user="安安妈", channel="wecom-parents-1")
    [card] = await wait_for_asks(app, session_id, 3)
    assert card.ask_count == 3
    assert set(card.platforms) == {"douyin", "kuaishou", "wecom"}
    assert [a["user"] for a in card.askers] == ["安安妈", "豆豆爸", "小雨妈妈"]
    assert card.group_reason == "推荐答案相同：奶源来自哪里？"


async def test_same_text_without_suggestions_groups_and_different_text_does_not(client: TestClient) -> None:
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    await ask(app, session_id, "今天有优惠吗？")
    await ask(app, session_id, "今天有优惠吗", platform="bilibili")
    await ask(app, session_id, "今天 有 优惠 吗 ？？", platform="taobao")
    await ask(app, session_id, "什么时候发货？")
    cards = await wait_for_asks(app, session_id, 4)
    counts = sorted((c.text, c.ask_count) for c in cards)
    assert counts == sorted([("今天有优惠吗？", 3), ("什么时候发货？", 1)])
    grouped = next(c for c in cards if c.ask_count == 3)
    assert grouped.group_reason.startswith("问题文字相同：")


async def test_asks_outside_the_window_start_a_new_card(make_config, aiohttp_client) -> None:
    from livebot.app import create_app

    client = await aiohttp_client(create_app(make_config(console={"group_window_seconds": 60})))
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    await ask(app, session_id, "奶源是哪里的？", [MILK], ts=utcnow() - timedelta(minutes=10))
    await wait_for_asks(app, session_id, 1)
    await ask(app, session_id, "奶源在哪里？", [MILK])
    cards = await wait_for_asks(app, session_id, 2)
    assert sorted(c.ask_count for c in cards) == [1, 1]


async def test_a_repeated_event_is_one_ask(client: TestClient) -> None:
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    row = await store_event(app[DATABASE], session_id, "奶源是哪里的？")
    for _ in range(3):
        await app[BUS].publish(CHAT_ENRICHED, enriched(row, [MILK]))
    await wait_for_asks(app, session_id, 1)
    await ask(app, session_id, "奶源在哪里？", [MILK])
    [card] = await wait_for_asks(app, session_id, 2)
    assert card.ask_count == 2
    async with app[DATABASE].sessions() as session:
        asks = (await session.scalars(select(QuestionAsk).where(QuestionAsk.event_id == row.id))).all()
    assert len(asks) == 1


async def test_complaints_and_needs_human_are_escalated(client: TestClient) -> None:
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    await ask(app, session_id, "喝了你们的奶粉宝宝拉肚子，我要投诉！")
    await ask(app, session_id, "宝宝喝了起红疹怎么办？", [ALLERGY])
    cards = await wait_for_asks(app, session_id, 2)
    by_text = {c.text: c for c in cards}
    complaint = by_text["喝了你们的奶粉宝宝拉肚子，我要投诉！"]
    assert complaint.status == "escalated" and complaint.complaint and complaint.escalated_by == "system"
    allergy = by_text["宝宝喝了起红疹怎么办？"]
    assert allergy.status == "escalated" and allergy.needs_human


async def test_hostile_text_is_stored_verbatim_but_cleaned_of_controls(client: TestClient) -> None:
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    await ask(app, session_id, '<img src=x onerror="alert(1)">奶源？', user="<b>黑客</b>")
    await ask(app, session_id, "奶源\u202e是哪里\x07的？🍼👶🏻", platform="kuaishou")
    await ask(app, session_id, "'; DROP TABLE question_cards; -- 奶源呢？", platform="bilibili")
    await ask(app, session_id, "长" * 5000 + "？", platform="taobao")
    cards = await wait_for_asks(app, session_id, 4)
    texts = {c.text for c in cards}
    assert '<img src=x onerror="alert(1)">奶源？' in texts
    assert "奶源是哪里的？🍼👶🏻" in texts
    assert "'; DROP TABLE question_cards; -- 奶源呢？" in texts
    assert max(len(t) for t in texts) == 500
    hostile = next(c for c in cards if c.text.startswith("<img"))
    assert hostile.askers[0]["user"] == "<b>黑客</b>"


async def test_malformed_enriched_messages_are_ignored(client: TestClient) -> None:
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    row = await store_event(app[DATABASE], session_id, "奶源？")
    bad = [
        {"pk": "1", "enrichment": {"is_question": True}, "text": "x"},
        {"pk": row.id, "enrichment": "yes", "text": "x"},
        {"pk": row.id, "enrichment": {"is_question": True, "suggestions": "nope"}, "text": "", "session_id": session_id},
        {"pk": 10**12, "enrichment": {"is_question": True}, "text": "不存在的事件", "session_id": session_id},
    ]
    for message in bad:
        await app[BUS].publish(CHAT_ENRICHED, message)
    good = enriched(row, [{"id": 42}, {"score": "high"}, "str", MILK])
    await app[BUS].publish(CHAT_ENRICHED, good)
    [card] = await wait_for_asks(app, session_id, 1)
    assert [s["id"] for s in card.suggestions] == ["42"]


async def test_sequence_has_no_gaps_and_follows_changes(client: TestClient) -> None:
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    seen: list[int] = []

    async def record(message: dict) -> None:
        seen.append(message["seq"])

    app[BUS].subscribe(f"console.{session_id}", record, name="test")
    csrf = await login(client, "advisor")
    for text in ("奶源是哪里的？", "几段适合？", "有优惠吗？"):
        await ask(app, session_id, text)
        await wait_for_asks(app, session_id, len(seen) + 1)
    cards = await cards_of(app, session_id)
    for card in cards:
        resp = await client.post(f"/api/v1/console/cards/{card.id}/claim", headers={"X-CSRF-Token": csrf})
        assert resp.status == 200
    await app[BUS].drained()
    assert seen == list(range(1, len(seen) + 1))
    assert len(seen) >= 6


def test_group_keys_explain_themselves() -> None:
    assert group_key("奶源？", [MILK]).key == "faq:milk-source-location"
    assert normalised_text("ＡＢＣ 奶源在哪里呀？？") == normalised_text("abc奶源在哪里")
    assert group_key("奶源在哪里呀", []).key == group_key("奶源在哪里？", []).key
    assert group_key("奶源在哪里", []).key != group_key("工厂在哪里", []).key


def test_only_a_confident_top_suggestion_merges_different_wordings() -> None:
    shaky = {**PROTEIN, "score": 0.42}
    assert group_key("蛋白多少", [shaky]).key != group_key("宝宝长得慢是不是蛋白不够", [shaky]).key
    assert group_key("蛋白多少", [shaky]).key == group_key("蛋白多少？", [shaky]).key
    assert group_key("蛋白多少", [{**shaky, "score": "oops"}]).key.startswith("text:")
    assert group_key("奶源？", [{**MILK, "score": 0.5}]).key == "faq:milk-source-location"


async def test_questions_missed_while_stopped_are_queued_on_start(make_config, aiohttp_client) -> None:
    from livebot.app import create_app
    from livebot.storage.engine import Database

    config = make_config()
    db = Database.open(config.database.url)
    try:
        session_id, _ = await make_session(db)
        row = await store_event(db, session_id, "奶源是哪里的？")
        chatter = await store_event(db, session_id, "主播好", is_question=False)
        async with db.sessions() as session:
            for event, payload in ((row, enriched(row, [MILK])), (chatter, enriched(chatter, [], False))):
                stored = await session.get(type(event), event.id)
                stored.enrichment = payload["enrichment"]
            await session.commit()
    finally:
        await db.close()
    client = await aiohttp_client(create_app(config))
    [card] = await wait_for_asks(client.app, session_id, 1)
    assert card.text == "奶源是哪里的？" and card.faq_id == "milk-source-location"


async def test_the_queue_api_names_sites_and_segments(client: TestClient) -> None:
    from livebot.schedule.models import Segment

    app = client.app
    session_id, site_id = await make_session(app[DATABASE])
    async with app[DATABASE].sessions() as session:
        segment = Segment(session_id=session_id, position=1, title="牧场挤奶与冷却", offset_s=0, duration_s=900)
        session.add(segment)
        await session.commit()
    await ask(app, session_id, "挤完奶多久冷却？", site_id=site_id, segment_id=segment.id)
    await wait_for_asks(app, session_id, 1)
    await login(client, "advisor")
    body = await (await client.get(f"/api/v1/console/sessions/{session_id}/queue")).json()
    [card] = body["cards"]
    assert card["sites"] == ["北京演播厅"] and card["segment"] == "牧场挤奶与冷却"
    assert body["seq"] == card["version"]


async def test_questions_the_bus_dropped_reach_the_queue_from_the_database(make_config, aiohttp_client,
                                                                          monkeypatch) -> None:
    from livebot.app import create_app

    monkeypatch.setattr("livebot.console.setup.INTAKE_QUEUE", 5)
    client = await aiohttp_client(create_app(make_config()))
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    rows = [await store_event(app[DATABASE], session_id, f"第{n}个问题：奶源在哪里？") for n in range(40)]
    await app[BUS].publish_many(CHAT_ENRICHED, [enriched(row, []) for row in rows])
    await wait_for_asks(app, session_id, 40)
    await app[BUS].drained()
    cards = await cards_of(app, session_id)
    assert sorted(c.text for c in cards) == sorted(row.text for row in rows)  # each once, none twice
