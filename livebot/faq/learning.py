"""Learning from advisors: answered phrasings become proposed aliases, dismissed chatter a negative.

The loop stays under human control. When an advisor answers a viewer's question with an entry
the engine did not put first, the viewer's wording is *proposed* as an alias; another advisor
approves it (it becomes an alias, a new version of the entry, and every instance rebuilds its
index on ``faq.changed``) or rejects it (kept, so it is never proposed again). Dismissing a
message from the question queue records its normalised text; the enrichment stage then treats
the same text as chatter.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from livebot.errors import ConflictError, NotFoundError
from livebot.faq import store
from livebot.faq.editing import MAX_ALIAS, MAX_ALIASES, has_hidden_controls
from livebot.faq.models import FaqDismissal, FaqEntryRow, FaqProposal
from livebot.faq.ranking import CONFIDENT
from livebot.faq.tokenizer import default_tokenizer
from livebot.storage.base import utcnow
from livebot.storage.engine import Database
from livebot.text.normalize import MAX_CHARS
from livebot.topics import FAQ_FEEDBACK, FaqFeedback

if TYPE_CHECKING:
    from livebot.bus.base import Bus

logger = logging.getLogger(__name__)

MIN_PHRASING_CHARS = 2


@dataclass(frozen=True, slots=True)
class Proposal:
    """A phrasing waiting for (or past) review."""

    id: int
    entry_id: str
    phrasing: str
    status: str
    times: int
    proposed_by: str
    created_at: datetime
    reviewed_by: str
    reviewed_at: datetime | None
    question: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "entry_id": self.entry_id,
            "question": self.question,
            "phrasing": self.phrasing,
            "status": self.status,
            "times": self.times,
            "proposed_by": self.proposed_by,
            "created_at": self.created_at.isoformat(),
            "reviewed_by": self.reviewed_by,
            "reviewed_at": self.reviewed_at.isoformat() if self.reviewed_at else None,
        }


@dataclass(frozen=True, slots=True)
class Dismissal:
    """A dismissed message, by its normalised text."""

    id: int
    key: str
    normalized: str
    times: int


class ProposalNotFoundError(NotFoundError):
    def __init__(self, proposal_id: int) -> None:
        super().__init__(f"没有编号为 {proposal_id} 的待审问法")
        self.proposal_id = proposal_id


class ProposalReviewedError(ConflictError):
    def __init__(self, proposal: Proposal) -> None:
        super().__init__(self.message_for({}, proposal))
        self.proposal = proposal

    @staticmethod
    def message_for(names: Mapping[str, str], proposal: Proposal) -> str:
        """The conflict in words, naming the reviewer by display name where ``names`` knows it."""
        verdict = "通过" if proposal.status == "approved" else "拒绝"
        reviewer = names.get(proposal.reviewed_by, proposal.reviewed_by) if proposal.reviewed_by else "其他人"
        return f"这条问法已由 {reviewer} 审核（{verdict}），无需重复操作"


def essence(normalized: str) -> str:
    """Letters, digits and CJK only: "好美啊！" and "好美啊" are the same wording."""
    return "".join(char for char in normalized if char.isalnum())


def text_key(normalized: str) -> str:
    """A fixed-length key for a normalised text's :func:`essence` (unique indexes cannot hold long text)."""
    return hashlib.sha256(essence(normalized).encode("utf-8")).hexdigest()


def normalized_text(text: str) -> str:
    """The form two wordings must share to count as the same: the Enricher's analysed text.

    The tokenizer is process-wide and caches by text, so for a message the stage has seen
    this is a lookup, and the stage compares dismissals on exactly the same string.
    """
    return default_tokenizer().analyze(text[: MAX_CHARS + 1]).text


async def normalized_async(text: str) -> str:
    """:func:`normalized_text` off the event loop (the first call may load jieba)."""
    return await asyncio.to_thread(normalized_text, text)


