"""Which chat comments may scroll across the screen: positive, visible, unflagged, short and clean."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from livebot.chat.event import PLATFORMS
from livebot.overlays.text import clean_text, mask_name, ticker_safe


def ticker_item(message: Mapping[str, Any], max_chars: int) -> dict[str, Any] | None:
    """The ticker entry for an enriched chat message, or None when it must not go on air."""
    if message.get("kind") != "comment" or message.get("hidden") or message.get("flags"):
        return None
    enrichment = message.get("enrichment")
    if not isinstance(enrichment, Mapping):
        return None
    sentiment = enrichment.get("sentiment")
    if not isinstance(sentiment, Mapping) or sentiment.get("label") != "positive":
        return None
    if enrichment.get("is_question"):
        return None
    raw_text = message.get("text")
    if not isinstance(raw_text, str):
        return None
    text = clean_text(raw_text, max_chars + 1)
    if not ticker_safe(text, max_chars):
        return None
    user = message.get("user") if isinstance(message.get("user"), Mapping) else {}
    platform = message.get("platform") if message.get("platform") in PLATFORMS else "other"
    key = f"{message.get('source', '')}:{message.get('id', message.get('pk', ''))}"
    return {"id": key[:140], "text": text, "user": mask_name(user.get("name")), "platform": platform}
