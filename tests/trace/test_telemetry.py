"""Factory telemetry: pushes, freshness (stale is never shown as current), validation."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from livebot.appkeys import BUS, DATABASE
from livebot.storage.base import utcnow
from livebot.topics import TELEMETRY
from livebot.trace import facts
from livebot.trace.keys import TRACE_FACTS
from livebot.trace.settings import TraceSettings
from tests.support import bearer

URL = "/api/v1/telemetry"


async def send(client: TestClient, body: Any, role: str = "trace") -> Any:
    return await client.post(URL, json=body, headers=await bearer(client, role))


async def test_readings_are_stored_published_and_go_stale(client: TestClient) -> None:
    seen: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    client.app[BUS].subscribe(TELEMETRY, seen.put, name="test")
    now = utcnow().replace(microsecond=0)
    body = {"plant": "齐齐哈尔工厂", "line": "湿法二线", "readings": [
        {"metric": "line_status", "value": "运行中", "at": now.isoformat(), "interval_s": 10},
        {"metric": "tank_temp_c", "value": 3.6, "at": now.isoformat(), "interval_s": 10},
        {"metric": "output_count", "value": 5400, "at": (now - timedelta(seconds=30)).isoformat(), "interval_s": 10},
    ]}
    resp = await send(client, body)
    assert resp.status == 201 and (await resp.json())["stored"] == 3
    message = await asyncio.wait_for(seen.get(), 5)
    assert message["plant"] == "齐齐哈尔工厂" and message["stale_after_s"] == 10
    db = client.app[DATABASE]
    snapshot = {r["metric"]: r for r in await facts.telemetry_snapshot(db, TraceSettings(), "齐齐哈尔工厂", now=now + timedelta(seconds=5))}
    assert snapshot["tank_temp_c"]["value"] == 3.6 and snapshot["tank_temp_c"]["unit"] == "°C"
    assert snapshot["line_status"]["value"] == "运行中"
    assert not snapshot["tank_temp_c"]["stale"]
    assert snapshot["output_count"]["stale"]  # 35 s old, expected every 10 s
    later = {r["metric"]: r for r in await facts.telemetry_snapshot(db, TraceSettings(), now=now + timedelta(seconds=11))}
    assert all(r["stale"] for r in later.values())
    assert await facts.telemetry_snapshot(db, TraceSettings(), "另一个工厂") == []


async def test_the_newest_reading_wins(client: TestClient) -> None:
    now = utcnow().replace(microsecond=0)
    for offset, value in ((20, 3.1), (0, 3.9), (10, 3.5)):
        at = (now - timedelta(seconds=offset)).isoformat()
        assert (await send(client, {"plant": "P", "metric": "tank_temp_c", "value": value, "at": at})).status == 201
    snapshot = await client.app[TRACE_FACTS].telemetry_snapshot(client.app[DATABASE], "P", now=now)
    assert [(r["metric"], r["value"], r["interval_s"]) for r in snapshot] == [("tank_temp_c", 3.9, 30)]


async def test_snapshot_over_http(client: TestClient) -> None:
    await send(client, {"plant": "P", "metric": "tank_temp_c", "value": 3.2})
    resp = await client.get(URL, params={"plant": "P"}, headers=await bearer(client, "advisor"))
    assert resp.status == 200
    (reading,) = (await resp.json())["readings"]
    assert reading["stale"] is False and reading["value"] == 3.2


@pytest.mark.parametrize("body,field", [
    ({"metric": "x", "value": 1}, "plant"),
    ({"plant": "P"}, "readings"),
    ({"plant": "P", "readings": []}, "readings"),
    ({"plant": "P", "readings": [{"metric": "Tank Temp", "value": 1}]}, "readings[0].metric"),
    ({"plant": "P", "readings": [{"metric": "t", "value": True}]}, "readings[0].value"),
    ({"plant": "P", "readings": [{"metric": "t", "value": None}]}, "readings[0].value"),
    ({"plant": "P", "readings": [{"metric": "t", "value": 1, "at": "2026-11-24 05:10"}]}, "readings[0].at"),
    ({"plant": "P", "readings": [{"metric": "t", "value": 1, "at": "2099-01-01T00:00:00Z"}]}, "readings[0].at"),
    ({"plant": "P", "readings": [{"metric": "t", "value": 1, "interval_s": 0}]}, "readings[0].interval_s"),
    ({"plant": "P\x00", "metric": "t", "value": 1}, "plant"),
    ({"plant": "P", "metric": "t", "value": "x" * 65}, "readings[0].value"),
    ({"plant": "P", "readings": [{"metric": "t", "value": 1}] * 1001}, "readings"),
])
async def test_bad_telemetry_is_400_naming_the_field(client: TestClient, body: dict[str, Any], field: str) -> None:
    resp = await send(client, body)
    assert resp.status == 400
    assert (await resp.json())["field"] == field


async def test_telemetry_auth_and_malformed_json(client: TestClient) -> None:
    assert (await client.post(URL, json={"plant": "P", "metric": "t", "value": 1})).status == 401
    assert (await send(client, {"plant": "P", "metric": "t", "value": 1}, "advisor")).status == 403
    resp = await client.post(URL, data=b"{nope", headers=await bearer(client, "trace"))
    assert resp.status == 400


async def test_hostile_text_values_are_kept_as_text(client: TestClient) -> None:
    value = "<script>x</script>\u202e😀"
    assert (await send(client, {"plant": "P", "metric": "line_status", "value": value})).status == 201
    (reading,) = await client.app[TRACE_FACTS].telemetry_snapshot(client.app[DATABASE], "P")
    assert reading["value"] == value
