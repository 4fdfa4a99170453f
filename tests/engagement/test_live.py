"""Live figures equal rebuilt ones: chat marks minutes on the bus, flushes recompute them from storage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert

from livebot.appkeys import BUS, DATABASE
from livebot.engagement.keys import LIVE
from livebot.engagement.models import EngagementMinute
from livebot.engagement.rebuild import rebuild
from livebot.engagement.store import minute_rows
from livebot.schedule.models import TimelineEntry
from livebot.topics import CHAT_ENRICHED, CHAT_STORED, ChatStored, chat_stored, engagement_topic
from tests.engagement.support import QUESTION_ANSWERS, T0, TRANSCRIPT, add_ask, answer_card, at, insert_events, make_show
from tests.support import eventually


def strip(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "updated_at"} for r in rows]


def stored_message(session_id: int, event: dict[str, Any], pk: int) -> ChatStored:
    """The ``chat.stored`` message of a transcript event stored as ``pk``."""
    return chat_stored(pk=pk, source="test", external_id=f"e{pk}", platform=event["platform"], channel="room",
                       kind=event["kind"], ts=event["ts"].astimezone(UTC), user_id="u", user_name="", text="",
                       count=event["count"], viewers=event["viewers"], value=event["value"], session_id=session_id,
                       site_id=None, segment_id=None, hidden=False, flags=[], merged_count=1)



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
        for index in QUESTION_ANSWERS:
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
        await eventually(lambda: len(live.dirty.get(show.session_id, ())) == 4)
        assert await live.flush() == {show.session_id: 5}  # rows: 2 in minute 0, then 1 each in 10, 12, 16
        await eventually(lambda: bool(received))
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


async def flush_and_compare(live: Any, db: Any, session_id: int, minute: datetime) -> list[dict[str, Any]]:
    """Flush the live figures of ``minute``, then check a full rebuild from raw events gives the same rows."""
    live.mark({"session_id": session_id, "ts": minute.isoformat()})
    await live.flush()
    live_rows = strip(await minute_rows(db, session_id))
    await rebuild(db, session_id)
    assert strip(await minute_rows(db, session_id)) == live_rows
    return live_rows


async def test_a_minute_still_filling_up_is_folded_incrementally_and_equals_a_rebuild(client: Any, monkeypatch: Any) -> None:
    """At 5,000 events/s a minute is not re-read on every flush: only its new rows are, late
    sentiment is added when it lands, and once the minute closed it is written one last time;
    at every step the rows equal a rebuild's."""
    from sqlalchemy import update as sql_update

    from livebot.chat.models import StoredEvent
    from livebot.engagement import rebuild as rebuild_module
    from livebot.engagement.rebuild import OPEN_GRACE
    from tests.engagement.support import ev

    app = client.app
    db, live = app[DATABASE], app[LIVE]
    show = await make_show(db, status="live")
    minute = T0 + timedelta(minutes=16)
    live.clock = lambda: minute + timedelta(seconds=40)
    read: list[int] = []
    original = rebuild_module.store.rows_after

    async def counting(*args: Any) -> Any:
        found = await original(*args)
        read.append(len(found))
        return found

    monkeypatch.setattr(rebuild_module.store, "rows_after", counting)

    def unenriched(seconds: float, user: str, text: str) -> dict[str, Any]:
        return ev(seconds, user=user, text=text)  # no label: stored, not yet enriched

    first = [ev(960, "viewers", viewers=1500), ev(961, user="u1", text="工厂好干净", label="positive", score=0.6),
             ev(962, user="u4", text="加V：abc12345", label="neutral", score=0.2, hidden=True, flags=["ad"]),
             ev(963, user="u3", text="666", label="positive", score=0.1), unenriched(964, "u2", "奶源是哪里的？<script>")]
    pks = await insert_events(db, show.session_id, first)
    rows = await flush_and_compare(live, db, show.session_id, minute)
    assert sum(r["comments"] for r in rows) == 3 and sum(r["sentiment_n"] for r in rows) == 2
    assert read == [5]

    second = [ev(965, user="u5", text="😀‏", label="positive", score=0.7), ev(970, "viewers", viewers=1600),
              ev(970, "viewers", viewers=1550)]  # same time: the later row wins, as in a rebuild
    await insert_events(db, show.session_id, second)
    async with db.engine.begin() as conn:  # the FAQ stage lands the enrichment of u2's question
        await conn.execute(sql_update(StoredEvent).where(StoredEvent.id == pks[4]).values(
            is_question=True, sentiment=0.05,
            enrichment={"is_question": True, "sentiment": {"label": "neutral", "score": 0.05}}))
    rows = await flush_and_compare(live, db, show.session_id, minute)
    # the 3 new rows and the one waiting for its sentiment, not the whole minute (PostgreSQL also re-checks
    # the rows of the previous refresh: see test_a_row_committed_after_a_higher_id_still_counts_in_an_open_minute)
    assert read[1] == (4 if live.lookback == 0 else 8)
    assert sum(r["sentiment_n"] for r in rows) == 4 and sum(r["neutral"] for r in rows) == 1
    assert max(r["viewers_last"] or 0 for r in rows) == 1550

    assert show.session_id in live.open_minutes and minute in live.open_minutes[show.session_id]

    live.clock = lambda: minute + timedelta(minutes=1) + OPEN_GRACE + timedelta(seconds=1)
    before = len(read)
    await live.flush()  # nothing new, but the minute closed: written one last time from what it folded
    # (on PostgreSQL, where a row may show up late, the closed minute is recomputed in full instead)
    assert minute not in live.open_minutes[show.session_id] and read[before:] == ([0] if live.lookback == 0 else [])
    closed_rows = strip(await minute_rows(db, show.session_id))
    await rebuild(db, show.session_id)
    assert strip(await minute_rows(db, show.session_id)) == closed_rows == rows


