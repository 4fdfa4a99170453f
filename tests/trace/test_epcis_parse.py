"""EPCIS 2.0 validation: GS1 rules, CBV vocabularies, per-type action rules, extensions."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from livebot.trace import cbv
from livebot.trace.epcis import LIVEBOT_NS, legacy_event_id, parse_document
from livebot.trace.errors import InvalidEvent, MalformedDocument
from tests.trace.support import CHAIN_LOT, CHAIN_RAW_LOT, EPCIS, events_of, load


def only(event: dict[str, Any], **extra: Any) -> dict[str, Any]:
    doc = load("dairy_chain.jsonld")
    doc["epcisBody"]["eventList"] = [event]
    doc.update(extra)
    return doc


def base_event(**fields: Any) -> dict[str, Any]:
    event = {"type": "ObjectEvent", "eventTime": "2026-11-24T05:10:00+08:00", "eventTimeZoneOffset": "+08:00",
             "action": "OBSERVE", "quantityList": [{"epcClass": "urn:epc:class:lgtin:6901234.054321.A1", "quantity": 1, "uom": "KGM"}]}
    event.update(fields)
    return {k: v for k, v in event.items() if v is not None}


def rejected(event: dict[str, Any]) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as err:
        parse_document(only(event))
    assert err.value.event_index == 0
    return err.value


def test_the_dairy_chain_parses(chain_doc: dict[str, Any]) -> None:
    doc = parse_document(orjson.dumps(chain_doc))
    assert len(doc.events) == 19
    assert doc.locations["urn:epc:id:sgln:6901234.00001.0"] == "双城牧场"
    assert doc.products["06901234543384"] == {"name": "北境臻护 2段", "stage": "2段"}
    steps = [e.biz_step for e in doc.events]
    assert steps[9] == "shipping" and steps[10] == "receiving"  # Web URI and URN spellings
    assert doc.events[9].disposition == "in_transit"
    made = doc.events[13]
    assert {(r.role, r.lot) for r in made.lots} == {("input", CHAIN_RAW_LOT), ("output", CHAIN_LOT)}
    assert made.details["ilmd"]["can_code"] == "C26112421"
    assert len(doc.events[1].readings) == 7 and doc.events[1].readings[0].type == "Temperature"
    assert doc.events[2].details["inspection"]["result"] == "pass"
    assert doc.events[18].event_id.startswith("ni:///sha-256;")


@pytest.mark.parametrize("offset", ["+8:00", "08:00", "+15:00", "+14:01", "+05:60", "Z", "", 8, None])
def test_bad_or_missing_time_zone_offset(offset: Any) -> None:
    err = rejected(base_event(eventTimeZoneOffset=offset))
    assert err.field == "eventTimeZoneOffset"


@pytest.mark.parametrize("offset", ["+14:00", "-12:00", "+05:45", "-00:00", "+13:59"])
def test_good_offsets(offset: str) -> None:
    assert parse_document(only(base_event(eventTimeZoneOffset=offset))).events[0].tz_offset == offset


@pytest.mark.parametrize("time", [None, "2026-11-24 05:10", "2026-11-24T05:10:00", "yesterday", 1732400000])
def test_event_time_needs_an_offset(time: Any) -> None:
    assert rejected(base_event(eventTime=time)).field == "eventTime"


@pytest.mark.parametrize("step", ["transforming", "urn:epcglobal:cbv:bizstep:milking", "https://ref.gs1.org/cbv/BizStep-foo",
                                  "cbv:BizStep-bar", "Receiving"])
def test_unknown_business_steps(step: str) -> None:
    err = rejected(base_event(bizStep=step))
    assert err.field == "bizStep" and "CBV" in err.problem


def test_business_step_spellings_and_user_vocabulary() -> None:
    for spelling in ("receiving", "urn:epcglobal:cbv:bizstep:receiving", "https://ref.gs1.org/cbv/BizStep-receiving"):
        assert cbv.biz_step(spelling) == "receiving"
    assert cbv.biz_step("https://brand.example/voc/milking") == "https://brand.example/voc/milking"
    assert cbv.disposition("urn:epcglobal:cbv:disp:non_conformant") == "non_conformant"


def test_unknown_disposition() -> None:
    assert rejected(base_event(disposition="fresh")).field == "disposition"


@pytest.mark.parametrize("event,field", [
    (base_event(action=None), "action"),
    (base_event(action="UPDATE"), "action"),
    (base_event(type="TransformationEvent", action="ADD"), "action"),
    (base_event(quantityList=[{"epcClass": "urn:epc:class:lgtin:6901234.054321.A1", "quantity": 1e308}]), "quantityList[0].quantity"),
    (base_event(ilmd={"cbvmda:lotNumber": "A1"}), "ilmd"),
    (base_event(type="AggregationEvent", action="ADD", quantityList=None), "parentID"),
    (base_event(type="AggregationEvent", action="ADD", parentID="urn:epc:id:sscc:6901234.0000000001", quantityList=None), "childEPCs"),
    (base_event(type="AssociationEvent", action="OBSERVE", quantityList=None), "parentID"),
    (base_event(type="TransformationEvent", action=None, quantityList=None), "inputQuantityList"),
    (base_event(type="TransactionEvent"), "bizTransactionList"),
    (base_event(type="SensorEvent"), "type"),
    (base_event(quantityList=[{"epcClass": "urn:epc:class:lgtin:6901234.054321.A1", "quantity": -1}]), "quantityList[0].quantity"),
    (base_event(quantityList=[{"epcClass": "https://id.gs1.org/01/06901234543217/10/A1"}]), "quantityList[0].epcClass"),
    (base_event(quantityList=[{"quantity": 3}]), "quantityList[0].epcClass"),
    (base_event(readPoint="farm"), "readPoint"),
    (base_event(sensorElementList=[{"sensorReport": [{"type": "Temperature", "value": "3.5"}]}]), "sensorElementList[0].sensorReport[0].value"),
    (base_event(sensorElementList=[{"sensorReport": [{"type": "Temperature", "value": 3.5, "uom": "XYZ"}]}]), "sensorElementList[0].sensorReport[0].uom"),
    (base_event(sensorElementList=[{"sensorReport": []}]), "sensorElementList[0].sensorReport"),
])
def test_per_type_rules(event: dict[str, Any], field: str) -> None:
    assert rejected(event).field == field


def test_aggregation_observe_needs_no_parent_and_delete_needs_no_children() -> None:
    observe = base_event(type="AggregationEvent", action="OBSERVE", quantityList=None,
                         childQuantityList=[{"epcClass": "urn:epc:class:lgtin:6901234.054321.A1", "quantity": 2}])
    delete = base_event(type="AggregationEvent", action="DELETE", parentID="urn:epc:id:sscc:6901234.0000000001", quantityList=None)
    assert len(parse_document(only(observe)).events) == 1
    assert len(parse_document(only(delete)).events) == 1


def test_temperatures_are_converted_to_celsius() -> None:
    event = base_event(sensorElementList=[{"sensorReport": [{"type": "Temperature", "value": 39.2, "uom": "FAH"},
                                                             {"type": "gs1:MT-Temperature", "value": 277.15, "uom": "KEL"}]}])
    values = [r.value for r in parse_document(only(event)).events[0].readings]
    assert values == [4.0, 4.0]


@pytest.mark.parametrize("name", ["a\x00b", "农场\x1b[31m", "x" * 129])
def test_hostile_text_in_extensions_is_rejected(name: str) -> None:
    err = rejected(base_event(bizStep="commissioning", action="ADD", **{"livebot:rawMilk": {"farm": name}}))
    assert err.field == "livebot:rawMilk.farm"


def test_script_and_rtl_text_are_kept_verbatim_for_escaping_later() -> None:
    farm = "<script>alert(1)</script>\u202e牧场😀"
    parsed = parse_document(only(base_event(action="ADD", bizStep="commissioning", **{"livebot:rawMilk": {"farm": farm}})))
    assert parsed.events[0].details["raw_milk"]["farm"] == farm


def test_inspection_result_comes_from_the_disposition_or_must_be_given() -> None:
    good = base_event(bizStep="inspecting", disposition="non_conformant", **{"livebot:inspection": {"item": "蛋白质", "value": 2.5}})
    assert parse_document(only(good)).events[0].details["inspection"] == {"item": "蛋白质", "value": "2.5", "result": "fail"}
    bad = base_event(bizStep="inspecting", **{"livebot:inspection": {"item": "蛋白质", "result": "ok"}})
    assert rejected(bad).field == "livebot:inspection.result"


def test_extensions_under_another_declared_prefix() -> None:
    doc = only(base_event(bizStep="inspecting", **{"lb:inspection": {"item": "脂肪", "result": "pass"}}))
    doc["@context"] = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"lb": LIVEBOT_NS}]
    assert parse_document(doc).events[0].details["inspection"]["item"] == "脂肪"


def test_error_index_points_at_the_bad_event(chain_doc: dict[str, Any]) -> None:
    del events_of(chain_doc)[7]["eventTimeZoneOffset"]
    with pytest.raises(InvalidEvent) as err:
        parse_document(chain_doc)
    assert (err.value.event_index, err.value.field) == (7, "eventTimeZoneOffset")


def test_fixture_files_for_bad_documents() -> None:
    with pytest.raises(InvalidEvent) as err:
        parse_document((EPCIS / "missing_tz_offset.jsonld").read_bytes())
    assert (err.value.event_index, err.value.field) == (2, "eventTimeZoneOffset")
    with pytest.raises(InvalidEvent) as err:
        parse_document((EPCIS / "unknown_bizstep.jsonld").read_bytes())
    assert (err.value.event_index, err.value.field) == (1, "bizStep")
    with pytest.raises(MalformedDocument):
        parse_document((EPCIS / "malformed.json").read_bytes())


@pytest.mark.parametrize("body", [b"", b"[]", b"\"x\"", b"{bad", "\ufeff{}".encode()])
def test_malformed_bodies(body: bytes) -> None:
    with pytest.raises(MalformedDocument):
        parse_document(body)


@pytest.mark.parametrize("change,field", [
    ({"type": "EPCISQueryResult"}, "type"), ({"schemaVersion": "1.2"}, "schemaVersion"),
    ({"creationDate": "now"}, "creationDate"), ({"epcisBody": []}, "epcisBody"), ({"epcisBody": {}}, "epcisBody.eventList"),
])
def test_document_level_fields(change: dict[str, Any], field: str) -> None:
    doc = only(base_event())
    doc.update(change)
    with pytest.raises(InvalidEvent) as err:
        parse_document(doc)
    assert err.value.field == field and err.value.event_index is None


def test_canonical_id_ignores_record_time_and_key_order() -> None:
    a = base_event(recordTime="2026-11-24T06:00:00Z")
    b = dict(reversed(list(base_event(recordTime="2026-11-25T06:00:00Z").items())))
    assert legacy_event_id(a) == legacy_event_id(b)
    assert legacy_event_id(a) != legacy_event_id(base_event(action="ADD"))


def test_query_documents_are_read_too(chain_doc: dict[str, Any]) -> None:
    events = events_of(chain_doc)
    chain_doc["type"] = "EPCISQueryDocument"
    chain_doc["epcisBody"] = {"queryResults": {"queryName": "SimpleEventQuery", "resultsBody": {"eventList": events}}}
    assert len(parse_document(chain_doc).events) == 19


WEIRD: list[Any] = [None, 0, -1.5, True, "", "x" * 600, "\x00", "<script>", [], {}, [None], {"id": None}, "😀" * 50]


def test_every_field_of_every_event_survives_hostile_values() -> None:
    """Any value in any field is either accepted or a named 422/400, never a crash."""
    template = load("dairy_chain.jsonld")
    for index, event in enumerate(events_of(template)):
        for key in list(event):
            for value in WEIRD:
                doc = load("dairy_chain.jsonld")
                events_of(doc)[index][key] = value
                try:
                    parse_document(orjson.dumps(doc))
                except InvalidEvent as err:
                    assert err.event_index == index and err.field
                except MalformedDocument:
                    pass


def test_document_level_hostile_values() -> None:
    for key in ("@context", "type", "schemaVersion", "creationDate", "epcisHeader", "epcisBody"):
        for value in WEIRD:
            doc = load("dairy_chain.jsonld")
            doc[key] = value
            try:
                parse_document(orjson.dumps(doc))
            except InvalidEvent as err:
                assert err.event_index is None and err.field


def paths(value: Any, prefix: tuple[Any, ...] = (), depth: int = 0) -> list[tuple[Any, ...]]:
    """Every key/index path inside ``value``, up to five levels deep."""
    found: list[tuple[Any, ...]] = []
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in children:
        found.append((*prefix, key))
        if depth < 5:
            found += paths(child, (*prefix, key), depth + 1)
    return found


def test_nested_fields_survive_hostile_values() -> None:
    """Quantity elements, sensor reports, ILMD and extensions: named errors only, never a crash."""
    template = load("dairy_chain.jsonld")
    single = {"@context": template["@context"], "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": template["creationDate"]}
    for index in (0, 1, 2, 9, 13, 14):
        event = events_of(template)[index]
        for path in paths(event):
            for value in (None, -1, "", "\x07", [], {}):
                mutated = orjson.loads(orjson.dumps(event))
                target = mutated
                for key in path[:-1]:
                    target = target[key]
                target[path[-1]] = value
                try:
                    parse_document({**single, "epcisBody": {"eventList": [mutated]}})
                except InvalidEvent as err:
                    assert err.event_index == 0 and err.field
