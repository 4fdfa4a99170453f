"""Errors of the chat ingest; the web layer of each source maps them to HTTP statuses."""

from __future__ import annotations

from livebot.errors import AuthError, LivebotError
from livebot.errors import PayloadTooLarge as CorePayloadTooLarge


class ChatError(LivebotError):
    """Root of the chat area's errors."""


class SignatureError(AuthError):
    """A push is not signed with the source's secret, or its timestamp is outside the window (401)."""


class PayloadTooLarge(CorePayloadTooLarge):
    """The body or the number of events exceeds the limit (413); ``field`` names what is too large."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class Overloaded(ChatError):
    """The writer queue is full: try again after ``retry_after`` seconds (503 with Retry-After)."""

    def __init__(self, retry_after: float, message: str = "ingest queue is full") -> None:
        super().__init__(message)
        self.retry_after = retry_after


class IngestUnavailable(ChatError):
    """The events could not be stored (database error, shutting down); nothing was acknowledged (503)."""
