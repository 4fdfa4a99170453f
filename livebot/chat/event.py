"""The one normalised chat event every source produces and every stage consumes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

PLATFORMS = ("douyin", "kuaishou", "channels", "bilibili", "taobao", "wecom", "web", "other")
KINDS = ("comment", "like", "gift", "follow", "share", "enter", "viewers")
PLATFORM_LABELS = {
    "douyin": "抖音", "kuaishou": "快手", "channels": "视频号", "bilibili": "B站",
    "taobao": "淘宝直播", "wecom": "企业微信", "web": "网页", "other": "其他",
}


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

    def to_message(self) -> dict[str, Any]:
        """A JSON-ready dict (for the bus, exports and fakes)."""
        return {
            "source": self.source, "id": self.id, "platform": self.platform, "channel": self.channel,
            "kind": self.kind, "ts": self.ts.isoformat(), "user": {"id": self.user.id, "name": self.user.name},
            "text": self.text, "count": self.count, "viewers": self.viewers, "value": self.value,
        }
