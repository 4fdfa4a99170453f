"""Purge viewers' personal data past the retention period, and erase one viewer on request.

Rows stay, so every count, figure and report keeps its numbers; what goes is who: platform ids,
names, raw payloads, and the asker lists of question cards. Erasure also blanks the viewer's
own words, and leaves a pseudonym (``erased-<digest>``) so their rows still count as one person.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import null, or_, select, update

from livebot.auth import audit
from livebot.chat.models import StoredEvent
from livebot.console.models import QuestionCard
from livebot.errors import ValidationError
from livebot.storage.base import utcnow
from livebot.storage.engine import Database


@dataclass(frozen=True)
class Purged:
    events: int
    cards: int


def pseudonym(platform: str, user_id: str) -> str:
    return "erased-" + hashlib.sha256(f"{platform}\x1f{user_id}".encode()).hexdigest()[:16]


async def purge_older_than(db: Database, cutoff: datetime) -> Purged:
    """Forget who wrote events received before ``cutoff`` (ids, names, raw payloads) and who asked older cards."""
    async with db.sessions() as session:
        events = await session.execute(
            update(StoredEvent)
            .where(StoredEvent.received_at < cutoff,
                   or_(StoredEvent.user_id != "", StoredEvent.user_name != "", StoredEvent.raw.is_not(None)))
            .values(user_id="", user_name="", raw=null()))
        old_cards = list(await session.scalars(select(QuestionCard).where(QuestionCard.last_asked_at < cutoff)))
        cards = 0
        for card in old_cards:
            if card.askers:
                card.askers = []
                cards += 1
        await session.commit()
    return Purged(int(getattr(events, "rowcount", 0) or 0), cards)


async def purge_expired(db: Database, retention_days: int) -> Purged:
    if retention_days <= 0:
        return Purged(0, 0)
    return await purge_older_than(db, utcnow() - timedelta(days=retention_days))


def check_viewer(platform: str, user_id: str) -> None:
    if not platform or len(platform) > 16 or not platform.isprintable():
        raise ValidationError("platform", "must be 1..16 printable characters")
    if not user_id or len(user_id) > 128 or "\x00" in user_id:
        raise ValidationError("user", "must be 1..128 characters without NUL")


async def erase_viewer(db: Database, platform: str, user_id: str, actor: str) -> Purged:
    """Remove one viewer everywhere (their ids, names, raw payloads and words), audited by digest."""
    check_viewer(platform, user_id)
    alias = pseudonym(platform, user_id)
    async with db.sessions() as session:
        event_ids = set(await session.scalars(select(StoredEvent.id).where(
            StoredEvent.platform == platform, StoredEvent.user_id == user_id)))
        events = await session.execute(
            update(StoredEvent).where(StoredEvent.platform == platform, StoredEvent.user_id == user_id)
            .values(user_id=alias, user_name="", raw=null(), text=""))
        cards = 0
        for card in await session.scalars(select(QuestionCard).where(QuestionCard.ask_count > 0)):
            kept = [a for a in card.askers or [] if a.get("event") not in event_ids]
            if len(kept) != len(card.askers or []):
                card.askers = kept
                cards += 1
        await session.commit()
    result = Purged(int(getattr(events, "rowcount", 0) or 0), cards)
    await audit.record(db, actor, "privacy.erase", f"{platform}:{alias}", events=result.events, cards=result.cards)
    return result
