"""The aggregation rules on their own: buckets, counting rules, attribution, percentiles, viewers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from livebot.engagement.attribution import Attributor, Change
from livebot.engagement.figures import AskFacts, EventFacts, Key, fold, minute_of, user_key
from livebot.engagement.report import nearest_rank, viewer_series

T = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
NOBODY = Attributor([])


def event(seconds: float, kind: str = "comment", user: str = "u1", platform: str = "douyin", **fields: object) -> EventFacts:
    base = {"amount": None, "value": None, "viewers": None, "hidden": False, "flags": (), "label": None, "score": None}
    base.update(fields)
    return EventFacts(T + timedelta(seconds=seconds), platform, kind, user, **base)  # type: ignore[arg-type]


def test_minute_buckets_are_utc_whatever_the_offset() -> None:
    beijing = datetime(2026, 11, 24, 20, 0, 59, 999000, tzinfo=timezone(timedelta(hours=8)))
    kolkata = datetime(2026, 11, 24, 17, 30, 1, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert minute_of(beijing) == datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert minute_of(kolkata) == datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert minute_of(beijing).tzinfo == UTC


def test_counting_rules() -> None:
    buckets = fold([
        event(1, label="positive", score=0.5),
        event(2, user="u2", hidden=True, flags=("merged",), label="positive", score=0.5),
        event(3, user="u3", hidden=True, flags=("ad",), label="neutral", score=0.0),
        event(4, user="u4", hidden=True, flags=("merged", "contact")),
        event(5, "like", user="u5", amount=7),
        event(6, "like", user="u5", amount=None),
        event(7, "gift", user="u6", amount=3, value=300),
        event(8, "gift", user="u6", amount=0, value=-5),
        event(9, "follow", user="u7"), event(10, "share", user="u7"), event(11, "enter", user="u8"),
        event(12, "enter", user=""),
    ], [], NOBODY)
    [(key, b)] = buckets.items()
    assert key == Key(T, "douyin", 0, 0)
    assert (b.comments, b.merged, b.hidden) == (2, 1, 2)
    assert b.chatter_keys == {user_key("douyin", "u1"), user_key("douyin", "u2")}
    assert len(b.visitor_keys) == 6  # u1 u2 u5 u6 u7 u8; blocked spammers are not visitors
    assert (b.likes, b.gifts, b.gift_value, b.follows, b.shares, b.enters) == (8, 4, 300, 1, 1, 2)
    assert (b.positive, b.neutral, b.negative, b.sentiment_n, b.sentiment_sum) == (2, 0, 0, 2, 1.0)


def test_same_user_on_two_platforms_is_two_chatters() -> None:
    buckets = fold([event(1, user="u1"), event(2, user="u1", platform="kuaishou"), event(3, user="u1")], [], NOBODY)
    assert sum(len(b.chatter_keys) for b in buckets.values()) == 2
    assert user_key("douyin", "u1") != user_key("kuaishou", "u1")
    assert len(user_key("douyin", "x" * 500)) == 16 and "u1" not in user_key("douyin", "u1")


def test_viewers_latest_and_peak_in_a_bucket() -> None:
    [b] = fold([event(0, "viewers", user="", viewers=900), event(20, "viewers", user="", viewers=1500),
                event(40, "viewers", user="", viewers=1100), event(50, "viewers", user="", viewers=-3)], [], NOBODY).values()
    assert (b.viewers_last, b.viewers_peak, b.viewers_samples) == (1100, 1500, 3)


def test_asks_bucket_by_asked_time_with_response_ms() -> None:
    asks = [AskFacts(T + timedelta(seconds=5), "douyin", T + timedelta(seconds=35, milliseconds=400)),
            AskFacts(T + timedelta(seconds=65), "douyin", None)]
    buckets = fold([], asks, NOBODY)
    first, second = buckets[Key(T, "douyin", 0, 0)], buckets[Key(T + timedelta(minutes=1), "douyin", 0, 0)]
    assert (first.questions, first.answered, first.response_ms) == (1, 1, [30400])
    assert (second.questions, second.answered, second.response_ms) == (1, 0, [])


def test_attribution_switches_at_the_instant_and_ends() -> None:
    changes = [Change(T, "segment", 11, 1), Change(T + timedelta(minutes=10), "segment", 12, 2),
               Change(T + timedelta(minutes=15), "site", 12, 1),
               Change(T + timedelta(minutes=20), "status", None, None, ended=True)]
    a = Attributor(changes)
    assert a.on_air(T - timedelta(seconds=1)) == a.on_air(T + timedelta(hours=1))  # before and after: nothing
    assert (a.on_air(T).segment_id, a.on_air(T).site_id) == (11, 1)
    assert (a.on_air(T + timedelta(minutes=10)).segment_id, a.on_air(T + timedelta(minutes=10)).site_id) == (12, 2)
    assert (a.on_air(T + timedelta(minutes=16)).segment_id, a.on_air(T + timedelta(minutes=16)).site_id) == (12, 1)
    assert a.on_air(T + timedelta(minutes=20)).segment_id == 0
    longer = Attributor([*changes[:2], Change(T + timedelta(minutes=12), "site", 12, 3), *changes[2:]])
    assert a.first_difference(longer) == T + timedelta(minutes=12)
    assert a.first_difference(Attributor(changes)) is None


def test_nearest_rank_percentile() -> None:
    assert nearest_rank([10.0, 30.0, 90.0], 0.9) == 90.0
    assert nearest_rank([float(i) for i in range(1, 11)], 0.9) == 9.0
    assert nearest_rank([5.0], 0.9) == 5.0


def test_viewer_series_carries_each_platform_forward() -> None:
    minutes = [T + timedelta(minutes=i) for i in range(4)]

    def row(minute: int, platform: str, last: int, peak: int) -> dict[str, object]:
        return {"minute": minutes[minute], "platform": platform, "viewers_samples": 1, "viewers_last": last,
                "viewers_last_at": minutes[minute] + timedelta(seconds=30), "viewers_peak": peak}

    series = viewer_series([row(0, "douyin", 1000, 1200), row(1, "kuaishou", 500, 500), row(3, "douyin", 800, 900)], minutes)
    assert series.last == [1000, 1500, 1500, 1300]
    assert series.peak == [1200, 1500, 1500, 1400]
    assert series.by_platform["kuaishou"] == [None, 500, 500, 500]
    assert series.platform_peak == {"douyin": 1200, "kuaishou": 500}
