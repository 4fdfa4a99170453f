"""Helpers for engagement tests: a show with a known run of show, events and asks written as the
other areas store them, and an app whose live flush runs only when a test calls it."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from livebot.chat.models import StoredEvent
from livebot.console.models import QuestionAsk, QuestionCard
from livebot.schedule.models import LiveSession, Segment, SessionSite, Site, TimelineEntry
from livebot.storage.engine import Database

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
"""20:00 in Beijing."""
SERIAL = itertools.count(1)


@dataclass
class Show:
    session_id: int
    studio: int
    farm: int
    segments: list[int]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def make_show(db: Database, *, status: str = "ended", tz: str = "Asia/Shanghai", start: datetime = T0,
                    minutes: int = 30, theme: str = "奶源", title: str = "北境臻护 · 奶源专场", timeline: bool = True) -> Show:
    """Two sites, three segments; the actual timeline switches site inside segment 2.

    0:00 开场 (studio) · 10:00 牧场直击 (farm) · 15:00 site back to studio · 25:00 问答 (studio) · 30:00 ended.
    """
    n = next(SERIAL)
    async with db.sessions() as s:
        studio = Site(slug=f"studio-{n}", name="北京演播厅", role="studio")
        farm = Site(slug=f"farm-{n}", name="双城牧场", role="farm")
        session = LiveSession(title=title, theme=theme, timezone=tz, planned_start=start,
                              planned_end=start + timedelta(minutes=minutes), status=status,
                              started_at=start if status in ("live", "ended") else None,
                              ended_at=start + timedelta(minutes=minutes) if status == "ended" else None)
        s.add_all([studio, farm, session])
        await s.flush()
        s.add_all([SessionSite(session_id=session.id, site_id=studio.id), SessionSite(session_id=session.id, site_id=farm.id)])
        segs = [Segment(session_id=session.id, position=i, title=t, offset_s=o, duration_s=d, site_id=site.id, scene="lower_third",
                        lot="", talking_points="", faq_tags=[])
                for i, (t, o, d, site) in enumerate((("开场", 0, 600, studio), ("牧场直击", 600, 900, farm), ("问答", 1500, 300, studio)))]
        s.add_all(segs)
        await s.flush()
        if timeline:
            def entry(sec: float, kind: str, seg: Segment | None = None, site: Site | None = None, **payload: Any) -> TimelineEntry:
                return TimelineEntry(session_id=session.id, at=start + timedelta(seconds=sec), kind=kind,
                                     segment_id=seg.id if seg else None, site_id=site.id if site else None, by="test",
                                     payload=payload)
            s.add_all([
                entry(0, "status", to="live"), entry(0, "segment", segs[0], studio), entry(0, "site", segs[0], studio),
                entry(600, "segment", segs[1], farm), entry(600, "site", segs[1], farm),
                entry(900, "site", segs[1], studio), entry(1500, "segment", segs[2], studio),
            ])
            if status == "ended":
                s.add(entry(minutes * 60, "status", to="ended"))
        await s.commit()
        return Show(session.id, studio.id, farm.id, [g.id for g in segs])


def ev(seconds: float, kind: str = "comment", *, user: str = "", text: str = "", platform: str = "douyin",
       label: str | None = None, score: float | None = None, hidden: bool = False, flags: Sequence[str] = (),
       merged_count: int = 1, count: int | None = None, value: int | None = None, viewers: int | None = None,
       name: str = "", question: bool = False) -> dict[str, Any]:
    """One chat event as ingest and enrichment store it (times relative to T0)."""
    enrichment = None
    if label is not None:
        enrichment = {"is_question": question, "question_confidence": 0.9 if question else 0.1, "suggestions": [],
                      "sentiment": {"label": label, "score": score}, "trace_codes": [], "topic_tags": []}
    return {"ts": at(seconds), "kind": kind, "user_id": user, "user_name": name or user, "text": text, "platform": platform,
            "hidden": hidden, "flags": list(flags), "merged_count": merged_count, "count": count, "value": value,
            "viewers": viewers, "sentiment": score, "enrichment": enrichment,
            "is_question": question if label is not None else None}


async def insert_events(db: Database, session_id: int | None, events: Sequence[dict[str, Any]]) -> list[int]:
    """Store events with Core (as the ingest writer does); returns their ids in order."""
    rows = []
    for e in events:
        serial = next(SERIAL)
        rows.append({"source": "test-hook", "external_id": f"e-{serial}", "channel": "room-7731", "received_at": e["ts"],
                     "session_id": session_id, "site_id": None, "segment_id": None, "raw": None, **e})
    table = StoredEvent.__table__
    async with db.engine.begin() as conn:
        await conn.execute(insert(table), rows)
        found = {r.external_id: r.id for r in await conn.execute(
            select(table.c.external_id, table.c.id).where(table.c.external_id.in_([r["external_id"] for r in rows])))}
    return [found[r["external_id"]] for r in rows]


async def add_ask(db: Database, session_id: int, event_id: int, asked: datetime, answered: datetime | None,
                  platform: str = "douyin", text: str = "问题", faq_id: str | None = None, status: str | None = None) -> int:
    """A question card with one ask (what the console writes), answered at ``answered`` if given."""
    async with db.engine.begin() as conn:
        card_id = (await conn.execute(insert(QuestionCard).returning(QuestionCard.id), [{
            "session_id": session_id, "group_key": f"k-{next(SERIAL)}", "status": status or ("answered" if answered else "open"),
            "text": text, "faq_id": faq_id, "ask_count": 1, "first_asked_at": asked, "last_asked_at": asked,
            "platforms": [platform], "answered_at": answered, "created_at": asked, "updated_at": answered or asked}])).scalar_one()
        await conn.execute(insert(QuestionAsk), [{
            "event_id": event_id, "card_id": card_id, "session_id": session_id, "asked_at": asked,
            "first_answer_at": answered, "answered_by": "advisor" if answered else None, "faq_id": faq_id,
            "status": status or ("answered" if answered else "open"), "platform": platform, "site_id": None}])
    return card_id


async def answer_card(db: Database, card_id: int, when: datetime) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(update(QuestionAsk).where(QuestionAsk.card_id == card_id)
                           .values(first_answer_at=when, status="answered"))
        await conn.execute(update(QuestionCard).where(QuestionCard.id == card_id).values(status="answered", answered_at=when))


# The known transcript: every figure below is counted by hand in the test that uses it.
TRANSCRIPT = [
    # minute 0 (segment 开场, studio)
    ev(0, "viewers", platform="douyin", viewers=1000),
    ev(5, user="u1", text="奶源是哪里的？", label="neutral", score=0.0, question=True),
    ev(8, user="u2", text="主播好美", label="positive", score=0.8, name="小雨妈妈"),
    ev(10, "viewers", platform="kuaishou", viewers=500),
    ev(12, user="u1", text="666", label="positive", score=0.5),
    ev(15, user="k1", text="太贵了", platform="kuaishou", label="negative", score=-0.7),
    ev(20, user="u3", text="加V：abc12345 低价代购", label="neutral", score=0.0, hidden=True, flags=["ad"]),
    ev(22, user="u4", text="666", label="positive", score=0.5, hidden=True, flags=["merged"], merged_count=0),
    ev(25, "like", user="u5", count=10),
    ev(28, "gift", user="k2", platform="kuaishou", text="玫瑰", count=2, value=200),
    ev(30, "viewers", platform="douyin", viewers=1200),
    ev(40, user="k3", text="多少钱一罐？", platform="kuaishou", label="neutral", score=0.0, question=True),
    # exactly at the segment switch (10:00): 牧场直击, farm
    ev(600, user="k1", text="来了", platform="kuaishou", label="neutral", score=0.1),
    # minute 12 (牧场直击, farm)
    ev(720, "viewers", platform="douyin", viewers=2000),
    ev(725, user="u6", text="牧场好漂亮", label="positive", score=0.9),
    ev(740, user="u7", text="质检报告在哪里看？", label="neutral", score=0.0, question=True),
    # minute 16 (牧场直击, but the site switched back to the studio at 15:00)
    ev(960, "viewers", platform="douyin", viewers=1500),
    ev(965, user="u1", text="工厂好干净", label="positive", score=0.6),
    ev(970, user="u8", text="冲泡水温多少度合适？", label="neutral", score=0.0, question=True),
]
QUESTION_ANSWERS = {1: 30, 11: 90, 15: 10, 18: None}
"""Index in TRANSCRIPT of each question -> seconds until its first answer (None: unanswered)."""


async def store_transcript(db: Database, session_id: int) -> list[int]:
    pks = await insert_events(db, session_id, TRANSCRIPT)
    for index, delay in QUESTION_ANSWERS.items():
        e = TRANSCRIPT[index]
        await add_ask(db, session_id, pks[index], e["ts"], e["ts"] + timedelta(seconds=delay) if delay is not None else None,
                      platform=e["platform"], text=e["text"], faq_id="milk-source-location" if index == 1 else None)
    return pks
