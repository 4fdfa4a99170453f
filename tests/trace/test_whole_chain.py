"""Herd, feed, ingredients, packing, warehouse and shipments: imported from EPCIS JSON-LD and XML, shown as stored, gaps left as gaps."""

from __future__ import annotations

import copy
import io
import random
from datetime import datetime
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from livebot.appkeys import DATABASE
from livebot.demo import trace as demo
from livebot.trace import api_internal as trace
from livebot.trace.api_internal import TRACE_FACTS
from livebot.trace.epcis import parse_document
from livebot.trace.models import HealthEvent, Herd, Material, TraceEvent
from tests.support import bearer
from tests.trace.epcis_writer import to_xml

URL = "/api/v1/trace/epcis"
CAN = demo.SAMPLE_CAN
CREATED = datetime.fromisoformat("2026-11-26T08:00:00+08:00")


def whole_chain() -> dict[str, Any]:
    """The sample can's history from herd and feed to shipment (the demo's own generator, fixed seed)."""
    return demo.document(demo.chain_events(CAN, random.Random(7)), CREATED)


def event(doc: dict[str, Any], key: str) -> tuple[int, dict[str, Any]]:
    """The index and body of the first event carrying ``key``."""
    return next((i, e) for i, e in enumerate(doc["epcisBody"]["eventList"]) if key in e)


async def post(client: TestClient, body: dict[str, Any] | bytes, xml: bool = False) -> Any:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    kind = "application/xml" if xml else "application/ld+json"
    return await client.post(URL, data=io.BytesIO(data), headers={**await bearer(client, "trace"), "Content-Type": kind})


async def count(client: TestClient, model: Any) -> int:
    async with client.app[DATABASE].sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def summary(client: TestClient) -> dict[str, Any]:
    found = await client.app[TRACE_FACTS].batch_summary(client.app[DATABASE], CAN.lot)
    assert found is not None
    return found


def check_whole_chain(s: dict[str, Any]) -> None:
    (herd,) = s["herds"]
    assert (herd["name"], herd["farm"], herd["size"], herd["breed"]) == ("克东牧场一号牛群", "克东牧场", 280, "荷斯坦奶牛")
    assert herd["raw_lot"] == CAN.raw_lot and herd["milking_group"] == "9号挤奶组"
    assert herd["treated_count"] == 1 and herd["withheld_ok"] is True
    (feed,) = s["feed"]
    assert (feed["name"], feed["origin"]) == ("全株青贮玉米", "黑龙江双城")
    assert [i["item"] for i in feed["inspections"]] == ["黄曲霉毒素B1"] and feed["inspections_passed"] == 1
    names = {i["name"]: i for i in s["ingredients"]}
    assert set(names) == {"乳糖", "乳清蛋白粉", "OPO 结构脂", "DHA 藻油", "ARA 油", "维生素矿物质预混料", "乳铁蛋白"}
    lactoferrin = names["乳铁蛋白"]
    assert (lactoferrin["lot"], lactoferrin["supplier"], lactoferrin["origin"]) == ("LF20261124B08", "示例乳铁蛋白供应商", "新西兰")
    assert lactoferrin["inspections"][0]["item"] == "乳铁蛋白纯度" and lactoferrin["received_at"].endswith("+08:00")
    # the batch's own checklist is its raw milk and product checks: ingredient and feed tests are listed with their lots
    assert (s["inspections_passed"], s["inspections_total"]) == (12, 12)
    events = whole_chain()["epcisBody"]["eventList"]
    at = {e["bizStep"]: datetime.fromisoformat(e["eventTime"]).isoformat() for e in events if e.get("bizStep") in ("packing", "storing")}
    assert s["packing"] == {"at": at["packing"], "line": "湿法二线", "place": "湿法二线"}
    warehouse = s["warehouse"]
    assert warehouse["name"] == "哈尔滨成品仓" and warehouse["at"] == at["storing"]
    assert warehouse["temperature_min"] is not None and warehouse["humidity_max"] is not None
    (shipment,) = s["shipments"]
    assert shipment["from"] == "哈尔滨成品仓" and shipment["region"] in demo.REGIONS and shipment["uom"] == "H87"
    assert set(shipment) == {"at", "from", "region", "quantity", "uom"}  # no customer, no destination id


