"""Queries behind the console: cards, asks, claims, answers, audit, outbox and snapshots.

Every function that changes cards runs one transaction that first bumps the session's
sequence (:func:`bump_seq`) and stamps each changed card with the new value as its version.
Bumping first takes the session's write lock before any card row is touched, so all writers
lock in the same order (no deadlocks) and versions follow commit order. A transaction that
changes nothing rolls back, leaving no hole in the sequence.

Claims and answers are conditional UPDATEs (``... WHERE status = 'open' OR claimed by me or
expired``): two advisors clicking together cannot both win, whatever the instances.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, insert, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from livebot.chat.api_internal import StoredEvent
from livebot.console.cards import MAX_ASKERS, GroupKey
from livebot.console.errors import CardClosed, CardNotFound, ClaimConflict, ConsoleError, SeniorOnly
from livebot.console.models import ACTIVE_STATUSES, ConsoleAudit, ConsoleSeq, QuestionAsk, QuestionCard, ReplyOutbox
from livebot.errors import ValidationError
from livebot.storage.base import rowcount, utcnow
from livebot.storage.engine import Database, json_text
from livebot.topics import ConsoleAsk

logger = logging.getLogger(__name__)

RECENT_CLOSED = 60
SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """Who acts on a card: the username is stored, the display name is shown."""

    name: str
    display: str
    admin: bool = False
    senior: bool = True


@dataclass(frozen=True)
class Incoming:
    """One question from ``chat.enriched``, reduced to what a card needs."""

    pk: int
    external_id: str
    source: str
    platform: str
    channel: str
    ts: datetime
    user_id: str
    user_name: str
    text: str
    site_id: int | None
    segment_id: int | None
    suggestions: list[dict[str, Any]]
    key: GroupKey
    needs_human: bool
    complaint: bool


@dataclass
class Change:
    """What one committed transaction changed in one session's queue."""

    session_id: int
    seq: int
    cards: list[QuestionCard]
    asks: list[ConsoleAsk] = field(default_factory=list)


@dataclass(frozen=True)
class AskContext:
    """An ask with the chat event behind it: what a reply needs to find its way back."""

    pk: int
    external_id: str
    source: str
    platform: str
    channel: str
    user_id: str
    user_name: str
    text: str


@dataclass(frozen=True)
class Delivery:
    """One reply to send: ``kind`` picks the sender, ``target`` says where."""

    kind: str
    target: dict[str, Any]
    text: str


Resolver = Callable[[Sequence[AskContext], str], tuple[list[Delivery], bool]]
"""(asks, answer text) -> (deliveries, whether some askers can only be answered on air)."""


# ───────────── the per-session sequence ─────────────


def insert_ignore(dialect: str, values: dict[str, Any]) -> Any:
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(ConsoleSeq).values(**values).on_conflict_do_nothing(index_elements=["session_id"])


def bump_seq_sync(session: Session, session_id: int) -> int:
    """Take the session's write lock and return its next sequence number."""
    stmt = update(ConsoleSeq).where(ConsoleSeq.session_id == session_id).values(seq=ConsoleSeq.seq + 1).returning(ConsoleSeq.seq)
    seq = session.execute(stmt).scalar()
    if seq is None:
        session.execute(insert_ignore(session.get_bind().dialect.name, {"session_id": session_id, "seq": 0}))
        seq = session.execute(stmt).scalar()
    assert seq is not None
    return int(seq)


async def bump_seq(session: AsyncSession, session_id: int) -> int:
    """:func:`bump_seq_sync` in an async session."""
    return await session.run_sync(bump_seq_sync, session_id)


async def current_seq(session: AsyncSession, session_id: int) -> int:
    value = await session.scalar(select(ConsoleSeq.seq).where(ConsoleSeq.session_id == session_id))
    return int(value or 0)


def add_audit(session: AsyncSession, card: QuestionCard, action: str, actor: Actor, now: datetime, **detail: Any) -> None:
    session.add(ConsoleAudit(card_id=card.id, session_id=card.session_id, action=action, actor=actor.name,
                             actor_name=actor.display, detail=detail, at=now))


# ───────────── questions arriving ─────────────


