"""Console errors, as subclasses of the shared ones the web layer maps to statuses."""

from __future__ import annotations

from livebot.errors import ConflictError, LivebotError, NotFoundError


class ConsoleError(LivebotError):
    """Mixin base: a message for the advisor plus details for logs and JSON answers."""

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class CardNotFound(ConsoleError, NotFoundError):
    """No such card (404)."""


class ClaimConflict(ConsoleError, ConflictError):
    """Someone else holds the card (409): the message names them (``已被 李营养师 认领``)."""


class CardClosed(ConsoleError, ConflictError):
    """The card was already answered or dismissed (409)."""


class SeniorOnly(ConsoleError, ConflictError):
    """Escalated cards wait for a senior advisor (409 for everyone else)."""