async def test_json_ld_document_imports_the_whole_chain(client: TestClient) -> None:
    resp = await post(client, whole_chain())
    assert resp.status == 201, await resp.text()
    check_whole_chain(await summary(client))
    assert await count(client, Herd) == 2 and await count(client, HealthEvent) == 1 and await count(client, Material) == 8


async def test_xml_document_imports_the_same_chain(client: TestClient) -> None:
    resp = await post(client, to_xml(whole_chain()), xml=True)
    assert resp.status == 201, await resp.text()
    check_whole_chain(await summary(client))


def test_xml_and_json_ld_forms_are_the_same_events() -> None:
    doc = whole_chain()
    from_json, from_xml = parse_document(orjson.dumps(doc)), parse_document(to_xml(doc))
    assert [e.details for e in from_json.events] == [e.details for e in from_xml.events]
    # XML cannot tell a one-item list from a value, so the raw-milk event (feedLots: [one]) hashes differently
    plain = [i for i, e in enumerate(doc["epcisBody"]["eventList"]) if "livebot:rawMilk" not in e]
    assert [from_json.events[i].content_hash for i in plain] == [from_xml.events[i].content_hash for i in plain]
    assert from_json.herds == from_xml.herds


async def test_a_batch_without_origin_or_distribution_data_shows_gaps(client: TestClient) -> None:
    doc = whole_chain()
    keep = [e for e in doc["epcisBody"]["eventList"]
            if e.get("bizStep") not in ("storing", "shipping", "packing") or "livebot:truck" in e]
    for e in keep:
        e.pop("livebot:ingredient", None)
        e.get("livebot:rawMilk", {}).pop("herd", None)
        e.get("livebot:rawMilk", {}).pop("feedLots", None)
    doc["epcisBody"]["eventList"] = [e for e in keep if "livebot:feed" not in e and "livebot:health" not in e]
    assert (await post(client, doc)).status == 201
    s = await summary(client)
    assert (s["herds"], s["feed"], s["packing"], s["warehouse"], s["shipments"]) == ([], [], None, None, [])
    # the ingredient lots are named by the transformation but nobody said what they are: not shown as ingredients
    assert s["ingredients"] == []


async def test_unstated_withholding_is_unknown_and_an_unwithheld_animal_is_shown(client: TestClient) -> None:
    doc = whole_chain()
    _, milked = event(doc, "livebot:rawMilk")
    del milked["livebot:rawMilk"]["withheldAnimals"]
    assert (await post(client, doc)).status == 201
    assert (await summary(client))["herds"][0]["withheld_ok"] is None
    other = whole_chain()
    _, treated = event(other, "livebot:health")
    treated["eventID"] += "-2"
    treated["livebot:health"] = {**treated["livebot:health"], "animal": "KD-1-9999"}
    other["epcisBody"]["eventList"] = [treated]
    assert (await post(client, other)).status == 201
    herd = (await summary(client))["herds"][0]
    assert herd["treated_count"] == 2 and herd["withheld_ok"] is None


async def test_late_feed_test_and_herd_master_data_refresh_the_chain(client: TestClient) -> None:
    doc = whole_chain()
    events = doc["epcisBody"]["eventList"]
    late = [e for e in events if e.get("bizStep") == "inspecting" and "FD" in e["quantityList"][0]["epcClass"]]
    doc["epcisBody"]["eventList"] = [e for e in events if e not in late]
    herds = doc["epcisHeader"]["epcisMasterData"]["vocabularyList"].pop()
    assert (await post(client, doc)).status == 201
    first = await summary(client)
    assert first["feed"][0]["inspections"] == [] and first["herds"][0]["size"] is None
    later = demo.document(late, CREATED)
    later["epcisHeader"]["epcisMasterData"]["vocabularyList"] = [herds]
    assert (await post(client, later)).status == 201
    second = await summary(client)
    assert second["feed"][0]["inspections_total"] == 1 and second["herds"][0]["size"] == 280


async def test_resending_the_whole_chain_is_idempotent(client: TestClient) -> None:
    doc = whole_chain()
    assert (await post(client, doc)).status == 201
    stored = await count(client, TraceEvent)
    again = await post(client, doc)
    assert again.status in (200, 201) and (await again.json())["stored"] == 0
    assert await count(client, TraceEvent) == stored and await count(client, HealthEvent) == 1


