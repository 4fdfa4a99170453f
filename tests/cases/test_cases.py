"""Follow-up cases: opened from cards (and by themselves for escalations), moved with history, overdue, batch alerts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import update

from livebot.appkeys import DATABASE
from livebot.cases.categories import guess_category
from livebot.cases.models import FollowupCase
from livebot.storage.base import utcnow
from tests.console.support import ALLERGY, MILK, ask, make_session, wait_for_asks
from tests.support import bearer, eventually
from tests.trace.support import CHAIN_LOT, EPCIS


async def card_for(client: TestClient, text: str, suggestions: list[dict[str, Any]] | None = None) -> int:
    session_id, _ = await make_session(client.app[DATABASE])
    await ask(client.app, session_id, text, suggestions if suggestions is not None else [MILK])
    [card] = await wait_for_asks(client.app, session_id, 1)
    return card.id


async def seed_chain(client: TestClient) -> str:
    """The fixture dairy chain, imported through the trace API; returns its lot."""
    resp = await client.post("/api/v1/trace/epcis", data=(EPCIS / "dairy_chain.jsonld").read_bytes(),
                             headers=await bearer(client, "trace"))
    assert resp.status == 201
    return CHAIN_LOT


async def make_overdue(client: TestClient, case_id: int) -> None:
    async with client.app[DATABASE].sessions() as session:
        await session.execute(update(FollowupCase).where(FollowupCase.id == case_id).values(due_at=utcnow() - timedelta(minutes=1)))
        await session.commit()


@pytest.mark.parametrize(("text", "category"), [
    ("宝宝喝了起红疹子怎么办", "adverse"), ("罐子里有异物", "food_safety"), ("这罐是不是假货，防伪码扫不出", "counterfeit"),
    ("收到的罐子凹陷了还漏粉", "damaged"), ("我要投诉你们客服", "complaint"), ("奶源在哪里", "other"),
])
def test_categories_from_words(text: str, category: str) -> None:
    assert guess_category(text) == category


async def test_open_from_card_then_another_advisor_moves_it_with_history(client: TestClient, advisors) -> None:
    card_id = await card_for(client, "宝宝换了奶粉以后有点便秘")
    li, zhang = await advisors("li", "李营养师"), await advisors("zhang", "张营养师")
    status, body = await li.post("/api/v1/cases", {"card_id": card_id})
    assert status == 201, body
    case = body["case"]
    assert (case["category"], case["status"], case["category_label"]) == ("adverse", "open", "过敏/不良反应")
    assert case["messages"][0]["text"] == "宝宝换了奶粉以后有点便秘" and case["viewers"][0]["platform"] == "douyin"
    assert case["due_at"] > (utcnow() + timedelta(hours=3)).isoformat() and not case["overdue"]  # adverse: 4 hours
    again_status, again = await zhang.post("/api/v1/cases", {"card_id": card_id})
    assert again_status == 200 and again["case"]["id"] == case["id"]  # one case per card

    status, listed = await zhang.get("/api/v1/cases")
    assert status == 200 and [c["id"] for c in listed["cases"]] == [case["id"]]
    status, moved = await zhang.post(f"/api/v1/cases/{case['id']}/status", {"status": "contacted", "note": "已私信家长"})
    assert status == 200 and moved["case"]["status"] == "contacted" and moved["case"]["owner"] == "zhang"
    status, stale = await li.post(f"/api/v1/cases/{case['id']}/status", {"status": "resolved", "version": case["version"]})
    assert status == 409 and "已被他人更新" in stale["error"]
    status, wrong = await li.post(f"/api/v1/cases/{case['id']}/status", {"status": "open"})
    assert status == 409 and "不能改为" in wrong["error"]
    status, done = await li.post(f"/api/v1/cases/{case['id']}/status", {"status": "resolved"})
    assert status == 200 and done["case"]["closed_at"] is not None and done["next"] == []
    history = [(h["action"], h["from"], h["to"], h["actor"]) for h in done["history"]]
    assert history == [("opened", "", "open", "li"), ("status", "open", "contacted", "zhang"),
                       ("status", "contacted", "resolved", "li")]
    assert done["history"][1]["note"] == "已私信家长"


async def test_escalated_card_opens_its_case_by_itself(client: TestClient) -> None:
    await card_for(client, "宝宝过敏了起疹子怎么办", [ALLERGY])
    db = client.app[DATABASE]

    async def opened() -> bool:
        async with db.sessions() as session:
            return (await session.get(FollowupCase, 1)) is not None

    await eventually(opened)
    async with db.sessions() as session:
        case = await session.get(FollowupCase, 1)
    assert case is not None and case.auto and case.category == "adverse" and case.opened_by == "system"


async def test_overdue_cases_are_flagged_and_filtered(client: TestClient, advisors) -> None:
    li = await advisors("li", "李营养师")
    first = (await li.post("/api/v1/cases", {"card_id": await card_for(client, "罐子凹陷了"), "category": "damaged"}))[1]
    second = (await li.post("/api/v1/cases", {"card_id": await card_for(client, "奶粉冲开有结块")}))[1]
    await make_overdue(client, first["case"]["id"])
    status, body = await li.get("/api/v1/cases?overdue=1")
    assert status == 200 and [c["id"] for c in body["cases"]] == [first["case"]["id"]] and body["cases"][0]["overdue"]
    assert second["case"]["category"] == "food_safety"
    page = await li.http.get(li.client.make_url("/cases"))
    html = await page.text()
    assert page.status == 200 and "已超时" in html and "1 个跟进单已超时未联系" in html


async def test_two_adverse_cases_on_one_batch_raise_the_alert(client: TestClient, advisors) -> None:
    lot = await seed_chain(client)
    li = await advisors("li", "李营养师")
    one = await li.post("/api/v1/cases", {"card_id": await card_for(client, f"批号 {lot} 宝宝喝了吐奶")})
    assert one[0] == 201 and one[1]["case"]["lot"] == lot and one[1]["batch"]["lot"] == lot
    assert (await li.get("/api/v1/cases/alerts"))[1] == {"alerts": []}
    two = await li.post("/api/v1/cases", {"card_id": await card_for(client, "宝宝起湿疹了"), "lot": lot})
    assert two[0] == 201 and two[1]["same_lot_cases"] == 2
    status, body = await li.get("/api/v1/cases/alerts")
    assert status == 200 and body == {"alerts": [{"lot": lot, "category": "adverse", "count": 2}]}
    page = await li.http.get(li.client.make_url("/cases"))
    assert "质量预警" in await page.text()


@pytest.mark.parametrize(("body", "field"), [
    ({}, "card_id"), ({"card_id": "7"}, "card_id"), ({"card_id": True}, "card_id"), ({"card_id": 2**70}, "card_id"),
    ({"card_id": 1, "category": "<script>"}, "category"), ({"card_id": 1, "lot": "x" * 65}, "lot"),
    ({"card_id": 1, "lot": ["nested", {"deep": [1]}]}, "lot"),
])
async def test_bad_input_names_the_field(client: TestClient, advisors, body: dict[str, Any], field: str) -> None:
    li = await advisors("li", "李营养师")
    status, answer = await li.post("/api/v1/cases", body)
    assert status == 400 and answer["error"].startswith(field)


async def test_unknown_card_and_case_are_404_and_roles_are_enforced(client: TestClient, advisors) -> None:
    li = await advisors("li", "李营养师")
    assert (await li.post("/api/v1/cases", {"card_id": 99999}))[0] == 404
    assert (await li.get("/api/v1/cases/424242"))[0] == 404
    producer = await advisors("pat", "导播", role="producer")
    assert (await producer.get("/api/v1/cases"))[0] == 403
    marketer = await advisors("mo", "市场", role="marketing")
    assert (await marketer.get("/api/v1/cases"))[0] == 200
    assert (await marketer.post("/api/v1/cases", {"card_id": 1}))[0] == 403


async def test_hostile_text_is_escaped_on_the_pages(client: TestClient, advisors) -> None:
    hostile = '<script>alert(1)</script>宝宝便秘 \u202e😀'
    li = await advisors("li", "李营养师")
    status, body = await li.post("/api/v1/cases", {"card_id": await card_for(client, hostile)})
    assert status == 201
    case_id = body["case"]["id"]
    status, noted = await li.post(f"/api/v1/cases/{case_id}/notes", {"note": '<img src=x onerror=alert(1)>\x00\x07'})
    assert status == 200 and noted["history"][-1]["note"] == "<img src=x onerror=alert(1)>"
    for path in ("/cases", f"/cases/{case_id}"):
        html = await (await li.http.get(li.client.make_url(path))).text()
        assert "<script>alert(1)" not in html and "<img src=x" not in html and "&lt;script&gt;" in html


async def test_page_forms_move_and_note_with_csrf(client: TestClient, advisors) -> None:
    li = await advisors("li", "李营养师")
    case_id = (await li.post("/api/v1/cases", {"card_id": await card_for(client, "我要投诉物流")}))[1]["case"]["id"]
    url = li.client.make_url(f"/cases/{case_id}/status")
    async with li.http.post(url, data={"status": "escalated", "csrf_token": li.csrf}, allow_redirects=False) as resp:
        assert resp.status == 303
    async with li.http.post(url, data={"status": "contacted"}, allow_redirects=False) as resp:
        assert resp.status == 403  # no CSRF token
    html = await (await li.http.get(li.client.make_url(f"/cases/{case_id}"))).text()
    assert "已转质量部门" in html and "待跟进 → 已转质量部门" in html
