"""Reads and writes of follow-up cases; every change writes a history row in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from livebot.cases.categories import BY_KEY, STATUS_LABELS, may_move
from livebot.cases.models import CaseContact, CaseEvent, FollowupCase
from livebot.errors import ConflictError, NotFoundError
from livebot.storage.base import utcnow
from livebot.storage.engine import Database


@dataclass(frozen=True)
class Actor:
    name: str
    display: str = ""


@dataclass(frozen=True)
class NewCase:
    category: str
    title: str
    session_id: int | None = None
    card_id: int | None = None
    viewers: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    lot: str | None = None
    can_code: str | None = None
    auto: bool = False
    contacts: list[dict[str, Any]] = field(default_factory=list)
    """Platform identities of the viewers: source, channel, user_id, platform, user_name, last_seen."""


def history(case: FollowupCase, action: str, actor: Actor, now: datetime, *, before: str = "", note: str = "") -> CaseEvent:
    return CaseEvent(case_id=case.id, action=action, from_status=before, to_status=case.status, note=note,
                     actor=actor.name, actor_name=actor.display or actor.name, at=now)


async def by_card(session: AsyncSession, card_id: int) -> FollowupCase | None:
    return (await session.execute(select(FollowupCase).where(FollowupCase.card_id == card_id))).scalar_one_or_none()


async def open_case(db: Database, new: NewCase, actor: Actor, now: datetime | None = None) -> tuple[FollowupCase, bool]:
    """Open a case; a card has at most one, so opening it again returns the existing one (``False``)."""
    now = now or utcnow()
    if new.card_id is not None:
        async with db.sessions() as session:
            existing = await by_card(session, new.card_id)
            if existing is not None:
                return existing, False
    case = FollowupCase(
        session_id=new.session_id, card_id=new.card_id, category=new.category, status="open", title=new.title,
        viewers=new.viewers, messages=new.messages, lot=new.lot, can_code=new.can_code, auto=new.auto,
        opened_by=actor.name, due_at=now + BY_KEY[new.category].due, created_at=now, updated_at=now, version=1,
    )
    try:
        async with db.sessions() as session:
            session.add(case)
            await session.flush()
            session.add(history(case, "opened", actor, now, note=BY_KEY[new.category].label))
            session.add_all(CaseContact(case_id=case.id, **contact) for contact in new.contacts)
            await session.commit()
    except IntegrityError:  # another instance opened the same card's case first
        async with db.sessions() as session:
            existing = await by_card(session, new.card_id) if new.card_id is not None else None
        if existing is None:
            raise
        return existing, False
    return case, True


async def get_case(db: Database, case_id: int) -> tuple[FollowupCase, list[CaseEvent]]:
    async with db.sessions() as session:
        case = await session.get(FollowupCase, case_id)
        if case is None:
            raise NotFoundError(f"跟进单 {case_id} 不存在")
        events = (await session.execute(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.at, CaseEvent.id))).scalars().all()
        return case, list(events)


async def list_cases(db: Database, *, status: str | None = None, lot: str | None = None, owner: str | None = None,
                     overdue_at: datetime | None = None, limit: int = 200) -> list[FollowupCase]:
    """Newest first; ``overdue_at`` keeps only open cases due before that time."""
    query = select(FollowupCase)
    if status:
        query = query.where(FollowupCase.status == status)
    if lot:
        query = query.where(FollowupCase.lot == lot)
    if owner:
        query = query.where(FollowupCase.owner == owner)
    if overdue_at is not None:
        query = query.where(FollowupCase.status == "open", FollowupCase.due_at < overdue_at)
    async with db.sessions() as session:
        rows = await session.execute(query.order_by(FollowupCase.due_at, FollowupCase.id).limit(limit))
        return list(rows.scalars().all())


async def change(db: Database, case_id: int, version: int | None, actor: Actor, action: str, note: str,
                 **values: Any) -> FollowupCase:
    """Apply ``values`` if the case is still at ``version`` (when given); 409 when someone was first."""
    now = utcnow()
    async with db.sessions() as session:
        case = await session.get(FollowupCase, case_id)
        if case is None:
            raise NotFoundError(f"跟进单 {case_id} 不存在")
        before = case.status
        target = values.get("status")
        if target is not None and not may_move(before, target):
            raise ConflictError(f"跟进单当前为「{STATUS_LABELS[before]}」，不能改为「{STATUS_LABELS.get(target, target)}」")
        if version is not None and version != case.version:
            raise ConflictError("跟进单已被他人更新，请刷新后再试")
        closing = {"closed_at": now} if target == "resolved" else {}
        result = await session.execute(
            update(FollowupCase).where(FollowupCase.id == case_id, FollowupCase.version == case.version)
            .values(**values, **closing, updated_at=now, version=case.version + 1)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConflictError("跟进单已被他人更新，请刷新后再试")
        await session.refresh(case)
        session.add(history(case, action, actor, now, before=before, note=note))
        await session.commit()
        return case


async def move(db: Database, case_id: int, target: str, actor: Actor, note: str = "", version: int | None = None) -> FollowupCase:
    owner = {} if target == "resolved" else {"owner": actor.name, "owner_name": actor.display or actor.name}
    return await change(db, case_id, version, actor, "status", note, status=target, **owner)


async def add_note(db: Database, case_id: int, note: str, actor: Actor) -> FollowupCase:
    return await change(db, case_id, None, actor, "note", note)


async def assign(db: Database, case_id: int, owner: Actor, actor: Actor) -> FollowupCase:
    return await change(db, case_id, None, actor, "assigned", owner.display or owner.name,
                        owner=owner.name, owner_name=owner.display or owner.name)


async def set_batch(db: Database, case_id: int, lot: str | None, can_code: str | None, actor: Actor) -> FollowupCase:
    return await change(db, case_id, None, actor, "batch", " / ".join(x for x in (lot, can_code) if x),
                        lot=lot, can_code=can_code)


async def lot_counts(db: Database, category: str, lots: Sequence[str] | None = None) -> dict[str, int]:
    """Cases per lot of one category, whatever their status: the quality team's early signal."""
    query = (select(FollowupCase.lot, func.count()).where(
        FollowupCase.category == category, FollowupCase.lot.is_not(None))
        .group_by(FollowupCase.lot))
    if lots is not None:
        query = query.where(FollowupCase.lot.in_(list(lots)))
    async with db.sessions() as session:
        return {str(lot): int(count) for lot, count in (await session.execute(query)).all()}


