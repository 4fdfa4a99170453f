"""Can scans as a figure: counted per batch, minute and region without personal data, and shown in the session report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from livebot.app import create_app
from livebot.appkeys import DATABASE
from livebot.config import Config
from livebot.storage.engine import Database
from livebot.trace import scans
from livebot.trace import store as trace_store
from livebot.trace.keys import SCANS
from livebot.trace.models import ScanMinute
from tests.engagement.support import T0, make_show
from tests.support import bearer, replace_config
from tests.trace.support import CHAIN_LOT, EPCIS, PAGE


class Clock:
    def __init__(self, at: datetime) -> None:
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now


def test_counter_keeps_only_counts_and_a_bounded_number_of_buckets(monkeypatch: Any) -> None:
    clock = Clock(T0)
    counter = scans.ScanCounter(clock)
    for client in ("1.2.3.4|iPhone", "1.2.3.4|iPhone", "5.6.7.8|Android"):
        counter.record("LOT1", client, "北京")
    counter.record("LOT1", "9.9.9.9|x", "")
    assert counter.take() == []  # the minute is not over yet
    clock.now += 60
    rows = sorted(counter.take())
    assert rows == [("LOT1", T0, "", 1, 1), ("LOT1", T0, "北京", 3, 2)]
    assert counter.take(everything=True) == []
    monkeypatch.setattr(scans, "MAX_KEYS", 2)
    for lot in ("A", "B", "C"):
        counter.record(lot, "c")
    assert counter.dropped == 1 and len(counter.take(everything=True)) == 2


async def test_scans_are_counted_stored_at_shutdown_and_shown_in_the_report(config: Config, aiohttp_client: Any) -> None:
    config = replace_config(config, extra={**config.extra, "trace": {"scan_region_header": "X-Geo-Region"}})
    app = create_app(config)
    client = await aiohttp_client(app)
    db: Database = app[DATABASE]
    trace = await bearer(client, "trace")
    assert (await client.post("/api/v1/trace/epcis", data=(EPCIS / "dairy_chain.jsonld").read_bytes(), headers=trace)).status == 201
    show = await make_show(db)
    await trace_store.set_session_lots(db, show.session_id, [CHAIN_LOT])
    app[SCANS].clock = Clock(T0 + timedelta(minutes=12, seconds=5))
    for agent, region in (("iPhone", "北京"), ("iPhone", "北京"), ("Android", "上海"), ("<script>", "😀" * 40)):
        resp = await client.get(PAGE, headers={"User-Agent": agent, "X-Geo-Region": region})
        assert resp.status == 200
    assert (await client.get(PAGE.replace(CHAIN_LOT, "NOPE999"))).status == 404  # unknown batches are not counted
    await client.close()  # the app stops: what is pending is written

    db = Database.open(config.database.url)
    try:
        async with db.sessions() as session:
            rows = (await session.execute(select(ScanMinute))).scalars().all()
        assert sum(r.scans for r in rows) == 4 and {r.lot for r in rows} == {CHAIN_LOT}
        assert {r.region: (r.scans, r.clients) for r in rows if r.region in ("北京", "上海")} == {"北京": (2, 1), "上海": (1, 1)}
        assert all(r.minute == T0 + timedelta(minutes=12) for r in rows) and max(len(r.region) for r in rows) <= 32
        assert not hasattr(rows[0], "client")
    finally:
        await db.close()

    app = create_app(config)
    client = await aiohttp_client(app)
    marketing = await bearer(client, "marketing")
    report = await (await client.get(f"/api/v1/engagement/sessions/{show.session_id}/report?fresh=true", headers=marketing)).json()
    assert report["scans"]["total"] == 4 and report["summary"]["scans"] == 4
    assert report["scans"]["by_lot"] == [{"lot": CHAIN_LOT, "scans": 4}]
    minute = (T0 + timedelta(minutes=12)).astimezone(UTC).isoformat()
    assert [m["scans"] for m in report["minutes"] if m["minute"] == minute] == [4]
    assert sum(m["scans"] for m in report["minutes"]) == 4
    page = await (await client.get(f"/reports/sessions/{show.session_id}?fresh=1", headers=marketing)).text()
    assert "扫码查询（4 次）" in page


async def test_concurrent_instances_add_to_the_same_minute(database_url: str, client: Any) -> None:
    db = client.app[DATABASE]
    await scans.store_rows(db, [("L1", T0, "", 3, 2)])
    await scans.store_rows(db, [("L1", T0, "", 2, 2), ("L2", T0, "", 1, 1)])
    per_minute = await scans.scans_per_minute(db, ["L1", "L2"], T0, T0 + timedelta(minutes=1))
    assert per_minute == {T0: 6}
