"""eventIDs on ``POST /api/v1/trace/epcis``: one id per event in a document (422 naming both), a changed
resend of a stored id is 409 unless it is an error declaration, and declared events leave the chain."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from livebot.appkeys import DATABASE
from livebot.cli import main
from livebot.trace.keys import TRACE_FACTS
from livebot.trace.models import TraceEvent
from tests.trace.support import CHAIN_LOT, EPCIS, events_of
from tests.trace.test_cli import write_config
from tests.trace.test_epcis_api import count, post

DECLARATION = {"declarationTime": "2026-11-25T09:00:00+08:00", "reason": "urn:epcglobal:cbv:er:incorrect_data"}


async def test_a_repeated_event_id_in_one_document_is_422_naming_both(client: TestClient, chain_doc: dict[str, Any]) -> None:
    events = events_of(chain_doc)
    events[7]["eventID"] = events[3]["eventID"]
    resp = await post(client, chain_doc)
    assert resp.status == 422
    body = await resp.json()
    assert (body["event_index"], body["field"]) == (7, "eventID")
    assert "events 3 and 7" in body["error"]
    assert await count(client, TraceEvent) == 0


async def test_the_same_event_id_with_the_same_content_is_a_duplicate(client: TestClient, chain_doc: dict[str, Any]) -> None:
    assert (await post(client, chain_doc)).status == 201
    reordered = copy.deepcopy(chain_doc)
    first = events_of(reordered)[0]
    events_of(reordered)[0] = dict(reversed(list(first.items())))  # key order and record time do not matter
    events_of(reordered)[0]["recordTime"] = "2026-11-30T00:00:00Z"
    again = await post(client, reordered)
    assert again.status == 200 and (await again.json())["duplicates"] == 19


async def test_changed_content_under_a_stored_event_id_is_409(client: TestClient, chain_doc: dict[str, Any]) -> None:
    assert (await post(client, chain_doc)).status == 201
    changed = copy.deepcopy(chain_doc)
    events_of(changed)[4]["livebot:inspection"]["value"] = 99.9
    events_of(changed).append({**events_of(changed)[18], "eventID": "urn:uuid:new-one", "eventTime": "2026-11-26T10:00:00+08:00"})
    resp = await post(client, changed)
    assert resp.status == 409
    body = await resp.json()
    assert (body["event_index"], body["field"]) == (4, "eventID") and "errorDeclaration" in body["error"]
    assert await count(client, TraceEvent) == 19  # the new event of that document was not stored either


async def test_an_error_declaration_takes_the_event_out_of_the_chain(client: TestClient, chain_doc: dict[str, Any]) -> None:
    assert (await post(client, chain_doc)).status == 201
    before = await client.app[TRACE_FACTS].batch_summary(client.app[DATABASE], CHAIN_LOT)
    assert before is not None and (before["inspections_passed"], before["inspections_total"]) == (12, 12)
    wrong = copy.deepcopy(events_of(chain_doc)[15])  # an inspection of the can lot
    corrected = {**copy.deepcopy(wrong), "eventID": "urn:uuid:corrective-1", "livebot:inspection": {**wrong["livebot:inspection"], "value": 1.0}}
    wrong["errorDeclaration"] = {**DECLARATION, "correctiveEventIDs": ["urn:uuid:corrective-1"]}
    correction = copy.deepcopy(chain_doc)
    correction["epcisBody"]["eventList"] = [wrong, corrected]
    resp = await post(client, correction)
    assert resp.status == 201, await resp.text()
    assert CHAIN_LOT in (await resp.json())["lots"]
    after = await client.app[TRACE_FACTS].batch_summary(client.app[DATABASE], CHAIN_LOT)
    assert after is not None and after["inspections_total"] == 12  # the declared result is replaced, not added
    async with client.app[DATABASE].sessions() as session:
        rows = {e.event_id: e for e in (await session.execute(TraceEvent.__table__.select())).all()}
    assert rows[wrong["eventID"]].retracted and rows[wrong["eventID"] + "#error"].retracted
    assert not rows["urn:uuid:corrective-1"].retracted
    assert rows[wrong["eventID"] + "#error"].details["corrective_event_ids"] == ["urn:uuid:corrective-1"]
    resent = await post(client, correction)
    assert resent.status == 200  # declarations and corrections are idempotent too


async def test_a_declaration_that_arrives_first_still_retracts_the_event(client: TestClient, chain_doc: dict[str, Any]) -> None:
    shipping = copy.deepcopy(events_of(chain_doc)[9])
    declaration = {**copy.deepcopy(shipping), "errorDeclaration": DECLARATION}
    early = copy.deepcopy(chain_doc)
    early["epcisBody"]["eventList"] = [declaration]
    assert (await post(client, early)).status == 201
    assert (await post(client, chain_doc)).status == 201
    summary = await client.app[TRACE_FACTS].batch_summary(client.app[DATABASE], CHAIN_LOT)
    assert summary is not None and summary.get("departed_at") in (None, "")
    async with client.app[DATABASE].sessions() as session:
        row = (await session.execute(TraceEvent.__table__.select().where(TraceEvent.event_id == shipping["eventID"]))).one()
    assert row.retracted


async def test_a_huge_quantity_is_refused(client: TestClient, chain_doc: dict[str, Any]) -> None:
    events_of(chain_doc)[0]["quantityList"][0]["quantity"] = 1e308
    resp = await post(client, orjson.dumps(chain_doc))
    assert resp.status == 422
    body = await resp.json()
    assert (body["event_index"], body["field"]) == (0, "quantityList[0].quantity") and "between" in body["error"]
    assert await count(client, TraceEvent) == 0


async def test_declaring_a_stored_event_wrong_removes_what_it_said(client: TestClient, chain_doc: dict[str, Any]) -> None:
    assert (await post(client, chain_doc)).status == 201
    before = await client.app[TRACE_FACTS].batch_summary(client.app[DATABASE], CHAIN_LOT)
    assert before is not None and before["departed_at"]
    declaration = {**copy.deepcopy(events_of(chain_doc)[9]), "errorDeclaration": DECLARATION}  # the shipping event
    late = copy.deepcopy(chain_doc)
    late["epcisBody"]["eventList"] = [declaration]
    assert (await post(client, late)).status == 201
    after = await client.app[TRACE_FACTS].batch_summary(client.app[DATABASE], CHAIN_LOT)
    assert after is not None and after["departed_at"] is None
    assert after["milking_end"] == before["milking_end"] and after["minutes_to_processing"] == before["minutes_to_processing"]


def test_the_import_command_reports_a_conflict(tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The command imports in a worker process: the 409 reason must survive the trip back."""
    config = str(write_config(tmp_path, database_url))
    first = tmp_path / "first.jsonld"
    first.write_bytes((EPCIS / "dairy_chain.jsonld").read_bytes())
    assert main(["trace", "import", str(first), "--config", config]) == 0
    capsys.readouterr()
    changed = orjson.loads(first.read_bytes())
    events_of(changed)[2]["livebot:inspection"]["value"] = 1.5
    second = tmp_path / "second.jsonld"
    second.write_bytes(orjson.dumps(changed))
    assert main(["trace", "import", str(second), "--config", config]) == 1
    body = json.loads(capsys.readouterr().out.strip())
    assert (body["event_index"], body["field"]) == (2, "eventID")
