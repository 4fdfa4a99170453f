"""Group commit: batches grow with load, acknowledgement means committed, shutdown flushes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from livebot.bus.memory import MemoryBus
from livebot.chat.errors import IngestUnavailable, Overloaded
from livebot.chat.event import ChatEvent, ChatUser
from livebot.chat.metrics import IngestMetrics
from livebot.chat.models import StoredEvent
from livebot.chat.moderation import Moderator, Verdict
from livebot.chat.settings import ChatSettings, ModerationSettings
from livebot.chat.writer import Pending, Writer, sqlite_datetime
from livebot.storage.engine import Database
from livebot.topics import CHAT_STORED

TS = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def pending(ident: str, **verdict: Any) -> Pending:
    event = ChatEvent(source="s", id=ident, platform="douyin", channel="c", kind="comment", ts=TS,
                      user=ChatUser("u", "名"), text="好", raw={"id": ident, "text": "好"})
    return Pending(event, verdict=Verdict(**verdict))


async def count_rows(db: Database) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(StoredEvent))).scalar_one())


@pytest.fixture
async def db(database_url: str) -> Any:
    database = Database.open(database_url)
    yield database
    await database.close()


async def test_concurrent_requests_share_commits(db: Database) -> None:
    metrics = IngestMetrics()
    writer = Writer(db, ChatSettings(), metrics)
    writer.start()
    results = await asyncio.gather(*(writer.write([pending(f"r{r}-{i}") for i in range(10)]) for r in range(50)))
    await writer.stop()
    assert results == [(10, 0)] * 50
    assert await count_rows(db) == 500
    batches = metrics.batch_events.collect()[0].samples
    commits = next(s.value for s in batches if s.name.endswith("_count"))
    assert commits < 50, "concurrent requests should be grouped into fewer commits"


async def test_acknowledged_rows_are_already_committed(db: Database) -> None:
    writer = Writer(db, ChatSettings(), IngestMetrics())
    writer.start()
    other = Database.open(str(db.engine.url).replace("+aiosqlite", "").replace("+asyncpg", ""))
    try:
        for round_ in range(5):
            accepted, _ = await writer.write([pending(f"k{round_}-{i}") for i in range(7)])
            assert accepted == 7
            assert await count_rows(other) == 7 * (round_ + 1)
    finally:
        await writer.stop()
        await other.close()


async def test_stop_flushes_queued_work(db: Database) -> None:
    writer = Writer(db, ChatSettings(), IngestMetrics())
    writer.start()
    tasks = [asyncio.create_task(writer.write([pending(f"f{r}-{i}") for i in range(20)])) for r in range(10)]
    await asyncio.sleep(0)
    await writer.stop()
    assert [t.result() for t in tasks] == [(20, 0)] * 10
    assert await count_rows(db) == 200
    with pytest.raises(IngestUnavailable):
        await writer.write([pending("late")])


async def test_batches_respect_the_size_limit_and_the_queue_bound(db: Database) -> None:
    metrics = IngestMetrics()
    writer = Writer(db, ChatSettings(batch_max_events=25, queue_max_events=100), metrics)
    writer.start()
    tasks = [asyncio.create_task(writer.write([pending(f"b{r}-{i}") for i in range(20)])) for r in range(5)]
    await asyncio.sleep(0)
    with pytest.raises(Overloaded):
        await writer.write([pending(f"over-{i}") for i in range(20)])
    await asyncio.gather(*tasks)
    await writer.stop()
    samples = {s.name: s.value for s in metrics.batch_events.collect()[0].samples if "le" not in s.labels}
    assert samples["livebot_chat_writer_batch_events_count"] == 5
    assert samples["livebot_chat_writer_batch_events_sum"] == 100


async def test_a_single_oversized_request_is_still_written(db: Database) -> None:
    writer = Writer(db, ChatSettings(batch_max_events=10, queue_max_events=10), IngestMetrics())
    writer.start()
    assert await writer.write([pending(f"big-{i}") for i in range(1000)]) == (1000, 0)
    await writer.stop()
    assert await count_rows(db) == 1000


async def test_failed_batch_acknowledges_nothing_and_moderation_forgets_it(db: Database) -> None:
    moderator = Moderator(ModerationSettings())
    writer = Writer(db, ChatSettings(), IngestMetrics(), moderator=moderator)
    writer.start()
    real = db.write

    async def fail(work: Any) -> Any:
        await real(work)  # the rows were judged; then the commit fails
        raise OSError("disk full")

    db.write = fail  # type: ignore[method-assign]
    with pytest.raises(IngestUnavailable):
        await writer.write([pending("x1"), pending("x2")])
    assert (moderator.heads, moderator.user_heads, moderator.recent, moderator.journal) == ({}, {}, {}, None)
    db.write = real  # type: ignore[method-assign]
    assert await writer.write([pending("x3")]) == (1, 0)
    await writer.stop()
    assert [head.key for head in moderator.heads.values()] == [("s", "x3")]


async def test_published_after_commit_in_order(db: Database) -> None:
    bus = MemoryBus()
    seen: list[dict[str, Any]] = []

    async def collect(message: dict[str, Any]) -> None:
        assert await count_rows(db) >= len(seen) + 1
        seen.append(message)

    bus.subscribe(CHAT_STORED, collect, name="test")
    writer = Writer(db, ChatSettings(), IngestMetrics(), bus=bus)
    writer.start()
    await writer.write([pending("p1"), pending("p2"), pending("p1")])
    await writer.write([pending("p2"), pending("p3", hidden=True, flags=("link",))])
    await writer.stop()
    await bus.drained()
    assert [m["id"] for m in seen] == ["p1", "p2", "p3"]
    assert seen[2]["hidden"] is True and seen[2]["flags"] == ["link"]
    assert seen[0]["ts"] == "2026-11-24T12:00:00+00:00"
    assert isinstance(seen[0]["pk"], int)


def test_sqlite_datetime_matches_sqlalchemy_storage() -> None:
    from datetime import timedelta, timezone

    assert sqlite_datetime(datetime(2026, 11, 24, 20, 1, 2, 5, tzinfo=timezone(timedelta(hours=8)))) == \
        "2026-11-24 12:01:02.000005"
    assert sqlite_datetime(TS) == "2026-11-24 12:00:00.000000"


async def test_published_keys_are_the_stored_rows_ids(db: Database) -> None:
    """All new, a key repeated within a batch, a batch re-sent in part, a row deleted at the top:
    every published pk is the id the row was stored under (SQLite learns them without reading back
    when every row was new; PostgreSQL from RETURNING)."""
    bus = MemoryBus()
    seen: list[dict[str, Any]] = []

    async def collect(message: dict[str, Any]) -> None:
        seen.append(message)

    bus.subscribe(CHAT_STORED, collect, name="test")
    writer = Writer(db, ChatSettings(), IngestMetrics(), bus=bus)
    writer.start()
    await writer.write([pending(f"k{i}", flags=("link",) if i == 2 else ()) for i in range(5)])
    await writer.write([pending("k5"), pending("k6"), pending("k5")])
    await writer.write([pending("k6"), pending("k7"), pending("k0"), pending("k8")])
    async with db.engine.begin() as conn:
        await conn.execute(StoredEvent.__table__.delete().where(StoredEvent.external_id == "k8"))
    await writer.write([pending("k9"), pending("k10")])
    await writer.stop()
    await bus.drained()
    async with db.engine.connect() as conn:
        rows = dict((await conn.execute(select(StoredEvent.external_id, StoredEvent.id))).all())
    published = {m["id"]: m["pk"] for m in seen}
    assert list(published) == [f"k{i}" for i in range(11)]
    assert {key: pk for key, pk in published.items() if key != "k8"} == rows
    assert seen[2]["flags"] == ["link"]
