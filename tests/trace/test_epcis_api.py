"""``POST /api/v1/trace/epcis``: stored whole or rejected whole, idempotent, authenticated."""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any

import orjson
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from livebot.appkeys import BUS, DATABASE
from livebot.topics import TRACE_UPDATED
from livebot.trace.keys import TRACE_FACTS
from livebot.trace.models import Batch, Inspection, RawMilkLot, SensorReading, TraceEvent
from tests.support import bearer, login
from tests.trace.support import CHAIN_LOT, CHAIN_RAW_LOT, EPCIS, big_document, events_of

URL = "/api/v1/trace/epcis"


async def count(client: TestClient, model: Any) -> int:
    async with client.app[DATABASE].sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def post(client: TestClient, body: Any, role: str = "trace") -> Any:
    data = io.BytesIO(body if isinstance(body, bytes) else orjson.dumps(body))
    return await client.post(URL, data=data, headers={**await bearer(client, role), "Content-Type": "application/ld+json"})


async def test_valid_chain_is_stored_and_published(client: TestClient, chain_doc: dict[str, Any]) -> None:
    seen: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    client.app[BUS].subscribe(TRACE_UPDATED, seen.put, name="test")
    resp = await post(client, chain_doc)
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert body["stored"] == 19 and body["duplicates"] == 0
    assert set(body["lots"]) == {CHAIN_LOT, CHAIN_RAW_LOT}
    message = await asyncio.wait_for(seen.get(), 5)
    assert CHAIN_LOT in message["lots"] and "06901234543384" in message["gtins"]
    assert await count(client, TraceEvent) == 19
    assert await count(client, Inspection) == 12
    assert await count(client, SensorReading) == 7 + 4
    summary = await client.app[TRACE_FACTS].batch_summary(client.app[DATABASE], CHAIN_LOT)
    assert summary is not None
    assert (summary["farm"], summary["plant"], summary["line"]) == ("双城牧场", "齐齐哈尔工厂", "湿法二线")
    assert summary["milking_end"] == "2026-11-24T05:10:00+08:00"
    assert summary["arrived_at"] == "2026-11-24T06:20:00+08:00"  # sent as 22:20Z the day before
    assert summary["processing_start"] == "2026-11-24T06:55:00+08:00"
    assert (summary["minutes_to_processing"], summary["promise_met"]) == (105, True)
    assert (summary["inspections_passed"], summary["inspections_total"]) == (12, 12)
    assert summary["expiry_date"] == "2028-11-23" and summary["can_code"] == "C26112421"


async def test_resending_is_idempotent(client: TestClient, chain_doc: dict[str, Any]) -> None:
    assert (await post(client, chain_doc)).status == 201
    again = await post(client, chain_doc)
    assert again.status == 200
    assert await again.json() == {"stored": 0, "duplicates": 19, "lots": [], "gtins": sorted(
        ["06901234500004", "06901234543216", "06901234543384", "06901234543452"])}
    assert await count(client, TraceEvent) == 19
    assert await count(client, Inspection) == 12
    assert await count(client, Batch) == 1 and await count(client, RawMilkLot) == 1


async def test_duplicate_event_inside_one_document_is_stored_once(client: TestClient, chain_doc: dict[str, Any]) -> None:
    events = events_of(chain_doc)
    events.append(dict(events[18]))
    body = await (await post(client, chain_doc)).json()
    assert (body["stored"], body["duplicates"]) == (19, 1)


async def test_missing_time_zone_offset_rejects_everything(client: TestClient) -> None:
    resp = await post(client, (EPCIS / "missing_tz_offset.jsonld").read_bytes())
    assert resp.status == 422
    body = await resp.json()
    assert body["event_index"] == 2 and body["field"] == "eventTimeZoneOffset" and body["error"]
    assert await count(client, TraceEvent) == 0


async def test_unknown_business_step_rejects_everything(client: TestClient) -> None:
    resp = await post(client, (EPCIS / "unknown_bizstep.jsonld").read_bytes())
    assert resp.status == 422
    assert (await resp.json())["field"] == "bizStep"
    assert await count(client, TraceEvent) == 0


