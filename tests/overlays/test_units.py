"""Pure parts of the overlays: text cleaning, commands, the ticker filter, presenters, stats."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from livebot.overlays import present
from livebot.overlays.commands import Command, apply_command, default_state, parse_command
from livebot.overlays.errors import BadCommand
from livebot.overlays.scenes import page_scene, scene_name
from livebot.overlays.stats import LiveStats
from livebot.overlays.text import clean_text, mask_name, ticker_safe
from livebot.overlays.ticker import ticker_item
from livebot.topics import ChatEnriched, chat_enriched, chat_stored, read_chat_enriched, read_chat_stored, read_engagement_live
from tests.overlays.support import SUMMARY, engagement_figures

HOSTILE = '<img src=x onerror="alert(1)"><script>alert("x")</script>'


def chat(text: str, label: str = "positive", **extra: object) -> ChatEnriched:
    stored = chat_stored(pk=1, source="hook", external_id="m1", platform="douyin", channel="room", kind="comment",
                         ts=datetime(2026, 11, 24, 12, tzinfo=UTC), user_id="u1", user_name="小雨妈妈", text=text, count=None,
                         viewers=None, value=None, session_id=1, site_id=None, segment_id=None, hidden=False, flags=[],
                         merged_count=1)
    message = chat_enriched(stored, {"is_question": False, "sentiment": {"label": label, "score": 0.9}})
    message.update(extra)  # type: ignore[typeddict-item]
    return message


def viewers(count: object, channel: str = "room", platform: str = "douyin") -> ChatEnriched:
    """A ``viewers`` event as the bus carries it (checked at the door like the overlay service does)."""
    message = chat(f"{count}", kind="viewers", viewers=count, channel=channel, platform=platform, source="relay")
    checked = read_chat_enriched(message)
    assert checked is not None
    return checked


def test_clean_text_strips_controls_and_bidi_and_keeps_markup_as_text() -> None:
    assert clean_text("好\u202e喝\x00了\u200b\n  吧", 20) == "好喝 了 吧"
    assert clean_text(HOSTILE, 200) == HOSTILE
    assert clean_text("奶粉😀" * 30, 10) == "奶粉😀奶粉😀奶粉😀…"


def test_mask_name_hides_most_of_a_nickname() -> None:
    assert mask_name("小雨妈妈") == "小雨**"
    assert mask_name("乐") == "乐*"
    assert mask_name("\u202e") == "观众"


@pytest.mark.parametrize("text", ["加微信 abc123", "看 www.example.com", "电话一三八一二三四", "便宜 99 元", "https://x.cn/a"])
def test_ticker_rejects_links_and_numbers(text: str) -> None:
    assert not ticker_safe(clean_text(text, 60), 40)


def test_ticker_accepts_short_clean_praise() -> None:
    assert ticker_safe("一直喝这个，宝宝很喜欢", 40)


def test_ticker_item_only_for_positive_visible_unflagged_comments() -> None:
    assert ticker_item(chat("奶源看得见，放心！"), 40) == {"id": "hook:m1", "text": "奶源看得见，放心！", "user": "小雨**", "platform": "douyin"}
    assert ticker_item(chat("不好", label="negative"), 40) is None
    assert ticker_item(chat("好", label="neutral"), 40) is None
    assert ticker_item(chat("好喝", hidden=True), 40) is None
    assert ticker_item(chat("好喝", flags=["spam"]), 40) is None
    assert ticker_item(chat("好" * 41), 40) is None
    assert ticker_item(chat("好喝", kind="like"), 40) is None
    assert ticker_item({**chat("好喝"), "enrichment": None}, 40) is None
    assert ticker_item({**chat("好喝"), "text": 12}, 40) is None


def test_parse_command_normalises_scene_aliases() -> None:
    assert parse_command({"session_id": 3, "type": "scene", "scene": "lower-third"}).fields == {"scene": "site"}
    assert parse_command({"session_id": 3, "type": "scene", "scene": "QC"}).fields == {"scene": "inspections"}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"type": "scene", "scene": "nope"}, "scene"),
        ({"type": "boom"}, "type"),
        ({"type": "featured"}, "question"),
        ({"type": "featured", "question": 5}, "question"),
        ({"type": "featured", "question": " \u200b "}, "question"),
        ({"type": "batch", "lot": "A" * 41}, "lot"),
        ({"type": "batch", "lot": "A B"}, "lot"),
        ({"type": "batch", "lot": ["x"]}, "lot"),
        ({"type": "site", "site_id": "abc"}, "site_id"),
        ({"type": "site", "site_id": True}, "site_id"),
        ({"type": "site", "site_id": -1}, "site_id"),
        ({"type": "countdown", "ends_at": "tomorrow"}, "ends_at"),
        ({"type": "countdown", "ends_at": "2026-11-24T20:00:00"}, "ends_at"),
        ({"type": "ticker"}, "enabled"),
        ({"type": "ticker", "enabled": "yes"}, "enabled"),
    ],
)
def test_parse_command_names_the_bad_field(raw: dict[str, object], field: str) -> None:
    with pytest.raises(BadCommand) as err:
        parse_command({"session_id": 1, **raw})
    assert err.value.field == field


def test_parse_command_needs_a_session() -> None:
    for bad in (None, "x", 0, True, 2**70):
        with pytest.raises(BadCommand) as err:
            parse_command({"session_id": bad, "type": "featured_clear"})
        assert err.value.field == "session_id"
    with pytest.raises(BadCommand):
        parse_command(["not", "a", "dict"])  # type: ignore[arg-type]


def test_featured_text_is_cleaned_and_cut() -> None:
    command = parse_command({"session_id": 1, "type": "featured", "question": "奶源\u202e在哪\x07？" + "啊" * 200,
                             "answer": HOSTILE, "asker": "小雨妈妈", "platform": "evil"})
    assert command.fields["question"].startswith("奶源在哪 ？")
    assert len(command.fields["question"]) == 120
    assert command.fields["answer"] == HOSTILE
    assert command.fields["asker"] == "小雨**"
    assert command.fields["platform"] == "other"


def test_featured_asker_keeps_the_count_of_a_merged_question() -> None:
    command = parse_command({"session_id": 1, "type": "featured", "question": "奶源？", "asker": "小雨妈妈 等 3 位观众", "platform": ""})
    assert command.fields["asker"] == "小雨** 等 3 位观众" and command.fields["platform"] == "other"


def test_countdown_is_stored_in_utc() -> None:
    command = parse_command({"session_id": 1, "type": "countdown", "segment_title": "工厂直连", "ends_at": "2026-11-24T20:30:00+08:00"})
    assert command.fields == {"title": "工厂直连", "ends_at": "2026-11-24T12:30:00+00:00"}


def test_apply_reports_only_real_changes_and_dedupes_ticker_items() -> None:
    state = default_state()
    scene = Command(1, "scene", "p", {"scene": "chain"}, "c1")
    assert apply_command(state, scene, 8) == {"scene"}
    assert apply_command(state, scene, 8) == set()
    pin = Command(1, "ticker", "p", {"text": "好", "user": "", "platform": "web"}, "same")
    assert apply_command(state, pin, 2) == {"ticker"}
    assert apply_command(state, pin, 2) == set()
    for i in range(3):
        apply_command(state, Command(1, "ticker", "p", {"text": f"好{i}", "user": "", "platform": "web"}, f"id{i}"), 2)
    assert [item["text"] for item in state["ticker"]] == ["好2", "好1"]
    assert apply_command(state, Command(1, "ticker", "p", {"enabled": False}, "off"), 2) == {"ticker"}
    assert state["ticker_enabled"] is False


def test_page_scene_knows_every_page() -> None:
    assert page_scene("program") == "program"
    assert page_scene("lower-third") == "site"
    assert page_scene("../etc") is None
    assert scene_name("blank") == "blank"


def test_promise_text() -> None:
    assert present.promise_text(105, 120, True) == "105 分钟 · 2 小时承诺内"
    assert present.promise_text(130, 120, False) == "130 分钟 · 超出 2 小时承诺"
    assert present.promise_text(80, 90, None) == "80 分钟 · 90 分钟承诺内"
    assert present.promise_text(None, 120, None) == ""


def test_batch_part_formats_times_in_the_session_zone() -> None:
    part = present.batch_part("NB20261120A", SUMMARY, "Asia/Shanghai")
    assert part["card"]["inspections"] == "3/3 项合格" and part["card"]["all_passed"]
    steps = part["chain"]["steps"]
    assert [s["label"] for s in steps] == ["挤奶完成", "冷却", "运输", "加工"]
    assert steps[0]["detail"] == "挤奶 05:10–05:40"
    # the headline's minutes run from the first step's time to the last one's
    first, last = (datetime.strptime(steps[i]["time"], "%H:%M") for i in (0, -1))
    assert part["chain"]["headline"].startswith(f"{int((last - first).total_seconds() // 60)} 分钟")
    assert steps[1]["detail"] == "3.6 °C"
    assert steps[2]["detail"] == "07:10 到厂 全程冷链无异常"
    assert part["chain"]["headline"] == "105 分钟 · 2 小时承诺内"
    assert part["inspections"]["passed"] == 3
    assert present.batch_part("X", None, "Asia/Shanghai") == {"lot": "X", "found": False}
    assert present.batch_part(None, None, "nowhere/zone")["found"] is False


def test_batch_part_survives_odd_values() -> None:
    odd = {**SUMMARY, "milking_start": "not a date", "cooling_temp_c": True, "inspections": ["x", {"item": None}],
           "inspections_total": 0, "minutes_to_processing": "105"}
    part = present.batch_part("L", odd, "Bad/Zone")
    assert part["chain"]["steps"][0]["time"] == "05:40"  # the end of milking (what the headline counts from) is fine
    assert part["chain"]["steps"][0]["detail"] == ""
    assert part["chain"]["headline"] == ""
    assert part["inspections"]["total"] == 1


def test_telemetry_keeps_stale_flag_and_labels() -> None:
    part = present.telemetry_part("厂", [{"metric": "tank_temp", "value": 3.84, "unit": "CEL", "at": "2026-11-24T12:00:00Z", "stale": True}], "Asia/Shanghai")
    assert part["readings"][0] == {"metric": "tank_temp", "label": "奶仓温度", "value": "3.8", "unit": "°C", "at": "20:00:00", "stale": True}
    assert present.telemetry_part(None, [{"metric": "x"}], None)["readings"][0]["stale"] is True


def test_site_part_and_coordinates() -> None:
    site = SimpleNamespace(id=1, name="双城牧场", location="哈尔滨", lower_third="", timezone="Asia/Harbin", latitude=45.38, longitude=126.31)
    part = present.site_part(site)
    assert part is not None and part["coords"] == "北纬 45.38° · 东经 126.31°" and part["lower_third"] == "双城牧场"
    assert present.coords_text(-33.9, -70.1) == "南纬 33.90° · 西经 70.10°"
    assert present.site_part(None) is None


def test_live_stats_counts_the_last_minute() -> None:
    now = [1000.0]
    stats = LiveStats(clock=lambda: now[0])
    stats.add_chat(viewers(5321))
    stats.add_chat(viewers(-3))
    for label in ("positive", "positive", "negative", "neutral"):
        stats.add_chat(chat("x", label=label))
    assert stats.snapshot() == {"viewers": 5321, "comments_per_min": 4, "positive": 0.5, "neutral": 0.25, "negative": 0.25, "source": "live"}
    now[0] += 61
    assert stats.snapshot()["comments_per_min"] == 0


def test_engagement_figures_win_once_they_arrive() -> None:
    stats = LiveStats()
    stats.add_chat(viewers(10))
    stats.add_engagement(engagement_figures(1, None, 42, positive=0.6, neutral=0.2, negative=0.2))
    assert stats.snapshot() == {"viewers": 10, "comments_per_min": 42, "positive": 0.6, "neutral": 0.2, "negative": 0.2, "source": "engagement"}
    stats.add_engagement(engagement_figures(1, 20, 7, positive=0.3333, neutral=0.3333, negative=0.3333))
    assert stats.snapshot() == {"viewers": 20, "comments_per_min": 7, "positive": 0.333, "neutral": 0.333, "negative": 0.333,
                                "source": "engagement"}, "rounded shares are renormalised, the engagement viewers win"


def test_engagement_messages_of_another_shape_are_refused_at_the_door() -> None:
    figures = engagement_figures(1, 10, 42, positive=0.6, neutral=0.2, negative=0.2)
    assert read_engagement_live(figures) == figures
    assert read_engagement_live({**figures, "viewers": True}) is None
    assert read_engagement_live({**figures, "sentiment": {"positive": 0.6}}) is None
    assert read_engagement_live({"session_id": 1, "comments_per_min": 42, "sentiment": {"positive": 1}}) is None


def test_viewers_add_up_over_channels_and_backfill_is_not_a_spike() -> None:
    now = [1_800_000_000.0]
    stats = LiveStats(clock=lambda: now[0])
    stats.add_viewers(viewers(1000, "a"))
    stats.add_viewers(viewers(250, "b", "kuaishou"))
    stats.add_viewers(viewers(1200, "a"))
    assert read_chat_stored(chat("x", kind="viewers", viewers=True, channel="c")) is None  # a bool is refused at the door
    from datetime import UTC, datetime

    def at(seconds_ago: float) -> str:
        return datetime.fromtimestamp(now[0] - seconds_ago, UTC).isoformat()

    for ago in (300, 200, 90, 30, 10):
        stats.add_chat(chat("好", ts=at(ago)))
    stats.add_chat(chat("好", ts="garbage"))
    snapshot = stats.snapshot()
    assert snapshot["viewers"] == 1450 and snapshot["comments_per_min"] == 3