def bad(mutate: Any) -> dict[str, Any]:
    doc = whole_chain()
    mutate(doc)
    return doc


def set_ext(key: str, field: str | None, value: Any) -> Any:
    def mutate(doc: dict[str, Any]) -> None:
        _, found = event(doc, key)
        if field is None:
            found[key] = value
        else:
            found[key][field] = value
    return mutate


def set_herd_attribute(value: Any) -> Any:
    def mutate(doc: dict[str, Any]) -> None:
        herds = doc["epcisHeader"]["epcisMasterData"]["vocabularyList"][-1]
        herds["vocabularyElementList"][0]["attributes"][2]["attribute"] = value
    return mutate


def nested(depth: int) -> Any:
    value: Any = "深"
    for _ in range(depth):
        value = {"x": value}
    return value


REFUSED = [
    pytest.param(set_ext("livebot:ingredient", None, "乳铁蛋白"), "livebot:ingredient", id="ingredient-not-object"),
    pytest.param(set_ext("livebot:ingredient", "name", None), "livebot:ingredient.name", id="ingredient-without-name"),
    pytest.param(set_ext("livebot:ingredient", "supplier", "供" * 129), "livebot:ingredient.supplier", id="oversized-supplier"),
    pytest.param(set_ext("livebot:ingredient", "origin", "新西兰\x1b[31m"), "livebot:ingredient.origin", id="control-chars"),
    pytest.param(set_ext("livebot:feed", "name", 42), "livebot:feed.name", id="feed-name-number"),
    pytest.param(set_ext("livebot:health", "herd", None), "livebot:health.herd", id="health-without-herd"),
    pytest.param(set_ext("livebot:health", "withdrawalUntil", "2026-11-30"), "livebot:health.withdrawalUntil", id="health-date-no-time"),
    pytest.param(set_ext("livebot:health", "treatment", nested(40)), "livebot:health.treatment", id="deeply-nested"),
    pytest.param(set_ext("livebot:rawMilk", "feedLots", [f"F{i}" for i in range(1001)]), "livebot:rawMilk.feedLots", id="too-many-feed-lots"),
    pytest.param(set_ext("livebot:rawMilk", "feedLots", ["F" * 21]), "livebot:rawMilk.feedLots[0]", id="feed-lot-too-long"),
    pytest.param(set_ext("livebot:rawMilk", "withheldAnimals", {"a": 1, "b": 2}), "livebot:rawMilk.withheldAnimals", id="withheld-object"),
    pytest.param(set_ext("livebot:region", None, ["华东"]), "livebot:region", id="region-list"),
    pytest.param(set_herd_attribute(-1), "attribute", id="negative-herd-size"),
    pytest.param(set_herd_attribute("三百"), "attribute", id="herd-size-text"),
    pytest.param(set_herd_attribute(True), "attribute", id="herd-size-bool"),
]


@pytest.mark.parametrize(("mutate", "field"), REFUSED)
async def test_bad_chain_data_is_refused_naming_event_and_field_and_nothing_is_stored(client: TestClient, mutate: Any, field: str) -> None:
    doc = bad(mutate)
    resp = await post(client, doc)
    assert resp.status == 422, await resp.text()
    body = await resp.json()
    assert field in body["field"], body
    if not body["field"].startswith("epcisHeader"):
        assert isinstance(body["event_index"], int)
    assert await count(client, TraceEvent) == 0 and await count(client, Herd) == 0 and await count(client, Material) == 0


async def test_bad_chain_data_in_xml_is_refused_the_same_way(client: TestClient) -> None:
    doc = bad(set_ext("livebot:ingredient", "origin", "新" * 129))
    index, _ = event(doc, "livebot:ingredient")
    resp = await post(client, to_xml(doc), xml=True)
    assert resp.status == 422
    body = await resp.json()
    assert (body["field"], body["event_index"]) == ("livebot:ingredient.origin", index)
    assert await count(client, TraceEvent) == 0


