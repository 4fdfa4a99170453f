"""Which chat comments may scroll across the screen: positive, visible, unflagged, short and clean."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from livebot.overlays.text import clean_text, mask_name, ticker_safe
from livebot.platforms import PLATFORMS
from livebot.topics import ChatEnriched, read_chat_enriched


def ticker_item(raw: Mapping[str, Any], max_chars: int) -> dict[str, Any] | None:
    """The ticker entry for a bus message, or None when it is not an enriched chat message that may go on air."""
    message = read_chat_enriched(raw)
    return None if message is None else ticker_entry(message, max_chars)


def ticker_entry(message: ChatEnriched, max_chars: int) -> dict[str, Any] | None:
    """The ticker entry for an enriched chat message, or None when it must not go on air."""
    if message["kind"] != "comment" or message["hidden"] or message["flags"]:
        return None
    enrichment = message["enrichment"]
    sentiment = enrichment.get("sentiment")
    if not isinstance(sentiment, Mapping) or sentiment.get("label") != "positive" or enrichment["is_question"]:
        return None
    text = clean_text(message["text"], max_chars + 1)
    if not ticker_safe(text, max_chars):
        return None
    platform = message["platform"] if message["platform"] in PLATFORMS else "other"
    key = f"{message['source']}:{message['id']}"
    return {"id": key[:140], "text": text, "user": mask_name(message["user"]["name"]), "platform": platform}
