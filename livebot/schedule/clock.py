"""The time source of the schedule area, injectable so tests step time instead of sleeping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from livebot.storage.base import utcnow

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware (UTC)."""


class SteppedClock:
    """A clock that moves only when told to (tests)."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> datetime:
        self.current += timedelta(seconds=seconds)
        return self.current


system_clock: Clock = utcnow
