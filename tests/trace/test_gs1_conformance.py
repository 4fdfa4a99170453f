"""GS1's own EPCIS 2.0 examples (tests/fixtures/gs1-epcis, 47 JSON-LD + 31 XML) all import, and twins agree.

Each document goes through ``POST /api/v1/trace/epcis`` into a fresh database, with the content
type of its format; every event of the document is accounted for (stored, or a duplicate of an
identical event without eventID). JSON-LD and XML forms of the same events store identical rows
(the event id aside where GS1 gave only the JSON form an eventID).
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient
from defusedxml.ElementTree import parse as parse_xml
from sqlalchemy import delete, select

from livebot.appkeys import DATABASE
from livebot.trace.models import Inspection, SensorReading, TraceEvent, TraceEventLot
from tests.support import bearer

GS1 = Path(__file__).resolve().parents[1] / "fixtures" / "gs1-epcis"
JSON_FILES = sorted((GS1 / "json").glob("*.jsonld"))
XML_FILES = sorted((GS1 / "xml").glob("*.xml"))
EVENT_TAGS = {"ObjectEvent", "AggregationEvent", "TransformationEvent", "AssociationEvent", "TransactionEvent"}
URL = "/api/v1/trace/epcis"

# JSON-LD and XML forms of the same events. GS1's other "twins" differ in content on purpose or by
# accident (AggregationEvent vs ObjectEvent, ADD vs OBSERVE, another readPoint, http vs https
# namespaces ...), so they are only checked to import.
TWINS = [
    (["Example_9.6.1-ObjectEvent.jsonld"], "Example_9.6.1-ObjectEvent-2020_06_18a.xml"),
    # -g declares an eventID that -d does not have; in the XML (no eventIDs) the declaration retracts -d's twin
    ([f"AssociationEvent_AssociationEvent-{c}.jsonld" for c in "abcefh"], "AssociationEvent_AssociationEventExamples.xml"),
    ([f"WithSensorData_SensorDataExample{n}.jsonld" for n in (1, 2, 3, 5, 14, 15)], "WithSensorData_SensorDataExamples.xml"),
]


def expected_events(path: Path) -> int:
    """How many events the document holds, counted without livebot's parser."""
    if path.suffix == ".xml":
        return sum(1 for element in parse_xml(path).iter() if element.tag in EVENT_TAGS)
    doc = orjson.loads(path.read_bytes())
    body = doc["epcisBody"]
    if "queryResults" in body:
        body = body["queryResults"]["resultsBody"]
    return len(body["eventList"])


def content_type(path: Path) -> str:
    return "application/xml" if path.suffix == ".xml" else "application/ld+json"


async def post_file(client: TestClient, path: Path) -> Any:
    headers = {**await bearer(client, "trace"), "Content-Type": content_type(path)}
    return await client.post(URL, data=io.BytesIO(await asyncio.to_thread(path.read_bytes)), headers=headers)


async def stored_rows(client: TestClient) -> dict[str, tuple[Any, ...]]:
    """Every stored event with its lots and readings, keyed by event id (no primary keys, no raw body)."""
    async with client.app[DATABASE].sessions() as session:
        events = (await session.scalars(select(TraceEvent))).all()
        lots = (await session.execute(select(TraceEventLot.event_pk, TraceEventLot.role, TraceEventLot.gtin, TraceEventLot.lot,
                                             TraceEventLot.quantity, TraceEventLot.uom))).tuples().all()
        readings = (await session.execute(select(SensorReading.event_pk, SensorReading.type, SensorReading.value,
                                                 SensorReading.uom, SensorReading.at))).tuples().all()
    return {
        e.event_id: (e.event_type, e.action, e.biz_step, e.disposition, e.event_time, e.read_point, e.biz_location,
                     orjson.dumps(e.details, option=orjson.OPT_SORT_KEYS), e.content_hash, e.retracted,
                     sorted(row[1:] for row in lots if row[0] == e.id), sorted(row[1:] for row in readings if row[0] == e.id))
        for e in events
    }


ID_DETAILS = ("retracts", "corrective_event_ids")


def by_content(rows: dict[str, tuple[Any, ...]]) -> dict[tuple[str, bool], tuple[Any, ...]]:
    """Rows keyed by content hash and retracted flag, event ids left out (also those in ``details``): GS1's
    JSON examples often carry an eventID where the XML twin has none, and a declaration has the content
    hash of the event it declares."""
    found = {}
    for row in rows.values():
        details = {k: v for k, v in orjson.loads(row[7]).items() if k not in ID_DETAILS}
        found[(row[8], row[9])] = (*row[:7], details, *row[8:])
    return found


