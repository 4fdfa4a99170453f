"""Plain JSON pushes for plants without EPCIS: batches with raw milk, and inspections."""

from __future__ import annotations

import io
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from livebot.appkeys import DATABASE
from livebot.trace import facts
from livebot.trace.keys import TRACE_FACTS
from tests.support import bearer

BATCH = {
    "gtin": "06901234543216", "lot": "QH20261201A01", "product_name": "北境臻护 1段", "stage": "1段",
    "production_date": "2026-12-01", "expiry_date": "2028-11-30", "plant": "齐齐哈尔工厂", "line": "湿法一线", "can_code": "c26120111",
    "raw_milk": {"lot": "SC20261201T1", "farm": "双城牧场", "milking_start": "2026-12-01T03:30:00+08:00",
                 "milking_end": "2026-12-01T05:10:00+08:00", "cooled_at": "2026-12-01T05:38:00+08:00", "cooling_temp_c": 3.7,
                 "tank": "1号奶仓", "truck": "黑B·3321", "departed_at": "2026-12-01T05:45:00+08:00",
                 "arrived_at": "2026-12-01T06:20:00+08:00", "processing_start": "2026-12-01T06:55:00+08:00"},
}


async def post(client: TestClient, path: str, body: Any, role: str = "trace") -> Any:
    return await client.post(f"/api/v1/trace/{path}", json=body, headers=await bearer(client, role))


async def test_batch_push_builds_the_whole_summary(client: TestClient) -> None:
    resp = await post(client, "batches", {"batches": [BATCH]})
    assert resp.status == 201
    assert (await resp.json())["lots"] == ["QH20261201A01", "SC20261201T1"]
    s = await client.app[TRACE_FACTS].batch_summary(client.app[DATABASE], "QH20261201A01")
    assert s is not None
    assert (s["product"], s["stage"], s["can_code"], s["farm"], s["truck"]) == ("北境臻护 1段", "1段", "C26120111", "双城牧场", "黑B·3321")
    assert (s["minutes_to_processing"], s["promise_met"], s["cooling_minutes"]) == (105, True, 28)
    again = await post(client, "batches", BATCH)
    assert again.status == 201
    assert await facts.find_lot(client.app[DATABASE], "C26120111") == "QH20261201A01"


async def test_inspection_push_is_idempotent(client: TestClient) -> None:
    await post(client, "batches", BATCH)
    items = [{"id": "lab-7731", "lot": "SC20261201T1", "item": "蛋白质", "value": 3.2, "unit": "g/100g", "limit": "≥2.8",
              "result": "pass", "lab": "牧场化验室", "at": "2026-12-01T05:30:00+08:00"},
             {"lot": "QH20261201A01", "item": "三聚氰胺", "value": "未检出", "unit": "mg/kg", "limit": 1, "result": "pass"}]
    first = await post(client, "inspections", {"inspections": items})
    assert first.status == 201 and await first.json() == {"stored": 2, "duplicates": 0}
    again = await post(client, "inspections", {"inspections": items})
    assert again.status == 200 and await again.json() == {"stored": 0, "duplicates": 2}
    s = await client.app[TRACE_FACTS].batch_summary(client.app[DATABASE], "QH20261201A01")
    assert s is not None and (s["inspections_passed"], s["inspections_total"]) == (2, 2)
    assert {i["item"]: i["limit"] for i in s["inspections"]} == {"蛋白质": "≥2.8", "三聚氰胺": "1"}


@pytest.mark.parametrize("body,field", [
    ({**BATCH, "gtin": "06901234543217"}, "batches[0].gtin"),
    ({**BATCH, "lot": "批次一"}, "batches[0].lot"),
    ({**BATCH, "lot": None}, "batches[0].lot"),
    ({**BATCH, "production_date": "2026/12/01"}, "batches[0].production_date"),
    ({**BATCH, "can_code": "C-1"}, "batches[0].can_code"),
    ({**BATCH, "plant": "厂\x07"}, "batches[0].plant"),
    ({**BATCH, "raw_milk": {"lot": "R1", "milking_end": "05:10"}}, "batches[0].raw_milk[0].milking_end"),
    ({**BATCH, "raw_milk": {"lot": "R1", "cooling_temp_c": "cold"}}, "batches[0].raw_milk[0].cooling_temp_c"),
    ({"batches": []}, "batches"),
    ({"batches": [BATCH] * 1001}, "batches"),
])
async def test_bad_batches_name_the_field(client: TestClient, body: dict[str, Any], field: str) -> None:
    resp = await post(client, "batches", body)
    assert resp.status == 400
    assert (await resp.json())["field"] == field


async def test_can_code_belongs_to_one_lot(client: TestClient) -> None:
    await post(client, "batches", BATCH)
    resp = await post(client, "batches", {**BATCH, "lot": "QH20261201A02", "raw_milk": []})
    assert resp.status == 400 and (await resp.json())["field"] == "batches[0].can_code"


@pytest.mark.parametrize("item,field,status", [
    ({"lot": "QH20261201A01", "item": "x", "result": "ok"}, "inspections[0].result", 400),
    ({"lot": "QH20261201A01", "result": "pass"}, "inspections[0].item", 400),
    ({"lot": "NOPE1", "item": "x", "result": "pass"}, "inspections[0].lot", 409),  # well-formed; push the batch first
    ({"lot": "QH20261201A01", "item": "x", "result": "pass", "at": "yesterday"}, "inspections[0].at", 400),
])
async def test_bad_inspections(client: TestClient, item: dict[str, Any], field: str, status: int) -> None:
    await post(client, "batches", BATCH)
    resp = await post(client, "inspections", {"inspections": [item]})
    assert resp.status == status and (await resp.json())["field"] == field


async def test_push_auth_and_malformed(client: TestClient) -> None:
    assert (await client.post("/api/v1/trace/batches", json=BATCH)).status == 401
    assert (await post(client, "batches", BATCH, "marketing")).status == 403
    resp = await client.post("/api/v1/trace/batches", data=b"[1,", headers=await bearer(client, "trace"))
    assert resp.status == 400
    big = io.BytesIO(orjson.dumps({"batches": [BATCH], "pad": "x" * (2 * 1024 * 1024)}))
    resp = await client.post("/api/v1/trace/batches", data=big, headers=await bearer(client, "trace"))
    assert resp.status == 413


def test_push_parsers_name_the_field_for_any_hostile_value() -> None:
    from livebot.errors import ValidationError
    from livebot.trace.pushes import parse_batches, parse_inspections
    from livebot.trace.telemetry import parse_telemetry

    weird: list[Any] = [None, 0, True, -1.5, "", "x" * 300, "\x00", [], {}, "<script>", float("inf")]
    inspection = {"id": "a", "lot": "L1", "item": "蛋白质", "value": 3.2, "unit": "g", "limit": "≥2.8", "result": "pass",
                  "lab": "lab", "at": "2026-12-01T05:30:00+08:00"}
    telemetry = {"plant": "P", "line": "L", "metric": "tank_temp", "value": 3.6, "unit": "°C",
                 "at": "2026-12-01T05:30:00+08:00", "interval_s": 10}
    cases = [(parse_batches, BATCH, None), (parse_batches, BATCH["raw_milk"], "raw_milk"),
             (parse_inspections, inspection, None), (lambda b: parse_telemetry(b, 30), telemetry, None)]
    for parse, template, nested in cases:
        for key in template:
            for value in weird:
                body = {**BATCH, "raw_milk": {**BATCH["raw_milk"], key: value}} if nested else {**template, key: value}
                try:
                    parse(body)
                except ValidationError as err:
                    assert err.field
