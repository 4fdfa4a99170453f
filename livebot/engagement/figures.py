"""The one aggregation both the live figures and a rebuild use: stored events -> minute buckets.

A bucket is (minute in UTC, platform, on-air site, segment). Each bucket depends only on the
events and question asks whose time falls in it, so recomputing a few minutes from the
database gives exactly what a full rebuild gives for them: live figures equal rebuilt ones
by construction, not by keeping two implementations in step.

Counting rules (the report's help page states the same in Chinese):
- a comment counts unless moderation blocked it as spam (links, contact details, ads, banned
  words, rate limit) — those count as ``hidden``; flood repeats merged into an earlier
  comment still count (a viewer did send them) and are also counted as ``merged``;
- chatters: distinct (platform, user) who sent a counted comment; visitors: distinct users
  seen with any action (enter, comment, like, gift, follow, share);
- likes and gifts add their ``count`` (1 when absent); gift value adds ``value`` (fen);
- viewers: the latest and the highest concurrent-viewer figure reported in the bucket;
- sentiment: label counts and the sum of scores of counted comments that were enriched (summed
  exactly, so the figure does not depend on the order events are folded in);
- questions: question asks (the console's ``question_asks``) by their asked time, answered
  when a first answer exists, with first-response time = first answer - asked, in ms.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from livebot.engagement.attribution import Attributor

MINUTE = timedelta(minutes=1)
BLOCK_FLAGS = frozenset({"link", "contact", "ad", "banned_word", "rate_limited"})
LABELS = ("positive", "neutral", "negative")
VISITOR_KINDS = frozenset({"comment", "like", "gift", "follow", "share", "enter"})

COUNTER_COLUMNS = (
    "comments", "chatters", "visitors", "enters", "likes", "gifts", "gift_value", "follows", "shares", "viewers_samples",
    "positive", "neutral", "negative", "sentiment_n", "hidden", "merged", "questions", "answered",
)
"""Integer columns that add up across buckets."""


class Key(NamedTuple):
    minute: datetime
    platform: str
    site_id: int
    segment_id: int


class EventFacts(NamedTuple):
    """What the aggregation reads of one stored chat event."""

    ts: datetime
    platform: str
    kind: str
    user_id: str
    amount: int | None  # likes or gifts in the event (``count`` would shadow tuple.count)
    value: int | None
    viewers: int | None
    hidden: bool
    flags: tuple[str, ...]
    label: str | None
    score: float | None


class AskFacts(NamedTuple):
    """What the aggregation reads of one question ask."""

    asked_at: datetime
    platform: str
    first_answer_at: datetime | None


def minute_of(ts: datetime) -> datetime:
    """The UTC minute a moment falls in (its bucket's start)."""
    if ts.tzinfo is not UTC:
        ts = ts.astimezone(UTC)
    return ts.replace(second=0, microsecond=0)


def user_key(platform: str, user_id: str) -> str:
    """A short one-way digest of (platform, user id): exact for counting, no name kept."""
    digest = hashlib.blake2b(f"{platform}\x00{user_id}".encode(), digest_size=12).digest()
    return base64.urlsafe_b64encode(digest).decode()


def blocked(hidden: bool, flags: Iterable[str]) -> bool:
    """Hidden by moderation for a reason other than merging a flood repeat."""
    return bool(hidden) and set(flags) != {"merged"}


@dataclass(slots=True)
class Bucket:
    comments: int = 0
    chatter_keys: set[str] = field(default_factory=set)
    visitor_keys: set[str] = field(default_factory=set)
    enters: int = 0
    likes: int = 0
    gifts: int = 0
    gift_value: int = 0
    follows: int = 0
    shares: int = 0
    viewers_last: int | None = None
    viewers_last_at: datetime | None = None
    viewers_peak: int | None = None
    viewers_samples: int = 0
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    sentiment_parts: list[float] = field(default_factory=list)
    """The exact running sum of scores as non-overlapping partials (Shewchuk), so the sum is the
    same correctly rounded float whatever order and batches the events are folded in."""
    sentiment_n: int = 0
    hidden: int = 0
    merged: int = 0
    questions: int = 0
    answered: int = 0
    response_ms: list[int] = field(default_factory=list)

    def add_event(self, event: EventFacts, user: str | None = None) -> None:
        """Count one event; ``user`` is the digest of its (platform, user id), if it has one."""
        kind = event.kind
        if kind == "comment":
            if blocked(event.hidden, event.flags):
                self.hidden += 1
                return
            self.comments += 1
            if "merged" in event.flags:
                self.merged += 1
            if event.label in LABELS:
                setattr(self, event.label, getattr(self, event.label) + 1)
            if event.score is not None:
                add_exact(self.sentiment_parts, event.score)
                self.sentiment_n += 1
            if user:
                self.chatter_keys.add(user)
        elif kind == "like":
            self.likes += positive_or_one(event.amount)
        elif kind == "gift":
            self.gifts += positive_or_one(event.amount)
            self.gift_value += max(event.value or 0, 0)
        elif kind == "follow":
            self.follows += 1
        elif kind == "share":
            self.shares += 1
        elif kind == "enter":
            self.enters += 1
        elif kind == "viewers":
            self.add_viewers(event.ts, event.viewers)
            return
        else:
            return
        if user:
            self.visitor_keys.add(user)

    @property
    def sentiment_sum(self) -> float:
        return math.fsum(self.sentiment_parts)

    def add_viewers(self, ts: datetime, viewers: int | None) -> None:
        if viewers is None or viewers < 0:
            return
        self.viewers_samples += 1
        self.viewers_peak = viewers if self.viewers_peak is None else max(self.viewers_peak, viewers)
        if self.viewers_last_at is None or ts >= self.viewers_last_at:
            self.viewers_last, self.viewers_last_at = viewers, ts

    def add_ask(self, ask: AskFacts) -> None:
        self.questions += 1
        if ask.first_answer_at is not None:
            self.answered += 1
            self.response_ms.append(max(0, round((ask.first_answer_at - ask.asked_at).total_seconds() * 1000)))


def add_exact(partials: list[float], value: float) -> None:
    """Add ``value`` to an exact sum kept as partials (the msum recipe behind ``math.fsum``)."""
    i = 0
    for other in partials:
        if abs(value) < abs(other):
            value, other = other, value
        high = value + other
        low = other - (high - value)
        if low:
            partials[i] = low
            i += 1
        value = high
    partials[i:] = [value]


def positive_or_one(count: int | None) -> int:
    return count if isinstance(count, int) and count > 0 else 1


def fold(events: Iterable[EventFacts], asks: Iterable[AskFacts], attributor: Attributor,
         buckets: dict[Key, Bucket] | None = None, digests: dict[tuple[str, str], str] | None = None) -> dict[Key, Bucket]:
    """Aggregate events and asks into ``buckets`` (new ones by default) and return them.

    Events must come in time order (then id), so "latest viewers" and the float sums are the
    same however the events are batched: folding more batches into the same buckets adds in
    exactly the order one big fold would.
    """
    buckets = {} if buckets is None else buckets
    digests = {} if digests is None else digests
    for event in events:
        on_air = attributor.on_air(event.ts)
        key = Key(minute_of(event.ts), event.platform, on_air.site_id, on_air.segment_id)
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = Bucket()
        user = None
        if event.user_id and event.kind in VISITOR_KINDS:
            ident = (event.platform, event.user_id)
            user = digests.get(ident)
            if user is None:
                user = digests[ident] = user_key(*ident)
        bucket.add_event(event, user)
    for ask in asks:
        on_air = attributor.on_air(ask.asked_at)
        key = Key(minute_of(ask.asked_at), ask.platform, on_air.site_id, on_air.segment_id)
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = Bucket()
        bucket.add_ask(ask)
    return buckets


def fold_sentiment(events: Iterable[EventFacts], attributor: Attributor, buckets: dict[Key, Bucket]) -> None:
    """Add only the sentiment of counted comments already folded without it (their enrichment came later)."""
    for event in events:
        if event.kind != "comment" or blocked(event.hidden, event.flags):
            continue
        on_air = attributor.on_air(event.ts)
        key = Key(minute_of(event.ts), event.platform, on_air.site_id, on_air.segment_id)
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = Bucket()
        if event.label in LABELS:
            setattr(bucket, event.label, getattr(bucket, event.label) + 1)
        if event.score is not None:
            add_exact(bucket.sentiment_parts, event.score)
            bucket.sentiment_n += 1


def row_of(session_id: int, key: Key, bucket: Bucket, now: datetime,
           order: Callable[[set[str]], list[str]] = sorted) -> dict[str, Any]:
    """The ``engagement_minutes`` row for a bucket (sets sorted, so equal figures store equal rows;
    ``order`` may sort from what it sorted before)."""
    return {
        "session_id": session_id, "minute": key.minute, "platform": key.platform, "site_id": key.site_id,
        "segment_id": key.segment_id, "comments": bucket.comments, "chatters": len(bucket.chatter_keys),
        "chatter_keys": order(bucket.chatter_keys), "visitors": len(bucket.visitor_keys),
        "visitor_keys": order(bucket.visitor_keys), "enters": bucket.enters, "likes": bucket.likes,
        "gifts": bucket.gifts, "gift_value": bucket.gift_value, "follows": bucket.follows, "shares": bucket.shares,
        "viewers_last": bucket.viewers_last, "viewers_last_at": bucket.viewers_last_at,
        "viewers_peak": bucket.viewers_peak, "viewers_samples": bucket.viewers_samples,
        "positive": bucket.positive, "neutral": bucket.neutral, "negative": bucket.negative,
        "sentiment_sum": bucket.sentiment_sum, "sentiment_n": bucket.sentiment_n, "hidden": bucket.hidden,
        "merged": bucket.merged, "questions": bucket.questions, "answered": bucket.answered,
        "response_ms": sorted(bucket.response_ms), "updated_at": now,
    }


def nearest_rank(sorted_values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile: the ⌈q·n⌉-th smallest value."""
    return sorted_values[max(math.ceil(q * len(sorted_values)), 1) - 1]
