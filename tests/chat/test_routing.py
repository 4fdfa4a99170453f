"""Routing: events land in the session owning their (source, channel) at their time, from a cache."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import event as sa_event

from livebot.appkeys import BUS, DATABASE
from livebot.chat.event import ChatEvent
from livebot.chat.keys import INGEST
from livebot.chat.routing import NO_ROUTE, Route, Router
from livebot.schedule.models import Channel, LiveSession, Site
from livebot.storage.engine import Database
from livebot.topics import SCHEDULE_CHANGED
from tests.chat.ingest_helpers import event, post_events, stored
from tests.support import eventually

NOW = datetime.now(UTC).replace(microsecond=0)


async def add_session(db: Database, status: str, start: datetime, end: datetime, channels: list[tuple[str, str]],
                      **fields: Any) -> tuple[int, int]:
    async with db.sessions() as session:
        site = Site(slug=f"site-{status}-{start.timestamp():.0f}-{len(channels)}", name="北京演播厅", role="studio")
        live = LiveSession(title="溯源直播", planned_start=start, planned_end=end, status=status, **fields)
        session.add_all([site, live])
        await session.flush()
        session.add_all(Channel(session_id=live.id, source_id=s, channel=c, platform="douyin", site_id=site.id)
                        for s, c in channels)
        await session.commit()
        return live.id, site.id


def at(minutes: float, channel: str = "room-1", source: str = "test-hook") -> ChatEvent:
    return ChatEvent(source=source, id="x", platform="douyin", channel=channel, kind="comment",
                     ts=NOW + timedelta(minutes=minutes))


async def test_live_session_owns_its_channels(database_url: str) -> None:
    db = Database.open(database_url)
    try:
        live, site = await add_session(db, "live", NOW - timedelta(hours=1), NOW + timedelta(hours=1),
                                       [("test-hook", "room-1"), ("test-hook", "room-2")])
        router = Router(db, refresh_seconds=60)
        await router.ensure_fresh()
        assert router.route(at(0)) == Route(live, site)
        assert router.route(at(0, "room-2")) == Route(live, site)
        assert router.route(at(0, "room-3")) is NO_ROUTE
        assert router.route(at(0, source="other")) is NO_ROUTE
    finally:
        await db.close()


async def test_windows_route_late_events_of_ended_sessions(database_url: str) -> None:
    db = Database.open(database_url)
    try:
        ended, _ = await add_session(db, "ended", NOW - timedelta(hours=3), NOW - timedelta(hours=1), [("test-hook", "room-1")],
                                     started_at=NOW - timedelta(hours=3), ended_at=NOW - timedelta(hours=1))
        upcoming, _ = await add_session(db, "scheduled", NOW + timedelta(hours=1), NOW + timedelta(hours=2),
                                        [("test-hook", "room-1")])
        await add_session(db, "cancelled", NOW - timedelta(hours=1), NOW + timedelta(hours=1), [("test-hook", "room-1")])
        router = Router(db, refresh_seconds=60)
        await router.ensure_fresh()
        assert router.route(at(-120)).session_id == ended
        assert router.route(at(-30)) is NO_ROUTE
        assert router.route(at(90)).session_id == upcoming
    finally:
        await db.close()


async def test_live_status_wins_and_wildcard_channel(database_url: str) -> None:
    db = Database.open(database_url)
    try:
        await add_session(db, "scheduled", NOW - timedelta(hours=1), NOW + timedelta(hours=1), [("test-hook", "room-1")])
        live, _ = await add_session(db, "live", NOW + timedelta(hours=5), NOW + timedelta(hours=6), [("test-hook", "*")])
        router = Router(db, refresh_seconds=60)
        await router.ensure_fresh()
        assert router.route(at(0, "room-1")).session_id != live
        assert router.route(at(0, "any-room")).session_id == live
    finally:
        await db.close()


async def test_table_is_cached_and_refreshed_on_schedule_changed(client: TestClient) -> None:
    db = client.app[DATABASE]
    queries: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM channels" in statement:
            queries.append(statement)

    sa_event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    for _ in range(5):
        await post_events(client, [event(channel="room-1") for _ in range(10)])
    assert len(queries) <= 1, "the routing table must not be loaded per event or per request"
    assert all(r.session_id is None for r in await stored(client))
    live, site = await add_session(db, "live", NOW - timedelta(hours=1), NOW + timedelta(hours=1), [("test-hook", "room-1")])
    router = client.app[INGEST].router
    assert router is not None and router.next_refresh > 0
    await client.app[BUS].publish(SCHEDULE_CHANGED, {"session_id": live, "reason": "test"})
    await eventually(lambda: router.next_refresh == 0)
    await post_events(client, [new := event(channel="room-1", ts=NOW.isoformat())])
    row = [r for r in await stored(client) if r.external_id == new["id"]][0]
    assert (row.session_id, row.site_id) == (live, site)
    assert len(queries) == 2


async def test_refresh_failure_keeps_the_old_table(database_url: str) -> None:
    db = Database.open(database_url)
    clock = [0.0]
    try:
        live, _ = await add_session(db, "live", NOW - timedelta(hours=1), NOW + timedelta(hours=1), [("test-hook", "room-1")])
        router = Router(db, refresh_seconds=10, clock=lambda: clock[0])
        await router.ensure_fresh()
        await db.engine.dispose()
        db.engine.pool._creator = lambda *a: (_ for _ in ()).throw(OSError("gone"))  # type: ignore[attr-defined]
        clock[0] = 11.0
        await router.ensure_fresh()
        assert router.route(at(0)).session_id == live
    finally:
        await db.close()


async def test_sink_routes_without_a_query_per_event(client: TestClient) -> None:
    db = client.app[DATABASE]
    live, _ = await add_session(db, "live", NOW - timedelta(hours=1), NOW + timedelta(hours=1), [("test-hook", "room-9")])
    client.app[INGEST].router.invalidate()  # type: ignore[union-attr]
    await post_events(client, [event(channel="room-9"), event(channel="elsewhere")])
    rows = await stored(client)
    assert [r.session_id for r in rows] == [live, None]


async def test_live_events_carry_the_segment_and_site_on_air(database_url: str) -> None:
    from livebot.schedule.models import Segment, SessionControl

    db = Database.open(database_url)
    try:
        live, studio = await add_session(db, "live", NOW - timedelta(hours=1), NOW + timedelta(hours=1),
                                         [("test-hook", "room-1")])
        async with db.sessions() as session:
            factory = Site(slug="factory-x", name="齐齐哈尔工厂", role="factory")
            session.add(factory)
            await session.flush()
            segment = Segment(session_id=live, position=1, title="工厂湿法工艺", offset_s=600, duration_s=900,
                              site_id=factory.id)
            session.add(segment)
            await session.flush()
            session.add(SessionControl(session_id=live, current_segment_id=segment.id, on_air_site_id=factory.id))
            await session.commit()
            factory_id, segment_id = factory.id, segment.id
        router = Router(db, refresh_seconds=60)
        await router.ensure_fresh()
        assert router.route(at(0)) == Route(live, factory_id, segment_id)
        assert studio != factory_id
    finally:
        await db.close()
