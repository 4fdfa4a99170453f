"""livebot's own event format (the signed webhook body, replay transcripts, exports).

``{"events": [{"id", "platform", "channel", "kind", "ts", "user": {"id", "name"}, "text",
"count"?, "viewers"?, "value"?}, ...]}``. Parsing checks every field and raises
:class:`ValidationError` naming it (``events[3].platform: must be one of ...``), so a relay
author can fix the exact item; unknown keys are ignored (and kept in ``raw``), but nothing in
an event may nest deeper than :data:`~livebot.chat.normalize.MAX_DEPTH` levels.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from livebot.chat.errors import PayloadTooLarge
from livebot.chat.event import KINDS, ChatEvent, ChatUser, parsed_event, parsed_user
from livebot.chat.normalize import KEY_MAX, check_depth, parse_ts
from livebot.errors import ValidationError
from livebot.platforms import PLATFORMS

MAX_EVENTS = 1000
MAX_BODY_BYTES = 1_048_576
INT_MAX = 2**31 - 1
COUNTED_KINDS = ("like", "gift")
PLATFORM_SET = frozenset(PLATFORMS)
KIND_SET = frozenset(KINDS)
EMPTY_USER = ChatUser()


def parse_body(body: bytes, source: str, keep_raw: bool = True) -> list[ChatEvent]:
    """Every event of a webhook body, or the first problem found."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise ValidationError("body", f"not valid JSON: {err}") from None
    if not isinstance(document, dict):
        raise ValidationError("body", 'expected an object {"events": [...]}')
    items = document.get("events")
    if not isinstance(items, list):
        raise ValidationError("events", "expected an array")
    if len(items) > MAX_EVENTS:
        raise PayloadTooLarge("events", f"at most {MAX_EVENTS} events per request, got {len(items)}")
    times: dict[str, datetime] = {}  # a relay's batch repeats its timestamps: each text is parsed once
    return [parse_event(item, f"events[{index}]", source, keep_raw, times) for index, item in enumerate(items)]


def parse_event(item: Any, field: str, source: str, keep_raw: bool = True,
                times: dict[str, datetime] | None = None) -> ChatEvent:
    """One event in livebot's format; ``field`` prefixes error names (``events[3]``). ``times``
    remembers the timestamps parsed so far (text -> UTC time) across the events of one body."""
    if not isinstance(item, dict):
        raise ValidationError(field, "expected an object")
    check_depth(item, field)
    get = item.get
    platform = get("platform")
    if platform.__class__ is not str or platform not in PLATFORM_SET:
        raise ValidationError(f"{field}.platform", f"must be one of {', '.join(PLATFORMS)}")
    kind = get("kind")
    if kind.__class__ is not str or kind not in KIND_SET:
        raise ValidationError(f"{field}.kind", f"must be one of {', '.join(KINDS)}")
    text = get("text", "")
    if not isinstance(text, str):
        raise ValidationError(f"{field}.text", "expected a string")
    if kind == "comment" and not text:
        raise ValidationError(f"{field}.text", "a comment needs text")
    count = get("count")
    if count is not None:
        count = checked_int(count, field, "count")
    elif kind in COUNTED_KINDS:
        count = 1
    viewers = get("viewers")
    if viewers is not None:
        viewers = checked_int(viewers, field, "viewers")
    elif kind == "viewers":
        raise ValidationError(f"{field}.viewers", "a viewers event needs the viewer count")
    ident = key(get("id"), field, "id", required=True)
    channel = key(get("channel", ""), field, "channel")
    stamp = get("ts")
    ts = times.get(stamp) if times is not None and stamp.__class__ is str else None
    if ts is None:
        ts = parse_ts(stamp, f"{field}.ts")
        if times is not None and stamp.__class__ is str:
            times[stamp] = ts
    user = parse_user(get("user"), field)
    value = get("value")
    if value is not None:
        value = checked_int(value, field, "value")
    return parsed_event(source, ident, platform, channel, kind, ts, user, text, count, viewers, value,
                        item if keep_raw else None)


def key(value: Any, field: str, name: str, required: bool = False) -> str:
    """An identifier: a string (or integer) of at most 128 printable characters (``field.name`` in errors)."""
    if value.__class__ is str and value.isprintable() and 0 < len(value) <= KEY_MAX:
        return value  # the common case, checked in one go
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValidationError(f"{field}.{name}", "expected a string" if value is not None or not required else "missing")
    if required and not value:
        raise ValidationError(f"{field}.{name}", "must not be empty")
    if len(value) > KEY_MAX:
        raise ValidationError(f"{field}.{name}", f"at most {KEY_MAX} characters")
    if not value.isprintable():
        raise ValidationError(f"{field}.{name}", "must not contain control or invisible formatting characters")
    return value


def parse_user(value: Any, field: str) -> ChatUser:
    """``user`` of event ``field`` (``events[3]``); absent means anonymous."""
    if value is None:
        return EMPTY_USER
    if not isinstance(value, dict):
        raise ValidationError(f"{field}.user", 'expected an object {"id", "name"}')
    name = value.get("name", "")
    if not isinstance(name, str):
        raise ValidationError(f"{field}.user.name", "expected a string")
    return parsed_user(key(value.get("id", ""), f"{field}.user", "id"), name)


def checked_int(value: Any, field: str, name: str) -> int:
    """``value`` of ``field.name`` as a count: an integer from 0 to :data:`INT_MAX`."""
    if value.__class__ is int and 0 <= value <= INT_MAX:
        return value  # the common case, checked in one go
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field}.{name}", "expected an integer")
    if not 0 <= value <= INT_MAX:
        raise ValidationError(f"{field}.{name}", f"must be between 0 and {INT_MAX}")
    return value

