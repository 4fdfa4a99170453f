"""Moderation: flood merging keeps every event countable; spam and rate limits hide, never delete."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from livebot.app import create_app
from livebot.appkeys import BUS
from livebot.chat.event import ChatEvent, ChatUser
from livebot.chat.moderation import CLEAN, Moderator
from livebot.chat.routing import NO_ROUTE, Route
from livebot.chat.settings import ModerationSettings
from livebot.config import Config, config_from_mapping
from livebot.errors import ConfigError
from livebot.topics import CHAT_STORED
from tests.chat.ingest_helpers import event, post_events, stored
from tests.support import eventually

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
_n = iter(range(1, 10**6))


def chat(text: str, user: str = "u1", at: float = 0.0, kind: str = "comment", channel: str = "room") -> ChatEvent:
    return ChatEvent(source="s", id=f"e{next(_n)}", platform="douyin", channel=channel, kind=kind,
                     ts=T0 + timedelta(seconds=at), user=ChatUser(user, "名"), text=text)


@pytest.fixture
def moderator() -> Moderator:
    return Moderator(ModerationSettings(banned_words=("竞品X",)))


def test_plain_comments_are_clean(moderator: Moderator) -> None:
    assert moderator.judge(chat("奶源是哪里的？"), NO_ROUTE) is CLEAN
    assert moderator.judge(chat("宝宝8个月喝几段", user="u2", at=1), NO_ROUTE) is CLEAN


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("看这里 https://cheap-milk.example/x", "link"),
        ("www.milk-cheap.top 领券", "link"),
        ("去 milkshop.cn 买更便宜", "link"),
        ("加V：abc12345 私聊", "contact"),
        ("vx: Milk_Mom2024", "contact"),
        ("微信号是 wxid_abc123", "contact"),
        ("电话 138 0013 8000", "contact"),
        ("call 13800138000", "contact"),
        ("１３８００１３８０００", "contact"),
        ("QQ 12345678 进群", "contact"),
        ("扣扣：87654321", "contact"),
        ("专业代购进口奶粉", "ad"),
        ("兼职日结", "ad"),
        ("竞品X更好喝", "banned_word"),
    ],
)
def test_spam_is_flagged_and_hidden(moderator: Moderator, text: str, flag: str) -> None:
    verdict = moderator.judge(chat(text), NO_ROUTE)
    assert verdict.hidden is True
    assert flag in verdict.flags


@pytest.mark.parametrize("text", ["一段适合几个月？", "水温40度可以吗", "3段和2段有啥区别", "批号QH20261125B01怎么查", "666", "8.5折吗"])
def test_ordinary_numbers_and_codes_are_not_spam(moderator: Moderator, text: str) -> None:
    assert not moderator.judge(chat(text, user=text), NO_ROUTE).flags


def test_flood_across_users_merges_into_the_first(moderator: Moderator) -> None:
    head = chat("666")
    assert moderator.judge(head, NO_ROUTE) is CLEAN
    for i, text in enumerate(["666", "6666666", "６６６", "666!!", " 666 "]):
        verdict = moderator.judge(chat(text, user=f"x{i}", at=1 + i), NO_ROUTE)
        assert verdict.hidden and verdict.flags == ("merged",)
        assert verdict.merged_into == ("s", head.id)


def test_cross_user_window_is_fixed_from_the_head(moderator: Moderator) -> None:
    first = chat("主播好美", user="a")
    moderator.judge(first, NO_ROUTE)
    assert moderator.judge(chat("主播好美", user="b", at=9), NO_ROUTE).merged_into == ("s", first.id)
    later = chat("主播好美", user="c", at=11)
    assert moderator.judge(later, NO_ROUTE) is CLEAN
    assert moderator.judge(chat("主播好美", user="d", at=12), NO_ROUTE).merged_into == ("s", later.id)


def test_same_user_repeat_merges_within_the_longer_user_window(moderator: Moderator) -> None:
    first = chat("奶源是哪里的？", user="mom")
    moderator.judge(first, NO_ROUTE)
    assert moderator.judge(chat("奶源是哪里的", user="mom", at=50), NO_ROUTE).merged_into == ("s", first.id)
    assert moderator.judge(chat("奶源是哪里的", user="dad", at=50), NO_ROUTE) is CLEAN


def test_floods_are_scoped_by_session_or_channel(moderator: Moderator) -> None:
    moderator.judge(chat("来了", user="a", channel="room-1"), NO_ROUTE)
    assert moderator.judge(chat("来了", user="b", channel="room-2", at=1), NO_ROUTE) is CLEAN
    live = Route(session_id=7)
    head = chat("打卡", user="a", channel="room-1")
    moderator.judge(head, live)
    assert moderator.judge(chat("打卡", user="b", channel="room-2", at=1), live).merged_into == ("s", head.id)


def test_retried_head_is_not_merged_into_itself(moderator: Moderator) -> None:
    head = chat("666")
    moderator.judge(head, NO_ROUTE)
    assert moderator.judge(head, NO_ROUTE) is CLEAN


def test_likes_gifts_and_viewers_pass_untouched(moderator: Moderator) -> None:
    for _ in range(30):
        assert moderator.judge(chat("", kind="like"), NO_ROUTE) is CLEAN


def test_rate_limit_flags_the_excess(moderator: Moderator) -> None:
    verdicts = [moderator.judge(chat(f"第{i}条不同的消息", user="fast", at=i * 0.5), NO_ROUTE) for i in range(12)]
    assert [v.flags for v in verdicts[:10]] == [()] * 10
    assert verdicts[10].flags == ("rate_limited",) and verdicts[10].hidden
    assert moderator.judge(chat("过一会儿再说", user="fast", at=30), NO_ROUTE) is CLEAN


def state(moderator: Moderator) -> tuple[object, ...]:
    """What moderation remembers (caches aside)."""
    return (dict(moderator.heads), dict(moderator.user_heads), {k: list(v) for k, v in moderator.recent.items()},
            moderator.latest)


def test_rollback_undoes_a_failed_batch_exactly(moderator: Moderator) -> None:
    old_head = chat("哈哈哈", user="a", at=0)
    moderator.judge(old_head, NO_ROUTE)
    for i in range(9):
        moderator.judge(chat(f"第{i}句", user="fast", at=1 + i * 0.1), NO_ROUTE)
    before = state(moderator)
    moderator.begin()
    new_head = chat("哈哈哈", user="b", at=30)  # replaces the expired head
    moderator.judge(new_head, NO_ROUTE)
    moderator.judge(chat("新来的", user="c", at=31), NO_ROUTE)
    for i in range(3):
        moderator.judge(chat(f"又一句{i}", user="fast", at=2 + i * 0.1), NO_ROUTE)
    moderator.judge(chat("很久以后", user="fast", at=500), NO_ROUTE)  # trims the window
    assert state(moderator) != before
    moderator.rollback()
    assert state(moderator) == before
    assert moderator.judge(chat("哈哈哈", user="d", at=5), NO_ROUTE).merged_into == ("s", old_head.id)
    assert moderator.judge(chat("第十句", user="fast", at=2), NO_ROUTE).flags == ()  # 11th would be limited


def test_commit_keeps_what_the_batch_taught(moderator: Moderator) -> None:
    moderator.begin()
    head = chat("哈哈哈", at=0)
    moderator.judge(head, NO_ROUTE)
    moderator.commit()
    assert moderator.journal is None
    assert moderator.judge(chat("哈哈哈", user="b", at=1), NO_ROUTE).merged_into == ("s", head.id)


def test_rate_window_accepts_late_and_interleaved_events(moderator: Moderator) -> None:
    """Every 4 s for 80 s, delivered as the second half first: 3 comments per 10 s is never limited."""
    times = [i * 4.0 for i in range(20)]
    order = times[10:] + times[:10]
    assert all(not moderator.judge(chat(f"第{t}秒", user="steady", at=t), NO_ROUTE).flags for t in order)


def test_rate_limit_still_catches_a_burst_delivered_out_of_order(moderator: Moderator) -> None:
    times = [i * 0.5 for i in range(12)]
    verdicts = [moderator.judge(chat(f"刷屏{t}", user="fast", at=t), NO_ROUTE) for t in reversed(times)]
    limited = [t for t, v in zip(reversed(times), verdicts, strict=True) if "rate_limited" in v.flags]
    assert limited, "12 comments in 6 s must exceed 10 per 10 s"
    assert len(moderator.recent[("s", "fast")]) == 12


def test_a_late_comment_does_not_replace_a_newer_head(moderator: Moderator) -> None:
    head = chat("666", user="a", at=100)
    moderator.judge(head, NO_ROUTE)
    assert moderator.judge(chat("666", user="b", at=80), NO_ROUTE) is CLEAN  # too old to merge, heads nothing
    assert moderator.judge(chat("666", user="c", at=105), NO_ROUTE).merged_into == ("s", head.id)


def test_rate_window_per_viewer_is_bounded() -> None:
    moderator = Moderator(ModerationSettings(rate_limit_messages=3, rate_limit_seconds=10_000))
    for i in range(2000):
        moderator.judge(chat(f"消息{i}", user="spammer", at=i), NO_ROUTE)
    assert len(moderator.recent[("s", "spammer")]) <= 256


def test_state_stays_bounded() -> None:
    moderator = Moderator(ModerationSettings(max_tracked_keys=100))
    for i in range(5000):
        moderator.judge(chat(f"消息{i}", user=f"u{i}", at=i), NO_ROUTE)
    assert len(moderator.heads) + len(moderator.user_heads) <= 200
    assert len(moderator.recent) < 100


def test_pruning_forgets_only_what_expired_and_a_refreshed_head_lives_on(moderator: Moderator) -> None:
    """Tables are kept in order of last update, so pruning stops at the first live entry; state is
    kept for the longest window plus 60 s of lateness (LATE_SECONDS)."""
    moderator.judge(chat("奶源在哪", user="a", at=0), NO_ROUTE)
    moderator.judge(chat("几段合适", user="b", at=5), NO_ROUTE)
    moderator.judge(chat("奶源在哪？", user="c", at=20), NO_ROUTE)  # past the 10 s window: a new head, refreshed
    moderator.judge(chat("冲泡水温", user="d", at=130), NO_ROUTE)
    moderator.prune()
    texts = {key[-1] for key in moderator.heads}
    assert texts == {"奶源在哪", "冲泡水温"}  # 几段合适 (t=5) expired; 奶源在哪 lives on from t=20
    assert {key[1] for key in moderator.recent} == {"d"}  # rate windows idle for 10 s (+60 s lateness) are gone
    assert moderator.judge(chat("奶源在哪", user="e", at=25), NO_ROUTE).merged_into is not None


def test_disabled_moderation_flags_nothing() -> None:
    moderator = Moderator(ModerationSettings(enabled=False))
    assert moderator.judge(chat("加V abc12345"), NO_ROUTE) is CLEAN


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"merge_window_seconds": -1}, "moderation.merge_window_seconds: must not be negative"),
        ({"rate_limit_messages": -2}, "moderation.rate_limit_messages"),
        ({"banned_words": ["ok", " "]}, "moderation.banned_words[1]: must not be empty"),
        ({"banned_words": "x"}, "moderation.banned_words: expected an array"),
        ({"spam": True}, "moderation.spam: unknown key"),
    ],
)
def test_settings_errors_name_the_key(table: dict[str, Any], message: str) -> None:
    config = config_from_mapping({"moderation": table})
    with pytest.raises(ConfigError) as info:
        config.section("moderation", ModerationSettings)
    assert str(info.value).startswith(message), str(info.value)


async def test_merged_floods_are_stored_and_counted_on_the_head(client: TestClient) -> None:
    messages: list[dict[str, Any]] = []

    async def collect(message: dict[str, Any]) -> None:
        messages.append(message)

    client.app[BUS].subscribe(CHAT_STORED, collect, name="test")
    flood = [event(text="666", user={"id": f"u{i}", "name": "名"}, ts=1795608062000 + i * 100) for i in range(20)]
    assert (await post_events(client, flood[:5]))[1]["accepted"] == 5
    assert (await post_events(client, flood[5:] + [flood[0]]))[1] == {"accepted": 15, "duplicates": 1}
    rows = await stored(client)
    assert len(rows) == 20
    head, repeats = rows[0], rows[1:]
    assert (head.hidden, head.flags, head.merged_count) == (False, [], 20)
    assert all(r.hidden and r.flags == ["merged"] and r.merged_count == 0 for r in repeats)
    assert sum(r.merged_count for r in rows) == 20
    await eventually(lambda: len(messages) >= 20)
    assert messages[0]["merged_into"] is None
    assert messages[1]["merged_into"] == {"source": "test-hook", "id": flood[0]["id"]}


async def test_spam_is_stored_hidden_with_flags(client: TestClient) -> None:
    await post_events(client, [event(text="加V：abc12345 低价代购"), event(text="奶源在哪")])
    rows = await stored(client)
    assert rows[0].hidden is True and set(rows[0].flags) == {"contact", "ad"}
    assert rows[1].hidden is False and rows[1].flags == []


async def test_banned_words_come_from_config(aiohttp_client: Any, make_config: Callable[..., Config]) -> None:
    client = await aiohttp_client(create_app(make_config(moderation={"banned_words": ["某竞品"], "ad_words": []})))
    await post_events(client, [event(text="某竞品奶粉更便宜"), event(text="代购", user={"id": "u9"})])
    rows = await stored(client)
    assert rows[0].flags == ["banned_word"] and rows[0].hidden
    assert rows[1].flags == [] and not rows[1].hidden
