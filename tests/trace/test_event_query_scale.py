"""The EPCIS query against a generated document of 100,000 events (bulk import path): exactly one lot's events come back."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from livebot.appkeys import DATABASE
from livebot.trace import service
from livebot.trace.digitallink import lgtin_urn
from livebot.trace.keys import TRACE_SETTINGS
from tests.trace.test_event_query import every_page

pytestmark = pytest.mark.slow
GTIN = "06901234543384"
LOTS = 2000
PER_LOT = 50
STEPS = ("inspecting", "storing", "shipping", "receiving", "sensor_reporting")
START = datetime.fromisoformat("2026-08-01T05:00:00+08:00")


def lot_name(n: int) -> str:
    return f"L{n:05d}"


def generated_document() -> dict[str, Any]:
    """``LOTS`` lots of ``PER_LOT`` events each: one commissioning, the rest observations of assorted steps."""
    events: list[dict[str, Any]] = []
    for n in range(LOTS):
        lot = lot_name(n)
        epc = [{"epcClass": lgtin_urn(GTIN, lot), "quantity": 100, "uom": "H87"}]
        for k in range(PER_LOT):
            at = (START + timedelta(minutes=n * 3 + k)).isoformat()
            event: dict[str, Any] = {"type": "ObjectEvent", "eventID": f"urn:uuid:00000000-0000-4000-8000-{n:06d}{k:06d}",
                                     "eventTime": at, "eventTimeZoneOffset": "+08:00", "quantityList": epc}
            if k == 0:
                event.update(action="ADD", bizStep="commissioning", disposition="active")
            else:
                event.update(action="OBSERVE", bizStep=STEPS[k % len(STEPS)])
            events.append(event)
    return {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], "type": "EPCISDocument",
            "schemaVersion": "2.0", "creationDate": "2026-12-01T00:00:00+08:00", "epcisBody": {"eventList": events}}


async def test_query_returns_exactly_one_lots_events_out_of_100000(client: TestClient) -> None:
    doc = generated_document()
    assert len(doc["epcisBody"]["eventList"]) == 100_000
    started = time.perf_counter()
    result = await service.import_epcis(client.app[DATABASE], orjson.dumps(doc), client.app[TRACE_SETTINGS])
    print(f"\nimported {result.stored} events in {time.perf_counter() - started:.1f} s (indicative, loaded machine)")
    assert result.stored == 100_000
    for n in (0, 1234, LOTS - 1):
        found = await every_page(client, lot=lot_name(n), perPage=1000)
        expected = {f"urn:uuid:00000000-0000-4000-8000-{n:06d}{k:06d}" for k in range(PER_LOT)}
        assert [e["eventID"] for e in found] and {e["eventID"] for e in found} == expected and len(found) == PER_LOT
    # paged in small pages: still exactly the lot's events, each once
    paged = await every_page(client, lot=lot_name(1234), perPage=7)
    assert len(paged) == PER_LOT and len({e["eventID"] for e in paged}) == PER_LOT
    # a lot that is a prefix of others' names does not pick them up
    assert len(await every_page(client, lot="L0123", perPage=1000)) == 0
    only_commissioning = await every_page(client, lot=lot_name(7), EQ_bizStep="commissioning", perPage=1000)
    assert [e["eventID"] for e in only_commissioning] == [f"urn:uuid:00000000-0000-4000-8000-{7:06d}{0:06d}"]
