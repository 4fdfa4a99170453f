"""Helpers for console tests: a live session, stored chat events and ``chat.enriched`` messages.

Questions enter the console the way the FAQ stage hands them over: the chat event is stored in
``chat_events`` first (asks reference it), then ``chat.enriched`` is published on the bus.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from livebot.appkeys import BUS, DATABASE
from livebot.chat.models import StoredEvent
from livebot.console import store
from livebot.console.state import CONSOLE
from livebot.schedule.models import LiveSession, SessionSite, Site
from livebot.storage.base import utcnow
from livebot.storage.engine import Database
from livebot.topics import CHAT_ENRICHED
from tests.support import eventually

SERIAL = itertools.count(1)

MILK = {"id": "milk-source-location", "score": 0.91, "question": "奶源来自哪里？",
        "answer": "本批次奶源来自双城自有牧场，批次号 LOT-2026-1124。", "needs_human": False, "missing": []}
STAGE = {"id": "stage-choice", "score": 0.55, "question": "几段适合我家宝宝？",
         "answer": "0-6 个月选 1 段，6-12 个月选 2 段。", "needs_human": False, "missing": []}
PROTEIN = {"id": "protein-content", "score": 0.42, "question": "蛋白质含量多少？",
           "answer": "每 100 克含蛋白质 11.2 克。", "needs_human": False, "missing": []}
ALLERGY = {"id": "allergy-advice", "score": 0.8, "question": "宝宝过敏怎么办？",
           "answer": "请先停用并咨询儿科医生。", "needs_human": True, "missing": []}


async def make_session(db: Database, title: str = "北境臻护 · 溯源直播") -> tuple[int, int]:
    """A live session with one site; returns (session id, site id)."""
    now = utcnow()
    async with db.sessions() as session:
        site = Site(slug=f"studio-{next(SERIAL)}", name="北京演播厅", role="studio")
        live = LiveSession(title=title, planned_start=now - timedelta(minutes=5), planned_end=now + timedelta(hours=2),
                           status="live", started_at=now - timedelta(minutes=5))
        session.add_all([site, live])
        await session.flush()
        session.add(SessionSite(session_id=live.id, site_id=site.id))
        await session.commit()
        return live.id, site.id


async def store_event(
    db: Database, session_id: int | None, text: str, *, user: str = "小雨妈妈", platform: str = "douyin",
    channel: str = "room-7731", source: str = "test-hook", site_id: int | None = None, ts: datetime | None = None,
    hidden: bool = False, is_question: bool = True, segment_id: int | None = None,
) -> StoredEvent:
    serial = next(SERIAL)
    row = StoredEvent(
        source=source, external_id=f"ev-{serial}", platform=platform, channel=channel, kind="comment",
        ts=ts or utcnow(), user_id=f"u-{serial}", user_name=user, text=text, session_id=session_id, site_id=site_id,
        hidden=hidden, flags=[], merged_count=1, is_question=is_question, segment_id=segment_id,
    )
    async with db.sessions() as session:
        session.add(row)
        await session.commit()
    return row


def enriched(row: StoredEvent, suggestions: list[dict[str, Any]], is_question: bool = True) -> dict[str, Any]:
    """The ``chat.enriched`` message the FAQ stage would publish for ``row``."""
    return {
        "pk": row.id, "source": row.source, "id": row.external_id, "platform": row.platform, "channel": row.channel,
        "kind": row.kind, "ts": row.ts.astimezone(UTC).isoformat(), "user": {"id": row.user_id, "name": row.user_name},
        "text": row.text, "count": None, "viewers": None, "value": None, "session_id": row.session_id,
        "site_id": row.site_id, "segment_id": row.segment_id, "hidden": row.hidden, "flags": [], "merged_count": 1,
        "merged_into": None,
        "enrichment": {"is_question": is_question, "question_confidence": 0.9 if is_question else 0.1,
                       "suggestions": suggestions, "sentiment": {"label": "neutral", "score": 0.5},
                       "trace_codes": [], "topic_tags": []},
    }


async def ask(
    app: web.Application, session_id: int | None, text: str, suggestions: list[dict[str, Any]] | None = None,
    is_question: bool = True, **fields: Any,
) -> StoredEvent:
    """Store a chat event and publish it as the FAQ stage would."""
    row = await store_event(app[DATABASE], session_id, text, is_question=is_question, **fields)
    await app[BUS].publish(CHAT_ENRICHED, enriched(row, suggestions if suggestions is not None else [], is_question))
    return row



async def cards_of(app: web.Application, session_id: int) -> list[Any]:
    _, cards = await store.snapshot(app[DATABASE], session_id, app[CONSOLE].settings.snapshot_limit)
    return cards


async def wait_for_asks(app: web.Application, session_id: int, count: int, timeout: float = 5.0) -> list[Any]:
    """Until the session's cards hold ``count`` asks in total; returns the cards."""
    async def enough() -> bool:
        return sum(c.ask_count for c in await cards_of(app, session_id)) >= count

    await eventually(enough, timeout)
    return await cards_of(app, session_id)


class Advisor:
    """A second browser-like HTTP session against a test server (own cookies and CSRF token)."""

    def __init__(self, client: Any, http: Any, csrf: str, username: str) -> None:
        self.client, self.http, self.csrf, self.username = client, http, csrf, username

    async def post(self, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        async with self.http.post(self.client.make_url(path), json=body or {}, headers={"X-CSRF-Token": self.csrf}) as resp:
            return resp.status, await resp.json(content_type=None)

    async def get(self, path: str) -> tuple[int, dict[str, Any]]:
        async with self.http.get(self.client.make_url(path)) as resp:
            return resp.status, await resp.json(content_type=None)


async def advisor(client: Any, username: str, display: str, role: str = "advisor") -> Advisor:
    """Create a user and log a fresh cookie jar in as them; close with ``await a.http.close()``."""
    import aiohttp

    from livebot.auth import store as auth_store
    from tests.support import PASSWORD, csrf_from

    await auth_store.add_user(client.app[DATABASE], username, PASSWORD, role, display)
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(client.make_url("/login")) as resp:
        csrf = csrf_from(await resp.text())
    async with http.post(client.make_url("/login"), data={"username": username, "password": PASSWORD,
                                                          "csrf_token": csrf, "next": "/"}, allow_redirects=False) as resp:
        assert resp.status == 302, await resp.text()
    async with http.get(client.make_url("/login")) as resp:
        csrf = csrf_from(await resp.text())
    return Advisor(client, http, csrf, username)


