"""Text and time normalisation: faithful except for what would mislead a reader or break storage."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest

from livebot.chat.event import ChatEvent, ChatUser, parsed_event, parsed_user
from livebot.chat.normalize import clean_key, clean_line, clean_text, normalize_event, parse_ts
from livebot.errors import ValidationError
from tests.chat.ingest_helpers import HOSTILE


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_passes_unchanged(text: str) -> None:
    assert clean_text(text, 2000) == text


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("a\u202eb\u202ac\u202bd\u202ce\u202df\u2066g\u2067h\u2068i\u2069j", "abcdefghij"),
        ("line1\r\nline2\rline3\nline4", "line1\nline2\nline3\nline4"),
        ("tab\there", "tab here"),
        ("nul\x00bell\x07esc\x1bdel\x7fc1\x85", "nulbellescdelc1"),
        ("lone\ud800surrogate", "lonesurrogate"),
        ("e\u0301", "é"),
        ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),
        ("\u3000全角空格\u3000", "\u3000全角空格\u3000"),
    ],
)
def test_cleaning(raw: str, clean: str) -> None:
    assert clean_text(raw, 2000) == clean


def test_cap_counts_code_points() -> None:
    assert clean_text("😀" * 3000, 2000) == "😀" * 2000


def test_names_become_one_line() -> None:
    assert clean_line("小雨\n妈妈\u202e", 128) == "小雨 妈妈"
    assert clean_line("长" * 500, 128) == "长" * 128


def test_keys_lose_control_characters_and_are_capped() -> None:
    assert clean_key("u-1") == "u-1"
    assert clean_key("a\x00b") == "ab"
    assert len(clean_key("k" * 300)) == 128


def test_normalize_event_returns_the_same_object_when_clean() -> None:
    event = ChatEvent(source="s", id="1", platform="douyin", channel="c", kind="comment",
                      ts=datetime(2026, 1, 1, tzinfo=UTC), user=ChatUser("u", "名"), text="好")
    assert normalize_event(event, 2000) is event
    dirty = ChatEvent(source="s", id="1", platform="douyin", channel="c", kind="comment",
                      ts=datetime(2026, 1, 1, tzinfo=UTC), user=ChatUser("u", "名\u202e"), text="好\x00")
    fixed = normalize_event(dirty, 2000)
    assert (fixed.text, fixed.user.name) == ("好", "名")


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ("2026-11-24T20:01:02+08:00", "2026-11-24T12:01:02+00:00"),
        ("2026-11-24T12:01:02Z", "2026-11-24T12:01:02+00:00"),
        ("2026-11-24T12:01:02.250-05:00", "2026-11-24T17:01:02.250000+00:00"),
        (1795608062000, "2026-11-25T12:01:02+00:00"),
        (1795608062123.0, "2026-11-25T12:01:02.123000+00:00"),
    ],
)
def test_timestamps_become_utc(value: object, iso: str) -> None:
    assert parse_ts(value, "ts").isoformat() == iso


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("2026-11-24 20:01", "UTC offset"),
        ("soon", "not an ISO 8601"),
        (None, "expected an ISO"),
        (True, "expected an ISO"),
        ([1], "expected an ISO"),
        (float("nan"), "epoch milliseconds"),
        (1795608062, "epoch seconds?"),
        (10**20, "out of range"),
        ("1999-12-31T23:59:59Z", "out of range"),
    ],
)
def test_bad_timestamps_name_the_field(value: object, problem: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_ts(value, "events[2].ts")
    assert info.value.field == "events[2].ts"
    assert problem in info.value.problem


def test_parsed_events_are_the_constructors_frozen_events() -> None:
    east = datetime(2026, 11, 24, 20, 1, 2, tzinfo=timezone(timedelta(hours=8)))
    for ts in (datetime(2026, 11, 24, 12, 1, 2, tzinfo=UTC), east):
        fields = ("wh", "dy-1", "douyin", "room", "comment", ts, parsed_user("u-1", "小雨"), "奶源？", None, None, None,
                  {"id": "dy-1"})
        fast, slow = parsed_event(*fields), ChatEvent(*fields)
        assert fast == slow and hash(fast.user) == hash(ChatUser("u-1", "小雨"))
        assert fast.ts.utcoffset() == timedelta(0) and fast.ts == ts
        with pytest.raises(dataclasses.FrozenInstanceError):
            fast.text = "改"  # type: ignore[misc]
        with pytest.raises(dataclasses.FrozenInstanceError):
            fast.user.name = "改"  # type: ignore[misc]
