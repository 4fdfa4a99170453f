"""What other areas may use of the console: its question tables (engagement's reports), cards and advisors'
activity as plain records (cases, per-advisor figures), and the card audit trail (the compliance gate)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from livebot.chat.api_internal import StoredEvent
from livebot.console.models import ConsoleAudit, QuestionAsk, QuestionCard
from livebot.console.store import get_card
from livebot.errors import NotFoundError
from livebot.storage.base import utcnow
from livebot.storage.engine import Database

__all__ = ["AdvisorActivity", "CardBrief", "QuestionAsk", "QuestionCard", "advisor_activity", "card_audit", "card_brief",
           "card_lines", "card_viewers"]


@dataclass(frozen=True)
class CardBrief:
    id: int
    session_id: int
    text: str
    askers: list[dict[str, Any]]
    needs_human: bool
    complaint: bool


async def card_brief(db: Database, card_id: int) -> CardBrief | None:
    """The card's question and who asked it; None for an unknown card."""
    try:
        card = await get_card(db, card_id)
    except NotFoundError:
        return None
    return CardBrief(id=card.id, session_id=card.session_id, text=card.text, askers=list(card.askers or []),
                     needs_human=card.needs_human, complaint=card.complaint)


@dataclass
class AdvisorActivity:
    """What one advisor did in one session, with the cards behind each figure (for drill-down)."""

    username: str
    display: str = ""
    answered: list[int] = field(default_factory=list)
    claims: list[int] = field(default_factory=list)
    released: list[int] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)
    dismissed: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    response_seconds: list[float] = field(default_factory=list)
    """First-response time of every ask this advisor answered first (asked → answered)."""


AUDIT_FIGURES = {"answer": "answered", "claim": "claims", "release": "released", "dismiss": "dismissed", "escalate": "escalated"}


async def advisor_activity(db: Database, session_id: int) -> dict[str, AdvisorActivity]:
    """Per advisor (username): the cards they claimed, released, let expire, answered, dismissed, escalated."""
    people: dict[str, AdvisorActivity] = {}

    def person(name: str, display: str = "") -> AdvisorActivity:
        found = people.setdefault(name, AdvisorActivity(name, display or name))
        if display and found.display == found.username:
            found.display = display
        return found

    async with db.sessions() as session:
        audit = await session.execute(
            select(ConsoleAudit.card_id, ConsoleAudit.action, ConsoleAudit.actor, ConsoleAudit.actor_name, ConsoleAudit.detail)
            .where(ConsoleAudit.session_id == session_id, ConsoleAudit.action.in_([*AUDIT_FIGURES, "expire"]))
            .order_by(ConsoleAudit.at, ConsoleAudit.id))
        for card_id, action, actor, actor_name, detail in audit.all():
            if card_id is None:
                continue
            if action == "expire":
                holder = (detail or {}).get("claimed_by")
                if isinstance(holder, str) and holder:
                    person(holder).expired.append(card_id)
                continue
            getattr(person(actor, actor_name), AUDIT_FIGURES[action]).append(card_id)
        asks = await session.execute(
            select(QuestionAsk.answered_by, QuestionAsk.asked_at, QuestionAsk.first_answer_at)
            .where(QuestionAsk.session_id == session_id, QuestionAsk.answered_by.is_not(None),
                   QuestionAsk.first_answer_at.is_not(None)))
        for answered_by, asked_at, first_answer_at in asks.all():
            person(answered_by).response_seconds.append(max(0.0, (first_answer_at - asked_at).total_seconds()))
    return people


async def card_lines(db: Database, card_ids: list[int]) -> dict[int, CardBrief]:
    """Briefs of several cards at once (for drill-down lists); unknown ids are left out."""
    if not card_ids:
        return {}
    async with db.sessions() as session:
        rows = (await session.execute(select(QuestionCard).where(QuestionCard.id.in_(card_ids)))).scalars().all()
    return {card.id: CardBrief(id=card.id, session_id=card.session_id, text=card.text, askers=list(card.askers or []),
                               needs_human=card.needs_human, complaint=card.complaint) for card in rows}


async def card_viewers(db: Database, card_id: int) -> list[dict[str, Any]]:
    """Who asked the card's question, as platforms know them (source, channel, user id), with their latest ask."""
    async with db.sessions() as session:
        rows = await session.execute(
            select(StoredEvent.platform, StoredEvent.source, StoredEvent.channel, StoredEvent.user_id, StoredEvent.user_name,
                   func.max(StoredEvent.ts))
            .join(QuestionAsk, QuestionAsk.event_id == StoredEvent.id)
            .where(QuestionAsk.card_id == card_id, StoredEvent.user_id != "")
            .group_by(StoredEvent.platform, StoredEvent.source, StoredEvent.channel, StoredEvent.user_id, StoredEvent.user_name))
        return [{"platform": p, "source": s, "channel": c, "user_id": u, "user_name": n, "last_seen": ts}
                for p, s, c, u, n, ts in rows.all()]


async def card_audit(db: Database, card_id: int, session_id: int | None, action: str, actor: str, actor_name: str,
                     detail: str) -> None:
    """A compliance step in the card's own audit trail (beside claim, answer, dismiss ...)."""
    async with db.sessions() as session, session.begin():
        session.add(ConsoleAudit(card_id=card_id, session_id=session_id or 0, action=action[:24], actor=actor[:64],
                                 actor_name=actor_name[:128], detail={"compliance": detail[:500]}, at=utcnow()))