async def test_a_minute_whose_sentiment_never_came_gets_a_full_recompute_when_it_closes(client: Any) -> None:
    """With the FAQ stage off or far behind, an open minute stops waiting; at close a full recompute
    counts whatever landed meanwhile."""
    from sqlalchemy import update as sql_update

    from livebot.chat.models import StoredEvent
    from livebot.engagement import rebuild as rebuild_module
    from livebot.engagement.rebuild import OPEN_GRACE, SENTIMENT_WAIT
    from tests.engagement.support import ev

    app = client.app
    db, live = app[DATABASE], app[LIVE]
    show = await make_show(db, status="live")
    minute = T0 + timedelta(minutes=16)
    live.clock = lambda: minute + timedelta(seconds=40)
    (pk,) = await insert_events(db, show.session_id, [ev(961, user="u1", text="奶源是哪里的？")])  # not enriched yet
    live.mark({"session_id": show.session_id, "ts": minute.isoformat()})
    await live.flush()
    tail = live.open_minutes[show.session_id][minute]
    tail.waiting[pk] -= SENTIMENT_WAIT + 1  # waited long enough
    live.mark({"session_id": show.session_id, "ts": minute.isoformat()})
    await live.flush()
    assert tail.gave_up and not tail.exact
    async with db.engine.begin() as conn:  # the enrichment lands after all
        await conn.execute(sql_update(StoredEvent).where(StoredEvent.id == pk).values(
            is_question=True, sentiment=0.2, enrichment={"is_question": True, "sentiment": {"label": "neutral", "score": 0.2}}))
    assert sum(r["sentiment_n"] for r in await minute_rows(db, show.session_id)) == 0
    live.clock = lambda: minute + timedelta(minutes=1) + OPEN_GRACE + timedelta(seconds=1)
    await live.flush()
    rows = strip(await minute_rows(db, show.session_id))
    assert sum(r["sentiment_n"] for r in rows) == 1 and sum(r["neutral"] for r in rows) == 1
    assert minute not in live.open_minutes[show.session_id]
    await rebuild_module.rebuild(db, show.session_id)
    assert strip(await minute_rows(db, show.session_id)) == rows


