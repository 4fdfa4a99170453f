"""What other areas may use of chat: the ``chat_events`` table (FAQ writes its enrichment columns,
the console and engagement read it), the ``chat.stored`` builder for a stored row, and the
queries FAQ's catch-up uses to find rows the bus dropped."""

from __future__ import annotations

from livebot.chat.models import StoredEvent
from livebot.chat.store import newest_id, recent_unenriched, settled_unenriched, stored_message, unenriched_among

__all__ = ["StoredEvent", "newest_id", "recent_unenriched", "settled_unenriched", "stored_message", "unenriched_among"]
