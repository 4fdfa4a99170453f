"""Queries of the engagement area: the facts to aggregate, minute rows, stored reports.

Reads other areas' tables through their contracts: ``chat_events`` (ingest), ``question_asks``
and ``question_cards`` (console), ``session_timeline``, ``segments``, ``sessions`` and
``sites`` (schedule), ``faq_entries`` (knowledge base).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, String, Text, and_, case, cast, delete, func, insert, or_, select, type_coerce, update
from sqlalchemy.exc import IntegrityError

from livebot.chat.api_internal import StoredEvent
from livebot.console.api_internal import QuestionAsk, QuestionCard
from livebot.engagement.attribution import Attributor, change_of
from livebot.engagement.figures import MINUTE, AskFacts, EventFacts
from livebot.engagement.models import EngagementMinute, EngagementReport, PlatformTotal
from livebot.faq.api_internal import FaqEntryRow
from livebot.schedule import api_internal as schedule
from livebot.schedule.api_internal import LiveSession, Segment, TimelineEntry
from livebot.storage.base import utcnow
from livebot.storage.engine import Database

FETCH_ROWS = 2000
"""Rows per fetch while streaming events: small enough that converting one batch never holds the loop long."""
INSERT_CHUNK = 500
ATTRIBUTION_KINDS = ("segment", "site", "status")
MINUTE_TABLE = EngagementMinute.__table__
EVENTS = StoredEvent.__table__

LABEL = StoredEvent.enrichment[("sentiment", "label")].as_string()
EVENT_COLUMNS = (
    type_coerce(StoredEvent.ts, String).label("ts"), StoredEvent.platform, StoredEvent.kind, StoredEvent.user_id, StoredEvent.count, StoredEvent.value,
    StoredEvent.viewers, StoredEvent.hidden, cast(StoredEvent.flags, Text).label("flags"), LABEL.label("label"),
    StoredEvent.sentiment,
)
"""In :class:`EventFacts` order; ``ts`` as stored (SQLite's text is read by ``fromisoformat``, several times
faster than the column type's processing; PostgreSQL gives datetimes anyway), ``flags`` as its JSON text (a cast, so
asyncpg does not decode it row by row),
parsed once per distinct value (most rows: ``[]``)."""
NO_FLAGS: tuple[str, ...] = ()
KNOWN_FLAGS: dict[str, tuple[str, ...]] = {}


# ───────────── sessions and the schedule ─────────────


async def list_sessions(db: Database, statuses: Sequence[str] = ("live", "ended"), theme: str | None = None,
                        since: datetime | None = None, until: datetime | None = None) -> list[LiveSession]:
    """Sessions for the report lists, newest first."""
    query = select(LiveSession).where(LiveSession.status.in_(statuses))
    if theme:
        query = query.where(LiveSession.theme == theme)
    start = func.coalesce(LiveSession.started_at, LiveSession.planned_start)
    if since is not None:
        query = query.where(start >= since)
    if until is not None:
        query = query.where(start < until)
    async with db.sessions() as s:
        return list((await s.scalars(query.order_by(start.desc(), LiveSession.id.desc()))).all())


async def live_session_ids(db: Database) -> list[int]:
    async with db.sessions() as s:
        return list((await s.scalars(select(LiveSession.id).where(LiveSession.status == "live"))).all())


async def attributor(db: Database, session_id: int) -> Attributor:
    """The session's on-air history as recorded so far."""
    query = (select(TimelineEntry.at, TimelineEntry.kind, TimelineEntry.segment_id, TimelineEntry.site_id,
                    TimelineEntry.payload)
             .where(TimelineEntry.session_id == session_id, TimelineEntry.kind.in_(ATTRIBUTION_KINDS))
             .order_by(TimelineEntry.at, TimelineEntry.id))
    async with db.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return Attributor(change_of(r.kind, r.at, r.segment_id, r.site_id, dict(r.payload or {})) for r in rows)


@dataclass(frozen=True)
class SegmentInfo:
    id: int
    title: str
    position: int
    site_id: int | None


async def segments(db: Database, session_id: int) -> list[SegmentInfo]:
    query = select(Segment.id, Segment.title, Segment.position, Segment.site_id).where(
        Segment.session_id == session_id).order_by(Segment.position, Segment.id)
    async with db.engine.connect() as conn:
        return [SegmentInfo(r.id, r.title, r.position, r.site_id) for r in await conn.execute(query)]


