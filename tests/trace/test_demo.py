"""The demo seeder: batches imported through EPCIS, one presented by the live session, live telemetry."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from livebot.appkeys import BUS, DATABASE
from livebot.demo import seed as core
from livebot.demo import trace as demo
from livebot.schedule.models import LiveSession
from livebot.topics import TELEMETRY
from livebot.trace import facts, store
from livebot.trace.keys import TRACE_TASKS
from livebot.trace.models import TraceEvent
from livebot.trace.settings import TraceSettings


async def test_seed_imports_links_and_feeds(client: TestClient) -> None:
    app = client.app
    seen: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    app[BUS].subscribe(TELEMETRY, seen.put, name="test")
    await core.seed_core(app)
    lines = await demo.seed(app)
    db = app[DATABASE]
    async with db.sessions() as session:
        events = await session.scalar(select(func.count()).select_from(TraceEvent))
        live = await session.scalar(select(LiveSession).where(LiveSession.status == "live"))
    assert events is not None and events >= 3 * 19
    assert live is not None
    lots = await store.session_lots(db, live.id)
    assert len(lots) == 3
    summary = await facts.batch_summary(db, lots[0], TraceSettings())
    assert summary is not None
    assert summary["product"].startswith("北境臻护") and summary["stage"] == "2段"
    assert summary["promise_met"] is True and summary["inspections_passed"] == summary["inspections_total"] == 12
    assert summary["coldchain_excursions"] == 0 and summary["farm"] in ("双城牧场", "克东牧场")
    assert any(f"/01/{summary['gtin']}/10/{summary['lot']}" in line for line in lines)
    page = await client.get(summary["digital_link"])
    assert page.status == 200 and "北境臻护" in await page.text()
    assert [t.get_name() for t in app[TRACE_TASKS]].count("trace:demo-telemetry") == 1
    sample = await client.get("/01/06901234543384/10/QH20261124B08", headers={"Accept": "application/json"})
    assert sample.status == 200  # the README links this can
    assert (await sample.json())["lot"] == "QH20261124B08"
    redirect = await client.get("/c/C26112428", allow_redirects=False)
    assert redirect.status in (301, 302, 303, 307, 308)
    assert redirect.headers["Location"].endswith("/01/06901234543384/10/QH20261124B08")
    first = await asyncio.wait_for(seen.get(), 5)  # the stale sensor, then live rounds
    assert first["metric"] == "humidity"
    live_round = await asyncio.wait_for(seen.get(), 5)
    assert live_round["plant"] == "齐齐哈尔工厂"
    snapshot = {r["metric"]: r for r in await facts.telemetry_snapshot(db, TraceSettings(), "齐齐哈尔工厂")}
    assert snapshot["humidity"]["stale"] is True
    assert snapshot["tank_temp"]["stale"] is False


def test_latest_milking_is_at_least_three_hours_old() -> None:
    morning = datetime.fromisoformat("2026-11-24T07:00:00+08:00")
    assert demo.latest_milking(morning).isoformat() == "2026-11-23T05:10:00+08:00"
    noon = datetime.fromisoformat("2026-11-24T12:00:00+08:00")
    assert demo.latest_milking(noon).isoformat() == "2026-11-24T05:10:00+08:00"
    assert noon - demo.latest_milking(noon) >= timedelta(hours=3)