def asker_entry(item: Incoming, site_names: dict[int, str]) -> dict[str, Any]:
    return {
        "event": item.pk, "id": item.external_id, "user": item.user_name or item.user_id or "匿名",
        "platform": item.platform, "source": item.source, "channel": item.channel,
        "site": site_names.get(item.site_id, "") if item.site_id else "", "text": item.text, "ts": item.ts.isoformat(),
    }


def new_card(item: Incoming, session_id: int, settings_escalate_needs_human: bool, now: datetime) -> QuestionCard:
    escalate = item.complaint or (item.needs_human and settings_escalate_needs_human)
    note = "投诉或食品安全相关，请资深顾问处理" if item.complaint else ("需要人工判断的问题" if escalate else "")
    return QuestionCard(
        session_id=session_id, group_key=item.key.key, group_reason=item.key.reason,
        status="escalated" if escalate else "open", text=item.text,
        faq_id=item.suggestions[0]["id"] if item.suggestions else None, suggestions=item.suggestions,
        needs_human=item.needs_human, complaint=item.complaint, ask_count=0, askers=[], platforms=[], site_ids=[],
        segment_id=item.segment_id, first_asked_at=item.ts, last_asked_at=item.ts,
        escalated_at=now if escalate else None, escalated_by=SYSTEM if escalate else "", escalate_note=note,
        claimed_by_name="", answered_by_name="", answer_mode="", reply_status="", reply_error="", dismissed_by="",
        featured=False, created_at=now, updated_at=now,
    )


def attach(card: QuestionCard, item: Incoming, site_names: dict[int, str], escalate_needs_human: bool, now: datetime) -> None:
    """Add one asker to a card (JSON columns are replaced, never mutated in place)."""
    card.ask_count = (card.ask_count or 0) + 1
    card.askers = [asker_entry(item, site_names), *(card.askers or [])][:MAX_ASKERS]
    if item.platform not in (card.platforms or []):
        card.platforms = [*(card.platforms or []), item.platform]
    if item.site_id is not None and item.site_id not in (card.site_ids or []):
        card.site_ids = [*(card.site_ids or []), item.site_id]
    card.first_asked_at = min(card.first_asked_at, item.ts)
    card.last_asked_at = max(card.last_asked_at, item.ts)
    if item.suggestions:
        card.suggestions = item.suggestions
    if item.segment_id is not None:
        card.segment_id = item.segment_id
    newly_flagged = (item.complaint and not card.complaint) or (item.needs_human and not card.needs_human)
    card.needs_human = card.needs_human or item.needs_human
    card.complaint = card.complaint or item.complaint
    if newly_flagged and card.status == "open" and (item.complaint or escalate_needs_human):
        card.status = "escalated"
        card.escalated_at = now
        card.escalated_by = SYSTEM
        card.escalate_note = "投诉或食品安全相关，请资深顾问处理" if item.complaint else "需要人工判断的问题"
    card.updated_at = now


CARD_INSERT_COLUMNS = tuple(c.key for c in QuestionCard.__table__.columns if c.key != "id")
CARD_UPDATE_COLUMNS = (
    "ask_count", "askers", "platforms", "site_ids", "first_asked_at", "last_asked_at", "suggestions", "segment_id",
    "needs_human", "complaint", "status", "escalated_at", "escalated_by", "escalate_note", "version", "updated_at",
)


PG_CARD_TYPES = {
    "ask_count": "int8", "askers": "json", "platforms": "json", "site_ids": "json", "first_asked_at": "timestamptz",
    "last_asked_at": "timestamptz", "suggestions": "json", "segment_id": "int8", "needs_human": "bool",
    "complaint": "bool", "status": "text", "escalated_at": "timestamptz", "escalated_by": "text",
    "escalate_note": "text", "version": "int8", "updated_at": "timestamptz",
}
PG_CARD_UPDATE = (
    "UPDATE question_cards SET "
    + ", ".join(f"{c} = v.{c}::json" if PG_CARD_TYPES[c] == "json" else f"{c} = v.{c}" for c in CARD_UPDATE_COLUMNS)
    + " FROM unnest($1::int8[], "
    + ", ".join(f"${n}::{'text' if PG_CARD_TYPES[c] == 'json' else PG_CARD_TYPES[c]}[]"
                for n, c in enumerate(CARD_UPDATE_COLUMNS, 2))
    + f") AS v(id, {', '.join(CARD_UPDATE_COLUMNS)}) WHERE question_cards.id = v.id"
)
"""The changed cards in one constant statement with a parameter per column (prepared once per
connection, encoded by asyncpg) instead of an ORM bulk UPDATE processing every value in Python."""


