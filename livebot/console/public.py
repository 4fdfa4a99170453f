"""What other areas may read of the console: a card as a plain record, never its tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from livebot.console.store import get_card
from livebot.errors import NotFoundError
from livebot.storage.engine import Database


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
