"""One canonical form per message: width, script, emoji, punctuation, junk characters."""

from __future__ import annotations

import pytest

from livebot.text.normalize import MAX_CHARS, normalize


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("你們的奶源是哪裡的？？？", "你们的奶源是哪里的?"),
        ("兩小時生態圈是什麼意思", "2小时生态圈是什么意思"),
        ("ＢＢ三个月喝几段！！！", "bb3个月喝几段!"),
        ("宝宝十二个月了，二段还是三段", "宝宝12个月了,2段还是3段"),
        ("一段时间以后", "一段时间以后"),
        ("哈哈哈哈哈哈哈", "哈哈哈"),
        ("1000毫升", "1000毫升"),
        ("真的吗?!?!", "真的吗?"),
        ("好吧......。。。", "好吧…"),
        ("<b>奶源</b> &amp; 价格", "奶源 & 价格"),
        ("a\x00b\u200bc\td\x7f", "a bc d"),
        ("", ""),
    ],
)
def test_normalize_text(raw: str, text: str) -> None:
    assert normalize(raw).text == text


def test_emoji_are_taken_out_and_kept() -> None:
    result = normalize("好❤️👍🏻[玫瑰][玫瑰]")
    assert result.text == "好"
    assert sorted(result.emojis) == sorted(("❤", "👍", "[玫瑰]", "[玫瑰]"))


def test_emoji_only_message() -> None:
    assert normalize("👍👍👍").text == ""


def test_long_paste_is_truncated() -> None:
    assert len(normalize("奶" * 5000).text) <= MAX_CHARS


def test_simplified_text_is_left_alone() -> None:
    # 著/乾/後 are also Simplified in some words; text without Traditional-only characters
    # must not be run through OpenCC at all.
    assert normalize("显著的效果").text == "显著的效果"
