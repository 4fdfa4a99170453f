"""Text and time normalisation applied to every event at the sink, whatever its source.

Text is kept exactly as typed except for what would hurt the people or stages reading it:
Unicode NFC; ``\\r\\n`` and ``\\r`` become ``\\n`` and ``\\n`` is **kept** (WeCom and
Bilibili messages are legitimately multi-line; consoles render it with ``white-space:
pre-wrap``); a tab becomes a space; every other control character (C0, DEL, C1, so also NUL,
which PostgreSQL cannot store) and lone surrogates are removed; the bidirectional embedding,
override and isolate marks U+202A–U+202E and U+2066–U+2069 are removed (they reorder what an
advisor sees). Zero-width joiners stay: emoji sequences need them. The result is capped at
``max_chars`` code points. HTML, quotes and SQL-looking text are data, stored verbatim.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from livebot.chat.event import ChatEvent, ChatUser
from livebot.errors import ValidationError

KEY_MAX = 128
NAME_MAX = 128
MAX_DEPTH = 32
"""Deepest nesting of objects and arrays an event may carry (counting the event itself): real
platform payloads nest a handful of levels; the JSON encoders give up at a few hundred."""
BIDI_CONTROLS = [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]
MIN_TS = datetime(2000, 1, 1, tzinfo=UTC)
MAX_TS = datetime(2100, 1, 1, tzinfo=UTC)


def _table(keep_newline: bool) -> dict[int, str | None]:
    table: dict[int, str | None] = {c: None for c in [*range(0x00, 0x20), *range(0x7F, 0xA0), *BIDI_CONTROLS]}
    table.update({c: None for c in range(0xD800, 0xE000)})
    table[0x09] = " "
    if keep_newline:
        table[0x0A] = "\n"
    else:
        table[0x0A] = " "
    return table


TEXT_TABLE = _table(keep_newline=True)
LINE_TABLE = _table(keep_newline=False)


def clean_text(text: str, max_chars: int) -> str:
    """Chat text as stored: NFC, no control or bidi-override characters, newlines kept, capped."""
    if not text.isprintable():
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = text.translate(TEXT_TABLE)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return text[:max_chars]


def clean_line(text: str, max_chars: int) -> str:
    """A one-line value (a display name, a channel label): like :func:`clean_text`, newlines become spaces."""
    if not text.isprintable():
        text = text.translate(LINE_TABLE)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return text[:max_chars]


def clean_key(value: str) -> str:
    """An identifier without control characters, at most 128 characters (the column width)."""
    if value.isprintable() and len(value) <= KEY_MAX:
        return value
    return value.translate(LINE_TABLE).strip()[:KEY_MAX]


def normalize_event(event: ChatEvent, max_chars: int) -> ChatEvent:
    """The event with its text, names and keys normalised; the same object when nothing changes."""
    text = clean_text(event.text, max_chars)
    name = clean_line(event.user.name, NAME_MAX)
    user_id = clean_key(event.user.id)
    ident, channel = clean_key(event.id), clean_key(event.channel)
    if (text, name, user_id, ident, channel) == (event.text, event.user.name, event.user.id, event.id, event.channel):
        return event
    user = event.user if (name, user_id) == (event.user.name, event.user.id) else ChatUser(user_id, name)
    return dataclasses.replace(event, id=ident, channel=channel, text=text, user=user)


def check_depth(item: dict[str, Any], field: str, limit: int = MAX_DEPTH) -> None:
    """Refuse an event whose objects and arrays nest deeper than ``limit`` levels, naming its
    top-level field (``events[3].extra``), the same way on every backend and before storage."""
    children: Iterable[Any]
    for name, value in item.items():
        if value.__class__ is dict:  # most often the user, {"id", "name"}: flat, so no walk
            children = value.values()
        elif isinstance(value, (dict, list)):
            children = value.values() if isinstance(value, dict) else value
        else:
            continue
        for child in children:
            if isinstance(child, (dict, list)):
                break
        else:
            if limit >= 2:
                continue  # one level deep: within any limit from 2 up
        if nesting(value, limit - 1) > limit - 1:
            raise ValidationError(f"{field}.{name}", f"nested deeper than {limit} levels")


def nesting(value: Any, limit: int) -> int:
    """Levels of objects and arrays in ``value`` (1 for a flat one), counted no further than ``limit + 1``."""
    deepest, level = 0, [(value, 1)]
    while level:
        current, depth = level.pop()
        deepest = max(deepest, depth)
        if depth > limit:
            return depth
        children = current.values() if isinstance(current, dict) else current
        level.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def parse_ts(value: object, field: str) -> datetime:
    """A UTC datetime from ISO 8601 with an offset, or from epoch milliseconds."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValidationError(field, "expected an ISO 8601 time or epoch milliseconds")
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(field, f"not an ISO 8601 time: {value[:40]!r}") from None
        if parsed.tzinfo is None:
            raise ValidationError(field, "ISO 8601 time needs a UTC offset (Z or +08:00)")
    else:
        if value != value or value in (float("inf"), float("-inf")):
            raise ValidationError(field, "expected epoch milliseconds")
        try:
            parsed = datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            raise ValidationError(field, "epoch milliseconds out of range") from None
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59-14:00 has no UTC equivalent
        raise ValidationError(field, "time out of range 2000..2100") from None
    if not MIN_TS <= parsed < MAX_TS:
        hint = " (epoch seconds? expected milliseconds)" if not isinstance(value, str) else ""
        raise ValidationError(field, f"time out of range 2000..2100{hint}")
    return parsed
