"""The guard on every surface, through the real app: answers, featured Q&A, overlays, ticker, KB,
reminders, reports, the compliance log, approvals and the brand's own rules."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from livebot.app import create_app
from livebot.appkeys import BUS, DATABASE
from livebot.compliance import store as compliance_store
from livebot.console import store as console_store
from livebot.engagement import exports
from livebot.engagement.report import build_report
from livebot.engagement.settings import EngagementSettings
from livebot.overlays.keys import OVERLAY_SERVICE
from livebot.schedule.reminders import send_reminder
from livebot.topics import CHAT_ENRICHED, OVERLAY_CONTROL
from tests.console.support import MILK, ask, make_session, wait_for_asks
from tests.overlays.test_api import enriched
from tests.support import bearer, eventually, login

BLOCKED = "北境臻护能显著提高免疫力，营养最接近母乳，是最好的奶粉"
WARNED = "北境臻护不添加蔗糖，也不添加香精香料。"
CLEAN = "本批次奶源来自双城自有牧场，扫码可查检测报告。"
FAQ_KB = Path("/work/shared/eval/faq_kb.toml")


@pytest.fixture
async def senior_client(make_config, aiohttp_client) -> TestClient:
    return await aiohttp_client(create_app(make_config(compliance={"senior_advisors": ["wang"]})))


async def open_card(app: Any) -> tuple[int, int]:
    session_id, _ = await make_session(app[DATABASE])
    await ask(app, session_id, "奶源是哪里的？", [MILK])
    [card] = await wait_for_asks(app, session_id, 1)
    return session_id, card.id


async def actions(app: Any, session_id: int) -> list[tuple[str, str, str]]:
    return [(e.surface, e.action, e.actor) for e in await compliance_store.session_log(app[DATABASE], session_id)]

async def test_a_blocked_answer_cannot_be_sent(senior_client: TestClient, people) -> None:
    app = senior_client.app
    session_id, card_id = await open_card(app)
    li = await people(senior_client, "li", "李营养师")
    status, body = await li.post(f"/api/v1/console/cards/{card_id}/answer", {"text": BLOCKED})
    assert status == 422
    assert "function-claim" in body["error"] and "建议改为" in body["error"]
    rules = {f["rule"] for f in body["compliance"]["findings"]}
    assert {"function-claim", "breastmilk-substitute", "absolute-term"} <= rules
    assert all(f["rewording"] for f in body["compliance"]["findings"])
    assert (await console_store.get_card(app[DATABASE], card_id)).status == "open"
    assert await console_store.outbox_rows(app[DATABASE], card_id) == []
    # Even a senior's override cannot send a blocked text.
    wang = await people(senior_client, "wang", "王主管")
    status, _ = await wang.post(f"/api/v1/console/cards/{card_id}/answer", {"text": BLOCKED, "override_reason": "我确认"})
    assert status == 422
    assert await actions(app, session_id) == [("answer", "blocked", "li"), ("answer", "blocked", "wang")]
    trail = [a.action for a in await console_store.audit_trail(app[DATABASE], card_id)]
    assert trail.count("compliance_blocked") == 2

async def test_a_warned_answer_needs_a_seniors_approval(senior_client: TestClient, people) -> None:
    app = senior_client.app
    session_id, card_id = await open_card(app)
    li = await people(senior_client, "li", "李营养师")
    wang = await people(senior_client, "wang", "王主管")
    status, body = await li.post(f"/api/v1/console/cards/{card_id}/answer", {"text": WARNED})
    assert status == 409 and body["needs_approval"] is True and body["compliance"]["verdict"] == "warn"
    approval_id = body["approval"]["id"]
    # The same text again files no second request; an advisor cannot approve or override.
    status, again = await li.post(f"/api/v1/console/cards/{card_id}/answer", {"text": WARNED, "override_reason": "急"})
    assert status == 409 and again["approval"]["id"] == approval_id
    assert (await li.post(f"/api/v1/compliance/approvals/{approval_id}/approve", {"reason": "我自己批"}))[0] == 403
    status, pending = await wang.get("/api/v1/compliance/approvals")
    assert [a["id"] for a in pending["approvals"]] == [approval_id]
    assert (await wang.post(f"/api/v1/compliance/approvals/{approval_id}/approve", {}))[0] == 400  # a reason is required
    status, decided = await wang.post(f"/api/v1/compliance/approvals/{approval_id}/approve", {"reason": "质量部已核实配料表"})
    assert status == 200 and decided["approval"]["status"] == "approved"
    assert (await wang.post(f"/api/v1/compliance/approvals/{approval_id}/reject", {"reason": "再改"}))[0] == 409
    status, sent = await li.post(f"/api/v1/console/cards/{card_id}/answer", {"text": WARNED})
    assert status == 200 and sent["card"]["status"] == "answered"
    assert await actions(app, session_id) == [
        ("answer", "warned", "li"), ("answer", "warned", "li"), ("answer", "approved", "wang"), ("answer", "passed", "li"),
    ]
    events = await compliance_store.session_log(app[DATABASE], session_id)
    assert events[2].reason == "质量部已核实配料表" and events[3].reason == "资深顾问 wang 已批准"

async def test_an_edit_or_a_seniors_override_sends_a_warned_answer(senior_client: TestClient, people) -> None:
    app = senior_client.app
    session_id, card_id = await open_card(app)
    wang = await people(senior_client, "wang", "王主管")
    status, body = await wang.post(f"/api/v1/console/cards/{card_id}/answer", {"text": WARNED})
    assert status == 409 and body["senior"] is True
    status, _ = await wang.post(f"/api/v1/console/cards/{card_id}/answer", {"text": WARNED, "override_reason": "配料表已核对"})
    assert status == 200
    events = await compliance_store.session_log(app[DATABASE], session_id)
    assert [(e.action, e.actor, e.reason) for e in events][-1] == ("overridden", "wang", "配料表已核对")
    trail = [(a.action, a.actor) for a in await console_store.audit_trail(app[DATABASE], card_id)]
    assert ("compliance_overridden", "wang") in trail
    _, other = await open_card(app)
    li = await people(senior_client, "li", "李营养师")
    status, _ = await li.post(f"/api/v1/console/cards/{other}/answer", {"text": CLEAN})
    assert status == 200  # a clean edit goes straight out

async def test_featuring_a_blocked_answer_never_reaches_the_overlay(client: TestClient, people) -> None:
    app = client.app
    session_id, card_id = await open_card(app)
    heard: list[dict[str, Any]] = []

    async def listen(message: dict[str, Any]) -> None:
        heard.append(message)

    app[BUS].subscribe(OVERLAY_CONTROL, listen, name="test-featured")
    li = await people(client, "li", "李营养师")
    status, body = await li.post(f"/api/v1/console/cards/{card_id}/feature", {"answer": "喝了就不便秘，比母乳还好"})
    assert status == 422 and body["compliance"]["verdict"] == "block"
    await app[BUS].drained()
    assert heard == []
    status, _ = await li.post(f"/api/v1/console/cards/{card_id}/feature", {"answer": CLEAN})
    assert status == 200

async def test_overlay_texts_with_a_blocked_claim_never_reach_the_broadcast(client: TestClient) -> None:
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    await login(client, "producer", "zhao")
    csrf = await login(client, "producer", "zhou")
    resp = await client.post(f"/api/v1/sessions/{session_id}/overlay", json={"type": "ticker", "text": "全网销量第一的奶粉"},
                             headers={"X-CSRF-Token": csrf})
    assert resp.status == 422
    assert (await resp.json())["compliance"]["findings"][0]["rule"] == "absolute-term"
    resp = await client.post(f"/api/v1/sessions/{session_id}/overlay", json={"type": "countdown", "title": "益智好奶 马上开抢",
                                                                              "ends_at": "2030-01-01T00:00:00+00:00"},
                             headers={"X-CSRF-Token": csrf})
    assert resp.status == 422
    # A command arriving on the bus from anywhere else is dropped by the overlay service itself.
    service = app[OVERLAY_SERVICE]
    await app[BUS].publish(OVERLAY_CONTROL, {"session_id": session_id, "type": "featured", "question": "奶粉能替代母乳吗",
                                             "answer": "能，营养比母乳还全面", "by": "script", "cmd_id": "c1"})
    await app[BUS].drained()
    overlay = await service.ensure(session_id)
    assert overlay is not None and overlay.control["featured"] is None
    assert [(e.surface, e.action) for e in await compliance_store.session_log(app[DATABASE], session_id)] == [
        ("overlay", "blocked"), ("overlay", "blocked"), ("overlay", "blocked"),
    ]

async def test_the_ticker_never_shows_a_blocked_comment(make_config, aiohttp_client) -> None:
    client = await aiohttp_client(create_app(make_config(overlays={"ticker_review": "off"})))
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    bus = app[BUS]
    for pk, text in enumerate(["喝了之后宝宝免疫力提高了，比母乳还好！", "宝宝喝了长高了一截", "宝宝爱喝", "宝妈们都说好"], start=1):
        await bus.publish(CHAT_ENRICHED, enriched(session_id, pk, text))
    await bus.drained()
    overlay = app[OVERLAY_SERVICE].sessions[session_id]
    assert [item["text"] for item in overlay.control["ticker"]] == ["宝宝爱喝"]
    log = [(e.surface, e.action, e.text) for e in await compliance_store.session_log(app[DATABASE], session_id)]
    assert [entry[:2] for entry in log] == [("ticker", "blocked"), ("ticker", "blocked"), ("ticker", "held")]

async def test_ticker_review_modes(make_config, aiohttp_client) -> None:
    client = await aiohttp_client(create_app(make_config(overlays={"ticker_review": "approve"})))
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    await app[BUS].publish(CHAT_ENRICHED, enriched(session_id, 1, "宝宝爱喝"))
    await app[BUS].publish(CHAT_ENRICHED, enriched(session_id, 2, "工厂好干净"))
    await app[BUS].drained()
    overlay = app[OVERLAY_SERVICE].sessions[session_id]
    assert overlay.control["ticker"] == [] and [p["text"] for p in overlay.control["ticker_pending"]] == ["宝宝爱喝", "工厂好干净"]
    csrf = await login(client, "producer")
    for item_id, action in ((overlay.control["ticker_pending"][0]["id"], "approve"), (overlay.control["ticker_pending"][1]["id"], "drop")):
        resp = await client.post(f"/api/v1/sessions/{session_id}/overlay", json={"type": "ticker_review", "action": action, "item_id": item_id},
                                 headers={"X-CSRF-Token": csrf})
        assert resp.status == 200
    assert [i["text"] for i in overlay.control["ticker"]] == ["宝宝爱喝"] and overlay.control["ticker_pending"] == []
    resp = await client.post(f"/api/v1/sessions/{session_id}/overlay", json={"type": "ticker_review", "action": "maybe", "item_id": "x"},
                             headers={"X-CSRF-Token": csrf})
    assert resp.status == 400

async def test_ticker_delay_mode_shows_comments_after_the_veto_window(make_config, aiohttp_client) -> None:
    client = await aiohttp_client(create_app(make_config(overlays={"ticker_review": "delay", "ticker_delay_seconds": 0.2})))
    app = client.app
    session_id, _ = await make_session(app[DATABASE])
    await app[BUS].publish(CHAT_ENRICHED, enriched(session_id, 1, "宝宝爱喝"))
    await app[BUS].drained()
    overlay = app[OVERLAY_SERVICE].sessions[session_id]
    assert overlay.control["ticker"] == []

    async def shown() -> bool:
        return [i["text"] for i in overlay.control["ticker"]] == ["宝宝爱喝"]

    await eventually(shown, timeout=5)

async def test_ticker_review_setting_is_validated(make_config) -> None:
    from livebot.errors import ConfigError

    with pytest.raises(ConfigError, match="overlays.ticker_review"):
        create_app(make_config(overlays={"ticker_review": "sometimes"}))
    with pytest.raises(ConfigError, match="compliance.senior_advisors"):
        create_app(make_config(compliance={"senior_advisors": [" "]}))

async def test_kb_entries_with_a_block_cannot_be_saved_and_warns_are_shown(client: TestClient) -> None:
    headers = await bearer(client, "advisor")
    entry = {"id": "immunity", "question": "喝了能提高免疫力吗？", "answer": "能，乳铁蛋白能提高免疫力。"}
    resp = await client.post("/api/v1/faq/entries", json=entry, headers=headers)
    assert resp.status == 400
    body = await resp.json()
    assert body["field"] == "answer" and "function-claim" in body["error"] and "建议改为" in body["error"]
    entry["answer"] = "北境臻护不添加蔗糖。"
    resp = await client.post("/api/v1/faq/entries", json=entry, headers=headers)
    assert resp.status == 201
    assert (await resp.json())["compliance"]["verdict"] == "warn"
    resp = await client.put("/api/v1/faq/entries/immunity", json={**entry, "version": 1, "answer": "喝了就不便秘"}, headers=headers)
    assert resp.status == 400
    csrf = await login(client, "advisor")
    page = await (await client.get("/faq/immunity")).text()
    assert "zero-additive" in page and "合规提醒" in page
    resp = await client.post("/faq/immunity", data={"question": entry["question"], "answer": "100%安全", "version": "1",
                                                    "csrf_token": csrf}, headers={"X-CSRF-Token": csrf})
    assert resp.status == 400 and "absolute-term" in await resp.text()


def test_importing_the_sample_kb_shows_its_findings(tmp_path: Path, make_config) -> None:
    from livebot.cli.faq_kb import print_compliance, read_entries

    out = io.StringIO()
    print_compliance(read_entries(str(FAQ_KB)), out)
    text = out.getvalue()
    for wording in ("不添加", "母乳低聚糖", "公认的黄金奶牛养殖带", "加赠试用装"):
        assert wording in text
    assert "compliance block: authenticity-check" in text and "不会被推荐" in text

async def test_reminders_with_a_claim_are_not_posted(client: TestClient) -> None:
    app = client.app
    session_id, _ = await make_session(app[DATABASE], title="孕妈免费领1段奶粉专场")
    async with aiohttp.ClientSession() as http:
        summary = await send_reminder(app, http, session_id, 10)
    assert "合规拦截" in summary
    assert [(e.surface, e.action) for e in await compliance_store.session_log(app[DATABASE], session_id)] == [("reminder", "blocked")]

async def test_the_session_report_and_exports_carry_the_compliance_log(senior_client: TestClient, people) -> None:
    app = senior_client.app
    session_id, card_id = await open_card(app)
    li = await people(senior_client, "li", "李营养师")
    await li.post(f"/api/v1/console/cards/{card_id}/answer", {"text": BLOCKED})
    report = await build_report(app[DATABASE], session_id, EngagementSettings(), topics=False)
    assert [(e["surface"], e["action"], e["who"]) for e in report["compliance"]] == [("answer", "blocked", "李营养师")]
    csv = exports.to_csv(report, "compliance").decode("utf-8")
    assert csv.lstrip("\ufeff").splitlines()[0].startswith("时间,渠道,处理")
    assert "拦截" in csv and "function-claim" in csv and "李营养师" in csv
    assert b"compliance" in exports.to_json(report)
    headers = await bearer(senior_client, "marketing")
    resp = await senior_client.get(f"/api/v1/sessions/{session_id}/compliance", headers=headers)
    assert resp.status == 200 and (await resp.json())["events"][0]["rules"]

async def test_brand_rules_are_editable_by_admins_with_history(client: TestClient) -> None:
    admin = await bearer(client, "admin")
    advisor = await bearer(client, "advisor")
    rule = {"rule_id": "no-gold-label", "category": "brand-policy", "severity": "block", "terms": ["金装", "金 装"],
            "exceptions": ["不叫金装"], "explanation": "标签规范草案不允许“金装”等名称（品牌政策）。", "rewording": "北境臻护1段"}
    assert (await client.post("/api/v1/compliance/brand-rules", json=rule, headers=advisor)).status == 403
    resp = await client.post("/api/v1/compliance/brand-rules", json=rule, headers=admin)
    assert resp.status == 201
    assert (await client.post("/api/v1/compliance/brand-rules", json=rule, headers=admin)).status == 409  # duplicate
    check = await client.post("/api/v1/compliance/check", json={"text": "北境臻护金.装版上市"}, headers=advisor)
    findings = (await check.json())["findings"]
    assert findings[0]["rule"] == "brand-policy" and findings[0]["id"] == "brand.no-gold-label"
    check = await client.post("/api/v1/compliance/check", json={"text": "我们不叫金装"}, headers=advisor)
    assert (await check.json())["verdict"] == "ok"
    resp = await client.put("/api/v1/compliance/brand-rules/no-gold-label", json={**rule, "severity": "warn", "active": False},
                            headers=admin)
    assert resp.status == 200 and (await resp.json())["rule"]["version"] == 2
    check = await client.post("/api/v1/compliance/check", json={"text": "金装版"}, headers=advisor)
    assert (await check.json())["verdict"] == "ok"  # deactivated
    history = await (await client.get("/api/v1/compliance/brand-rules/no-gold-label/history", headers=admin)).json()
    assert [(h["version"], h["action"], h["snapshot"]["severity"]) for h in history["history"]] == [(1, "create", "block"), (2, "update", "warn")]
    assert (await client.put("/api/v1/compliance/brand-rules/nope", json=rule, headers=admin)).status == 404


@pytest.mark.parametrize("body, field", [
    ({}, "rule_id"), ({"rule_id": "Bad Id"}, "rule_id"), ({"rule_id": "ok-id", "category": "x"}, "category"),
    ({"rule_id": "ok-id", "category": "brand-policy", "severity": "stop"}, "severity"),
    ({"rule_id": "ok-id", "category": "brand-policy", "severity": "warn", "terms": []}, "terms"),
    ({"rule_id": "ok-id", "category": "brand-policy", "severity": "warn", "terms": ["x" * 41]}, "terms"),
    ({"rule_id": "ok-id", "category": "brand-policy", "severity": "warn", "terms": ["a\u202eb"]}, "terms"),
    ({"rule_id": "ok-id", "category": "brand-policy", "severity": "warn", "terms": ["x"] * 51}, "terms"),
    ({"rule_id": "ok-id", "category": "brand-policy", "severity": "warn", "terms": [{"x": [1]}]}, "terms"),
    ({"rule_id": "ok-id", "category": "brand-policy", "severity": "warn", "terms": ["金装"], "explanation": ""}, "explanation"),
    ({"rule_id": "ok-id", "category": "brand-policy", "severity": "warn", "terms": ["金装"], "explanation": "x\x00"}, "explanation"),
    ({"rule_id": "ok-id", "category": "brand-policy", "severity": "warn", "terms": ["金装"], "explanation": "说明", "active": "yes"}, "active"),
])


async def test_brand_rule_input_is_checked(client: TestClient, body: dict[str, Any], field: str) -> None:
    resp = await client.post("/api/v1/compliance/brand-rules", json=body, headers=await bearer(client, "admin"))
    assert resp.status == 400
    assert (await resp.json())["field"] == field

async def test_check_api_input_hardening(client: TestClient) -> None:
    headers = await bearer(client, "advisor")
    for body in (b"not json", b"[1]", b"[" * 50_000 + b"]" * 50_000, b'{"text": 5}', b'{"text": ""}'):
        resp = await client.post("/api/v1/compliance/check", data=body, headers={**headers, "Content-Type": "application/json"})
        assert resp.status == 400, body[:20]
    resp = await client.post("/api/v1/compliance/check", json={"text": "好" * 20_001}, headers=headers)
    assert resp.status == 400
    resp = await client.post("/api/v1/compliance/check", json={"text": "<script>x</script>最好的奶粉😀"}, headers=headers)
    assert resp.status == 200 and (await resp.json())["verdict"] == "block"
    assert (await client.post("/api/v1/compliance/check", json={"text": "x"})).status in (401, 403)

async def test_the_compliance_page_lists_rules_approvals_and_the_log(senior_client: TestClient, people) -> None:
    app = senior_client.app
    session_id, card_id = await open_card(app)
    li = await people(senior_client, "li", "李营养师")
    await li.post(f"/api/v1/console/cards/{card_id}/answer", {"text": WARNED})
    wang = await people(senior_client, "wang", "王主管")
    async with wang.http.get(senior_client.make_url("/compliance")) as resp:
        page = await resp.text()
    assert resp.status == 200
    assert WARNED in page and "批准" in page and "品牌政策（待法务确认）" in page and "提醒待审" in page
