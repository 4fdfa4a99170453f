"""Errors of the schedule area (the web layer maps the base classes to statuses)."""

from __future__ import annotations

from livebot.errors import ConflictError, LivebotError, NotFoundError, ValidationError


class TransitionError(ValidationError):
    """A status change the session's lifecycle does not allow (draft -> ended ...)."""


class UnknownSession(NotFoundError):
    """No session with that id."""


class UnknownSite(NotFoundError):
    """No site with that id or slug."""


class UnknownSegment(NotFoundError):
    """No segment with that id in this session."""


class CueError(ConflictError):
    """A cue cannot be acknowledged (unknown, or the site does not take part)."""


class BehindError(ConflictError):
    """A switch to a segment or cue the show has already moved past (needs a confirmed "go back")."""


class SchedulerError(LivebotError):
    """The scheduler or its leader lock misbehaved."""