async def test_last_event_bad_means_nothing_half_stored(client: TestClient, chain_doc: dict[str, Any]) -> None:
    events_of(chain_doc)[-1]["disposition"] = "urn:epcglobal:cbv:disp:fresh"
    resp = await post(client, chain_doc)
    assert resp.status == 422
    assert (await resp.json())["event_index"] == 18
    for model in (TraceEvent, Inspection, SensorReading, Batch, RawMilkLot):
        assert await count(client, model) == 0


async def test_a_conflict_found_while_storing_rolls_back_the_whole_document(client: TestClient, chain_doc: dict[str, Any]) -> None:
    assert (await post(client, chain_doc)).status == 201
    other = orjson.loads(orjson.dumps(chain_doc))
    for event in events_of(other):
        event.pop("eventID", None)
        event["eventTime"] = event["eventTime"].replace("2026-11-24", "2026-11-25")
    made = events_of(other)[13]
    made["outputQuantityList"][0]["epcClass"] = "https://id.gs1.org/01/06901234543384/10/QH20261125B01"
    resp = await post(client, other)
    assert resp.status == 422
    assert (await resp.json())["field"] == "ilmd.livebot:canCode"
    assert await count(client, TraceEvent) == 19


async def test_malformed_json_is_400(client: TestClient) -> None:
    resp = await post(client, (EPCIS / "malformed.json").read_bytes())
    assert resp.status == 400
    assert (await resp.json())["field"] == "body"
    resp = await post(client, b"\xff\xfe not json")
    assert resp.status == 400


async def test_twenty_megabytes_is_413(client: TestClient) -> None:
    body = io.BytesIO(b"{" + b" " * (20 * 1024 * 1024) + b"}")
    resp = await client.post(URL, data=body, headers={**await bearer(client, "trace"), "Content-Type": "application/json"})
    assert resp.status == 413
    assert "error" in await resp.json()
    assert await count(client, TraceEvent) == 0


async def test_auth(client: TestClient, chain_doc: dict[str, Any]) -> None:
    data = orjson.dumps(chain_doc)
    assert (await client.post(URL, data=data)).status == 401
    assert (await client.post(URL, data=data, headers={"Authorization": "Bearer nope"})).status == 401
    for role in ("producer", "advisor", "marketing"):
        assert (await post(client, chain_doc, role)).status == 403
    assert (await post(client, chain_doc, "admin")).status == 201


async def test_admin_person_may_import_with_csrf(client: TestClient, chain_doc: dict[str, Any]) -> None:
    csrf = await login(client, "admin")
    resp = await client.post(URL, data=orjson.dumps(chain_doc), headers={"X-CSRF-Token": csrf})
    assert resp.status == 201


async def test_documents_in_reverse_order_give_the_same_chain(client: TestClient, chain_doc: dict[str, Any]) -> None:
    events = events_of(chain_doc)
    later = orjson.loads(orjson.dumps(chain_doc))
    events_of(later)[:] = events[13:]
    earlier = orjson.loads(orjson.dumps(chain_doc))
    events_of(earlier)[:] = events[:13]
    assert (await post(client, later)).status == 201
    assert (await post(client, earlier)).status == 201
    summary = await client.app[TRACE_FACTS].batch_summary(client.app[DATABASE], CHAIN_LOT)
    assert summary is not None
    assert (summary["farm"], summary["minutes_to_processing"], summary["inspections_total"]) == ("双城牧场", 105, 12)


async def test_a_large_document_is_imported_off_the_serving_loop(client: TestClient) -> None:
    body = orjson.dumps(big_document(200))
    assert len(body) > 1024 * 1024
    gaps: list[float] = []
    done = asyncio.Event()

    async def heartbeat() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    beat = asyncio.create_task(heartbeat())
    started = time.perf_counter()
    resp = await post(client, body)
    took = time.perf_counter() - started
    done.set()
    await beat
    assert resp.status == 201
    assert (await resp.json())["stored"] == 200 * 19
    assert max(gaps) < max(1.0, 0.25 * took), f"serving loop blocked for {max(gaps):.2f} s of {took:.1f} s"
    summary = await client.app[TRACE_FACTS].batch_summary(client.app[DATABASE], "QH2026000199B")
    assert summary is not None and summary["minutes_to_processing"] == 105
