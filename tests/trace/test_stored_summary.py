"""The stored public summary: written with the chain, served as ready bytes, never outdated."""

from __future__ import annotations

import asyncio
import datetime as dt
from datetime import timedelta
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from livebot.app import create_app
from livebot.appkeys import DATABASE
from livebot.config import Config
from livebot.storage.base import utcnow
from livebot.storage.engine import Database
from livebot.trace import chains, derive, facts, summaries
from livebot.trace.cache import Ready
from livebot.trace.keys import SUMMARY_CACHE, TRACE_SETTINGS, TRACE_TASKS
from livebot.trace.models import Batch
from livebot.trace.settings import TraceSettings
from tests.support import bearer
from tests.trace.support import CHAIN_GTIN, CHAIN_LOT, CHAIN_RAW_LOT, JSON, PAGE


async def stored(db: Database, lot: str = CHAIN_LOT) -> tuple[str | None, bytes | None]:
    async with db.sessions() as session:
        row = (await session.execute(select(Batch.summary_key, Batch.summary).where(Batch.lot == lot))).one()
    return row[0], bytes(row[1]) if row[1] is not None else None


async def served(client: TestClient) -> bytes:
    """The resolver's JSON bytes, read past the in-memory cache."""
    client.app[SUMMARY_CACHE].clear()
    resp = await client.get(PAGE, headers=JSON)
    assert resp.status == 200
    return await resp.read()


async def set_stored(db: Database, key: str | None, data: bytes | None) -> None:
    await db.write(lambda conn: conn.execute(update(Batch).where(Batch.lot == CHAIN_LOT).values(summary_key=key, summary=data)))


async def test_stored_at_import_and_served_as_is(chain: TestClient) -> None:
    db = chain.app[DATABASE]
    key, data = await stored(db)
    assert key == chains.summary_key(chain.app[TRACE_SETTINGS]) and data is not None
    assert data == orjson.dumps(await facts.batch_summary(db, CHAIN_LOT, chain.app[TRACE_SETTINGS]))  # exactly what a fresh build gives
    assert await served(chain) == data
    loaded = await summaries.load(db, [CHAIN_LOT, "NOPE", "A\x00"], chain.app[TRACE_SETTINGS])  # the async read path, on every backend
    assert loaded == {CHAIN_LOT: Ready(CHAIN_GTIN, data), "NOPE": None, "A\x00": None}


async def test_the_page_for_people_is_drawn_from_the_stored_summary(chain: TestClient) -> None:
    db = chain.app[DATABASE]
    summary = orjson.loads((await stored(db))[1] or b"")
    summary["farm"] = "只在存储的摘要里的牧场"
    await set_stored(db, chains.summary_key(chain.app[TRACE_SETTINGS]), orjson.dumps(summary))
    chain.app[SUMMARY_CACHE].clear()
    html = await (await chain.get(PAGE)).text()
    assert "只在存储的摘要里的牧场" in html


async def test_replaced_by_a_later_inspection_push(chain: TestClient) -> None:
    db = chain.app[DATABASE]
    before = (await stored(db))[1]
    assert (await (await chain.get(PAGE, headers=JSON)).json())["inspections_total"] == 12  # now in the memory cache too
    resp = await chain.post("/api/v1/trace/inspections", json={"lot": CHAIN_RAW_LOT, "item": "体细胞数", "value": "20万", "result": "pass"},
                            headers=await bearer(chain, "trace"))
    assert resp.status == 201
    key, after = await stored(db)
    assert after != before and orjson.loads(after or b"")["inspections_total"] == 13
    assert key == chains.summary_key(chain.app[TRACE_SETTINGS])
    body = await chain.get(PAGE, headers=JSON)  # through the (invalidated) memory cache
    assert await body.read() == after == await served(chain)


async def test_replaced_by_a_later_batch_push(chain: TestClient) -> None:
    db = chain.app[DATABASE]
    resp = await chain.post("/api/v1/trace/batches", json={"gtin": CHAIN_GTIN, "lot": CHAIN_LOT, "plant": "新工厂",
                                                            "product_name": "新品名 1段"},
                            headers=await bearer(chain, "trace"))
    assert resp.status == 201
    summary = orjson.loads((await stored(db))[1] or b"")
    assert (summary["plant"], summary["product"]) == ("新工厂", "新品名 1段")
    assert orjson.loads(await served(chain)) == summary


async def test_replaced_by_a_later_epcis_document(chain: TestClient, chain_doc: dict) -> None:
    db = chain.app[DATABASE]
    before = orjson.loads((await stored(db))[1] or b"")
    inspecting = next(e for e in chain_doc["epcisBody"]["eventList"] if e.get("bizStep", "").endswith("inspecting"))
    extra = orjson.loads(orjson.dumps(inspecting))
    extra["eventID"] = "urn:uuid:6c1c6a9e-0000-4000-8000-000000000001"
    chain_doc["epcisBody"]["eventList"] = [extra]
    resp = await chain.post("/api/v1/trace/epcis", data=orjson.dumps(chain_doc), headers=await bearer(chain, "trace"))
    assert resp.status == 201
    after = orjson.loads((await stored(db))[1] or b"")
    assert after["inspections_total"] == before["inspections_total"] + 1
    assert orjson.loads(await served(chain)) == after