async def timeline_marks(db: Database, session_id: int) -> list[dict[str, Any]]:
    """Site switches and status changes for chart markers (segment bands come from the attributor)."""
    query = (select(TimelineEntry.at, TimelineEntry.kind, TimelineEntry.site_id, TimelineEntry.payload)
             .where(TimelineEntry.session_id == session_id, TimelineEntry.kind.in_(("site", "status")))
             .order_by(TimelineEntry.at, TimelineEntry.id))
    async with db.engine.connect() as conn:
        return [{"at": r.at, "kind": r.kind, "site_id": r.site_id, "payload": dict(r.payload or {})}
                for r in await conn.execute(query)]


# ───────────── facts to aggregate ─────────────


def minute_ranges(minutes: Iterable[datetime]) -> list[tuple[datetime, datetime]]:
    """Contiguous [start, end) ranges covering the given bucket minutes."""
    ranges: list[tuple[datetime, datetime]] = []
    for minute in sorted(set(minutes)):
        if ranges and ranges[-1][1] == minute:
            ranges[-1] = (ranges[-1][0], minute + MINUTE)
        else:
            ranges.append((minute, minute + MINUTE))
    return ranges


def in_ranges(column: Any, ranges: Sequence[tuple[datetime, datetime]] | None) -> Any:
    if ranges is None:
        return True
    return or_(*(and_(column >= start, column < end) for start, end in ranges)) if ranges else False


def event_facts(row: Any) -> EventFacts:
    ts, platform, kind, user_id, count, value, viewers, hidden, flags, label, score = row
    return EventFacts(stored_time(ts), platform, kind, user_id or "", count, value, viewers, bool(hidden),
                      parse_flags(flags), label, score)


def stored_time(value: datetime | str) -> datetime:
    """A stored event time as an aware UTC datetime (SQLite keeps ``YYYY-MM-DD HH:MM:SS.ffffff`` text in UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def parse_flags(raw: Any) -> tuple[str, ...]:
    if not raw or raw == "[]":
        return NO_FLAGS
    if isinstance(raw, list | tuple):
        return tuple(str(f) for f in raw)
    known = KNOWN_FLAGS.get(raw)
    if known is not None:
        return known
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return NO_FLAGS
    parsed = tuple(str(f) for f in value) if isinstance(value, list) else NO_FLAGS
    if len(KNOWN_FLAGS) < 1024:  # a handful of flag combinations exist
        KNOWN_FLAGS[raw] = parsed
    return parsed


async def stream_events(db: Database, session_id: int,
                        ranges: Sequence[tuple[datetime, datetime]] | None = None) -> AsyncIterator[list[Any]]:
    """A session's events in time order, in batches of raw rows (:data:`EVENT_COLUMNS`; a 500,000-event
    show never sits in memory as rows); :func:`event_facts` reads each, best off the event loop."""
    query = (select(*EVENT_COLUMNS).where(StoredEvent.session_id == session_id, in_ranges(StoredEvent.ts, ranges))
             .order_by(StoredEvent.ts, StoredEvent.id))
    async with db.engine.connect() as conn:
        result = await conn.stream(query.execution_options(yield_per=FETCH_ROWS))
        async for batch in result.partitions(FETCH_ROWS):
            yield list(batch)


SETTLED = case((or_(StoredEvent.kind != "comment", StoredEvent.is_question.isnot(None), StoredEvent.text == ""), True),
               else_=False).label("settled")
"""Whether a row's figures are final: the FAQ stage enriches (sets ``is_question`` on) every comment with text once."""


async def rows_after(db: Database, session_id: int, start: datetime, end: datetime, after_id: int) -> list[Any]:
    """The session's events in [start, end) with an id above ``after_id``, in time order, as raw
    rows (id, settled, then :data:`EVENT_COLUMNS`): :func:`facts_of` turns them into facts in slices."""
    query = (select(StoredEvent.id, SETTLED, *EVENT_COLUMNS)
             .where(StoredEvent.session_id == session_id, StoredEvent.ts >= start, StoredEvent.ts < end,
                    StoredEvent.id > after_id)
             .order_by(StoredEvent.ts, StoredEvent.id))
    found: list[Any] = []
    async with db.engine.connect() as conn:
        result = await conn.stream(query.execution_options(yield_per=FETCH_ROWS))
        async for batch in result.partitions(FETCH_ROWS):
            found.extend(batch)
    return found


