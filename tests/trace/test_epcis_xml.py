"""EPCIS XML on ``POST /api/v1/trace/epcis`` and ``livebot trace import``: same rules and errors as JSON-LD,
hostile XML (entity bombs, external entities, DTDs, UTF-16 tricks, oversize, deep nesting) refused fast."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from livebot.appkeys import DATABASE
from livebot.cli import main
from livebot.trace import service
from livebot.trace.epcis import parse_document
from livebot.trace.errors import InvalidEvent, MalformedDocument
from livebot.trace.models import SensorReading, TraceEvent
from livebot.trace.settings import TraceSettings
from tests.support import bearer
from tests.trace.test_cli import write_config
from tests.trace.test_gs1_conformance import GS1

URL = "/api/v1/trace/epcis"
HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:livebot="urn:livebot:epcis:" '
        'xmlns:ex="https://example.cn/ext/" schemaVersion="2.0" creationDate="2026-11-24T08:00:00+08:00">')


def event(body: str = "", time: str = "2026-11-24T05:10:00+08:00", offset: str = "+08:00", event_id: str = "") -> str:
    ident = f"<eventID>{event_id}</eventID>" if event_id else ""
    return (f"<ObjectEvent><eventTime>{time}</eventTime><eventTimeZoneOffset>{offset}</eventTimeZoneOffset>{ident}"
            "<action>OBSERVE</action><bizStep>urn:epcglobal:cbv:bizstep:sensor_reporting</bizStep>"
            "<quantityList><quantityElement><epcClass>urn:epc:class:lgtin:6901234.050000.SC20261124T2</epcClass>"
            f"<quantity>18000</quantity><uom>KGM</uom></quantityElement></quantityList>{body}</ObjectEvent>")


def document(*events: str, head: str = HEAD, doctype: str = "") -> bytes:
    text = head.replace("\n", f"\n{doctype}") + "<EPCISBody><EventList>" + "".join(events) + "</EventList></EPCISBody></epcis:EPCISDocument>"
    return text.encode()


SENSOR = ('<sensorElementList><sensorElement><sensorMetadata time="2026-11-24T05:20:00+08:00"/>'
          '<sensorReport type="gs1:Temperature" value="39.2" uom="FAH"/>'
          '<sensorReport type="gs1:RelativeHumidity" value="55" uom="A93"/></sensorElement></sensorElementList>')
BOMB = ('<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{(f"&lol{i - 1};" if i > 1 else "&lol;") * 10}">' for i in range(1, 10)) + "]>")
HOSTILE = {
    "billion laughs": document(event("<ex:x>&lol9;</ex:x>"), doctype=BOMB),
    "external entity": document(event("<ex:x>&xxe;</ex:x>"), doctype='<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'),
    "external DTD": document(event(), doctype='<!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd">'),
    "parameter entity": document(event(), doctype='<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>'),
    "UTF-16 with BOM": document(event(), doctype=BOMB).decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"),
    "UTF-16 without BOM": document(event()).decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16-le"),
    "UTF-8 declared as latin-1": document(event()).replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"'),
    "control character": document(event("<ex:note>&#1;</ex:note>")),
    "not XML at all": b"<EPCISDocument",
    "undefined entity": document(event("<ex:x>&nope;</ex:x>")),
}


async def post_xml(client: TestClient, body: bytes, content_type: str = "application/xml") -> Any:
    headers = {**await bearer(client, "trace"), "Content-Type": content_type}
    return await client.post(URL, data=io.BytesIO(body), headers=headers)


async def count(client: TestClient, model: Any = TraceEvent) -> int:
    async with client.app[DATABASE].sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_an_xml_document_is_stored_with_readings_in_celsius(client: TestClient) -> None:
    resp = await post_xml(client, document(event(SENSOR)))
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["stored"] == 1
    async with client.app[DATABASE].sessions() as session:
        readings = {r.type: (r.value, r.uom) for r in await session.scalars(select(SensorReading))}
    assert readings == {"Temperature": (4.0, "CEL"), "RelativeHumidity": (55.0, "A93")}


@pytest.mark.parametrize("content_type", ["application/xml", "text/xml", "application/epcis+xml"])
async def test_xml_content_types_choose_the_xml_parser(client: TestClient, content_type: str) -> None:
    assert (await post_xml(client, document(event()), content_type)).status == 201


async def test_xml_sent_as_json_is_malformed_json(client: TestClient) -> None:
    resp = await post_xml(client, document(event()), "application/ld+json")
    assert resp.status == 400 and "malformed JSON" in (await resp.json())["error"]


@pytest.mark.parametrize("events,index,field", [
    ([event(), event(offset="+8:00")], 1, "eventTimeZoneOffset"),
    ([event(time="2026-11-24T05:10:00")], 0, "eventTime"),
    ([event().replace("<quantity>18000</quantity>", "<quantity>lots</quantity>")], 0, "quantityList[0].quantity"),
    ([event().replace("<quantity>18000</quantity>", "<quantity>1e308</quantity>")], 0, "quantityList[0].quantity"),
    ([event().replace("<quantity>18000</quantity>", "<quantity>NaN</quantity>")], 0, "quantityList[0].quantity"),
    ([event().replace("sensor_reporting", "milking")], 0, "bizStep"),
    ([event(SENSOR.replace('value="39.2"', 'value="hot"'))], 0, "sensorElementList[0].sensorReport[0].value"),
    ([event(), "<SensorEvent/>"], 1, "type"),
    ([event(event_id="urn:uuid:1"), event(event_id="urn:uuid:1", time="2026-11-24T06:00:00+08:00")], 1, "eventID"),
])
async def test_xml_errors_name_event_and_field_and_store_nothing(client: TestClient, events: list[str], index: int, field: str) -> None:
    resp = await post_xml(client, document(*events))
    assert resp.status == 422, await resp.text()
    body = await resp.json()
    assert (body["event_index"], body["field"]) == (index, field) and body["error"]
    assert await count(client) == 0


@pytest.mark.parametrize("name", list(HOSTILE))
async def test_hostile_xml_is_refused_with_a_clear_error(client: TestClient, name: str) -> None:
    resp = await post_xml(client, HOSTILE[name])
    assert resp.status == 400, await resp.text()
    body = await resp.json()
    assert body["field"] == "body" and ("XML" in body["error"]), body
    assert await count(client) == 0


def test_hostile_xml_errors_say_what_was_refused() -> None:
    for name, text in (("billion laughs", "DTD"), ("external entity", "DTD"), ("UTF-16 with BOM", "UTF-8"),
                       ("UTF-8 declared as latin-1", "UTF-8"), ("undefined entity", "malformed XML")):
        with pytest.raises(MalformedDocument) as err:
            parse_document(HOSTILE[name], xml=True)
        assert text in err.value.problem, (name, err.value.problem)


async def test_ten_megabytes_and_one_byte_of_xml_is_413(client: TestClient) -> None:
    limit = 10 * 1024 * 1024
    filler = "<ex:pad>" + "x" * limit + "</ex:pad>"
    body = document(event(filler))
    assert len(body) > limit + 1
    resp = await post_xml(client, body)
    assert resp.status == 413 and "error" in await resp.json()
    assert await count(client) == 0


def test_deeply_nested_extensions_are_refused_naming_the_field() -> None:
    nested = "<ex:a>" * 40 + "x" + "</ex:a>" * 40
    with pytest.raises(InvalidEvent) as err:
        parse_document(document(event(nested)), xml=True)
    assert err.value.event_index == 0 and err.value.field.startswith("ex:a.ex:a") and "nested" in err.value.problem


async def test_html_script_and_emoji_in_extensions_are_kept_as_text(client: TestClient) -> None:
    text = "&lt;script&gt;alert(1)&lt;/script&gt; 奶源 🐄"
    assert (await post_xml(client, document(event(f"<ex:note>{text}</ex:note>")))).status == 201
    async with client.app[DATABASE].sessions() as session:
        stored = await session.scalar(select(TraceEvent))
    assert stored is not None and stored.body["ex:note"] == "<script>alert(1)</script> 奶源 🐄"


async def test_the_same_xml_twice_is_a_duplicate(client: TestClient) -> None:
    body = document(event(SENSOR), event(time="2026-11-24T06:00:00+08:00"))
    assert (await post_xml(client, body)).status == 201
    again = await post_xml(client, body)
    assert again.status == 200 and (await again.json())["duplicates"] == 2


def test_cli_decides_the_format_by_content(tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(write_config(tmp_path, database_url))
    xml_file = tmp_path / "events.json"  # the name says JSON; the content is XML
    xml_file.write_bytes(document(event(SENSOR)))
    assert main(["trace", "import", str(xml_file), "--config", config]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["stored"] == 1
    json_file = GS1 / "json" / "WithSensorData_SensorDataExample1b.jsonld"
    assert main(["trace", "import", str(json_file), "--config", config]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["stored"] == 1
    bad = tmp_path / "bad.xml"
    bad.write_bytes(document(event(), event(offset="+25:00")))
    assert main(["trace", "import", str(bad), "--config", config]) == 1
    assert json.loads(capsys.readouterr().out.strip())["event_index"] == 1


def test_the_worker_process_import_reads_xml_too(database_url: str) -> None:
    """Documents over 1 MiB are imported by service.import_blocking in a worker: the format travels with them."""
    result = service.import_blocking(database_url, document(event(SENSOR)), TraceSettings(), True)
    assert result.stored == 1
    with pytest.raises(MalformedDocument):
        service.import_blocking(database_url, document(event()), TraceSettings(), False)
