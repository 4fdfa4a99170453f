"""The one normalised chat event every source produces and every stage consumes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

KINDS = ("comment", "like", "gift", "follow", "share", "enter", "viewers")


@dataclass(frozen=True, slots=True)
class ChatUser:
    id: str = ""
    name: str = ""


@dataclass(frozen=True, slots=True)
class ChatEvent:
    """A platform message at the edge of livebot, before storage.

    ``id`` is the platform's own id: with ``source`` it is the dedupe key. ``ts`` is UTC.
    ``count`` is the number of likes or gifts, ``value`` a gift's value in fen, ``viewers``
    the concurrent viewer count of a ``viewers`` event. ``raw`` keeps the platform payload.
    """

    source: str
    id: str
    platform: str
    channel: str
    kind: str
    ts: datetime
    user: ChatUser = field(default_factory=ChatUser)
    text: str = ""
    count: int | None = None
    viewers: int | None = None
    value: int | None = None
    raw: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.ts.tzinfo is None:
            raise ValueError("ChatEvent.ts must be timezone-aware")
        if self.ts.utcoffset():
            object.__setattr__(self, "ts", self.ts.astimezone(UTC))
