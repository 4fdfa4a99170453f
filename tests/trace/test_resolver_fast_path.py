"""The resolver's hot path: anonymous (no session work), batched misses, snapshot reads, metrics."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import update

from livebot.appkeys import DATABASE
from livebot.trace import chains
from livebot.trace.keys import SUMMARY_CACHE
from livebot.trace.models import Batch
from tests.support import login
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
