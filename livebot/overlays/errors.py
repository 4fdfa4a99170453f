"""Errors of the overlays area."""

from __future__ import annotations

from livebot.errors import AuthError, LivebotError, ValidationError


class OverlayError(LivebotError):
    """Something about overlays went wrong."""


class BadCommand(ValidationError):
    """An ``overlay.control`` command is malformed; ``field`` names the bad field."""


class BadOverlayToken(AuthError):
    """The overlay token in the URL is missing, wrong or rotated away."""


class UnknownSession(OverlayError):
    """No live session has this id."""
