"""``GET /api/v1/trace/events``: the EPCIS 2.0 event query, filtered by lot, type, time and step, paged."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
from aiohttp.test_utils import TestClient

from tests.support import bearer
from tests.trace.support import CHAIN_LOT, CHAIN_RAW_LOT, big_document
from tests.trace.test_epcis_api import post

URL = "/api/v1/trace/events"


async def query(client: TestClient, role: str = "trace", **params: Any) -> Any:
    resp = await client.get(URL, params=params, headers=await bearer(client, role))
    return resp


def events(body: dict[str, Any]) -> list[dict[str, Any]]:
    assert body["type"] == "EPCISQueryDocument" and body["schemaVersion"] == "2.0"
    return body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


async def every_page(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    resp = await query(client, **params)
    while True:
        assert resp.status == 200, await resp.text()
        found += events(await resp.json())
        if "Link" not in resp.headers:
            return found
        link = resp.headers["Link"]
        assert link.endswith('>; rel="next"')
        target = urlsplit(link[1:-len('>; rel="next"')])
        resp = await client.get(f"{target.path}?{target.query}", headers=await bearer(client, "trace"))


async def test_the_events_of_a_lot(chain: TestClient) -> None:
    found = await every_page(chain, lot=CHAIN_LOT, perPage=2)
    assert len(found) == 6  # transformation, packing, three inspections, storing
    assert {e["type"] for e in found} == {"TransformationEvent", "AggregationEvent", "ObjectEvent"}
    assert all(e["eventID"] for e in found)  # the storing event had none: it gets its hash id
    raw = await every_page(chain, lot=CHAIN_RAW_LOT, perPage=1000)
    assert len(raw) == 14


async def test_filters_by_type_time_and_step(chain: TestClient) -> None:
    inspections = await every_page(chain, lot=CHAIN_RAW_LOT, eventType="ObjectEvent", EQ_bizStep="inspecting")
    assert len(inspections) == 9 and all(e["bizStep"] == "inspecting" for e in inspections)
    both = await every_page(chain, eventType="TransformationEvent,AggregationEvent")
    assert sorted(e["type"] for e in both) == ["AggregationEvent", "TransformationEvent"]
    early = await every_page(chain, GE_eventTime="2026-11-24T05:00:00+08:00", LT_eventTime="2026-11-24T05:30:00+08:00")
    assert early and all("2026-11-24T05:" in e["eventTime"] or e["eventTime"].startswith("2026-11-23T21:") for e in early)
    assert await every_page(chain, GE_eventTime="2030-01-01T00:00:00Z") == []


async def test_pages_cover_a_larger_store_exactly_once(client: TestClient) -> None:
    assert (await post(client, orjson.dumps(big_document(20)))).status == 201
    found = await every_page(client, perPage=50)
    assert len(found) == 20 * 19 and len({e["eventID"] for e in found}) == 20 * 19
    one = await every_page(client, lot="QH2026000007B", perPage=1000)
    assert len(one) == 6


@pytest.mark.parametrize("params,field", [
    ({"eventType": "SensorEvent"}, "eventType"), ({"GE_eventTime": "yesterday"}, "GE_eventTime"),
    ({"LT_eventTime": "2026-11-24T05:00:00"}, "LT_eventTime"), ({"perPage": "0"}, "perPage"), ({"perPage": "5000"}, "perPage"),
    ({"nextPageToken": "abc"}, "nextPageToken"), ({"lot": "批次"}, "lot"), ({"lot": "A" * 21}, "lot"),
    ({"EQ_bizStep": "milking"}, "EQ_bizStep"), ({"MATCH_epc": "x"}, "MATCH_epc"), ({"lot": "A B"}, "lot"), ({"lot": "A\x00"}, "lot"),
])
async def test_bad_parameters_are_400_naming_them(chain: TestClient, params: dict[str, str], field: str) -> None:
    resp = await query(chain, **params)
    assert resp.status == 400
    assert (await resp.json())["field"] == field


async def test_hostile_but_valid_lot_characters_find_nothing(chain: TestClient) -> None:
    resp = await query(chain, lot="<script>")  # < and > are in the GS1 lot character set
    assert resp.status == 200 and events(await resp.json()) == []


async def test_a_repeated_parameter_is_400(chain: TestClient) -> None:
    resp = await chain.get(f"{URL}?lot=A1&lot=A2", headers=await bearer(chain, "trace"))
    assert resp.status == 400 and (await resp.json())["field"] == "lot"


async def test_only_trace_and_admin_may_query(chain: TestClient) -> None:
    assert (await chain.get(URL)).status == 401
    for role in ("producer", "advisor", "marketing"):
        assert (await query(chain, role)).status == 403
    assert (await query(chain, "admin")).status == 200


async def test_documented_in_the_served_openapi(client: TestClient) -> None:
    spec = await (await client.get("/api/v1/openapi.json")).json()
    operation = spec["paths"]["/api/v1/trace/events"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"lot", "eventType", "GE_eventTime", "LT_eventTime", "perPage", "nextPageToken"}
    assert "EpcisQueryDocument" in spec["components"]["schemas"]
