"""Comments the bus dropped, or stored while no stage ran, are still enriched (from the database)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select

from livebot.app import create_app
from livebot.appkeys import BUS, DATABASE
from livebot.chat.models import StoredEvent
from livebot.chat.store import stored_message
from livebot.config import Config
from livebot.faq import store
from livebot.faq.stage import STAGE
from livebot.storage.base import utcnow
from livebot.storage.engine import Database
from livebot.topics import CHAT_STORED
from tests.faq.live import WAIT, Enriched, load_kb_into, sample_entries

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


async def until(predicate: Callable[[], Any]) -> None:
    async with asyncio.timeout(WAIT):
        while not await predicate():
            await asyncio.sleep(0.05)


async def test_comments_the_bus_dropped_are_enriched_once_the_drops_stop(
        make_config: Callable[..., Config], aiohttp_client: Any, database_url: str) -> None:
    client = await aiohttp_client(create_app(make_config(faq={"queue_size": 100})))
    app: web.Application = client.app
    await load_kb_into(app)
    catcher = Enriched(app)
    pks = await insert_comments(app[DATABASE], 600)
    async with app[DATABASE].sessions() as session:
        rows = (await session.scalars(select(StoredEvent).where(StoredEvent.id.in_(pks)))).all()
    await app[BUS].publish_many(CHAT_STORED, [stored_message(row) for row in rows])

    await catcher.wait_for(*pks)
    await app[STAGE].drained()
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

    await until(recent_enriched)
    assert (await is_question_of(db, recent))[recent[0]] is True
    assert set((await is_question_of(db, likes + stale)).values()) == {None}  # not comments / older than a show