def facts_of(rows: Sequence[Any]) -> list[tuple[int, bool, EventFacts]]:
    """(id, settled, facts) of rows read by :func:`rows_after`."""
    return [(row[0], bool(row[1]), event_facts(row[2:])) for row in rows]


async def asks(db: Database, session_id: int, ranges: Sequence[tuple[datetime, datetime]] | None = None) -> list[AskFacts]:
    """Question asks of the session (those advisors dismissed as not a question are left out)."""
    query = (select(type_coerce(QuestionAsk.asked_at, String), QuestionAsk.platform,
                    type_coerce(QuestionAsk.first_answer_at, String))
             .where(QuestionAsk.session_id == session_id, QuestionAsk.status != "dismissed",
                    in_ranges(QuestionAsk.asked_at, ranges))
             .order_by(QuestionAsk.asked_at, QuestionAsk.id))
    found: list[AskFacts] = []
    async with db.engine.connect() as conn:  # a busy minute has tens of thousands: read in turns
        result = await conn.stream(query.execution_options(yield_per=FETCH_ROWS))
        async for batch in result.partitions(FETCH_ROWS):
            found.extend(AskFacts(stored_time(asked), platform, stored_time(answered) if answered is not None else None)
                         for asked, platform, answered in batch)
    return found


@dataclass(frozen=True)
class AskWatermark:
    """How far the live figures have seen a session's asks: newest ask id, newest answer time."""

    last_id: int = 0
    last_answer: datetime | None = None


async def ask_watermark(db: Database, session_id: int) -> AskWatermark:
    """Where a rebuild leaves the live figures: every ask so far is counted."""
    query = select(func.max(QuestionAsk.id), func.max(QuestionAsk.first_answer_at)).where(QuestionAsk.session_id == session_id)
    async with db.engine.connect() as conn:
        last_id, last_answer = (await conn.execute(query)).one()
    return AskWatermark(int(last_id or 0), last_answer)


async def asks_changed(db: Database, session_id: int, mark: AskWatermark) -> tuple[set[datetime], AskWatermark, list[float]]:
    """Asked times of asks created or answered since ``mark``, the new mark, and new response seconds."""
    changed = or_(QuestionAsk.id > mark.last_id,
                  QuestionAsk.first_answer_at > mark.last_answer if mark.last_answer else QuestionAsk.first_answer_at.isnot(None))
    query = (select(QuestionAsk.id, QuestionAsk.asked_at, QuestionAsk.first_answer_at)
             .where(QuestionAsk.session_id == session_id, changed))
    async with db.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    last_id, last_answer = mark.last_id, mark.last_answer
    times: set[datetime] = set()
    answered: list[float] = []
    for row in rows:
        times.add(row.asked_at)
        last_id = max(last_id, row.id)
        if row.first_answer_at is not None and (mark.last_answer is None or row.first_answer_at > mark.last_answer):
            last_answer = row.first_answer_at if last_answer is None else max(last_answer, row.first_answer_at)
            answered.append(max(0.0, (row.first_answer_at - row.asked_at).total_seconds()))
    return times, AskWatermark(last_id, last_answer), answered


# ───────────── minute rows ─────────────


async def replace_minutes(db: Database, session_id: int, rows: Sequence[dict[str, Any]],
                          ranges: Sequence[tuple[datetime, datetime]] | None = None) -> None:
    """Swap the session's rows in ``ranges`` (all when None) for ``rows``, in one transaction (a
    busy minute's rows carry tens of thousands of chatter keys: encoded in the writer, off the loop)."""

    def swap(conn: Connection) -> None:
        conn.execute(delete(MINUTE_TABLE).where(MINUTE_TABLE.c.session_id == session_id,
                                                in_ranges(MINUTE_TABLE.c.minute, ranges)))
        for start in range(0, len(rows), INSERT_CHUNK):
            conn.execute(insert(MINUTE_TABLE), list(rows[start:start + INSERT_CHUNK]))

    await db.write(swap)


async def minute_rows(db: Database, session_id: int, since: datetime | None = None,
                      with_keys: bool = True) -> list[dict[str, Any]]:
    """The session's stored minute rows in time order (without the key sets when not needed)."""
    columns = [c for c in MINUTE_TABLE.c if with_keys or c.name not in ("chatter_keys", "visitor_keys")]
    query = select(*columns).where(MINUTE_TABLE.c.session_id == session_id)
    if since is not None:
        query = query.where(MINUTE_TABLE.c.minute >= since)
    query = query.order_by(MINUTE_TABLE.c.minute, MINUTE_TABLE.c.platform, MINUTE_TABLE.c.site_id,
                           MINUTE_TABLE.c.segment_id)
    async with db.engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(query)]


