"""Bad input on the trace API, resolver and import: clear errors, nothing half-stored.

Complements test_epcis_api.py, test_pushes.py, test_telemetry.py and test_resolver.py: times
that overflow when moved to UTC, NUL characters in paths and queries (PostgreSQL cannot even
compare them), JSON nested past the parser's recursion limit, repeated telemetry, and files
the import command cannot read.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from livebot.appkeys import DATABASE
from livebot.cli import main
from livebot.trace.keys import TRACE_FACTS
from livebot.trace.models import Batch, RawMilkLot, TelemetryReading, TraceEvent
from tests.support import bearer
from tests.trace.support import CHAIN_GTIN, events_of
from tests.trace.test_cli import write_config
from tests.trace.test_pushes import BATCH

OVERFLOWING = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"]
NESTED = b'{"batches": ' + b"[" * 5000 + b"]" * 5000 + b"}"


async def count(client: TestClient, model: Any) -> int:
    async with client.app[DATABASE].sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("value", OVERFLOWING)
@pytest.mark.parametrize("key", ["milking_end", "cooled_at", "arrived_at"])
async def test_batch_times_that_overflow_are_400_naming_the_field(client: TestClient, key: str, value: str) -> None:
    body = {"batches": [{**BATCH, "raw_milk": {**BATCH["raw_milk"], key: value}}]}
    resp = await client.post("/api/v1/trace/batches", json=body, headers=await bearer(client, "trace"))
    assert resp.status == 400, await resp.text()
    assert (await resp.json())["field"] == f"batches[0].raw_milk[0].{key}"
    assert (await count(client, Batch), await count(client, RawMilkLot)) == (0, 0)


@pytest.mark.parametrize("value", OVERFLOWING)
async def test_inspection_and_telemetry_times_that_overflow_are_400(client: TestClient, value: str) -> None:
    headers = await bearer(client, "trace")
    assert (await client.post("/api/v1/trace/batches", json=BATCH, headers=headers)).status == 201
    item = {"lot": BATCH["lot"], "item": "蛋白质", "value": 3.2, "result": "pass", "at": value}
    resp = await client.post("/api/v1/trace/inspections", json={"inspections": [item]}, headers=headers)
    assert resp.status == 400 and (await resp.json())["field"] == "inspections[0].at"
    reading = {"plant": "齐齐哈尔工厂", "metric": "tank_temp", "value": 3.6, "at": value}
    resp = await client.post("/api/v1/telemetry", json=reading, headers=headers)
    assert resp.status == 400 and (await resp.json())["field"] == "readings[0].at"
    assert await count(client, TelemetryReading) == 0


@pytest.mark.parametrize("value", OVERFLOWING)
async def test_epcis_event_time_that_overflows_rejects_the_whole_document(client: TestClient, chain_doc: dict[str, Any],
                                                                          value: str) -> None:
    events_of(chain_doc)[3]["eventTime"] = value
    resp = await client.post("/api/v1/trace/epcis", data=io.BytesIO(orjson.dumps(chain_doc)),
                             headers={**await bearer(client, "trace"), "Content-Type": "application/ld+json"})
    assert resp.status in (400, 422), await resp.text()
    body = await resp.json()
    assert (body["event_index"], body["field"]) == (3, "eventTime")
    assert await count(client, TraceEvent) == 0


@pytest.mark.parametrize("path", ["/api/v1/trace/batches", "/api/v1/trace/inspections", "/api/v1/telemetry",
                                  "/api/v1/trace/epcis"])
async def test_json_nested_past_the_recursion_limit_is_400(client: TestClient, path: str) -> None:
    resp = await client.post(path, data=io.BytesIO(NESTED),
                             headers={**await bearer(client, "trace"), "Content-Type": "application/json"})
    assert resp.status == 400, await resp.text()
    assert "error" in await resp.json()
    assert (await client.get("/healthz")).status == 200


async def test_nul_in_paths_and_queries_is_not_found(client: TestClient) -> None:
    headers = await bearer(client, "trace")
    assert (await client.post("/api/v1/trace/batches", json=BATCH, headers=headers)).status == 201
    reader = await bearer(client, "advisor")
    assert (await client.get("/api/v1/trace/batches/QH20261201A01%00", headers=reader)).status == 404
    lookup = await client.get("/api/v1/trace/lookup", params={"code": "QH20261201A01\x00"}, headers=reader)
    assert lookup.status in (400, 404)
    assert (await client.get("/c/C26120111%00")).status == 404
    telemetry = await client.get("/api/v1/telemetry", params={"plant": "齐齐哈尔工厂\x00"}, headers=reader)
    assert telemetry.status in (200, 400)
    if telemetry.status == 200:
        assert (await telemetry.json())["readings"] == []
    assert (await client.get(f"/01/{CHAIN_GTIN}/10/A%00B")).status == 400
    assert (await client.get("/api/v1/trace/batches/QH20261201A01", headers=reader)).status == 200


async def test_repeated_telemetry_keeps_one_newest_reading(client: TestClient) -> None:
    headers = await bearer(client, "trace")
    reading = {"plant": "齐齐哈尔工厂", "line": "湿法二线", "metric": "tank_temp", "value": 3.6,
               "at": "2026-11-24T20:01:00+08:00"}
    for _ in range(3):
        assert (await client.post("/api/v1/telemetry", json=reading, headers=headers)).status == 201
    readings = await client.app[TRACE_FACTS].telemetry_snapshot(client.app[DATABASE], "齐齐哈尔工厂")
    assert [(r["metric"], r["value"]) for r in readings] == [("tank_temp", 3.6)]


def test_import_command_explains_unreadable_files(tmp_path: Path, database_url: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    config = str(write_config(tmp_path, database_url))
    cases = {"binary.json": b"\x00\xff\xfe\x80", "gbk.json": '{"type": "EPCISDocument", "备注": "奶源"}'.encode("gbk"),
             "nested.json": b'{"epcisBody": ' + b"[" * 5000 + b"]" * 5000 + b"}", "empty.json": b"",
             "list.json": b"[1, 2, 3]"}
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        assert main(["trace", "import", str(path), "--config", config]) == 1, name
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err, (name, captured.err)
        assert captured.err.startswith("livebot: error:") or json.loads(captured.out.strip().splitlines()[-1])["error"]
    assert main(["trace", "import", str(tmp_path), "--config", config]) == 1
    assert "is not a file" in capsys.readouterr().err


async def test_lookup_code_over_2048_characters_is_400_naming_code(client: TestClient) -> None:
    reader = await bearer(client, "advisor")
    resp = await client.get("/api/v1/trace/lookup", params={"code": "QH" + "1" * 3000}, headers=reader)
    assert resp.status == 400 and (await resp.json())["field"] == "code"
    hostile = await client.get("/api/v1/trace/lookup", params={"code": "<script>'; DROP TABLE batches;--😀"}, headers=reader)
    assert hostile.status == 404 and "<script>" not in await hostile.text()