async def advisor_cases(db: Database, session_id: int, now: datetime) -> dict[str, dict[str, list[int]]]:
    """Per advisor: cases they opened, resolved, and own while overdue (ids, for drill-down)."""
    out: dict[str, dict[str, list[int]]] = {}

    def slot(name: str) -> dict[str, list[int]]:
        return out.setdefault(name, {"opened": [], "resolved": [], "overdue": []})

    async with db.sessions() as session:
        cases = (await session.execute(select(FollowupCase).where(FollowupCase.session_id == session_id))).scalars().all()
        resolved = await session.execute(
            select(CaseEvent.case_id, CaseEvent.actor).join(FollowupCase, FollowupCase.id == CaseEvent.case_id)
            .where(FollowupCase.session_id == session_id, CaseEvent.action == "status", CaseEvent.to_status == "resolved"))
        for case_id, actor in resolved.all():
            slot(actor)["resolved"].append(case_id)
    for case in cases:
        if not case.auto:
            slot(case.opened_by)["opened"].append(case.id)
        if case.status == "open" and case.due_at < now and case.owner:
            slot(case.owner)["overdue"].append(case.id)
    return out


async def cases_by_id(db: Database, case_ids: list[int]) -> dict[int, FollowupCase]:
    if not case_ids:
        return {}
    async with db.sessions() as session:
        rows = (await session.execute(select(FollowupCase).where(FollowupCase.id.in_(case_ids)))).scalars().all()
    return {case.id: case for case in rows}


MAX_MESSAGES = 200


def with_message(case: FollowupCase, message: dict[str, Any]) -> list[dict[str, Any]]:
    return [*(case.messages or []), message][-MAX_MESSAGES:]


async def contacts_of(db: Database, case_id: int) -> list[CaseContact]:
    async with db.sessions() as session:
        rows = await session.execute(select(CaseContact).where(CaseContact.case_id == case_id).order_by(CaseContact.last_seen.desc()))
        return list(rows.scalars().all())


async def heard_from(db: Database, source: str, channel: str, user_id: str, text: str, at: datetime, name: str) -> list[int]:
    """A viewer behind open cases wrote again: the message joins each case and their answer window reopens."""
    async with db.sessions() as session:
        contacts = (await session.execute(select(CaseContact).join(FollowupCase, FollowupCase.id == CaseContact.case_id).where(
            CaseContact.source == source, CaseContact.channel == channel, CaseContact.user_id == user_id,
            FollowupCase.status != "resolved"))).scalars().all()
        for contact in contacts:
            case = await session.get(FollowupCase, contact.case_id)
            if case is None:
                continue
            contact.last_seen = max(contact.last_seen, at)
            case.messages = with_message(case, {"text": text, "ts": at.isoformat(), "user": name or user_id, "direction": "in"})
            case.updated_at = utcnow()
            session.add(history(case, "received", Actor(user_id, name or user_id), utcnow(), before=case.status, note=text[:500]))
        await session.commit()
        return [contact.case_id for contact in contacts]


async def said_to(db: Database, case_id: int, text: str, actor: Actor, via: str) -> FollowupCase:
    """Record a message an advisor sent from the case."""
    now = utcnow()
    async with db.sessions() as session:
        case = await session.get(FollowupCase, case_id)
        if case is None:
            raise NotFoundError(f"跟进单 {case_id} 不存在")
        case.messages = with_message(case, {"text": text, "ts": now.isoformat(), "user": actor.display or actor.name,
                                            "direction": "out", "via": via})
        case.updated_at = now
        session.add(history(case, "message", actor, now, before=case.status, note=text[:500]))
        await session.commit()
        return case