async def test_a_row_committed_after_a_higher_id_still_counts_in_an_open_minute(client: Any) -> None:
    """PostgreSQL with several writers: ids are handed out before commit, so rows above the
    highest id seen ``lookback`` seconds ago are checked again."""
    from livebot.chat.models import StoredEvent
    from tests.engagement.support import ev

    app = client.app
    db, live = app[DATABASE], app[LIVE]
    live.lookback = 60.0
    show = await make_show(db, status="live")
    minute = T0 + timedelta(minutes=16)
    live.clock = lambda: minute + timedelta(seconds=40)

    pks = await insert_events(db, show.session_id, [ev(961, user="u1", text="工厂好干净", label="positive", score=0.6)])
    await flush_and_compare(live, db, show.session_id, minute)
    gap = max(pks) + 1000
    async with db.engine.begin() as conn:  # ids are handed out before commit: a lower id may show up later
        await conn.execute(insert(StoredEvent.__table__), [{
            "id": gap, "source": "test-hook", "external_id": f"late-{gap}", "platform": "douyin", "channel": "room-7731",
            "kind": "comment", "ts": minute + timedelta(seconds=50), "received_at": minute, "session_id": show.session_id,
            "user_id": "u9", "user_name": "u9", "text": "支持", "hidden": False, "flags": [], "merged_count": 1,
            "is_question": False, "sentiment": 0.3, "enrichment": {"sentiment": {"label": "positive", "score": 0.3}}}])
    await flush_and_compare(live, db, show.session_id, minute)
    async with db.engine.begin() as conn:
        await conn.execute(insert(StoredEvent.__table__), [{
            "id": gap - 500, "source": "test-hook", "external_id": f"late-{gap - 500}", "platform": "kuaishou",
            "channel": "room-7731", "kind": "comment", "ts": minute + timedelta(seconds=55), "received_at": minute,
            "session_id": show.session_id, "user_id": "k9", "user_name": "k9", "text": "来了", "hidden": False,
            "flags": [], "merged_count": 1, "is_question": False, "sentiment": -0.2,
            "enrichment": {"sentiment": {"label": "negative", "score": -0.2}}}])
    rows = await flush_and_compare(live, db, show.session_id, minute)
    assert sum(r["comments"] for r in rows) == 3 and {r["platform"] for r in rows} == {"douyin", "kuaishou"}
    assert show.session_id in live.open_minutes and minute in live.open_minutes[show.session_id]


async def test_a_busy_minute_is_absorbed_between_flushes(client: Any, monkeypatch: Any) -> None:
    """Every few thousand events the open minute folds its new rows, so a flush has little left to read."""
    from livebot.engagement import live as live_module
    from tests.engagement.support import ev

    monkeypatch.setattr(live_module, "ABSORB_EVENTS", 3)
    app = client.app
    db, live = app[DATABASE], app[LIVE]
    show = await make_show(db, status="live")
    minute = T0 + timedelta(minutes=16)
    live.clock = lambda: minute + timedelta(seconds=40)
    first = [ev(961, user="u1", text="工厂好干净", label="positive", score=0.6), ev(962, "like", user="u2", count=3)]
    pks = await insert_events(db, show.session_id, first)
    await live.on_stored_batch([stored_message(show.session_id, e, pk) for e, pk in zip(first, pks, strict=True)])
    assert live.absorbing is None  # nothing known of the session before its first flush
    await live.flush()
    more = [ev(963 + i, user=f"k{i}", text="好喝", platform="kuaishou", label="positive", score=0.5) for i in range(4)]
    pks = await insert_events(db, show.session_id, more)
    await live.on_stored_batch([stored_message(show.session_id, e, pk) for e, pk in zip(more, pks, strict=True)])
    assert live.absorbing is not None
    await live.absorbing
    assert live.open_minutes[show.session_id][minute].folder.events == 6  # folded before any flush
    assert sum(r["comments"] for r in await minute_rows(db, show.session_id)) == 1  # not written yet
    await live.flush()
    live_rows = strip(await minute_rows(db, show.session_id))
    assert sum(r["comments"] for r in live_rows) == 5 and sum(r["likes"] for r in live_rows) == 3
    await rebuild(db, show.session_id)
    assert strip(await minute_rows(db, show.session_id)) == live_rows