def proposal_of(row: FaqProposal, question: str = "") -> Proposal:
    return Proposal(row.id, row.entry_id, row.phrasing, row.status, row.times, row.proposed_by, row.created_at,
                    row.reviewed_by, row.reviewed_at, question)


# ───────────── proposed aliases ─────────────


async def propose_alias(db: Database, faq_id: str, phrasing: str, by: str, event_pk: int | None = None) -> Proposal | None:
    """Keep ``phrasing`` as a proposed alias of ``faq_id`` (the console calls this on an answer).

    Returns the pending proposal, or None when there is nothing to learn: the wording is empty,
    too long or already a phrasing of the entry, was rejected before, the entry is gone, or the
    engine already ranked this entry first for that very message (``event_pk``).
    """
    phrasing = " ".join(phrasing.split())
    normalized = await normalized_async(phrasing)
    if len(essence(normalized)) < MIN_PHRASING_CHARS or len(phrasing) > MAX_ALIAS or has_hidden_controls(phrasing):
        logger.debug("faq proposal skipped entry=%s: unusable phrasing", faq_id)
        return None
    key = text_key(normalized)
    async with db.sessions() as session:
        entry = await session.get(FaqEntryRow, faq_id)
        if entry is None or entry.deleted:
            logger.info("faq proposal skipped entry=%s: no such entry", faq_id)
            return None
        phrasings = [entry.question, *(entry.aliases or ())]
        known = set(await asyncio.to_thread(lambda: [text_key(normalized_text(text)) for text in phrasings]))
        if key in known or len(entry.aliases or ()) >= MAX_ALIASES:
            return None
        if event_pk is not None and await ranked_first(session, event_pk, faq_id):
            return None
        existing = await session.scalar(select(FaqProposal).where(FaqProposal.entry_id == faq_id, FaqProposal.key == key))
        if existing is None:
            row = FaqProposal(entry_id=faq_id, phrasing=phrasing, key=key, status="pending", times=1, proposed_by=by,
                              event_pk=event_pk, created_at=utcnow())
            session.add(row)
            try:
                await session.commit()
            except IntegrityError:
                # Two advisors answered the same wording at once: count it on the other row.
                await session.rollback()
                return await propose_alias(db, faq_id, phrasing, by, event_pk)
            logger.info("faq proposal id=%d entry=%s by=%s", row.id, faq_id, by)
            return proposal_of(row, entry.question)
        if existing.status != "pending":
            return None
        await session.execute(update(FaqProposal).where(FaqProposal.id == existing.id).values(times=FaqProposal.times + 1))
        await session.commit()
        await session.refresh(existing)
        return proposal_of(existing, entry.question)


async def ranked_first(session: Any, event_pk: int, faq_id: str) -> bool:
    """True when the stored enrichment of that message already put ``faq_id`` first, confidently.

    A right first suggestion shown with a low score (a likely reading, not a sure one) still
    makes the wording worth an alias: the next viewer who asks it that way gets a sure answer.
    """
    from livebot.chat.api_internal import StoredEvent

    enrichment = await session.scalar(select(StoredEvent.enrichment).where(StoredEvent.id == event_pk))
    suggestions = (enrichment or {}).get("suggestions") or []
    if not suggestions or suggestions[0].get("id") != faq_id:
        return False
    score = suggestions[0].get("score")
    return not isinstance(score, (int, float)) or score >= CONFIDENT


async def list_proposals(db: Database, status: str = "pending", limit: int = 500) -> list[Proposal]:
    """Proposals with ``status`` (``all`` for every one), the most often proposed first."""
    stmt = (
        select(FaqProposal, FaqEntryRow.question)
        .join(FaqEntryRow, FaqEntryRow.id == FaqProposal.entry_id)
        .order_by(FaqProposal.times.desc(), FaqProposal.id)
        .limit(limit)
    )
    if status != "all":
        stmt = stmt.where(FaqProposal.status == status)
    if status == "pending":
        stmt = stmt.where(FaqEntryRow.deleted.is_(False))
    async with db.sessions() as session:
        return [proposal_of(row, question) for row, question in (await session.execute(stmt)).all()]


