"""The live stats meter: viewers, comments per minute and the sentiment mix for one session.

The engagement area publishes the authoritative figures on ``engagement.{session_id}``; until a
session has any, this keeps a small running view from the enriched chat itself.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from livebot.topics import ChatEnriched, ChatStored, EngagementLive, chat_time

WINDOW_SECONDS = 60.0
SENTIMENT_WINDOW = 200
"""The mix is over the latest comments, so the meter moves with the room, not the whole show."""


class LiveStats:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.channel_viewers: dict[tuple[str, str, str], int] = {}
        self.comment_times: deque[float] = deque()
        self.labels: deque[str] = deque(maxlen=SENTIMENT_WINDOW)
        self.engagement: EngagementLive | None = None

    @property
    def viewers(self) -> int | None:
        """Concurrent viewers: the latest count of each platform channel, added up."""
        return sum(self.channel_viewers.values()) if self.channel_viewers else None

    def add_viewers(self, message: ChatStored) -> None:
        """A ``viewers`` event (they come on ``chat.stored``: only comments are enriched)."""
        viewers = message["viewers"]
        if viewers is not None and 0 <= viewers < 10**9:
            self.channel_viewers[(message["source"], message["platform"], message["channel"])] = viewers

    def add_chat(self, message: ChatEnriched) -> None:
        """Count one chat message; comments count at their own time, so a backfill is not a spike."""
        kind = message["kind"]
        if kind == "viewers":
            self.add_viewers(message)
            return
        if kind != "comment":
            return
        now = self.clock()
        moment = chat_time(message["ts"])
        at = now if moment is None or moment.timestamp() > now + 5 else moment.timestamp()
        if at < now - WINDOW_SECONDS:
            return
        self.comment_times.append(at)
        sentiment = message["enrichment"].get("sentiment") or {}
        label = sentiment.get("label") if isinstance(sentiment, Mapping) else None
        if label in ("positive", "neutral", "negative"):
            self.labels.append(label)

    def add_engagement(self, message: EngagementLive) -> None:
        """Take the engagement area's figures; from now on they win over the local count."""
        self.engagement = message

    def snapshot(self) -> dict[str, Any]:
        """The figures the stats scene shows."""
        if self.engagement is not None:
            return from_engagement(self.engagement, self.viewers)
        cutoff = self.clock() - WINDOW_SECONDS
        while self.comment_times and self.comment_times[0] < cutoff:
            self.comment_times.popleft()
        recent = sum(1 for at in self.comment_times if at >= cutoff)  # a late message may sit behind newer ones
        total = len(self.labels)
        mix = {label: (self.labels.count(label) / total if total else 0.0) for label in ("positive", "neutral", "negative")}
        return {"viewers": self.viewers, "comments_per_min": recent, **rounded(mix), "source": "live"}


def from_engagement(message: EngagementLive, fallback_viewers: int | None) -> dict[str, Any]:
    """The stats scene's figures from the engagement area's (the sentiment shares renormalised to add up to 1)."""
    mix = message["sentiment"]
    parts = {label: max(0.0, float(mix[label])) for label in ("positive", "neutral", "negative")}
    total = sum(parts.values())
    viewers = message["viewers"]
    return {
        "viewers": viewers if viewers is not None else fallback_viewers,
        "comments_per_min": message["comments_per_min"],
        **rounded({label: (value / total if total else 0.0) for label, value in parts.items()}),
        "source": "engagement",
    }


def rounded(mix: Mapping[str, float]) -> dict[str, float]:
    return {label: round(value, 3) for label, value in mix.items()}