async def wipe(client: TestClient) -> None:
    async with client.app[DATABASE].sessions() as session, session.begin():
        for model in (Inspection, SensorReading, TraceEventLot, TraceEvent):
            await session.execute(delete(model))


def test_all_78_examples_are_here() -> None:
    assert (len(JSON_FILES), len(XML_FILES)) == (47, 31)


@pytest.mark.parametrize("path", JSON_FILES + XML_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
async def test_every_gs1_example_imports(client: TestClient, path: Path) -> None:
    resp = await post_file(client, path)
    body = await resp.json()
    assert resp.status in (200, 201), body
    assert body["stored"] + body["duplicates"] == expected_events(path)
    assert len(await stored_rows(client)) == body["stored"]
    again = await post_file(client, path)
    assert again.status == 200 and (await again.json())["stored"] == 0


@pytest.mark.parametrize("json_names,xml_name", TWINS, ids=lambda v: v if isinstance(v, str) else None)
async def test_json_and_xml_twins_store_identical_events(client: TestClient, json_names: list[str], xml_name: str) -> None:
    for name in json_names:
        assert (await post_file(client, GS1 / "json" / name)).status in (200, 201)
    from_json = by_content(await stored_rows(client))
    assert from_json
    await wipe(client)
    assert (await post_file(client, GS1 / "xml" / xml_name)).status == 201
    from_xml = by_content(await stored_rows(client))
    assert {key: from_xml.get(key) for key in from_json} == from_json


async def test_xml_twins_of_stored_events_without_event_id_are_duplicates(client: TestClient) -> None:
    """Sensor examples 14 and 15 carry no eventID in either form: their XML twins get the same hash ids
    (duplicates); the other four have an eventID only in JSON, so their XML forms are new events."""
    for name in TWINS[2][0]:
        assert (await post_file(client, GS1 / "json" / name)).status == 201
    resent = await post_file(client, GS1 / "xml" / TWINS[2][1])
    assert resent.status == 201, await resent.text()
    body = await resent.json()
    assert (body["stored"], body["duplicates"]) == (12, 2)


async def test_events_without_event_id_get_one_hash_id_whatever_the_notation(client: TestClient) -> None:
    """GS1's hash-id examples: the same event with another time zone, list order, namespace prefix, xsi:type."""
    files = sorted((GS1 / "xml").glob("WithEventHashID_*.xml"))
    results = [await (await post_file(client, path)).json() for path in files]
    assert [(r["stored"], r["duplicates"]) for r in results] == [(1, 0)] + [(0, 1)] * 5
    (event_id,) = await stored_rows(client)
    assert event_id.startswith("ni:///sha-256;") and event_id.endswith("?ver=livebot2")


async def test_sensor_only_object_events_are_accepted(client: TestClient) -> None:
    """EPCIS 2.0: an ObjectEvent may carry sensor readings without an epcList or quantityList."""
    for name in ("WithSensorData_SensorDataExample1b.jsonld", "WithSensorData_SensorDataExample3.jsonld"):
        resp = await post_file(client, GS1 / "json" / name)
        assert resp.status == 201, await resp.text()
    async with client.app[DATABASE].sessions() as session:
        types = set(await session.scalars(select(SensorReading.type)))
    assert "Temperature" in types


async def test_extensions_and_certification_are_kept(client: TestClient) -> None:
    for path in (GS1 / "json" / "WithFullCombinationOfFields_object_event_all_possible_fields.jsonld",
                 GS1 / "xml" / "WithExtension_ObjectEvent.xml"):
        assert (await post_file(client, path)).status == 201
    async with client.app[DATABASE].sessions() as session:
        bodies = {e.event_type + str(e.action) + e.biz_step: e for e in (await session.scalars(select(TraceEvent))).all()}
    from_json = next(e for e in bodies.values() if "ext1:string" in e.body)
    assert from_json.body["ext1:object"]["ext2:string"] == "stringInObject" and "ext1:int" in from_json.body["ilmd"]
    assert from_json.details["certification"] == ["https://accreditation-council.example.org/certificate/ABC12345"]
    from_xml = bodies["ObjectEventADDcommissioning"].body
    assert from_xml["example:userElement"] == {"anotherElement": "elementData"}
    assert from_xml["example:extension"] == {"futureExtension": ""}  # EPCIS 1.x <extension> wrapper flattened
    assert from_xml["ilmd"]["example:userIlmd"] == {"part1": "1", "part2": "2", "part3": "3"}
