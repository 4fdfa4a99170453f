"""``{batch.ingredients}``, ``{batch.packed_at}``, ``{batch.warehouse}``, ``{batch.herd}`` …: filled from the trace front door, gaps stated, never guessed."""

from __future__ import annotations

import io
import random
from datetime import datetime
from typing import Any

import orjson
from aiohttp.test_utils import TestClient

from livebot.appkeys import DATABASE
from livebot.demo import trace as demo
from livebot.faq.context import NO_DATA, LiveContext, journey_values
from livebot.faq.placeholders import BATCH_KEYS, fill
from livebot.trace.api_internal import TRACE_FACTS
from tests.support import bearer

CAN = demo.SAMPLE_CAN
ANSWER = ("本批乳铁蛋白等配料：{batch.ingredients}。{batch.packed_at} 在{batch.packing_line}包装，入库 {batch.warehouse}（{batch.storage}），"
          "发货：{batch.shipments}。奶源牛群：{batch.herd}，饲喂方案 {batch.feed_plan}；饲料 {batch.feed}，检验 {batch.feed_tests}；{batch.withheld}。")


async def import_chain(client: TestClient, keep: Any = None) -> None:
    events = demo.chain_events(CAN, random.Random(7))
    if keep is not None:
        events = [e for e in events if keep(e)]
    body = orjson.dumps(demo.document(events, datetime.fromisoformat("2026-11-26T08:00:00+08:00")))
    resp = await client.post("/api/v1/trace/epcis", data=io.BytesIO(body), headers=await bearer(client, "trace"))
    assert resp.status == 201, await resp.text()


async def test_chain_placeholders_are_filled_from_trace(client: TestClient) -> None:
    await import_chain(client)
    values = await LiveContext(client.app[DATABASE], client.app[TRACE_FACTS]).batch(CAN.lot)
    assert values is not None
    filled = fill(ANSWER, {"batch": values})
    assert filled.complete, filled.missing
    assert "乳铁蛋白（批次 LF20261124B08，示例乳铁蛋白供应商，产地 新西兰）" in filled.text
    assert "在湿法二线包装，入库 哈尔滨成品仓（温度 " in filled.text
    assert "克东牧场一号牛群，280 头，荷斯坦奶牛" in filled.text
    assert "全株青贮玉米：黄曲霉毒素B1 <5 μg/kg 合格" in filled.text
    assert "均已隔离，奶未混入本批" in filled.text
    assert "11月24日" in filled.text and NO_DATA not in filled.text


async def test_missing_chain_parts_say_no_data(client: TestClient) -> None:
    await import_chain(client, keep=lambda e: e.get("bizStep") not in ("storing", "shipping", "packing") or "livebot:truck" in e)
    values = await LiveContext(client.app[DATABASE], client.app[TRACE_FACTS]).batch(CAN.lot)
    assert values is not None
    filled = fill("{batch.packed_at}|{batch.warehouse}|{batch.shipments}|{batch.regions}|{batch.ingredient_names}", {"batch": values})
    packed, warehouse, shipments, regions, names = filled.text.split("|")
    assert (packed, warehouse, shipments, regions) == (NO_DATA,) * 4
    assert "乳铁蛋白" in names


async def test_unknown_batch_leaves_gap_markers(client: TestClient) -> None:
    context = await LiveContext(client.app[DATABASE], client.app[TRACE_FACTS]).for_message(None, ["QH20991231Z99"])
    filled = fill("{batch.ingredients} {batch.warehouse}", context.values)
    assert filled.missing == ("batch.ingredients", "batch.warehouse")


def test_every_chain_key_is_documented_for_the_editor() -> None:
    assert set(journey_values({})) <= set(BATCH_KEYS)
    assert all(value == NO_DATA for value in journey_values({}).values())


def test_hostile_and_odd_stored_text_is_passed_as_text_not_markup_or_guess() -> None:
    summary = {
        "ingredients": [{"lot": "X1", "name": "<b>乳糖</b>🐄", "supplier": None, "origin": "", "inspections": []}],
        "herds": [{"herd": "urn:livebot:herd:x", "name": None, "size": None, "breed": None, "withheld_ok": None}],
        "shipments": [{"at": "not a time", "region": None}],
        "warehouse": {"name": "", "at": None, "temperature_min": None, "humidity_min": None},
    }
    values = journey_values(summary)
    assert values["ingredients"] == "<b>乳糖</b>🐄（批次 X1）"
    assert values["herd"] == "urn:livebot:herd:x" and values["herd_size"] == NO_DATA and values["withheld"] == NO_DATA
    assert values["shipments"] == "时间未知 发往（区域暂无数据）" and values["regions"] == NO_DATA
    assert (values["warehouse"], values["storage"], values["ingredient_tests"]) == (NO_DATA, NO_DATA, NO_DATA)
