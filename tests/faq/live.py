"""Helpers for tests of the FAQ area inside a running app: KB, chat rows, sessions, trace data.

Chat rows are inserted the way the chat writer stores them and announced on the app's real
bus with the documented ``chat.stored`` shape; results are awaited on ``chat.enriched``.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from livebot.appkeys import BUS, DATABASE
from livebot.chat.models import StoredEvent
from livebot.faq import store
from livebot.faq.kb import FaqEntry, load_kb, sample_kb_path
from livebot.faq.stage import STAGE
from livebot.schedule.models import LiveSession, SessionSite, Site
from livebot.storage.base import utcnow
from livebot.topics import CHAT_ENRICHED, CHAT_STORED
from livebot.trace.keys import TRACE_SETTINGS

WAIT = 15.0
"""Upper bound for a result that normally arrives within one flush interval (never slept)."""

LIVE_ANSWER = ("本场直播的批次 {batch.lot} 用的生牛乳来自{batch.farm}，{batch.milking_end} 挤奶完成，"
               "{batch.minutes_to_processing} 分钟内进入加工。")
_ids = itertools.count(1)


def sample_entries(live_answer: bool = True) -> list[FaqEntry]:
    """The bundled sample KB; milk-source-location quotes live batch data when ``live_answer``."""
    entries = load_kb(sample_kb_path())
    if not live_answer:
        return entries
    return [replace(e, answer=LIVE_ANSWER) if e.id == "milk-source-location" else e for e in entries]


async def load_kb_into(app: web.Application, entries: Sequence[FaqEntry] | None = None) -> None:
    """Import ``entries`` (default: the sample with a live answer) and wait for the index rebuild."""
    await store.import_entries(app[DATABASE], list(entries if entries is not None else sample_entries()), "test")
    await app[STAGE].index.rebuild()


async def live_session(app: web.Application, title: str = "北境臻护 · 从牧场到罐的 2 小时") -> int:
    """A live session with two sites; returns its id."""
    now = utcnow()
    async with app[DATABASE].sessions() as session:
        sites = [Site(slug=f"studio-{uuid.uuid4().hex[:6]}", name="北京演播厅", role="studio"),
                 Site(slug=f"farm-{uuid.uuid4().hex[:6]}", name="双城牧场", role="farm")]
        session.add_all(sites)
        live = LiveSession(title=title, theme="奶源", planned_start=now - timedelta(minutes=10),
                           planned_end=now + timedelta(minutes=110), status="live", started_at=now - timedelta(minutes=10))
        session.add(live)
        await session.flush()
        session.add_all(SessionSite(session_id=live.id, site_id=site.id) for site in sites)
        await session.commit()
        return live.id


BATCH = {
    "gtin": "06901234567892", "lot": "BJ20261124A01", "product_name": "北境臻护婴儿配方奶粉", "stage": "1段",
    "production_date": "2026-11-24", "plant": "齐齐哈尔工厂", "line": "湿法一线",
    "raw_milk": {"lot": "RM20261124Q03", "farm": "双城牧场", "milking_start": "2026-11-24T05:10:00+08:00",
                 "milking_end": "2026-11-24T05:40:00+08:00", "cooled_at": "2026-11-24T05:58:00+08:00",
                 "cooling_temp_c": 3.6, "processing_start": "2026-11-24T07:05:00+08:00"},
}


async def save_batch(app: web.Application, **changes: Any) -> str:
    """Store one batch with its raw milk through the trace area's push path; returns the lot."""
    from livebot.trace.pushes import parse_batches
    from livebot.trace.store import save_batches

    body = {**BATCH, **changes}
    await save_batches(app[DATABASE], parse_batches({"batches": [body]}), app[TRACE_SETTINGS])
    return str(body["lot"])


async def present_lots(app: web.Application, session_id: int, lots: Sequence[str]) -> None:
    from livebot.trace.store import set_session_lots

    await set_session_lots(app[DATABASE], session_id, lots)


async def chat_row(app: web.Application, text: str, *, kind: str = "comment", session_id: int | None = None,
                   user: str = "小雨妈妈") -> dict[str, Any]:
    """Insert a stored chat event and return its ``chat.stored`` message."""
    number = next(_ids)
    external = f"dy-{uuid.uuid4().hex[:8]}-{number}"
    ts = datetime.now().astimezone()
    async with app[DATABASE].sessions() as session:
        row = StoredEvent(source="test-hook", external_id=external, platform="douyin", channel="room-7731", kind=kind,
                          ts=ts, user_id=f"u-{number}", user_name=user, text=text, session_id=session_id,
                          flags=[], merged_count=1)
        session.add(row)
        await session.commit()
        pk = row.id
    return {
        "pk": pk, "source": "test-hook", "id": external, "platform": "douyin", "channel": "room-7731", "kind": kind,
        "ts": ts.isoformat(), "user": {"id": f"u-{number}", "name": user}, "text": text, "count": None,
        "viewers": None, "value": None, "session_id": session_id, "site_id": None, "segment_id": None,
        "hidden": False, "flags": [], "merged_count": 1,
    }


async def stored_row(app: web.Application, pk: int) -> StoredEvent:
    async with app[DATABASE].sessions() as session:
        row = await session.get(StoredEvent, pk)
        assert row is not None
        return row


class Enriched:
    """Collects ``chat.enriched`` messages from the app's bus and waits for particular ones."""

    def __init__(self, app: web.Application) -> None:
        self.messages: dict[int | None, list[dict[str, Any]]] = {}
        self.arrived = asyncio.Event()
        self.stop = app[BUS].subscribe(CHAT_ENRICHED, self.on_message, name="test.enriched")

    async def on_message(self, message: dict[str, Any]) -> None:
        self.messages.setdefault(message.get("pk"), []).append(message)
        self.arrived.set()

    async def wait_for(self, *pks: int) -> list[dict[str, Any]]:
        """The enriched messages for ``pks`` (in that order), waiting until all have arrived."""
        async with asyncio.timeout(WAIT):
            while not all(pk in self.messages for pk in pks):
                self.arrived.clear()
                await self.arrived.wait()
        return [self.messages[pk][0] for pk in pks]


async def publish_stored(app: web.Application, *messages: dict[str, Any]) -> None:
    """Announce rows as the chat writer does: a commit's worth as one list."""
    await app[BUS].publish_many(CHAT_STORED, list(messages))


async def enrich(app: web.Application, catcher: Enriched, text: str, **kwargs: Any) -> dict[str, Any]:
    """Store, announce and wait for one comment; returns its ``enrichment``."""
    message = await chat_row(app, text, **kwargs)
    await publish_stored(app, message)
    (enriched,) = await catcher.wait_for(message["pk"])
    return dict(enriched["enrichment"])
