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


_new = object.__new__
_SET = {name: getattr(ChatEvent, name).__set__ for name in ChatEvent.__slots__}
_SET_USER = {name: getattr(ChatUser, name).__set__ for name in ChatUser.__slots__}
_set_user_id, _set_user_name = _SET_USER["id"], _SET_USER["name"]


def parsed_user(user_id: str, name: str) -> ChatUser:
    """``ChatUser(user_id, name)`` for values a parser has checked: the same frozen object, built
    without the dataclass's per-field ``object.__setattr__`` (half the cost)."""
    user = _new(ChatUser)
    _set_user_id(user, user_id)
    _set_user_name(user, name)
    return user


def parsed_event(
    source: str, id: str, platform: str, channel: str, kind: str, ts: datetime, user: ChatUser, text: str,
    count: int | None, viewers: int | None, value: int | None, raw: Mapping[str, Any] | None,
    _source: Any = _SET["source"], _id: Any = _SET["id"], _platform: Any = _SET["platform"],
    _channel: Any = _SET["channel"], _kind: Any = _SET["kind"], _ts: Any = _SET["ts"], _user: Any = _SET["user"],
    _text: Any = _SET["text"], _count: Any = _SET["count"], _viewers: Any = _SET["viewers"], _value: Any = _SET["value"],
    _raw: Any = _SET["raw"],
) -> ChatEvent:
    """A :class:`ChatEvent` from values a parser has checked, ``ts`` in UTC: the same frozen object
    as the constructor's, its slots set directly (bound as defaults, so each is one local call)
    instead of through ``object.__setattr__`` and ``__post_init__``: about a third of the cost, and
    the webhook builds tens of thousands a second."""
    if ts.tzinfo is not UTC:
        return ChatEvent(source, id, platform, channel, kind, ts, user, text, count, viewers, value, raw)
    event = _new(ChatEvent)
    _source(event, source)
    _id(event, id)
    _platform(event, platform)
    _channel(event, channel)
    _kind(event, kind)
    _ts(event, ts)
    _user(event, user)
    _text(event, text)
    _count(event, count)
    _viewers(event, viewers)
    _value(event, value)
    _raw(event, raw)
    return event
