"""Comments the bus dropped, or stored while no stage ran, are still enriched (from the database)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select, update

from livebot.app import create_app
from livebot.appkeys import BUS, DATABASE
from livebot.chat import store as chat_store
from livebot.chat.models import StoredEvent
from livebot.chat.store import stored_message
from livebot.config import Config, config_from_mapping
from livebot.faq import catchup, store
from livebot.faq.stage import STAGE, Pending
from livebot.storage.base import utcnow
from livebot.storage.engine import Database
from livebot.topics import CHAT_STORED
from tests.bus.test_bus import REDIS_URL
from tests.chat.ingest_helpers import SECRET, SOURCE, event, post_events
from tests.faq.live import WAIT, Enriched, load_kb_into, sample_entries
from tests.support import eventually

TEXTS = ["奶源是哪里的？", "主播好美", "乳铁蛋白含量多少？", "666", "冲奶粉水温多少度合适"]


async def insert_comments(db: Database, count: int, *, received_at: datetime | None = None,
                          kind: str = "comment") -> list[int]:
    rows = [StoredEvent(source="test-hook", external_id=f"cu-{kind}-{received_at}-{n}", platform="douyin",
                        channel="room-1", kind=kind, ts=utcnow(), received_at=received_at or utcnow(),
                        user_id=f"u{n}", user_name="小雨妈妈", text=TEXTS[n % len(TEXTS)] if kind == "comment" else "",
                        flags=[], merged_count=1)
            for n in range(count)]
    async with db.sessions() as session:
        session.add_all(rows)
        await session.commit()
        return [row.id for row in rows]


async def is_question_of(db: Database, pks: list[int]) -> dict[int, bool | None]:
    async with db.sessions() as session:
        rows = await session.execute(select(StoredEvent.id, StoredEvent.is_question).where(StoredEvent.id.in_(pks)))
        return dict(rows.tuples().all())


async def enriching_app(aiohttp_client: Any, config: Config) -> tuple[web.Application, Enriched]:
    """A running app with the sample knowledge base, and a catcher of its ``chat.enriched``."""
    client = await aiohttp_client(create_app(config))
    await load_kb_into(client.app)
    return client.app, Enriched(client.app)


async def stored_messages(db: Database, count: int) -> list[dict[str, Any]]:
    """``count`` new comment rows, as the ``chat.stored`` messages of their commit."""
    pks = await insert_comments(db, count)
    async with db.sessions() as session:
        rows = (await session.scalars(select(StoredEvent).where(StoredEvent.id.in_(pks)).order_by(StoredEvent.id))).all()
    return [stored_message(row) for row in rows]



async def test_comments_the_bus_dropped_are_enriched_once_the_drops_stop(
        make_config: Callable[..., Config], aiohttp_client: Any, database_url: str) -> None:
    app, catcher = await enriching_app(aiohttp_client, make_config(faq={"queue_size": 100}))
    messages = await stored_messages(app[DATABASE], 600)
    pks = [m["pk"] for m in messages]
    await app[BUS].publish_many(CHAT_STORED, messages)

    await catcher.wait_for(*pks)
    await app[STAGE].drained()
    if app[BUS].durable:  # a Redis stream holds what the stage has not taken yet: nothing is dropped
        assert not [sub for sub in app[BUS].subscriptions if sub.name == "faq.enrich"]
        assert app[STAGE].catch_up.recovered == 0 and app[STAGE].processed == 600
    else:
        [subscription] = [sub for sub in app[BUS].subscriptions if sub.name == "faq.enrich"]
        assert subscription.dropped >= 400  # the buffer holds 100 (more drain meanwhile when the list arrives in parts)
        assert app[STAGE].catch_up.recovered == subscription.dropped  # every dropped one came back from the database
    assert all(len(catcher.messages[pk]) == 1 for pk in pks)  # each published once
    enriched = await is_question_of(app[DATABASE], pks)
    assert None not in enriched.values()
    assert enriched[pks[0]] is True and enriched[pks[1]] is False


async def test_comments_stored_while_no_stage_ran_are_enriched_at_start(
        make_config: Callable[..., Config], aiohttp_client: Any, database_url: str) -> None:
    db = Database.open(database_url)
    try:
        await store.import_entries(db, sample_entries(), "test")
        recent = await insert_comments(db, 5)
        likes = await insert_comments(db, 2, kind="like")
        stale = await insert_comments(db, 2, received_at=utcnow() - timedelta(hours=3))
    finally:
        await db.close()

    client = await aiohttp_client(create_app(make_config()))
    db = client.app[DATABASE]

    async def recent_enriched() -> bool:
        return None not in (await is_question_of(db, recent)).values()

    await eventually(recent_enriched, timeout=WAIT)
    assert (await is_question_of(db, recent))[recent[0]] is True
    assert set((await is_question_of(db, likes + stale)).values()) == {None}  # not comments / older than a show


async def test_each_stage_takes_its_instances_share(
        make_config: Callable[..., Config], aiohttp_client: Any, database_url: str) -> None:
    app, catcher = await enriching_app(aiohttp_client, make_config())
    messages = await stored_messages(app[DATABASE], 300)
    pks = [m["pk"] for m in messages]
    mine, rebuilt, foreign = pks[:50], pks[50:100], pks[100:]
    for message in messages[:50]:
        message["origin"] = app[BUS].origin
    for message in messages[100:]:
        message["origin"] = "other-host-1-abc123"
    await app[BUS].publish_many(CHAT_STORED, messages)

    if app[BUS].durable:  # a consumer group shares by message, not by origin: this group's only member takes all
        await catcher.wait_for(*pks)
        await app[STAGE].drained()
        assert app[STAGE].processed == 300
        assert None not in (await is_question_of(app[DATABASE], pks)).values()
        return
    await catcher.wait_for(*mine, *rebuilt)
    await app[STAGE].drained()
    assert app[STAGE].processed == 100
    enriched = await is_question_of(app[DATABASE], pks)
    assert None not in [enriched[pk] for pk in mine + rebuilt]
    assert {enriched[pk] for pk in foreign} == {None}

    catch_up = app[STAGE].catch_up
    catch_up.note(CHAT_STORED, messages[100:])  # dropped news of another instance's comments: its own to fetch
    assert catch_up.missed == set()
    catch_up.note(CHAT_STORED, messages[:2] + messages[50:52])
    assert catch_up.missed == {*mine[:2], *rebuilt[:2]}


async def test_comments_a_dead_instance_left_unenriched_are_swept_up(
        make_config: Callable[..., Config], aiohttp_client: Any, database_url: str, monkeypatch: Any,
        caplog: Any) -> None:
    monkeypatch.setattr(catchup, "SWEEP_SECONDS", 0.05)
    app, _ = await enriching_app(aiohttp_client, make_config())
    stage = app[STAGE]
    await asyncio.wait_for(stage.catch_up.started.wait(), WAIT)
    forgotten = await insert_comments(app[DATABASE], 30, received_at=utcnow() - timedelta(seconds=30))

    async def forgotten_enriched() -> bool:
        return None not in (await is_question_of(app[DATABASE], forgotten)).values()

    await eventually(forgotten_enriched, timeout=WAIT)
    assert stage.catch_up.swept_to >= forgotten[-1]
    assert "enriching 30 comments stored elsewhere and never enriched" in caplog.text


async def test_a_busy_stage_does_not_sweep_and_a_failed_first_look_starts_from_the_newest(
        make_config: Callable[..., Config], aiohttp_client: Any, database_url: str) -> None:
    client = await aiohttp_client(create_app(make_config()))
    stage = client.app[STAGE]
    assert stage.idle()
    stage.pending.append(Pending(1, {"pk": 1}, {"is_question": False}))
    assert not stage.idle()
    stage.pending.clear()
    stage.catch_up.swept_to = None
    await stage.catch_up.recover_settled()  # a failed look at start: the sweep begins from the newest key
    assert stage.catch_up.swept_to == 0


async def test_instances_share_the_enrichment_over_redis(database_url: str, aiohttp_client: Any) -> None:
    prefix = f"lbtest-{uuid.uuid4().hex[:10]}"
    config = config_from_mapping({
        "database": {"url": database_url}, "bus": {"url": REDIS_URL, "channel_prefix": prefix},
        "auth": {"session_secret": "test-session-secret"},
        "sources": [{"id": SOURCE, "type": "webhook", "secret": SECRET}],
    })
    first = await aiohttp_client(create_app(config))
    second = await aiohttp_client(create_app(config))
    await load_kb_into(first.app)
    await second.app[STAGE].index.rebuild()
    catcher = Enriched(first.app)
    texts = ["奶源是哪里的？", "主播好美", "冲奶粉水温多少度合适", "<script>alert(1)</script>奶源？", "宝宝😀几段？"]
    for client, count in ((first, 40), (second, 30)):
        status, _ = await post_events(client, [event(text=texts[n % len(texts)], user={"id": f"u{n}", "name": "豆豆妈"})
                                               for n in range(count)])
        assert status == 202
    async with first.app[DATABASE].sessions() as session:
        pks = (await session.scalars(select(StoredEvent.id))).all()
    assert len(pks) == 70
    await catcher.wait_for(*pks)
    await first.app[STAGE].drained()
    await second.app[STAGE].drained()
    assert (first.app[STAGE].processed, second.app[STAGE].processed) == (40, 30)
    assert all(len(catcher.messages[pk]) == 1 for pk in pks)
    assert None not in (await is_question_of(first.app[DATABASE], list(pks))).values()


async def test_each_sweep_reads_a_bounded_range_and_goes_on_from_there(database_url: str) -> None:
    db = Database.open(database_url)
    try:
        old = await insert_comments(db, 10, received_at=utcnow() - timedelta(minutes=1))
        fresh = await insert_comments(db, 2)
        cutoff = utcnow() - catchup.SETTLED
        rows, next_after = await chat_store.settled_unenriched(db, old[0] - 1, cutoff, span=4, limit=100)
        assert [r.id for r in rows] == old[:4] and next_after == old[3]
        rows, next_after = await chat_store.settled_unenriched(db, next_after, cutoff, span=100, limit=3)
        assert [r.id for r in rows] == old[4:7] and next_after == old[6]
        async with db.sessions() as session:
            await session.execute(update(StoredEvent).where(StoredEvent.id == old[7]).values(is_question=False))
            await session.commit()
        rows, next_after = await chat_store.settled_unenriched(db, next_after, cutoff, span=100, limit=100)
        assert [r.id for r in rows] == [old[8], old[9]] and next_after == old[9]
        assert await chat_store.settled_unenriched(db, next_after, cutoff, span=100, limit=100) == ([], old[9])
        assert await chat_store.newest_id(db) == fresh[-1]
    finally:
        await db.close()


async def test_the_stage_writes_what_is_pending_even_when_a_task_had_failed(
        database_url: str, make_config: Callable[..., Config], aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(make_config()))
    app = client.app
    await load_kb_into(app)
    stage = app[STAGE]
    [message] = await stored_messages(app[DATABASE], 1)
    stage.pending.append(Pending(message["pk"], message, await stage.enrich(message)))

    async def fails_when_cancelled() -> None:  # as a driver may, caught mid-connect to a database gone away
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise OSError("database gone for a moment") from None

    stage._spawn(fails_when_cancelled(), "faq:broken")
    await asyncio.sleep(0)
    await client.close()
    db = Database.open(database_url)
    try:
        assert await is_question_of(db, [message["pk"]]) == {message["pk"]: True}
    finally:
        await db.close()