def update_cards_postgresql(session: Session, cards: Sequence[QuestionCard]) -> None:
    """What ``session.execute(update(QuestionCard), rows)`` writes, on PostgreSQL (JSON as the JSON text
    SQLAlchemy's serializer sends; datetimes must be aware, as :class:`UtcDateTime` demands)."""
    columns: list[list[Any]] = [[card.id for card in cards]]
    for name in CARD_UPDATE_COLUMNS:
        values = [getattr(card, name) for card in cards]
        if PG_CARD_TYPES[name] == "json":
            values = [json_text(v) for v in values]
        elif PG_CARD_TYPES[name] == "timestamptz" and any(v is not None and v.tzinfo is None for v in values):
            raise ValueError("naive datetime given to a UTC column")
        columns.append(values)
    session.connection().exec_driver_sql(PG_CARD_UPDATE, tuple(columns))


def values_of(card: QuestionCard, columns: Sequence[str]) -> dict[str, Any]:
    return {name: getattr(card, name) for name in columns}


async def add_questions(
    db: Database, session_id: int, items: Sequence[Incoming], window: timedelta, escalate_needs_human: bool,
    site_names: dict[int, str], now: datetime | None = None,
) -> Change | None:
    """Turn new questions into asks on new or existing cards; None when all were seen before.

    Hundreds of questions a second arrive here in batches, so the writes are three executemany
    statements (new cards, changed cards, asks) rather than one ORM flush per row, and the whole
    transaction is one synchronous function (:meth:`~livebot.storage.engine.Database.write_session`:
    on SQLite it runs in the writer thread, off the event loop, in one hand-over).
    """
    work = functools.partial(add_questions_sync, session_id, list(items), window, escalate_needs_human,
                             dict(site_names), now or utcnow())
    return await db.write_session(work)


def add_questions_sync(session_id: int, items: list[Incoming], window: timedelta, escalate_needs_human: bool,
                       site_names: dict[int, str], now: datetime, session: Session) -> Change | None:
    """The transaction of :func:`add_questions`."""
    seq = bump_seq_sync(session, session_id)
    seen = set(session.scalars(select(QuestionAsk.event_id).where(QuestionAsk.event_id.in_([i.pk for i in items]))).all())
    fresh: list[Incoming] = []
    for item in sorted(items, key=lambda i: (i.ts, i.pk)):
        if item.pk not in seen:
            seen.add(item.pk)
            fresh.append(item)
    if not fresh:
        session.rollback()
        return None
    cutoff = min(i.ts for i in fresh) - window
    open_cards = session.scalars(
        select(QuestionCard).where(
            QuestionCard.session_id == session_id, QuestionCard.group_key.in_({i.key.key for i in fresh}),
            QuestionCard.status.in_(ACTIVE_STATUSES), QuestionCard.last_asked_at >= cutoff,
        ).order_by(QuestionCard.id)
    ).all()
    session.expunge_all()  # changed below in Python, written back in one executemany
    by_key = {card.group_key: card for card in open_cards}
    created: list[QuestionCard] = []
    touched: dict[int, QuestionCard] = {}
    pairs: list[tuple[Incoming, QuestionCard]] = []
    for item in fresh:
        card = by_key.get(item.key.key)
        if card is None or item.ts - card.last_asked_at > window:
            card = new_card(item, session_id, escalate_needs_human, now)
            created.append(card)
            by_key[item.key.key] = card
        attach(card, item, site_names, escalate_needs_human, now)
        card.version = seq
        touched[id(card)] = card
        pairs.append((item, card))
    if created:
        result = session.execute(
            insert(QuestionCard).returning(QuestionCard.id, sort_by_parameter_order=True),
            [values_of(card, CARD_INSERT_COLUMNS) for card in created],
        )
        for card, card_id in zip(created, result.scalars().all(), strict=True):
            card.id = card_id
    existing = [card for card in touched.values() if card not in created]
    if existing and session.get_bind().dialect.name == "postgresql":
        update_cards_postgresql(session, existing)
    elif existing:
        session.execute(update(QuestionCard), [{"id": c.id, **values_of(c, CARD_UPDATE_COLUMNS)} for c in existing])
    session.execute(insert(QuestionAsk), [
        {"event_id": item.pk, "card_id": card.id, "session_id": session_id, "asked_at": item.ts, "status": "open",
         "platform": item.platform, "site_id": item.site_id, "first_answer_at": None, "answered_by": None,
         "faq_id": None}
        for item, card in pairs
    ])
    asks: list[ConsoleAsk] = [{"card": card.id, "id": item.external_id, "source": item.source, "event": item.pk}
                              for item, card in pairs]
    return Change(session_id, seq, list(touched.values()), asks)


