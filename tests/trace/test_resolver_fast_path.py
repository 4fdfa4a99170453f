"""The resolver's hot path: anonymous (no session work), batched misses, snapshot reads, metrics."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, make_mocked_request
from sqlalchemy import update

from livebot.appkeys import DATABASE
from livebot.trace import chains, views
from livebot.trace.keys import SUMMARY_CACHE
from livebot.trace.models import Batch
from tests.support import bearer, login
from tests.trace.support import CHAIN_GTIN, CHAIN_LOT, JSON, PAGE


async def test_public_resolver_does_no_session_work(chain: TestClient) -> None:
    for headers in (JSON, {}, {**JSON, "Authorization": "Bearer not-a-token"}):
        resp = await chain.get(PAGE, headers=headers)
        assert resp.status == 200
        assert "Set-Cookie" not in resp.headers
    resp = await chain.get(PAGE, headers=JSON)
    assert resp.headers["Cache-Control"] == "public, max-age=30" and resp.headers["Vary"] == "Accept"
    assert resp.content_type == "application/json"


async def test_logged_in_staff_get_the_same_public_page(chain: TestClient) -> None:
    """The page is the same for everyone: no staff menu, no CSRF token, the session cookie untouched."""
    await login(chain, "advisor")
    resp = await chain.get(PAGE)
    html = await resp.text()
    assert resp.status == 200 and "Set-Cookie" not in resp.headers
    assert 'class="who"' not in html and "/console" not in html and 'name="csrf-token" content=""' in html
    assert (await chain.get("/console", allow_redirects=False)).status == 200  # still logged in


async def test_a_crowd_of_different_lots_is_answered_right(chain: TestClient) -> None:
    paths = [PAGE] * 20 + [f"/01/{CHAIN_GTIN}/10/NOPE{n}" for n in range(10)] + ["/01/06901234543211/10/X"]
    responses = await asyncio.gather(*(chain.get(p, headers=JSON) for p in paths))
    statuses = [r.status for r in responses]
    assert statuses == [200] * 20 + [404] * 10 + [400]
    bodies = [await r.json() for r in responses[:20]]
    assert all(b == bodies[0] and b["lot"] == CHAIN_LOT for b in bodies)
    assert not chain.app[SUMMARY_CACHE].pending and not chain.app[SUMMARY_CACHE].tasks


async def test_a_missing_or_older_snapshot_is_assembled_on_the_spot(chain: TestClient) -> None:
    expected = await (await chain.get(PAGE, headers=JSON)).json()
    db = chain.app[DATABASE]
    await db.write(lambda conn: conn.execute(update(Batch).where(Batch.lot == CHAIN_LOT).values(chain={"v": 0})))
    chain.app[SUMMARY_CACHE].clear()
    assert await (await chain.get(PAGE, headers=JSON)).json() == expected
    await db.write(lambda conn: conn.execute(update(Batch).where(Batch.lot == CHAIN_LOT).values(chain=None)))
    chain.app[SUMMARY_CACHE].clear()
    assert await (await chain.get(PAGE, headers=JSON)).json() == expected


async def test_sqlite_snapshot_reader(chain: TestClient) -> None:
    db = chain.app[DATABASE]
    reader = chains.SqliteSnapshots.open(db)
    if db.backend != "sqlite":
        assert reader is None
        return
    assert reader is not None
    try:
        found = reader.read([CHAIN_LOT, "NOPE", CHAIN_LOT])
        assert set(found) == {CHAIN_LOT} and found[CHAIN_LOT]["v"] == chains.SNAPSHOT_VERSION
        with pytest.raises(Exception, match="readonly"):
            reader.conn.execute("DELETE FROM trace_batches")
    finally:
        reader.close()


async def test_every_resolver_request_is_counted(chain: TestClient) -> None:
    for _ in range(3):
        await chain.get(PAGE, headers=JSON)
    await chain.get(f"/01/{CHAIN_GTIN}/10/NOPE", headers=JSON)
    text = await (await chain.get("/metrics")).text()
    assert 'livebot_http_requests_total{method="GET",route="/01/{gtin}/10/{lot}",status="200"} 3.0' in text
    assert 'livebot_http_requests_total{method="GET",route="/01/{gtin}/10/{lot}",status="404"} 1.0' in text
    assert 'livebot_http_request_seconds_count{route="/01/{gtin}/10/{lot}"} 4.0' in text


HTML = {"Accept": "text/html,application/xhtml+xml,*/*"}


def mocked(path: str, headers: dict[str, str], app: Any, lot: str = CHAIN_LOT, gtin: str = CHAIN_GTIN) -> web.Request:
    return make_mocked_request("GET", path, headers=headers, app=app, match_info={"gtin": gtin, "lot": lot})


async def test_cached_lots_get_the_full_handlers_answer_from_the_fast_lane(chain: TestClient) -> None:
    for headers in (JSON, HTML):
        full = await chain.get(PAGE, headers=headers)  # the JSON miss caches the summary, the first page request renders it
        body = await full.read()
        fast = views.cached_answer(mocked(PAGE, headers, chain.app))
        assert fast is not None and fast.body == body and fast.headers["Content-Type"] == full.headers["Content-Type"]
        again = await chain.get(PAGE, headers=headers)
        assert again.status == 200 and await again.read() == body and again.headers["Content-Type"] == full.headers["Content-Type"]
    assert (await chain.get(PAGE, headers=JSON)).headers["Access-Control-Allow-Origin"] == "*"
    for path, headers, lot, gtin in ((PAGE + "?linkType=all", JSON, CHAIN_LOT, CHAIN_GTIN),
                                     (PAGE, {"Accept": views.LINKSET}, CHAIN_LOT, CHAIN_GTIN),
                                     (PAGE, JSON, "NOPE", CHAIN_GTIN),
                                     (PAGE, JSON, CHAIN_LOT, "06901234543216")):  # another product's code: the full handler's 404
        assert views.cached_answer(mocked(path, headers, chain.app, lot, gtin)) is None


async def test_an_import_after_a_cached_page_shows_the_new_data(chain: TestClient) -> None:
    for _ in range(2):
        html = await (await chain.get(PAGE, headers=HTML)).text()
        assert "维生素D" not in html
    assert chain.app[SUMMARY_CACHE].peek(CHAIN_LOT) is not None
    resp = await chain.post("/api/v1/trace/inspections", json={"inspections": [
        {"lot": CHAIN_LOT, "item": "维生素D", "value": 1.2, "unit": "μg/100kJ", "result": "fail"}]},
        headers=await bearer(chain, "trace"))
    assert resp.status == 201
    html = await (await chain.get(PAGE, headers=HTML)).text()
    assert "维生素D" in html
    assert (await (await chain.get(PAGE, headers=JSON)).json())["inspections_total"] == 13
