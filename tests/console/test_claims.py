"""Claims: one winner among simultaneous clicks, 409 naming the holder, expiry, release, seniors."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from livebot.app import create_app
from livebot.appkeys import DATABASE
from livebot.console import store
from livebot.console.models import ConsoleAudit
from livebot.console.state import CONSOLE
from livebot.storage.base import utcnow
from tests.console.support import MILK, advisor, ask, make_session, wait_for_asks


async def one_card(client: TestClient, text: str = "奶源是哪里的？") -> int:
    session_id, _ = await make_session(client.app[DATABASE])
    await ask(client.app, session_id, text, [MILK])
    [card] = await wait_for_asks(client.app, session_id, 1)
    return card.id


async def test_two_advisors_click_together_exactly_one_wins(client: TestClient, advisors) -> None:
    card_id = await one_card(client)
    li, zhang = await advisors("li", "李营养师"), await advisors("zhang", "张营养师")
    path = f"/api/v1/console/cards/{card_id}/claim"
    results = await asyncio.gather(li.post(path), zhang.post(path))
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 409]
    winner, body = next((p, b) for p, (s, b) in zip((li, zhang), results, strict=True) if s == 200)
    loser_body = next(b for s, b in results if s == 409)
    display = "李营养师" if winner is li else "张营养师"
    assert loser_body == {"error": f"已被 {display} 认领"}
    assert body["card"]["status"] == "claimed" and body["card"]["claimed_by"] == winner.username


async def test_many_simultaneous_claims_one_winner(client: TestClient, advisors) -> None:
    card_id = await one_card(client)
    people = [await advisors(f"a{i}", f"顾问{i}") for i in range(6)]
    results = await asyncio.gather(*(p.post(f"/api/v1/console/cards/{card_id}/claim") for p in people))
    assert sorted(s for s, _ in results).count(200) == 1
    async with client.app[DATABASE].sessions() as session:
        claims = (await session.scalars(select(ConsoleAudit).where(ConsoleAudit.action == "claim"))).all()
    assert len(claims) == 1


async def test_claiming_again_is_fine_and_others_cannot_answer(client: TestClient, advisors) -> None:
    card_id = await one_card(client)
    li, zhang = await advisors("li", "李营养师"), await advisors("zhang", "张营养师")
    assert (await li.post(f"/api/v1/console/cards/{card_id}/claim"))[0] == 200
    assert (await li.post(f"/api/v1/console/cards/{card_id}/claim"))[0] == 200
    status, body = await zhang.post(f"/api/v1/console/cards/{card_id}/answer", {"text": "我来回答"})
    assert (status, body) == (409, {"error": "已被 李营养师 认领"})
    status, body = await zhang.post(f"/api/v1/console/cards/{card_id}/dismiss")
    assert status == 409


async def test_idle_claims_expire(client: TestClient) -> None:
    card_id = await one_card(client)
    db, state = client.app[DATABASE], client.app[CONSOLE]
    li = store.Actor("li", "李营养师")
    zhang = store.Actor("zhang", "张营养师")
    start = utcnow()
    await store.claim(db, card_id, li, state.claim_timeout, now=start)
    later = start + state.claim_timeout + timedelta(seconds=1)
    assert await store.expire_claims(db, state.claim_timeout, now=start + timedelta(seconds=5)) == []
    [change] = await store.expire_claims(db, state.claim_timeout, now=later)
    assert change.cards[0].status == "open" and change.cards[0].claimed_by is None
    claimed = await store.claim(db, card_id, zhang, state.claim_timeout, now=later)
    assert claimed.cards[0].claimed_by == "zhang"


async def test_an_expired_claim_can_be_taken_over_before_the_sweep(client: TestClient) -> None:
    card_id = await one_card(client)
    db, state = client.app[DATABASE], client.app[CONSOLE]
    start = utcnow()
    await store.claim(db, card_id, store.Actor("li", "李营养师"), state.claim_timeout, now=start)
    change = await store.claim(db, card_id, store.Actor("zhang", "张营养师"), state.claim_timeout,
                               now=start + state.claim_timeout + timedelta(seconds=1))
    assert change.cards[0].claimed_by == "zhang"


async def test_touch_keeps_a_claim_alive(client: TestClient) -> None:
    card_id = await one_card(client)
    db, state = client.app[DATABASE], client.app[CONSOLE]
    li = store.Actor("li", "李营养师")
    start = utcnow()
    await store.claim(db, card_id, li, state.claim_timeout, now=start)
    assert await store.touch(db, card_id, li, now=start + state.claim_timeout - timedelta(seconds=1))
    assert await store.expire_claims(db, state.claim_timeout, now=start + state.claim_timeout + timedelta(seconds=1)) == []
    assert not await store.touch(db, card_id, store.Actor("zhang", "张营养师"))


async def test_release_by_holder_or_admin_only(client: TestClient, advisors) -> None:
    card_id = await one_card(client)
    li, zhang = await advisors("li", "李营养师"), await advisors("zhang", "张营养师")
    boss = await advisors("boss", "管理员", role="admin")
    await li.post(f"/api/v1/console/cards/{card_id}/claim")
    assert (await zhang.post(f"/api/v1/console/cards/{card_id}/release"))[0] == 409
    status, body = await boss.post(f"/api/v1/console/cards/{card_id}/release")
    assert status == 200 and body["card"]["status"] == "open"
    assert (await zhang.post(f"/api/v1/console/cards/{card_id}/claim"))[0] == 200


async def test_escalated_cards_wait_for_seniors(make_config, aiohttp_client) -> None:
    client = await aiohttp_client(create_app(make_config(console={"senior_advisors": ["wang"]})))
    session_id, _ = await make_session(client.app[DATABASE])
    await ask(client.app, session_id, "宝宝过敏了，我要投诉")
    [card] = await wait_for_asks(client.app, session_id, 1)
    assert card.status == "escalated"
    li, wang = await advisor(client, "li", "李营养师"), await advisor(client, "wang", "王主任")
    try:
        status, body = await li.post(f"/api/v1/console/cards/{card.id}/claim")
        assert (status, body) == (409, {"error": "该问题已升级，请资深顾问处理"})
        status, body = await wang.post(f"/api/v1/console/cards/{card.id}/claim")
        assert status == 200 and body["card"]["escalated"] is True
        status, body = await wang.post(f"/api/v1/console/cards/{card.id}/release")
        assert body["card"]["status"] == "escalated"
    finally:
        await li.http.close()
        await wang.http.close()


async def test_escalate_by_hand(client: TestClient, advisors) -> None:
    card_id = await one_card(client, "你们工厂的食品许可证号是多少")
    li = await advisors("li", "李营养师")
    status, body = await li.post(f"/api/v1/console/cards/{card_id}/escalate", {"note": "<b>需要法务确认</b>"})
    assert status == 200
    assert body["card"]["status"] == "escalated" and body["card"]["escalate_note"] == "<b>需要法务确认</b>"
    status, body = await li.post(f"/api/v1/console/cards/{card_id}/escalate", {"note": "x" * 201})
    assert (status, body["field"]) == (400, "note")


async def test_unknown_card_and_bad_ids(client: TestClient, advisors) -> None:
    li = await advisors("li", "李营养师")
    assert (await li.post("/api/v1/console/cards/999999/claim")) == (404, {"error": "找不到这个问题"})
    status, body = await li.post("/api/v1/console/cards/abc/claim")
    assert status == 400 and body["field"] == "card_id"
    status, _ = await li.post(f"/api/v1/console/cards/{2**63}/claim")
    assert status == 400


async def test_only_advisors_may_claim(client: TestClient, advisors) -> None:
    card_id = await one_card(client)
    market = await advisors("chen", "陈市场", role="marketing")
    producer = await advisors("wang", "王导播", role="producer")
    assert (await market.post(f"/api/v1/console/cards/{card_id}/claim"))[0] == 403
    assert (await producer.post(f"/api/v1/console/cards/{card_id}/claim"))[0] == 403
    resp = await client.post(f"/api/v1/console/cards/{card_id}/claim")
    assert resp.status == 401


async def test_claim_without_csrf_is_refused(client: TestClient, advisors) -> None:
    card_id = await one_card(client)
    li = await advisors("li", "李营养师")
    async with li.http.post(client.make_url(f"/api/v1/console/cards/{card_id}/claim"), json={}) as resp:
        assert resp.status == 403



async def test_a_claim_on_a_card_that_changed_since_it_was_rendered_is_refused(client: TestClient, advisors) -> None:
    session_id, _ = await make_session(client.app[DATABASE])
    await ask(client.app, session_id, "奶源是哪里的？", [MILK])
    [card] = await wait_for_asks(client.app, session_id, 1)
    li = await advisors("li", "李营养师")
    rendered = card.version
    await ask(client.app, session_id, "奶源是哪里的？", [MILK])  # a second viewer asks: the card changes
    [changed] = await wait_for_asks(client.app, session_id, 2)
    assert changed.id == card.id and changed.version != rendered
    path = f"/api/v1/console/cards/{card.id}/claim"
    status, refused = await li.post(path, {"version": rendered})
    assert status == 409 and "刚有变化" in refused["error"]
    for bad in ("1", True, -1, 2**70, [1], {"v": 1}):
        status, body = await li.post(path, {"version": bad})
        assert (status, body.get("field")) == (400, "version"), bad
    status, claimed = await li.post(path, {"version": changed.version})
    assert status == 200 and claimed["card"]["claimed_by"] == "li"