# ───────────── claims ─────────────


def holder_or_expired(actor: Actor, expired_before: datetime) -> Any:
    """The card is claimed by ``actor``, or its claim has gone idle."""
    return and_(QuestionCard.status == "claimed",
                or_(QuestionCard.claimed_by == actor.name, QuestionCard.claimed_at < expired_before))


def workable(actor: Actor, expired_before: datetime) -> Any:
    """Cards ``actor`` may claim or answer: open, escalated (seniors), mine, or idle claims."""
    statuses = ["open", "escalated"] if actor.senior else ["open"]
    return or_(QuestionCard.status.in_(statuses), holder_or_expired(actor, expired_before))


async def load_card(session: AsyncSession, card_id: int) -> QuestionCard:
    card = await session.get(QuestionCard, card_id, populate_existing=True)
    if card is None:
        raise CardNotFound("找不到这个问题", card_id=card_id)
    return card


def refusal(card: QuestionCard, actor: Actor, expired_before: datetime) -> ConsoleError:
    """Why ``actor`` cannot take ``card`` now, in the words the console shows."""
    if card.status == "answered":
        return CardClosed(f"已由 {card.answered_by_name or card.answered_by} 回答", status=card.status)
    if card.status == "dismissed":
        return CardClosed("该问题已被忽略", status=card.status)
    if card.status == "claimed" and card.claimed_by != actor.name and card.claimed_at and card.claimed_at >= expired_before:
        return ClaimConflict(f"已被 {card.claimed_by_name or card.claimed_by} 认领", claimed_by=card.claimed_by,
                             claimed_by_name=card.claimed_by_name)
    if card.status == "escalated" and not actor.senior:
        return SeniorOnly("该问题已升级，请资深顾问处理", status=card.status)
    return ClaimConflict("这个问题刚有变化（新的提问或状态），请看一眼再操作", status=card.status, version=card.version)


