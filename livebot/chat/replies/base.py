"""The reply interface: a target (where the question came from), a sender, a result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from livebot.chat.replies.errors import ReplyRejected

MAX_TEXT_BYTES = 2048
"""WeCom robots and 微信客服 take at most 2048 bytes of UTF-8 text (about 680 Chinese characters)."""


@dataclass(frozen=True)
class ReplyTarget:
    """Where an answer goes: the stored question's source, platform, channel and asker.

    ``event_id`` is the question's platform id; ``reply_id`` an idempotency key chosen by the
    caller (the same key for retries of one answer), passed on where the platform takes one.
    """

    source: str
    platform: str
    channel: str
    user_id: str = ""
    user_name: str = ""
    event_id: str = ""
    reply_id: str = ""



@dataclass(frozen=True)
class ReplyResult:
    """A delivered reply: which sender took it and the platform's message id, if it gives one."""

    sender: str
    message_id: str = ""


class ReplySender(Protocol):
    """Posts text to one kind of destination; raises :class:`ReplyError` subclasses on failure."""

    name: str

    async def send(self, target: ReplyTarget, text: str) -> ReplyResult: ...


def checked_text(text: str, sender: str, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """The reply text stripped; :class:`ReplyRejected` when empty or over the platform's limit."""
    cleaned = text.strip()
    if not cleaned:
        raise ReplyRejected("reply text is empty", sender=sender, code="empty")
    size = len(cleaned.encode("utf-8"))
    if size > max_bytes:
        raise ReplyRejected(f"reply text is {size} bytes, the limit is {max_bytes}", sender=sender, code="too_long")
    return cleaned
