"""Errors of the engagement area (the web layer maps the base classes to statuses)."""

from __future__ import annotations

from livebot.errors import LivebotError, NotFoundError


class UnknownSession(NotFoundError):
    """No session with that id."""


class ReportError(LivebotError):
    """A report could not be built, stored or sent."""


class RobotError(ReportError):
    """A WeCom group robot refused or did not answer the summary message."""
