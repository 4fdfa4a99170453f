"""Chain snapshots stay in step with every write: events, pushes, renames, intermediate lots."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp.test_utils import TestClient
from sqlalchemy import update

from livebot.appkeys import DATABASE
from livebot.trace import chains, facts, store
from livebot.trace.keys import TRACE_FACTS, TRACE_SETTINGS
from livebot.trace.models import Batch
from livebot.trace.pushes import parse_batches, parse_inspections
from livebot.trace.settings import TraceSettings
from tests.support import bearer
from tests.trace.support import CHAIN_LOT, CHAIN_RAW_LOT, events_of


async def post(client: TestClient, doc: dict[str, Any]) -> Any:
    resp = await client.post("/api/v1/trace/epcis", data=orjson.dumps(doc), headers=await bearer(client, "trace"))
    assert resp.status in (200, 201), await resp.text()
    return await resp.json()


async def test_snapshot_equals_a_fresh_build(client: TestClient, chain_doc: dict[str, Any]) -> None:
    await post(client, chain_doc)
    db = client.app[DATABASE]
    stored = await facts.batch_summary(db, CHAIN_LOT, TraceSettings())
    async with db.sessions() as session, session.begin():
        await session.execute(update(Batch).values(chain=None))
    rebuilt = await facts.batch_summary(db, CHAIN_LOT, TraceSettings())
    assert stored == rebuilt and stored is not None and stored["inspections_total"] == 12


async def test_master_data_rename_reaches_the_summary(client: TestClient, chain_doc: dict[str, Any]) -> None:
    await post(client, chain_doc)
    renamed = orjson.loads(orjson.dumps(chain_doc))
    classes = renamed["epcisHeader"]["epcisMasterData"]["vocabularyList"][1]["vocabularyElementList"]
    classes[1]["attributes"][0]["attribute"] = "北境臻护 2段（新包装）"
    events_of(renamed)[:] = []
    await post(client, renamed)
    summary = await client.app[TRACE_FACTS].batch_summary(client.app[DATABASE], CHAIN_LOT)
    assert summary is not None and summary["product"] == "北境臻护 2段（新包装）"
    await store.save_products(client.app[DATABASE], [("06901234543384", "北境臻护 2段", "2段")], client.app[TRACE_SETTINGS])
    summary = await client.app[TRACE_FACTS].batch_summary(client.app[DATABASE], CHAIN_LOT)
    assert summary is not None and summary["product"] == "北境臻护 2段"


async def test_raw_milk_inspection_pushed_later_reaches_the_can(client: TestClient, chain_doc: dict[str, Any]) -> None:
    await post(client, chain_doc)
    db = client.app[DATABASE]
    await store.save_inspections(db, parse_inspections({"lot": CHAIN_RAW_LOT, "item": "体细胞数", "value": "18万", "result": "pass"}), TraceSettings())
    summary = await facts.batch_summary(db, CHAIN_LOT, TraceSettings())
    assert summary is not None and summary["inspections_total"] == 13


async def test_concurrent_writes_to_one_chain_all_reach_its_snapshot(client: TestClient, chain_doc: dict[str, Any]) -> None:
    await post(client, chain_doc)
    db = client.app[DATABASE]
    pushes = [parse_inspections({"id": f"lab-{n}", "lot": CHAIN_RAW_LOT if n % 2 else CHAIN_LOT,
                                 "item": f"抽检项目{n}", "value": "合格", "result": "pass"}) for n in range(16)]
    products = store.save_products(db, [("06901234543384", "北境臻护 2段", "2段")], TraceSettings())
    await asyncio.gather(products, *(store.save_inspections(db, push, TraceSettings()) for push in pushes))
    summary = await facts.batch_summary(db, CHAIN_LOT, TraceSettings())
    assert summary is not None and summary["inspections_total"] == 12 + 16
    assert summary["product"] == "北境臻护 2段"


async def test_can_made_from_base_powder_is_followed_to_the_milk(client: TestClient, chain_doc: dict[str, Any]) -> None:
    """raw milk -> base powder (intermediate lot) -> cans: the can still shows the farm and the 2-hour facts."""
    events = events_of(chain_doc)
    made = events[13]
    made["outputQuantityList"][0]["epcClass"] = "urn:epc:class:lgtin:6901234.054338.BASE1124"
    made["ilmd"] = {"cbvmda:lotNumber": "BASE1124"}
    canning = {"type": "TransformationEvent", "eventID": "urn:uuid:canning-1", "eventTime": "2026-11-24T18:00:00+08:00",
               "eventTimeZoneOffset": "+08:00", "bizStep": "commissioning", "bizLocation": {"id": "urn:epc:id:sgln:6901234.00010.0"},
               "inputQuantityList": [{"epcClass": "urn:epc:class:lgtin:6901234.054338.BASE1124", "quantity": 900, "uom": "KGM"}],
               "outputQuantityList": [{"epcClass": f"urn:epc:class:lgtin:6901234.054338.{CHAIN_LOT}", "quantity": 1000, "uom": "H87"}],
               "ilmd": {"cbvmda:lotNumber": CHAIN_LOT, "cbvmda:itemExpirationDate": "2028-11-23", "livebot:canCode": "C26112421"}}
    events.append(canning)
    await post(client, chain_doc)
    summary = await client.app[TRACE_FACTS].batch_summary(client.app[DATABASE], CHAIN_LOT)
    assert summary is not None
    assert (summary["farm"], summary["raw_lot"], summary["minutes_to_processing"]) == ("双城牧场", CHAIN_RAW_LOT, 105)
    assert summary["inspections_total"] == 12 and summary["can_code"] == "C26112421"


async def test_bulk_build_matches_single_builds(client: TestClient) -> None:
    db = client.app[DATABASE]
    items = [{"gtin": "06901234543216", "lot": f"QH2026120{n}A01", "raw_milk": {"lot": f"SC2026120{n}T1", "farm": f"牧场{n}",
              "milking_end": f"2026-12-0{n}T05:10:00+08:00", "processing_start": f"2026-12-0{n}T06:{40 + n}:00+08:00"}}
             for n in range(1, 6)]
    await store.save_batches(db, parse_batches({"batches": items}), TraceSettings())
    async with db.sessions() as session:
        bulk = await chains.build_chains(session, [i["lot"] for i in items])
        single = {i["lot"]: (await chains.build_chains(session, [i["lot"]]))[i["lot"]] for i in items}
    assert {lot: chains.snapshot(c) for lot, c in bulk.items()} == {lot: chains.snapshot(c) for lot, c in single.items()}
    assert bulk["QH20261203A01"].raw_lots[0].farm == "牧场3"