async def test_hostile_text_is_stored_as_text_and_escaped_on_the_page(client: TestClient) -> None:
    doc = whole_chain()
    _, found = event(doc, "livebot:ingredient")
    found["livebot:ingredient"]["supplier"] = "<script>alert(1)</script>🐄"
    assert (await post(client, doc)).status == 201
    s = await summary(client)
    assert any(i["supplier"] == "<script>alert(1)</script>🐄" for i in s["ingredients"])
    page = await (await client.get(demo.digital_link_path(CAN.gtin, CAN.lot))).text()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;🐄" in page


async def test_ingredient_and_feed_at_once_is_refused(client: TestClient) -> None:
    doc = whole_chain()
    index, found = event(doc, "livebot:ingredient")
    found["livebot:feed"] = copy.deepcopy(found["livebot:ingredient"])
    resp = await post(client, doc)
    assert resp.status == 422
    assert (await resp.json())["event_index"] == index


def test_xml_list_shapes_are_read() -> None:
    doc = whole_chain()
    _, milked = event(doc, "livebot:rawMilk")
    milked["livebot:rawMilk"]["withheldAnimals"] = []
    parsed = parse_document(to_xml(doc))
    raw = next(e.details["raw_milk"] for e in parsed.events if "raw_milk" in e.details)
    assert raw["feed_lots"] == ["FD20261124B08"] and raw["withheld"] == []


async def test_front_door_answers_the_journey(client: TestClient) -> None:
    assert (await post(client, whole_chain())).status == 201
    journey = await client.app[trace.TRACE_FACTS].batch_journey(client.app[DATABASE], CAN.lot)
    assert journey is not None
    assert {i["name"] for i in journey["ingredients"]} >= {"乳铁蛋白", "OPO 结构脂"}
    assert journey["herds"][0]["breed"] == "荷斯坦奶牛" and journey["feed"][0]["lot"] == "FD20261124B08"
    assert journey["packing"]["line"] == "湿法二线" and journey["warehouse"]["name"] == "哈尔滨成品仓"
    assert journey["shipments"][0]["region"] in demo.REGIONS
    assert await client.app[trace.TRACE_FACTS].batch_journey(client.app[DATABASE], "NOPE") is None


async def test_can_page_shows_the_whole_chain_in_order(client: TestClient) -> None:
    assert (await post(client, whole_chain())).status == 201
    page = await (await client.get(demo.digital_link_path(CAN.gtin, CAN.lot))).text()
    journey = page[page.index("全链路溯源"):page.index("冷链温度")]
    order = ["<b>牧场牛群</b>", "克东牧场一号牛群", "<b>饲料</b>", "全株青贮玉米", "<b>挤奶</b>", "<b>配料</b>", "乳铁蛋白 · 批次 LF20261124B08",
             "<b>生产</b>", "<b>包装</b>", "<b>入库</b>", "哈尔滨成品仓", "<b>发货</b>", "发往"]
    positions = [journey.index(word) for word in order]
    assert positions == sorted(positions)
    assert "均已隔离，奶未混入本批" in journey and "检验 1/1 项合格（黄曲霉毒素B1）" in journey
    assert "暂无数据" not in journey and "北京时间" in page


async def test_can_page_shows_missing_steps_as_gaps(client: TestClient) -> None:
    doc = whole_chain()
    doc["epcisBody"]["eventList"] = [e for e in doc["epcisBody"]["eventList"] if e.get("bizStep") not in ("storing", "shipping", "packing")
                                     or "livebot:truck" in e]
    assert (await post(client, doc)).status == 201
    page = await (await client.get(demo.digital_link_path(CAN.gtin, CAN.lot))).text()
    journey = page[page.index("全链路溯源"):page.index("冷链温度")]
    for label in ("包装", "入库", "发货"):
        at = journey.index(f"<b>{label}</b>")
        assert "暂无数据" in journey[at:at + 120], label
    assert "哈尔滨成品仓" not in journey


async def test_chat_reply_names_ingredients_and_warehouse(client: TestClient) -> None:
    assert (await post(client, whole_chain())).status == 201
    reply = await client.app[TRACE_FACTS].trace_reply(client.app[DATABASE], CAN.can_code)
    assert reply is not None
    assert "等 7 种配料" in reply and "来自" in reply and "入库（哈尔滨成品仓）" in reply
    assert reply.count("批次 ") >= 4  # the batch itself and three named ingredient lots
