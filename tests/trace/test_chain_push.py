"""``POST /api/v1/trace/chain``: herd, feed, ingredient, packing, warehouse and shipping data as plain JSON, imported as EPCIS."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from livebot.appkeys import DATABASE
from livebot.trace.api_internal import TRACE_FACTS
from livebot.trace.digitallink import with_check_digit
from livebot.trace.models import TraceEvent
from tests.support import bearer

URL = "/api/v1/trace/chain"
GTIN = "06901234543384"
INGREDIENT_GTIN = with_check_digit("0690123458000")
RAW_GTIN = with_check_digit("0690123450000")
BATCH = {"gtin": GTIN, "lot": "PUSH01", "product_name": "北境臻护 2段", "plant": "齐齐哈尔工厂",
         "raw_milk": {"lot": "RAWP01", "farm": "双城牧场", "milking_end": "2026-11-24T05:10:00+08:00",
                      "processing_start": "2026-11-24T06:55:00+08:00"}}


def chain_body() -> dict[str, Any]:
    return {
        "herds": [{"id": "urn:livebot:herd:sc-1", "name": "双城牧场一号牛群", "farm": "双城牧场", "size": 320, "breed": "荷斯坦奶牛",
                   "feed_plan": "TMR 泌乳期配方"}],
        "health": [{"herd": "urn:livebot:herd:sc-1", "animal": "SC-1-0457", "treatment": "乳房炎治疗", "start": "2026-11-23T08:00:00+08:00",
                    "withdrawal_until": "2026-11-27T08:00:00+08:00"}],
        "materials": [{"lot": "LF01", "gtin": INGREDIENT_GTIN, "kind": "ingredient", "name": "乳铁蛋白", "supplier": "示例供应商",
                       "origin": "新西兰", "received_at": "2026-11-20T09:00:00+08:00", "location": "齐齐哈尔工厂"},
                      {"lot": "FD01", "gtin": INGREDIENT_GTIN, "kind": "feed", "name": "全株青贮玉米", "received_at": "2026-11-20T09:00:00+08:00"}],
        "raw_milk": [{"lot": "RAWP01", "gtin": RAW_GTIN, "at": "2026-11-24T05:10:00+08:00", "herd": "urn:livebot:herd:sc-1",
                      "milking_group": "2号挤奶组", "feed_lots": ["FD01"], "withheld_animals": ["SC-1-0457"]}],
        "uses": [{"lot": "PUSH01", "gtin": GTIN, "at": "2026-11-24T06:55:00+08:00", "plant": "齐齐哈尔工厂",
                  "inputs": [{"lot": "LF01", "gtin": INGREDIENT_GTIN}]}],
        "packing": [{"lot": "PUSH01", "gtin": GTIN, "at": "2026-11-24T12:55:00+08:00", "line": "包装三线"}],
        "storage": [{"lot": "PUSH01", "gtin": GTIN, "at": "2026-11-24T15:55:00+08:00", "warehouse": "哈尔滨成品仓", "temperature_c": 18.5,
                     "humidity_pct": 44}],
        "shipments": [{"lot": "PUSH01", "gtin": GTIN, "at": "2026-11-25T10:00:00+08:00", "from": "哈尔滨成品仓", "region": "华东", "quantity": 2400}],
    }


async def push(client: TestClient, body: Any) -> Any:
    return await client.post(URL, json=body, headers=await bearer(client, "trace"))


async def stored_events(client: TestClient) -> int:
    async with client.app[DATABASE].sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(TraceEvent)) or 0)


async def test_pushed_chain_shows_like_epcis(client: TestClient) -> None:
    assert (await client.post("/api/v1/trace/batches", json={"batches": [BATCH]}, headers=await bearer(client, "trace"))).status == 201
    resp = await push(client, chain_body())
    assert resp.status == 201, await resp.text()
    s = await client.app[TRACE_FACTS].batch_summary(client.app[DATABASE], "PUSH01")
    assert s is not None
    assert [i["name"] for i in s["ingredients"]] == ["乳铁蛋白"] and s["ingredients"][0]["origin"] == "新西兰"
    assert s["packing"]["line"] == "包装三线" and s["packing"]["at"] == "2026-11-24T12:55:00+08:00"
    assert s["warehouse"] == {"name": "哈尔滨成品仓", "at": "2026-11-24T15:55:00+08:00", "temperature_min": 18.5, "temperature_max": 18.5,
                              "humidity_min": 44.0, "humidity_max": 44.0}
    assert s["shipments"][0]["region"] == "华东" and s["shipments"][0]["quantity"] == 2400
    (herd,) = s["herds"]
    assert herd["size"] == 320 and herd["milking_group"] == "2号挤奶组" and herd["withheld_ok"] is True
    assert s["feed"][0]["name"] == "全株青贮玉米"
    assert s["farm"] == "双城牧场"  # the pushed batch's raw milk keeps what the batch push said


async def test_resending_the_push_is_idempotent(client: TestClient) -> None:
    assert (await push(client, chain_body())).status == 201
    count = await stored_events(client)
    again = await push(client, chain_body())
    assert again.status == 200 and (await again.json())["stored"] == 0 and await stored_events(client) == count


def mutate(section: str, key: str, value: Any) -> dict[str, Any]:
    body = chain_body()
    body[section][0][key] = value
    return body


BAD = [
    pytest.param(["not", "an", "object"], "body", id="not-an-object"),
    pytest.param({"customers": []}, "customers", id="unknown-section"),
    pytest.param({}, "body", id="empty"),
    pytest.param({"packing": {"lot": "X"}}, "packing", id="section-not-array"),
    pytest.param({"shipments": [{"lot": "A", "gtin": GTIN, "at": "2026-11-25T10:00:00+08:00"}] * 1001}, "shipments", id="oversized"),
    pytest.param(mutate("herds", "size", -3), "herds[0].size", id="negative-size"),
    pytest.param(mutate("herds", "size", True), "herds[0].size", id="bool-size"),
    pytest.param(mutate("herds", "name", "牛" * 129), "herds[0].name", id="long-name"),
    pytest.param(mutate("health", "start", "2026-11-23"), "health[0].start", id="date-without-time"),
    pytest.param(mutate("materials", "kind", "powder"), "materials[0].kind", id="bad-kind"),
    pytest.param(mutate("materials", "supplier", "供应商\x07"), "materials[0].supplier", id="control-chars"),
    pytest.param(mutate("materials", "gtin", GTIN[:-1] + "5"), "materials[0].gtin", id="bad-check-digit"),
    pytest.param(mutate("raw_milk", "feed_lots", {"a": {"b": {"c": ["d"]}}}), "raw_milk[0].feed_lots", id="nested-object"),
    pytest.param(mutate("raw_milk", "withheld_animals", ["x"] * 1001), "raw_milk[0].withheld_animals", id="too-many-animals"),
    pytest.param(mutate("uses", "inputs", []), "uses[0].inputs", id="no-inputs"),
    pytest.param(mutate("storage", "temperature_c", float("nan")), "body", id="nan"),
    pytest.param(mutate("storage", "temperature_c", "18"), "storage[0].temperature_c", id="number-as-text"),
    pytest.param(mutate("shipments", "quantity", 1e300), "shipments[0].quantity", id="huge-quantity"),
    pytest.param(mutate("shipments", "lot", "L" * 21), "shipments[0].lot", id="long-lot"),
    pytest.param(mutate("shipments", "lot", "批次\u202e1"), "shipments[0].lot", id="non-gs1-lot"),
]


@pytest.mark.parametrize(("body", "field"), BAD)
async def test_bad_pushes_are_refused_naming_the_field_and_nothing_is_stored(client: TestClient, body: Any, field: str) -> None:
    # Python's json writes NaN as a bare word, which is not JSON: the parser refuses the body
    resp = await client.post(URL, data=json.dumps(body), headers={**await bearer(client, "trace"), "Content-Type": "application/json"})
    assert resp.status == 400, await resp.text()
    assert (await resp.json())["field"] == field
    assert await stored_events(client) == 0


async def test_hostile_text_is_kept_as_text(client: TestClient) -> None:
    body = chain_body()
    body["shipments"][0]["region"] = "<img src=x onerror=1>华东🚚"
    assert (await push(client, body)).status == 201
    s = await client.app[TRACE_FACTS].batch_summary(client.app[DATABASE], "PUSH01")
    assert s is not None and s["shipments"][0]["region"] == "<img src=x onerror=1>华东🚚"


async def test_only_trace_writers_may_push(client: TestClient) -> None:
    assert (await client.post(URL, json=chain_body())).status == 401
    assert (await client.post(URL, json=chain_body(), headers=await bearer(client, "producer"))).status == 403