async def count_pending(db: Database) -> int:
    """How many phrasings wait for review (the badge on the KB pages)."""
    return len(await list_proposals(db, "pending"))


async def approve(db: Database, proposal_id: int, by: str) -> tuple[Proposal, store.StoredEntry]:
    """Make the phrasing an alias of its entry (a new version) and mark the proposal approved."""
    async with db.sessions() as session, session.begin():
        row = await _pending(session, proposal_id)
        stored = await store.add_alias(session, row.entry_id, row.phrasing, by, note=f"采纳问法 #{row.id}")
        row.status, row.reviewed_by, row.reviewed_at = "approved", by, utcnow()
        proposal = proposal_of(row, stored.entry.question)
    logger.info("faq proposal id=%d approved by=%s entry=%s", proposal_id, by, proposal.entry_id)
    return proposal, stored


async def reject(db: Database, proposal_id: int, by: str) -> Proposal:
    """Mark the proposal rejected; the same wording is not proposed for that entry again."""
    async with db.sessions() as session, session.begin():
        row = await _pending(session, proposal_id)
        row.status, row.reviewed_by, row.reviewed_at = "rejected", by, utcnow()
        question = await session.scalar(select(FaqEntryRow.question).where(FaqEntryRow.id == row.entry_id))
        proposal = proposal_of(row, question or "")
    logger.info("faq proposal id=%d rejected by=%s", proposal_id, by)
    return proposal


async def _pending(session: Any, proposal_id: int) -> FaqProposal:
    row = await session.get(FaqProposal, proposal_id, with_for_update=True)
    if row is None:
        raise ProposalNotFoundError(proposal_id)
    if row.status != "pending":
        raise ProposalReviewedError(proposal_of(row))
    return row


# ───────────── dismissed chatter ─────────────


async def record_dismissal(db: Database, text: str, by: str, *, bus: Bus | None = None) -> Dismissal | None:
    """Remember that advisors dismissed ``text`` as not a question (the console calls this).

    The enrichment stage reads new dismissals every few seconds; passing ``bus`` also tells
    every instance at once on ``faq.feedback``. Returns None for text that normalises to nothing.
    """
    normalized = await normalized_async(text)
    if not essence(normalized):
        return None
    key = text_key(normalized)
    now = utcnow()
    async with db.sessions() as session:
        existing = await session.scalar(select(FaqDismissal).where(FaqDismissal.key == key))
        if existing is None:
            row = FaqDismissal(key=key, text=text[:2000], normalized=normalized, times=1, dismissed_by=by,
                               created_at=now, updated_at=now)
            session.add(row)
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
                return await record_dismissal(db, text, by, bus=bus)
        else:
            await session.execute(
                update(FaqDismissal).where(FaqDismissal.id == existing.id)
                .values(times=FaqDismissal.times + 1, updated_at=now, dismissed_by=by)
            )
            await session.commit()
            await session.refresh(existing)
            row = existing
        dismissal = Dismissal(row.id, row.key, row.normalized, row.times)
    logger.info("faq dismissal id=%d by=%s times=%d", dismissal.id, by, dismissal.times)
    if bus is not None:
        await bus.publish(FAQ_FEEDBACK, FaqFeedback(kind="dismissal", key=key, id=dismissal.id))
    return dismissal


async def dismissals_since(db: Database, after_id: int = 0) -> list[Dismissal]:
    """Dismissals recorded after ``after_id`` (the stage polls with the last id it saw)."""
    async with db.sessions() as session:
        rows = await session.scalars(select(FaqDismissal).where(FaqDismissal.id > after_id).order_by(FaqDismissal.id))
        return [Dismissal(row.id, row.key, row.normalized, row.times) for row in rows]
