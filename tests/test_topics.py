"""The typed shapes of the chat topics: one builder each, and the reader's check at the door."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest

from livebot.topics import (
    chat_enriched,
    chat_stored,
    chat_time,
    console_update,
    overlay_control,
    read_chat_enriched,
    read_chat_stored,
    read_console_update,
    read_faq_feedback,
    read_session_id,
    read_telemetry,
    read_trace_updated,
)

BUILDER_ARGS: dict[str, Any] = dict(pk=1, source="s", external_id="e", platform="web", channel="c", kind="comment",
                                    ts=datetime(2026, 1, 1, tzinfo=UTC), user_id="", user_name="", text="", count=None,
                                    viewers=None, value=None, session_id=None, site_id=None, segment_id=None,
                                    hidden=False, flags=[], merged_count=1)


def stored(**changes: Any) -> dict[str, Any]:
    message = chat_stored(pk=7, source="hook", external_id="m7", platform="douyin", channel="room", kind="comment",
                          ts=datetime(2026, 11, 24, 20, tzinfo=timezone(timedelta(hours=8))), user_id="u1",
                          user_name="小雨妈妈", text="奶源在哪？", count=None, viewers=None, value=None, session_id=3,
                          site_id=None, segment_id=None, hidden=False, flags=[], merged_count=1, origin="a")
    return {**message, **changes}


def test_the_builder_gives_the_wire_form() -> None:
    message = stored()
    assert message["ts"] == "2026-11-24T20:00:00+08:00" and message["user"] == {"id": "u1", "name": "小雨妈妈"}
    assert message["merged_into"] is None and message["origin"] == "a"
    assert orjson.loads(orjson.dumps(message)) == message  # plain JSON: crosses Redis unchanged
    assert "origin" not in chat_stored(**{**BUILDER_ARGS, "origin": None})


def test_a_complete_message_is_read_as_itself() -> None:
    message = stored()
    assert read_chat_stored(message) is message
    typed = read_chat_stored(message)
    assert typed is not None
    enriched = chat_enriched(typed, {"is_question": True})
    assert read_chat_enriched(enriched) is not None and enriched["enrichment"] == {"is_question": True}


@pytest.mark.parametrize("changes", [
    {"pk": "7"}, {"pk": True}, {"pk": None}, {"text": None}, {"text": 12}, {"user": None}, {"user": {"id": 1, "name": ""}},
    {"hidden": "no"}, {"flags": "merged"}, {"session_id": "3"}, {"count": True}, {"viewers": 1.5}, {"ts": 0},
    {"kind": ["comment"]}, {"merged_count": None},
])
def test_malformed_messages_are_refused_at_the_door(changes: dict[str, Any]) -> None:
    assert read_chat_stored(stored(**changes)) is None


def test_hostile_and_odd_values_of_the_right_type_pass_unchanged() -> None:
    message = stored(text="<script>alert(1)</script>\u202e\x00😀" + "长" * 100_000, user={"id": "", "name": "<b>"})
    assert read_chat_stored(message) is message
    assert read_chat_stored({}) is None and read_chat_stored({"pk": 1}) is None


@pytest.mark.parametrize("enrichment", [None, "yes", {}, {"is_question": "true"}, {"is_question": 1}])
def test_enriched_needs_an_enrichment_with_is_question(enrichment: Any) -> None:
    assert read_chat_enriched({**stored(), "enrichment": enrichment}) is None
    deep: Any = {"is_question": False}
    for _ in range(2000):
        deep = {"nested": deep, "is_question": False}
    assert read_chat_enriched({**stored(), "enrichment": deep}) is not None  # only the keys it reads are checked


TRACE_UPDATED_OK: dict[str, Any] = {"lots": ["QH1", "<script>alert(1)</script>", "奶\u202e源😀"], "gtins": ["06901234543216"]}


def test_trace_updated_is_read_with_its_lists_of_strings() -> None:
    assert read_trace_updated(TRACE_UPDATED_OK) == TRACE_UPDATED_OK
    assert read_trace_updated({"lots": ["A", "A"]}) == {"lots": ["A", "A"], "gtins": []}  # gtins may be missing, duplicates kept


@pytest.mark.parametrize("message", [
    {}, {"lots": None}, {"lots": "QH1"}, {"lots": [1]}, {"lots": [["QH1"]]}, {"lots": ["QH1"], "gtins": [None]},
    {"lots": [{"lot": "QH1"}]}, {"lots": ["QH1"], "gtins": "g"},
])
def test_malformed_trace_updated_is_refused(message: dict[str, Any]) -> None:
    assert read_trace_updated(message) is None


@pytest.mark.parametrize(("value", "expected"), [
    (3, 3), (2**40, 2**40), (0, None), (-1, None), (True, None), ("3", None), (3.0, None), (None, None), ([3], None),
])
def test_session_id_of_a_session_topic(value: Any, expected: int | None) -> None:
    assert read_session_id({"session_id": value}) == expected
    assert read_session_id({}) is None


def telemetry(**changes: Any) -> dict[str, Any]:
    return {"plant": "齐齐哈尔工厂", "line": "L1", "metric": "tank_temp_c", "value": 3.6, "unit": "°C",
            "at": "2026-11-24T12:00:00+00:00", "stale_after_s": 30, **changes}


def test_telemetry_reading_is_read_as_itself() -> None:
    for value in (3.6, 12, "running", "<b>停机</b>\x00😀"):
        message = telemetry(value=value)
        assert read_telemetry(message) == message


@pytest.mark.parametrize("changes", [
    {"plant": None}, {"plant": 1}, {"line": ["L1"]}, {"value": True}, {"value": None}, {"value": {"nested": [1]}},
    {"stale_after_s": "30"}, {"stale_after_s": False}, {"at": 0},
])
def test_malformed_telemetry_is_refused(changes: dict[str, Any]) -> None:
    assert read_telemetry(telemetry(**changes)) is None


def card(**changes: Any) -> dict[str, Any]:
    return {"id": 5, "session_id": 3, "version": 2, "needs_human": False, "complaint": True, "text": "奶粉结块了", **changes}


def test_console_update_is_built_and_read_as_itself() -> None:
    update = console_update(3, 41, [card()], [{"card": 5, "id": "m7", "source": "hook", "event": 7}])  # type: ignore[list-item]
    assert update == {"session_id": 3, "seq": 41, "cards": [card()], "asks": [{"card": 5, "id": "m7", "source": "hook", "event": 7}]}
    assert read_console_update(orjson.loads(orjson.dumps(update))) == update


@pytest.mark.parametrize("changes", [
    {"seq": "41"}, {"seq": True}, {"session_id": None}, {"cards": None}, {"asks": {}}, {"cards": ["x"]},
    {"cards": [card(id=None)]}, {"cards": [card(version=1.5)]}, {"cards": [card(complaint="yes")]},
])
def test_malformed_console_updates_are_refused(changes: dict[str, Any]) -> None:
    update = {"session_id": 3, "seq": 41, "cards": [card()], "asks": []}
    assert read_console_update({**update, **changes}) is None


def test_overlay_control_puts_the_common_keys_first() -> None:
    assert overlay_control(3, "scene", "导播", scene="batch") == {"session_id": 3, "type": "scene", "by": "导播", "scene": "batch"}


@pytest.mark.parametrize(("ts", "expected"), [
    ("2026-11-24T12:00:00+00:00", datetime(2026, 11, 24, 12, tzinfo=UTC)),
    ("2026-11-24T20:00:00+08:00", datetime(2026, 11, 24, 12, tzinfo=UTC)),
    ("2026-11-24T12:00:00Z", datetime(2026, 11, 24, 12, tzinfo=UTC)),
    ("2026-11-24T12:00:00", datetime(2026, 11, 24, 12, tzinfo=UTC)),
    ("not a time", None), ("", None), (None, None), (1764000000, None),
])
def test_chat_time_reads_ts_as_an_aware_time(ts: Any, expected: datetime | None) -> None:
    assert chat_time(ts) == expected


def test_faq_feedback_is_read_only_whole() -> None:
    feedback = {"kind": "dismissal", "key": "666", "id": 9}
    assert read_faq_feedback(feedback) == feedback
    assert read_faq_feedback({**feedback, "id": "9"}) is None and read_faq_feedback({"kind": "dismissal"}) is None


def test_shape_checks_each_kind_as_isinstance_or_exact_type_did() -> None:
    import enum
    from collections import OrderedDict
    from collections.abc import Mapping

    from livebot.topics import INT, NUMBER, OPTIONAL_INT, Exact, Shape

    class Word(enum.StrEnum):
        A = "a"

    values = ["x", 1, True, None, 1.5, {}, [], OrderedDict(), Word.A, (1,), b"x"]
    for kind in (str, Mapping, list, (list, tuple), bool, INT, OPTIONAL_INT, NUMBER):
        shape = Shape(("k", kind))
        for value in values:
            expected = type(value) in kind if isinstance(kind, Exact) else isinstance(value, kind)
            assert shape.fits({"k": value}) is expected, (kind, value)
        assert shape.fits({}) is (type(None) in kind if isinstance(kind, Exact) else isinstance(None, kind))
