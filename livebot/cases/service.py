"""Opening cases from cards (by an advisor, or automatically for escalations) and the batch alert."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from livebot.cases import store
from livebot.cases.categories import BY_KEY, STATUS_LABELS, guess_category
from livebot.cases.models import FollowupCase
from livebot.cases.store import Actor, NewCase
from livebot.console.api_internal import CardBrief, card_brief, card_viewers
from livebot.errors import NotFoundError, ValidationError
from livebot.storage.base import utcnow
from livebot.storage.engine import Database
from livebot.topics import ConsoleCard
from livebot.trace.api_internal import find_lot

logger = logging.getLogger(__name__)

SYSTEM = Actor("system", "系统")
CODE_LIKE = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]{4,40}")
MAX_CODES = 3


@dataclass(frozen=True)
class BatchAlert:
    lot: str
    category: str
    count: int


async def lot_in(db: Database, text: str) -> str | None:
    """The first known lot that a lot number or can code in ``text`` names."""
    for code in CODE_LIKE.findall(text)[:MAX_CODES]:
        lot = await find_lot(db, code)
        if lot is not None:
            return lot
    return None


def new_case_of(card: CardBrief, category: str, lot: str | None, can_code: str | None, auto: bool,
                contacts: list[dict[str, Any]]) -> NewCase:
    viewers = [{"platform": a.get("platform", ""), "user": a.get("user", ""), "channel": a.get("channel", ""),
                "source": a.get("source", "")} for a in card.askers]
    messages = [{"text": a.get("text", ""), "ts": a.get("ts", ""), "user": a.get("user", "")} for a in card.askers]
    return NewCase(category=category, title=card.text[:300], session_id=card.session_id, card_id=card.id,
                   viewers=viewers, messages=messages, lot=lot, can_code=can_code, auto=auto, contacts=contacts)


async def open_from_card(db: Database, card_id: int, actor: Actor, category: str | None = None,
                         lot: str | None = None, can_code: str | None = None) -> tuple[FollowupCase, bool]:
    card = await card_brief(db, card_id)
    if card is None:
        raise NotFoundError(f"找不到问题卡片 {card_id}")
    lot = lot or (await find_lot(db, can_code) if can_code else None) or await lot_in(db, card.text)
    new = new_case_of(card, category or guess_category(card.text), lot, can_code, False, await card_viewers(db, card.id))
    return await store.open_case(db, new, actor)


async def record_batch(db: Database, case_id: int, code: str, actor: Actor) -> FollowupCase:
    """Record the batch a parent named later (lot number, can code or Digital Link); unknown codes are refused."""
    lot = await find_lot(db, code)
    if lot is None:
        raise ValidationError("code", f"找不到批次「{code[:40]}」，请核对罐底的批号或罐码")
    can_code = code if code != lot else None
    return await store.set_batch(db, case_id, lot, can_code, actor)


def wants_case(card: ConsoleCard) -> bool:
    """Escalations open a case by themselves: needs-human entries and complaint or safety words."""
    return bool(card["needs_human"] or card["complaint"])


async def auto_open(db: Database, card: ConsoleCard) -> FollowupCase | None:
    """Open the case of an escalated card once (every instance may try; the card id is unique)."""
    if not wants_case(card):
        return None
    brief = await card_brief(db, card["id"])
    if brief is None:
        return None
    category = guess_category(brief.text)
    lot = await lot_in(db, brief.text)
    new = new_case_of(brief, category, lot, None, True, await card_viewers(db, brief.id))
    case, created = await store.open_case(db, new, SYSTEM)
    return case if created else None


async def batch_alerts(db: Database, threshold: int, category: str = "adverse") -> list[BatchAlert]:
    """Lots named by ``threshold`` or more cases of ``category``, most first."""
    counts = await store.lot_counts(db, category)
    alerts = [BatchAlert(lot, category, n) for lot, n in counts.items() if n >= threshold]
    return sorted(alerts, key=lambda a: (-a.count, a.lot))


def is_overdue(case: FollowupCase, now: datetime | None = None) -> bool:
    return case.status == "open" and case.due_at < (now or utcnow())


def case_payload(case: FollowupCase, now: datetime | None = None) -> dict[str, Any]:
    return {
        "id": case.id, "session_id": case.session_id, "card_id": case.card_id, "category": case.category,
        "category_label": BY_KEY[case.category].label if case.category in BY_KEY else case.category,
        "status": case.status, "status_label": STATUS_LABELS.get(case.status, case.status), "title": case.title,
        "viewers": case.viewers or [], "messages": case.messages or [], "lot": case.lot, "can_code": case.can_code,
        "owner": case.owner, "owner_name": case.owner_name, "opened_by": case.opened_by, "auto": case.auto,
        "due_at": case.due_at.isoformat(), "overdue": is_overdue(case, now), "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(), "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        "version": case.version,
    }
