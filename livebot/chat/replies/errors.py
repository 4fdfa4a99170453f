"""Reply errors: each says whether trying the same reply again later can succeed."""

from __future__ import annotations

from livebot.chat.errors import ChatError


class ReplyError(ChatError):
    """A reply was not delivered. ``retryable``: the console may send it again later."""

    def __init__(self, message: str, *, retryable: bool, sender: str = "", code: int | str | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.sender = sender
        self.code = code


class ReplyRejected(ReplyError):
    """The platform refused this reply for good (bad URL or key, too long, not allowed to answer)."""

    def __init__(self, message: str, *, sender: str = "", code: int | str | None = None) -> None:
        super().__init__(message, retryable=False, sender=sender, code=code)


class ReplyUnavailable(ReplyError):
    """The platform could not be reached or was busy (network, timeout, 5xx, rate limit)."""

    def __init__(self, message: str, *, sender: str = "", code: int | str | None = None) -> None:
        super().__init__(message, retryable=True, sender=sender, code=code)


class NoReplyRoute(ReplyRejected):
    """No sender is configured for the question's source/channel: feature it on screen instead."""
