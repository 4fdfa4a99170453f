"""Errors of the engagement area (the web layer maps the base classes to statuses)."""

from __future__ import annotations

from livebot.errors import LivebotError


class ReportError(LivebotError):
    """A report could not be built, stored or sent."""
