"""Derived 2-hour facts: minutes to processing, the promise, cooling, cold-chain excursions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from livebot.app import create_app
from livebot.appkeys import DATABASE
from livebot.config import Config
from livebot.trace import store
from livebot.trace.derive import excursions
from livebot.trace.keys import TRACE_FACTS, TRACE_SETTINGS
from livebot.trace.pushes import parse_batches
from tests.support import bearer
from tests.trace.support import CHAIN_LOT, events_of

GTIN = "06901234543216"


def t(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def push(client: TestClient, lot: str, *raws: dict[str, Any], **batch: Any) -> dict[str, Any]:
    item = {"gtin": GTIN, "lot": lot, "product_name": "北境臻护 1段", "stage": "1段", "plant": "齐齐哈尔工厂",
            "raw_milk": list(raws), **batch}
    await store.save_batches(client.app[DATABASE], parse_batches({"batches": [item]}), client.app[TRACE_SETTINGS])
    summary = await client.app[TRACE_FACTS].batch_summary(client.app[DATABASE], lot)
    assert summary is not None
    return summary


async def test_missing_arrival_still_gives_minutes(client: TestClient) -> None:
    s = await push(client, "QH20261124A01", {"lot": "SC1", "farm": "双城牧场", "milking_end": "2026-11-24T05:10:00+08:00",
                                             "departed_at": "2026-11-24T05:45:00+08:00", "processing_start": "2026-11-24T06:55:00+08:00"})
    assert s["arrived_at"] is None
    assert (s["minutes_to_processing"], s["promise_met"], s["promise_minutes"]) == (105, True, 120)


async def test_crossing_midnight(client: TestClient) -> None:
    s = await push(client, "QH20261124A02", {"lot": "SC2", "farm": "双城牧场", "milking_end": "2026-11-24T23:40:00+08:00",
                                             "processing_start": "2026-11-25T01:15:00+08:00"})
    assert (s["minutes_to_processing"], s["promise_met"]) == (95, True)
    reply = await client.app[TRACE_FACTS].trace_reply(client.app[DATABASE], "QH20261124A02")
    assert reply is not None and "23:40 挤奶，次日 01:15 进入生产，全程 95 分钟" in reply


async def test_time_zones_are_compared_as_instants(client: TestClient) -> None:
    s = await push(client, "QH20261125A01", {"lot": "SC3", "milking_end": "2026-11-24T21:10:00Z",
                                             "arrived_at": "2026-11-24T23:20:00+01:00", "processing_start": "2026-11-25T06:55:00+08:00"})
    assert s["minutes_to_processing"] == 105
    assert s["milking_end"] == "2026-11-25T05:10:00+08:00"
    assert s["arrived_at"] == "2026-11-25T06:20:00+08:00"


async def test_promise_missed_and_reply_says_so(client: TestClient) -> None:
    s = await push(client, "QH20261124A03", {"lot": "SC4", "farm": "克东牧场", "milking_end": "2026-11-24T05:10:00+08:00",
                                             "processing_start": "2026-11-24T07:40:00+08:00"})
    assert (s["minutes_to_processing"], s["promise_met"]) == (150, False)
    reply = await client.app[TRACE_FACTS].trace_reply(client.app[DATABASE], "QH20261124A03")
    assert reply is not None and "全程 150 分钟（超出2 小时承诺）" in reply


async def test_exactly_the_promise_is_met(client: TestClient) -> None:
    s = await push(client, "QH20261124A04", {"lot": "SC5", "milking_end": "2026-11-24T05:10:00+08:00",
                                             "processing_start": "2026-11-24T07:10:59+08:00"})
    assert (s["minutes_to_processing"], s["promise_met"]) == (120, True)


async def test_unknown_or_impossible_times_are_none(client: TestClient) -> None:
    s = await push(client, "QH20261124A05", {"lot": "SC6", "milking_end": "2026-11-24T05:10:00+08:00"})
    assert (s["minutes_to_processing"], s["promise_met"], s["processing_start"]) == (None, None, None)
    s = await push(client, "QH20261124A06", {"lot": "SC7", "milking_end": "2026-11-24T07:10:00+08:00",
                                             "processing_start": "2026-11-24T06:10:00+08:00"})
    assert (s["minutes_to_processing"], s["promise_met"]) == (None, None)
    s = await push(client, "QH20261124A07")
    assert (s["farm"], s["raw_lot"], s["readings"], s["inspections"]) == (None, None, [], [])


async def test_several_raw_lots_are_judged_by_the_slowest(client: TestClient) -> None:
    s = await push(client, "QH20261124A08",
                   {"lot": "SC8", "farm": "双城牧场", "milking_end": "2026-11-24T05:10:00+08:00", "processing_start": "2026-11-24T06:55:00+08:00"},
                   {"lot": "KD8", "farm": "克东牧场", "milking_end": "2026-11-24T04:40:00+08:00", "processing_start": "2026-11-24T06:55:00+08:00"})
    assert (s["farm"], s["minutes_to_processing"], s["promise_met"]) == ("克东牧场", 135, False)
    assert {r["lot"] for r in s["raw_lots"]} == {"SC8", "KD8"}


async def test_configured_promise(make_config: Callable[..., Config], aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(make_config(trace={"promise_minutes": 90, "coldchain_max_c": 6.0})))
    s = await push(client, "QH20261124A09", {"lot": "SC9", "milking_end": "2026-11-24T05:10:00+08:00",
                                             "processing_start": "2026-11-24T06:55:00+08:00"})
    assert (s["promise_minutes"], s["promise_met"], s["coldchain_max_c"]) == (90, False, 6.0)
    reply = await client.app[TRACE_FACTS].trace_reply(client.app[DATABASE], "QH20261124A09")
    assert reply is not None and "超出90 分钟承诺" in reply


def test_excursions_count_spells_after_cooling_until_processing() -> None:
    series = [(t(f"2026-11-24T05:{m:02d}:00+08:00"), v) for m, v in
              [(10, 30.0), (20, 3.9), (30, 4.5), (35, 4.8), (40, 3.8), (45, 4.2), (50, 3.7), (59, 9.0)]]
    cooled = t("2026-11-24T05:20:00+08:00")
    assert excursions(series, cooled, t("2026-11-24T05:55:00+08:00"), 4.0) == 2
    assert excursions(series, cooled, None, 4.0) == 3
    assert excursions(series, None, None, 4.0) == 0
    assert excursions(series, cooled, None, 10.0) == 0


async def test_excursion_and_cooling_from_epcis_sensor_reports(client: TestClient, chain_doc: dict[str, Any]) -> None:
    received = events_of(chain_doc)[10]
    received["sensorElementList"][1]["sensorReport"][0]["value"] = 6.5
    resp = await client.post("/api/v1/trace/epcis", data=orjson.dumps(chain_doc), headers=await bearer(client, "trace"))
    assert resp.status == 201
    s = await client.app[TRACE_FACTS].batch_summary(client.app[DATABASE], CHAIN_LOT)
    assert s is not None
    assert s["cooled_at"] == "2026-11-24T05:30:00+08:00" and s["cooling_temp_c"] == pytest.approx(3.9, abs=0.31)
    assert s["cooling_minutes"] == 20
    assert s["coldchain_excursions"] == 1
    assert len(s["readings"]) == 11 and s["readings"][0]["at"] <= s["readings"][-1]["at"]
    reply = await client.app[TRACE_FACTS].trace_reply(client.app[DATABASE], CHAIN_LOT)
    assert reply is not None and "冷链超温 1 次" in reply


async def test_pushed_cooling_wins_over_readings(client: TestClient) -> None:
    s = await push(client, "QH20261124A10", {"lot": "SC10", "milking_end": "2026-11-24T05:10:00+08:00",
                                             "cooled_at": "2026-11-24T05:42:00+08:00", "cooling_temp_c": 3.8})
    assert (s["cooled_at"], s["cooling_temp_c"], s["cooling_minutes"]) == ("2026-11-24T05:42:00+08:00", 3.8, 32)
    assert (s["cooling_met"], s["cooling_limit_minutes"]) == (True, 120)


async def test_unknown_lot_is_none(client: TestClient) -> None:
    assert await client.app[TRACE_FACTS].batch_summary(client.app[DATABASE], "NOPE1") is None
    assert await client.app[TRACE_FACTS].batch_summary(client.app[DATABASE], "") is None
