"""Live figures equal rebuilt ones: chat marks minutes on the bus, flushes recompute them from storage."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import delete, insert

from livebot.appkeys import BUS, DATABASE
from livebot.engagement.keys import LIVE
from livebot.engagement.models import EngagementMinute
from livebot.engagement.rebuild import rebuild
from livebot.engagement.store import minute_rows
from livebot.schedule.models import TimelineEntry
from livebot.topics import CHAT_ENRICHED, CHAT_STORED, engagement_topic
from tests.engagement.conftest import QUESTION_ANSWERS, T0, TRANSCRIPT, add_ask, answer_card, at, insert_events, make_show


def strip(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "updated_at"} for r in rows]


def stored_message(session_id: int, event: dict[str, Any], pk: int) -> dict[str, Any]:
    """The parts of ``chat.stored`` the live figures read (the rest is ignored)."""
    return {"pk": pk, "session_id": session_id, "ts": event["ts"].astimezone(UTC).isoformat(), "kind": event["kind"],
            "platform": event["platform"], "count": event["count"], "value": event["value"], "viewers": event["viewers"]}


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.02)


async def timeline(db: Any, session_id: int, seconds: float, kind: str, segment: int | None, site: int | None) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(insert(TimelineEntry), [{"session_id": session_id, "at": at(seconds), "kind": kind,
                                                     "segment_id": segment, "site_id": site, "by": "test", "payload": {}}])


async def test_live_figures_equal_rebuilt_ones(client: Any) -> None:
    app = client.app
    db, live = app[DATABASE], app[LIVE]
    live.clock = lambda: T0 + timedelta(minutes=17)
    show = await make_show(db, status="live", timeline=False)
    await timeline(db, show.session_id, 0, "segment", show.segments[0], show.studio)
    chunks = [TRANSCRIPT[:7], TRANSCRIPT[7:13], TRANSCRIPT[13:]]
    pks: list[int] = []
    cards: dict[int, int] = {}
    for number, chunk in enumerate(chunks):
        new = await insert_events(db, show.session_id, chunk)
        for event, pk in zip(chunk, new, strict=True):
            live.mark(stored_message(show.session_id, event, pk))
        pks += new
        for index, delay in QUESTION_ANSWERS.items():
            if len(pks) > index and index not in cards:  # the console queues the question once it is stored
                cards[index] = await add_ask(db, show.session_id, pks[index], TRANSCRIPT[index]["ts"], None,
                                             platform=TRANSCRIPT[index]["platform"])
        if number == 2:
            # the producer's switches are recorded after chat in those minutes was already counted
            await live.flush()
            await timeline(db, show.session_id, 600, "segment", show.segments[1], show.farm)
            await timeline(db, show.session_id, 900, "site", show.segments[1], show.studio)
        await live.flush()
    for index, delay in QUESTION_ANSWERS.items():
        if delay is not None:
            await answer_card(db, cards[index], TRANSCRIPT[index]["ts"] + timedelta(seconds=delay))
    await live.flush()
    live_rows = strip(await minute_rows(db, show.session_id))
    assert sum(r["comments"] for r in live_rows) == 11 and sum(r["answered"] for r in live_rows) == 3
    assert {r["site_id"] for r in live_rows if r["minute"] == T0 + timedelta(minutes=12)} == {show.farm}
    await rebuild(db, show.session_id)
    assert strip(await minute_rows(db, show.session_id)) == live_rows


async def test_bus_messages_drive_the_flush_and_the_live_message(client: Any) -> None:
    app = client.app
    db, bus, live = app[DATABASE], app[BUS], app[LIVE]
    live.clock = lambda: T0 + timedelta(minutes=17, seconds=5)
    show = await make_show(db, status="live")
    received: list[dict[str, Any]] = []

    async def capture(message: dict[str, Any]) -> None:
        received.append(message)

    stop = bus.subscribe(engagement_topic(show.session_id), capture, name="test-capture")
    try:
        pks = await insert_events(db, show.session_id, TRANSCRIPT)
        for event, pk in zip(TRANSCRIPT, pks, strict=True):
            await bus.publish(CHAT_STORED, stored_message(show.session_id, event, pk))
        await bus.publish(CHAT_ENRICHED, {"session_id": show.session_id, "ts": "not a time"})
        await bus.publish(CHAT_STORED, {"session_id": "7", "ts": T0.isoformat()})
        await wait_for(lambda: asyncio.sleep(0, result=len(live.dirty.get(show.session_id, ())) == 4))
        assert await live.flush() == {show.session_id: 5}  # rows: 2 in minute 0, then 1 each in 10, 12, 16
        await wait_for(lambda: asyncio.sleep(0, result=bool(received)))
    finally:
        stop()
    message = received[-1]
    assert message["session_id"] == show.session_id
    assert message["viewers"] == 1500  # kuaishou last reported 17 minutes ago: out of the live total
    assert message["comments_per_min"] == 2  # 20:16, the last complete minute
    assert set(message["sentiment"]) >= {"positive", "neutral", "negative", "mean"}
    assert message["sentiment"]["positive"] == 0.5 and message["sentiment"]["mean"] == 0.375  # minutes 12-17
    assert message["comments"] == 11


async def test_a_restart_rebuilds_live_sessions(client: Any) -> None:
    app = client.app
    db, live = app[DATABASE], app[LIVE]
    show = await make_show(db, status="live")
    await insert_events(db, show.session_id, TRANSCRIPT)
    assert await minute_rows(db, show.session_id) == []  # as if the process died before any flush
    assert show.session_id in await live.catch_up()
    assert sum(r["comments"] for r in await minute_rows(db, show.session_id)) == 11


async def test_flush_survives_a_vanished_session(client: Any) -> None:
    app = client.app
    db, live = app[DATABASE], app[LIVE]
    live.mark({"session_id": 999_999, "ts": T0.isoformat()})
    show = await make_show(db, status="live")
    await insert_events(db, show.session_id, TRANSCRIPT[:3])
    live.mark({"session_id": show.session_id, "ts": T0.isoformat()})
    written = await live.flush()
    assert written[show.session_id] == 1 and 999_999 not in live.dirty
    async with db.engine.begin() as conn:
        await conn.execute(delete(EngagementMinute))
    assert await minute_rows(db, show.session_id) == []


async def test_a_failed_flush_keeps_its_minutes(client: Any, monkeypatch: Any) -> None:
    app = client.app
    db, live = app[DATABASE], app[LIVE]
    show = await make_show(db, status="live")
    await insert_events(db, show.session_id, TRANSCRIPT[:3])
    live.mark({"session_id": show.session_id, "ts": T0.isoformat()})

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("livebot.engagement.rebuild.store.replace_minutes", broken)
    await live.flush()
    assert live.dirty[show.session_id] == {T0}
    monkeypatch.undo()
    assert (await live.flush())[show.session_id] == 1
    assert sum(r["comments"] for r in await minute_rows(db, show.session_id)) == 2