async def conditional_change(
    session: AsyncSession, card_id: int, actor: Actor, condition: Any, values: dict[str, Any], expired_before: datetime,
) -> tuple[QuestionCard, int]:
    """Bump the sequence and apply ``values`` where ``condition`` holds, or explain the refusal."""
    card = await load_card(session, card_id)
    seq = await bump_seq(session, card.session_id)
    result = await session.execute(
        update(QuestionCard).where(QuestionCard.id == card_id, condition).values(**values, version=seq)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        await session.rollback()
        raise refusal(await load_card(session, card_id), actor, expired_before)
    return await load_card(session, card_id), seq


async def claim(db: Database, card_id: int, actor: Actor, timeout: timedelta, now: datetime | None = None,
                version: int | None = None) -> Change:
    """Claim a card for ``actor``; exactly one of several simultaneous claimers wins.

    ``version`` is the card as the advisor saw it: a card that changed since is refused (409).
    """
    now = now or utcnow()
    expired_before = now - timeout
    condition = workable(actor, expired_before)
    if version is not None:
        condition = and_(condition, QuestionCard.version == version)
    async with db.sessions() as session:
        card, seq = await conditional_change(
            session, card_id, actor, condition,
            {"status": "claimed", "claimed_by": actor.name, "claimed_by_name": actor.display, "claimed_at": now,
             "updated_at": now}, expired_before,
        )
        add_audit(session, card, "claim", actor, now)
        await session.commit()
    return Change(card.session_id, seq, [card])


def released_status() -> Any:
    return case((QuestionCard.escalated_at.is_(None), "open"), else_="escalated")


RELEASED = {"claimed_by": None, "claimed_by_name": "", "claimed_at": None}


async def release(db: Database, card_id: int, actor: Actor, now: datetime | None = None) -> Change:
    """Give a claim back (the holder, or an admin for anyone's)."""
    now = now or utcnow()
    mine = QuestionCard.claimed_by == actor.name
    condition = and_(QuestionCard.status == "claimed", mine if not actor.admin else true())
    async with db.sessions() as session:
        card, seq = await conditional_change(
            session, card_id, actor, condition, {"status": released_status(), **RELEASED, "updated_at": now}, now,
        )
        add_audit(session, card, "release", actor, now)
        await session.commit()
    return Change(card.session_id, seq, [card])


async def touch(db: Database, card_id: int, actor: Actor, now: datetime | None = None) -> bool:
    """Keep my claim alive while I type (claims expire when idle)."""
    async with db.sessions() as session:
        result = await session.execute(
            update(QuestionCard).where(QuestionCard.id == card_id, QuestionCard.status == "claimed",
                                       QuestionCard.claimed_by == actor.name).values(claimed_at=now or utcnow())
        )
        await session.commit()
    return bool(rowcount(result))


async def expire_claims(db: Database, timeout: timedelta, now: datetime | None = None) -> list[Change]:
    """Return idle claims to the queue so nobody's question waits on an advisor who left."""
    now = now or utcnow()
    cutoff = now - timeout
    idle = and_(QuestionCard.status == "claimed", QuestionCard.claimed_at < cutoff)
    async with db.sessions() as session:
        sessions = (await session.scalars(select(QuestionCard.session_id).where(idle).distinct())).all()
    changes = []
    for session_id in sessions:
        async with db.sessions() as session:
            seq = await bump_seq(session, session_id)
            cards = (await session.scalars(
                select(QuestionCard).where(QuestionCard.session_id == session_id, idle)
            )).all()
            if not cards:
                await session.rollback()
                continue
            for card in cards:
                add_audit(session, card, "expire", Actor(SYSTEM, "系统"), now, claimed_by=card.claimed_by)
                card.status = "escalated" if card.escalated_at is not None else "open"
                card.claimed_by, card.claimed_by_name, card.claimed_at = None, "", None
                card.version, card.updated_at = seq, now
            await session.commit()
            changes.append(Change(session_id, seq, list(cards)))
    return changes


# ───────────── answers ─────────────


async def ask_contexts(session: AsyncSession, card_id: int) -> list[AskContext]:
    rows = (await session.execute(
        select(QuestionAsk.event_id, StoredEvent.external_id, StoredEvent.source, StoredEvent.platform,
               StoredEvent.channel, StoredEvent.user_id, StoredEvent.user_name, StoredEvent.text)
        .join(StoredEvent, StoredEvent.id == QuestionAsk.event_id).where(QuestionAsk.card_id == card_id)
        .order_by(QuestionAsk.id)
    )).all()
    return [AskContext(*row) for row in rows]


def reply_state(rows: Sequence[ReplyOutbox]) -> tuple[str, str]:
    """The card's reply status from its outbox rows, and the latest error to show."""
    if not rows:
        return "", ""
    errors = [r.last_error for r in rows if r.last_error and r.status != "sent"]
    if all(r.status == "sent" for r in rows):
        return "sent", ""
    if any(r.status == "failed" for r in rows):
        return "failed", errors[-1] if errors else ""
    if any(r.attempts > 0 for r in rows if r.status == "pending"):
        return "retrying", errors[-1] if errors else ""
    return "pending", ""


async def answer(
    db: Database, card_id: int, actor: Actor, text: str, faq_id: str | None, suggestion: int | None,
    timeout: timedelta, resolver: Resolver, now: datetime | None = None,
) -> tuple[Change, list[AskContext]]:
    """Answer a card (claiming it on the way if it was open): every ask gets its first answer."""
    now = now or utcnow()
    expired_before = now - timeout
    async with db.sessions() as session:
        before = await load_card(session, card_id)
        suggested = ""
        if suggestion is not None:
            if not 0 <= suggestion < len(before.suggestions or []):
                raise ValidationError("suggestion", "没有这个推荐答案")
            chosen = before.suggestions[suggestion]
            suggested, faq_id = chosen.get("answer", ""), faq_id or chosen.get("id")
        card, seq = await conditional_change(
            session, card_id, actor, workable(actor, expired_before),
            {"status": "answered", "answered_at": now, "answered_by": actor.name, "answered_by_name": actor.display,
             "answer_text": text, "claimed_by": actor.name, "claimed_by_name": actor.display,
             "claimed_at": func.coalesce(QuestionCard.claimed_at, now), "updated_at": now,
             **({"faq_id": faq_id} if faq_id else {})}, expired_before,
        )
        await session.execute(
            update(QuestionAsk).where(QuestionAsk.card_id == card_id).values(
                first_answer_at=func.coalesce(QuestionAsk.first_answer_at, now), answered_by=actor.name,
                faq_id=faq_id, status="answered")
        )
        asks = await ask_contexts(session, card_id)
        deliveries, on_air = resolver(asks, text)
        rows = [ReplyOutbox(card_id=card.id, session_id=card.session_id, kind=d.kind, target=d.target, text=d.text,
                            status="pending", attempts=0, next_try=now, last_error="", created_at=now)
                for d in deliveries]
        session.add_all(rows)
        card.answer_mode = ("mixed" if on_air else "sent") if rows else "on_air"
        card.reply_status = "pending" if rows else "on_air"
        add_audit(session, card, "answer", actor, now, text=text, faq_id=faq_id, suggestion=suggestion,
                  mode=card.answer_mode, replies=len(rows), asks=len(asks))
        if suggested and suggested.strip() != text.strip():
            add_audit(session, card, "edit", actor, now, suggested=suggested, sent=text)
        await session.commit()
    return Change(card.session_id, seq, [card]), asks


async def dismiss(db: Database, card_id: int, actor: Actor, timeout: timedelta, now: datetime | None = None) -> tuple[Change, list[str]]:
    """Take chatter out of the queue; returns the distinct texts to teach the FAQ stage."""
    now = now or utcnow()
    expired_before = now - timeout
    async with db.sessions() as session:
        card, seq = await conditional_change(
            session, card_id, actor, workable(actor, expired_before),
            {"status": "dismissed", "dismissed_at": now, "dismissed_by": actor.name, **RELEASED, "updated_at": now},
            expired_before,
        )
        await session.execute(update(QuestionAsk).where(QuestionAsk.card_id == card_id).values(status="dismissed"))
        add_audit(session, card, "dismiss", actor, now, text=card.text)
        await session.commit()
    texts = list(dict.fromkeys([card.text, *(a.get("text", "") for a in card.askers or [])]))
    return Change(card.session_id, seq, [card]), [t for t in texts if t][:10]


async def escalate(db: Database, card_id: int, actor: Actor, note: str, timeout: timedelta, now: datetime | None = None) -> Change:
    """Hand a card to the senior advisors with a visible flag."""
    now = now or utcnow()
    expired_before = now - timeout
    condition = or_(QuestionCard.status == "open", holder_or_expired(actor, expired_before))
    async with db.sessions() as session:
        card, seq = await conditional_change(
            session, card_id, actor, condition,
            {"status": "escalated", "escalated_at": now, "escalated_by": actor.name,
             "escalate_note": note or f"{actor.display} 升级", **RELEASED, "updated_at": now}, expired_before,
        )
        add_audit(session, card, "escalate", actor, now, note=note)
        await session.commit()
    return Change(card.session_id, seq, [card])


# ───────────── featuring on screen ─────────────


async def feature(db: Database, card_id: int, actor: Actor, answer_text: str, now: datetime | None = None) -> Change:
    """Mark ``card_id`` as the one featured card of its session (unfeaturing the previous one)."""
    now = now or utcnow()
    async with db.sessions() as session:
        card = await load_card(session, card_id)
        if card.status == "dismissed":
            raise CardClosed("已忽略的问题不能上屏")
        seq = await bump_seq(session, card.session_id)
        changed = (await session.scalars(select(QuestionCard).where(
            QuestionCard.session_id == card.session_id, QuestionCard.featured.is_(True), QuestionCard.id != card_id))).all()
        for other in changed:
            other.featured, other.version, other.updated_at = False, seq, now
        card.featured, card.version, card.updated_at = True, seq, now
        add_audit(session, card, "feature", actor, now, answer=answer_text)
        await session.commit()
    return Change(card.session_id, seq, [*changed, card])


async def clear_featured(db: Database, session_id: int, actor: Actor, now: datetime | None = None) -> Change | None:
    """Unfeature whatever card of the session is on screen (None when none was)."""
    now = now or utcnow()
    async with db.sessions() as session:
        seq = await bump_seq(session, session_id)
        cards = (await session.scalars(select(QuestionCard).where(
            QuestionCard.session_id == session_id, QuestionCard.featured.is_(True)))).all()
        if not cards:
            await session.rollback()
            return None
        for card in cards:
            card.featured, card.version, card.updated_at = False, seq, now
            add_audit(session, card, "feature_clear", actor, now)
        await session.commit()
    return Change(session_id, seq, list(cards))


async def featured_card(db: Database, session_id: int) -> QuestionCard | None:
    async with db.sessions() as session:
        return await session.scalar(select(QuestionCard).where(
            QuestionCard.session_id == session_id, QuestionCard.featured.is_(True)).order_by(QuestionCard.updated_at.desc()))


# ───────────── the reply outbox ─────────────


async def due_replies(db: Database, now: datetime, limit: int = 20) -> list[ReplyOutbox]:
    async with db.sessions() as session:
        return list((await session.scalars(
            select(ReplyOutbox).where(ReplyOutbox.status == "pending", ReplyOutbox.next_try <= now)
            .order_by(ReplyOutbox.next_try, ReplyOutbox.id).limit(limit)
        )).all())


async def lease_reply(db: Database, row: ReplyOutbox, until: datetime) -> bool:
    """Take one outbox row for sending; another instance holding it makes this False."""
    async with db.sessions() as session:
        result = await session.execute(
            update(ReplyOutbox).where(ReplyOutbox.id == row.id, ReplyOutbox.status == "pending",
                                      ReplyOutbox.next_try == row.next_try).values(next_try=until)
        )
        await session.commit()
    return rowcount(result) == 1


async def settle_reply(
    db: Database, row_id: int, error: str | None, next_try: datetime | None, max_attempts: int, now: datetime | None = None,
) -> Change | None:
    """Record a send attempt; returns the card's change when its reply status moved.

    The sequence is bumped only when the card changes, so consoles never see a hole in it.
    """
    now = now or utcnow()
    async with db.sessions() as session:
        row = await session.get(ReplyOutbox, row_id)
        if row is None:
            return None
        row.attempts += 1
        if error is None:
            row.status, row.sent_at, row.last_error = "sent", now, ""
        else:
            row.last_error = error[:500]
            row.status = "failed" if row.attempts >= max_attempts else "pending"
            row.next_try = next_try if row.status == "pending" else None
        await session.flush()
        card = await load_card(session, row.card_id)
        rows = (await session.scalars(select(ReplyOutbox).where(ReplyOutbox.card_id == card.id))).all()
        status, last_error = reply_state(rows)
        action = "reply_sent" if error is None else ("reply_failed" if row.status == "failed" else "reply_retry")
        add_audit(session, card, action, Actor(SYSTEM, "系统"), now, outbox=row.id, kind=row.kind, error=error or "",
                  attempts=row.attempts)
        if (status, last_error) == (card.reply_status, card.reply_error):
            await session.commit()
            return None
        seq = await bump_seq(session, card.session_id)
        card.reply_status, card.reply_error, card.version, card.updated_at = status, last_error, seq, now
        await session.commit()
    return Change(card.session_id, seq, [card])


async def retry_replies(db: Database, card_id: int, actor: Actor, now: datetime | None = None) -> Change:
    """Put a card's failed replies back in the outbox for another round of attempts."""
    now = now or utcnow()
    async with db.sessions() as session:
        card = await load_card(session, card_id)
        seq = await bump_seq(session, card.session_id)
        rows = (await session.scalars(select(ReplyOutbox).where(ReplyOutbox.card_id == card_id,
                                                                ReplyOutbox.status == "failed"))).all()
        if not rows:
            await session.rollback()
            raise ValidationError("card", "没有发送失败的回复")
        for row in rows:
            row.status, row.attempts, row.next_try = "pending", 0, now
        card.reply_status, card.version, card.updated_at = "pending", seq, now
        add_audit(session, card, "reply_retry_manual", actor, now, rows=len(rows))
        await session.commit()
    return Change(card.session_id, seq, [card])


# ───────────── reading ─────────────


async def snapshot(db: Database, session_id: int, limit: int) -> tuple[int, list[QuestionCard]]:
    """The queue as a console starts from: the sequence first, then the cards (never older)."""
    async with db.sessions() as session:
        seq = await current_seq(session, session_id)
        active = (await session.scalars(
            select(QuestionCard).where(QuestionCard.session_id == session_id, QuestionCard.status.in_(ACTIVE_STATUSES))
            .order_by(QuestionCard.last_asked_at.desc(), QuestionCard.id.desc()).limit(limit)
        )).all()
        closed = (await session.scalars(
            select(QuestionCard).where(QuestionCard.session_id == session_id,
                                       or_(QuestionCard.status.in_(("answered", "dismissed")), QuestionCard.featured.is_(True)))
            .order_by(QuestionCard.updated_at.desc(), QuestionCard.id.desc()).limit(RECENT_CLOSED)
        )).all()
    cards = {card.id: card for card in [*active, *closed]}
    return seq, sorted(cards.values(), key=lambda c: (c.last_asked_at, c.id))


async def get_card(db: Database, card_id: int) -> QuestionCard:
    async with db.sessions() as session:
        return await load_card(session, card_id)


async def audit_trail(db: Database, card_id: int) -> list[ConsoleAudit]:
    async with db.sessions() as session:
        return list((await session.scalars(
            select(ConsoleAudit).where(ConsoleAudit.card_id == card_id).order_by(ConsoleAudit.at, ConsoleAudit.id)
        )).all())


async def card_asks(db: Database, card_id: int) -> list[QuestionAsk]:
    async with db.sessions() as session:
        return list((await session.scalars(select(QuestionAsk).where(QuestionAsk.card_id == card_id)
                                           .order_by(QuestionAsk.id))).all())


async def chat_tail(db: Database, session_id: int, limit: int) -> list[StoredEvent]:
    """The latest visible comments of a session, oldest first (the side stream's start)."""
    if limit <= 0:
        return []
    async with db.sessions() as session:
        rows = (await session.scalars(
            select(StoredEvent).where(StoredEvent.session_id == session_id, StoredEvent.kind == "comment",
                                      StoredEvent.hidden.is_(False))
            .order_by(StoredEvent.id.desc()).limit(limit)
        )).all()
    return list(reversed(rows))


async def outbox_rows(db: Database, card_id: int) -> list[ReplyOutbox]:
    async with db.sessions() as session:
        return list((await session.scalars(select(ReplyOutbox).where(ReplyOutbox.card_id == card_id)
                                           .order_by(ReplyOutbox.id))).all())


async def unqueued_questions(db: Database, since: datetime, limit: int) -> list[StoredEvent]:
    """Enriched questions with no ask yet: lost between the bus and the queue (a stop, a crash)."""
    asked = select(QuestionAsk.id).where(QuestionAsk.event_id == StoredEvent.id).exists()
    async with db.sessions() as session:
        return list((await session.scalars(
            select(StoredEvent).where(StoredEvent.is_question.is_(True), StoredEvent.hidden.is_(False),
                                      StoredEvent.kind == "comment", StoredEvent.received_at >= since, ~asked)
            .order_by(StoredEvent.id).limit(limit)
        )).all())