async def test_an_outdated_or_missing_summary_is_never_served_and_is_rebuilt(chain: TestClient) -> None:
    db = chain.app[DATABASE]
    key, good = await stored(db)
    for old_key, old_data in (("v0:older-format", b'{"lot": "outdated"}'), (None, None), (key, None)):
        await set_stored(db, old_key, old_data)
        assert await served(chain) == good  # built on the spot, not the stored bytes
        assert await summaries.restamp(db, chain.app[TRACE_SETTINGS]) == 1
        assert await stored(db) == (key, good)
    assert await summaries.restamp(db, chain.app[TRACE_SETTINGS]) == 0  # nothing outdated left


async def test_a_new_summary_format_version_rebuilds(chain: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    db = chain.app[DATABASE]
    old_key, good = await stored(db)
    monkeypatch.setattr(derive, "SUMMARY_VERSION", derive.SUMMARY_VERSION + 1)
    new_key = chains.summary_key(chain.app[TRACE_SETTINGS])
    assert new_key != old_key
    await set_stored(db, old_key, b'{"lot": "written by the old format"}')
    assert await served(chain) == good
    assert await summaries.restamp(db, chain.app[TRACE_SETTINGS]) == 1
    assert await stored(db) == (new_key, good)


async def test_other_settings_are_not_served_a_summary_built_with_the_old_ones(chain: TestClient) -> None:
    db = chain.app[DATABASE]
    other = TraceSettings(promise_minutes=90, display_timezone="UTC")
    (body,) = (await summaries.load(db, [CHAIN_LOT], other)).values()
    assert isinstance(body, dict)  # built on the spot, not the bytes stored with the app's settings
    assert body["promise_minutes"] == 90 and body["milking_end"].endswith("+00:00")
    assert await summaries.restamp(db, other) == 1
    assert orjson.loads((await stored(db))[1] or b"")["promise_minutes"] == 90
    assert orjson.loads(await served(chain))["promise_minutes"] == 120  # the app's own settings win again


async def test_a_late_rebuild_never_overwrites_a_newer_write(chain: TestClient) -> None:
    """The background pass stores what it read only while the row is still outdated: a writer
    that stored a current summary meanwhile wins."""
    db = chain.app[DATABASE]
    key, good = await stored(db)
    await db.write(lambda conn: summaries.store_stamps(conn, [(CHAIN_LOT, b'{"lot": "read before the write"}')], key or ""))
    assert await stored(db) == (key, good)


async def test_restamp_runs_when_the_server_starts(chain: TestClient, config: Config, aiohttp_client: Any) -> None:
    """Rows without a current summary (a database migrated from before summaries, another
    format) are stored by a server instance starting on the database."""
    db = chain.app[DATABASE]
    key, good = await stored(db)
    await set_stored(db, None, None)
    other = await aiohttp_client(create_app(config))
    pending = [t for t in other.app[TRACE_TASKS] if t.get_name() == "trace:restamp-summaries"]
    await asyncio.gather(*pending)
    assert await stored(db) == (key, good)


def test_the_summary_does_not_read_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stored bytes are served at any later time, so the summary must not depend on "now"
    (telemetry freshness stays out of it): deriving it with every clock read failing works."""
    class NoClock(dt.datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            raise AssertionError("the summary read the clock")

        @classmethod
        def utcnow(cls):  # type: ignore[override]
            raise AssertionError("the summary read the clock")

    monkeypatch.setattr(derive, "datetime", NoClock)
    batch = Batch(lot="L1", lot_key="L1", gtin=CHAIN_GTIN, plant="P", line="", can_code=None, processing_start=None,
                  production_date=None, expiry_date=None)
    raw = chains.RawMilkLot(lot="R1", farm="F", milking_end=utcnow() - timedelta(hours=3), processing_start=utcnow() - timedelta(hours=1),
                            tank="", truck="", plant="")
    chain = chains.Chain(batch=batch, product=None, raw_lots=[raw], inspections=[],
                         readings={"R1": [(utcnow() - timedelta(hours=2, minutes=50), 3.5)]})
    summary = orjson.loads(derive.encode(chain, TraceSettings()))
    assert summary["minutes_to_processing"] == 120 and summary["promise_met"] is True
    assert not {"stale", "age_s", "telemetry", "now"} & set(summary)


async def test_stale_telemetry_is_not_frozen_into_the_stored_summary(chain: TestClient) -> None:
    db = chain.app[DATABASE]
    before = await stored(db)
    at = (utcnow() - timedelta(minutes=10)).isoformat()
    resp = await chain.post("/api/v1/telemetry", json={"plant": "齐齐哈尔工厂", "readings": [
        {"metric": "tank_temp_c", "value": 3.6, "at": at, "interval_s": 30}]}, headers=await bearer(chain, "trace"))
    assert resp.status == 201
    assert await stored(db) == before  # telemetry is not part of the stored summary
    (reading,) = [r for r in await facts.telemetry_snapshot(db, TraceSettings(), "齐齐哈尔工厂") if r["metric"] == "tank_temp_c"]
    assert reading["stale"] is True