async def session_totals(db: Database, session_id: int) -> dict[str, int]:
    """Additive totals over all of a session's rows, in SQL (for the live message)."""
    c = MINUTE_TABLE.c
    query = select(func.coalesce(func.sum(c.comments), 0).label("comments"),
                   func.coalesce(func.sum(c.questions), 0).label("questions"),
                   func.coalesce(func.sum(c.answered), 0).label("answered"),
                   func.coalesce(func.sum(c.likes), 0).label("likes"),
                   func.coalesce(func.sum(c.gift_value), 0).label("gift_value"),
                   func.max(c.viewers_peak).label("viewers_peak_platform")).where(c.session_id == session_id)
    async with db.engine.connect() as conn:
        row = (await conn.execute(query)).one()
    return {k: int(v or 0) for k, v in row._mapping.items()}


# ───────────── conversation: texts, questions, FAQ ─────────────


def counted_comments(session_id: int) -> Any:
    """Visible comments of the session (flood heads carry their repeats in ``merged_count``)."""
    return and_(StoredEvent.session_id == session_id, StoredEvent.kind == "comment", StoredEvent.hidden.is_(False))


async def comment_texts(db: Database, session_id: int, limit: int) -> list[tuple[str, int]]:
    """Distinct visible comment texts with how many times each was sent (repeats included), most first."""
    sent = func.sum(StoredEvent.merged_count).label("sent")
    query = (select(StoredEvent.text, sent).where(counted_comments(session_id), StoredEvent.text != "")
             .group_by(StoredEvent.text).order_by(sent.desc(), StoredEvent.text).limit(limit))
    async with db.engine.connect() as conn:
        return [(r.text, int(r.sent or 0)) for r in await conn.execute(query)]


async def top_comment_platforms(db: Database, session_id: int, texts: Sequence[str]) -> dict[str, list[str]]:
    """Which platforms each of a few texts was sent on."""
    if not texts:
        return {}
    query = (select(StoredEvent.text, StoredEvent.platform).where(counted_comments(session_id), StoredEvent.text.in_(texts))
             .group_by(StoredEvent.text, StoredEvent.platform))
    out: dict[str, list[str]] = {}
    async with db.engine.connect() as conn:
        for r in await conn.execute(query):
            out.setdefault(r.text, []).append(r.platform)
    return {k: sorted(v) for k, v in out.items()}


async def top_commenters(db: Database, session_id: int, limit: int) -> list[dict[str, Any]]:
    """Users with the most counted comments (visible heads and their merged repeats)."""
    counted = and_(StoredEvent.session_id == session_id, StoredEvent.kind == "comment", StoredEvent.user_id != "",
                   or_(StoredEvent.hidden.is_(False), StoredEvent.merged_count == 0))
    n = func.count().label("n")
    query = (select(StoredEvent.platform, StoredEvent.user_id, func.max(StoredEvent.user_name).label("name"), n)
             .where(counted).group_by(StoredEvent.platform, StoredEvent.user_id)
             .order_by(n.desc(), StoredEvent.platform, StoredEvent.user_id).limit(limit))
    async with db.engine.connect() as conn:
        return [{"platform": r.platform, "user_id": r.user_id, "name": r.name or "", "comments": int(r.n)}
                for r in await conn.execute(query)]


async def faq_asked(db: Database, session_id: int) -> list[dict[str, Any]]:
    """Asks per FAQ entry (the answer used, else the card's top suggestion), with answered counts."""
    faq = func.coalesce(QuestionAsk.faq_id, QuestionCard.faq_id).label("faq_id")
    answered = func.sum(case((QuestionAsk.first_answer_at.isnot(None), 1), else_=0)).label("answered")
    query = (select(faq, func.count().label("asks"), answered)
             .select_from(QuestionAsk).join(QuestionCard, QuestionCard.id == QuestionAsk.card_id)
             .where(QuestionAsk.session_id == session_id, QuestionAsk.status != "dismissed", faq.isnot(None))
             .group_by(faq).order_by(func.count().desc(), faq))
    async with db.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
        ids = [r.faq_id for r in rows]
        titles = {r.id: r.question for r in await conn.execute(
            select(FaqEntryRow.id, FaqEntryRow.question).where(FaqEntryRow.id.in_(ids)))} if ids else {}
    return [{"id": r.faq_id, "question": titles.get(r.faq_id, ""), "asks": int(r.asks), "answered": int(r.answered or 0)}
            for r in rows]


async def unanswered(db: Database, session_id: int, limit: int) -> list[dict[str, Any]]:
    """Question cards still without an answer (open, claimed or escalated), most asked first."""
    query = (select(QuestionCard.id, QuestionCard.text, QuestionCard.ask_count, QuestionCard.platforms,
                    QuestionCard.first_asked_at, QuestionCard.status)
             .where(QuestionCard.session_id == session_id, QuestionCard.status.in_(("open", "claimed", "escalated")))
             .order_by(QuestionCard.ask_count.desc(), QuestionCard.first_asked_at, QuestionCard.id).limit(limit))
    async with db.engine.connect() as conn:
        return [{"card_id": r.id, "text": r.text, "asks": int(r.ask_count or 0), "platforms": list(r.platforms or []),
                 "first_asked_at": r.first_asked_at, "status": r.status} for r in await conn.execute(query)]


async def unanswered_count(db: Database, session_id: int) -> int:
    query = select(func.count()).select_from(QuestionCard).where(
        QuestionCard.session_id == session_id, QuestionCard.status.in_(("open", "claimed", "escalated")))
    async with db.engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


# ───────────── stored reports ─────────────


async def save_report(db: Database, session_id: int, data: dict[str, Any], trigger: str) -> datetime:
    now = utcnow()
    for attempt in range(2):
        async with db.sessions() as s:
            row = await s.get(EngagementReport, session_id)
            if row is None:
                s.add(EngagementReport(session_id=session_id, generated_at=now, trigger=trigger, data=data,
                                       robot_status="", robot_error=""))
            else:
                row.generated_at, row.trigger, row.data = now, trigger, data
            try:
                await s.commit()
            except IntegrityError:
                if attempt:
                    raise
                continue  # a simultaneous generation inserted the row first: update it instead
        return now
    return now


async def get_report(db: Database, session_id: int) -> EngagementReport | None:
    async with db.sessions() as s:
        return await s.get(EngagementReport, session_id)


async def report_summaries(db: Database, session_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The summary part of stored reports, by session."""
    if not session_ids:
        return {}
    query = select(EngagementReport.session_id, EngagementReport.data, EngagementReport.generated_at).where(
        EngagementReport.session_id.in_(session_ids))
    async with db.engine.connect() as conn:
        return {r.session_id: {"summary": (r.data or {}).get("summary", {}), "generated_at": r.generated_at}
                for r in await conn.execute(query)}


async def mark_robot(db: Database, session_id: int, status: str, error: str = "") -> None:
    async with db.engine.begin() as conn:
        await conn.execute(update(EngagementReport).where(EngagementReport.session_id == session_id)
                           .values(robot_status=status, robot_error=error[:500]))


async def ended_without_report(db: Database, since: datetime) -> list[int]:
    """Sessions that ended after ``since`` but have no stored report (the app stopped in between)."""
    query = (select(LiveSession.id).outerjoin(EngagementReport, EngagementReport.session_id == LiveSession.id)
             .where(LiveSession.status == "ended", LiveSession.ended_at >= since, EngagementReport.session_id.is_(None)))
    async with db.engine.connect() as conn:
        return list((await conn.execute(query)).scalars())


def recent(minutes: int) -> datetime:
    return utcnow() - timedelta(minutes=minutes)


async def save_platform_totals(db: Database, session_id: int, totals: Sequence[tuple[str, dict[str, int], int]],
                               source_name: str, imported_by: str) -> None:
    """Replace the session's figures of each given platform, all in one transaction."""
    await schedule.get_session(db, session_id)
    now = utcnow()
    async with db.sessions() as session:
        for platform, figures, rows in totals:
            await session.execute(delete(PlatformTotal).where(PlatformTotal.session_id == session_id,
                                                              PlatformTotal.platform == platform))
            session.add(PlatformTotal(session_id=session_id, platform=platform, figures=figures, rows=rows,
                                      source_name=source_name[:255], imported_by=imported_by[:64], imported_at=now))
        await session.commit()


async def platform_totals(db: Database, session_ids: Sequence[int]) -> list[PlatformTotal]:
    if not session_ids:
        return []
    async with db.sessions() as session:
        query = select(PlatformTotal).where(PlatformTotal.session_id.in_(list(session_ids)))
        return list((await session.execute(query.order_by(PlatformTotal.session_id, PlatformTotal.platform))).scalars().all())
