"""Sentiment rules: lexicon, negation, degree, sarcasm, emoji, questions."""

from __future__ import annotations

from pathlib import Path

import pytest

from livebot.sentiment.lexicon import SentimentLexiconError, load_sentiment_lexicon
from livebot.sentiment.model import SentimentModel

MODEL = SentimentModel()


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("看完放心了", "positive"),
        ("必须支持", "positive"),
        ("冲冲冲", "positive"),
        ("靠谱", "positive"),
        ("国产奶粉可以了👍", "positive"),
        ("不放心", "negative"),
        ("一点也不放心", "negative"),
        ("智商税", "negative"),
        ("客服不回", "negative"),
        ("太贵了", "negative"),
        ("不靠谱", "negative"),
        ("有点贵", "negative"),
        ("不是不放心，就是想问下批次号在哪看", "neutral"),
        ("不是不放心，是看完更放心了", "positive"),
        ("喝了没有不适应，挺好的", "positive"),
        ("呵呵，直播里当然都说好", "negative"),
        ("就这？", "negative"),
        ("真行，发货等了十天", "negative"),
        ("可以用开水冲吗", "neutral"),
        ("几点开播", "neutral"),
        ("😡", "negative"),
        ("❤️", "positive"),
        ("[赞][赞]", "positive"),
        ("[发怒]", "negative"),
        ("🤔", "neutral"),
        ("", "neutral"),
        ("冲奶的水多少度", "neutral"),
    ],
)
def test_labels(text: str, label: str) -> None:
    assert MODEL.analyze(text).label == label


def test_score_range_and_sign() -> None:
    assert 0 < MODEL.analyze("非常满意").score <= 1
    assert -1 <= MODEL.analyze("太失望了，再也不买了").score < 0
    assert MODEL.analyze("收到").score == 0


def test_degree_words_strengthen() -> None:
    assert MODEL.analyze("非常满意").score > MODEL.analyze("满意").score > MODEL.analyze("有点满意").score


def test_hostile_input() -> None:
    for text in ("x" * 5000, "\x00\x01", "<script>", "不" * 300, "👍" * 500):
        result = MODEL.analyze(text)
        assert -1 <= result.score <= 1


def test_bad_lexicon_file(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.txt"
    path.write_text("放心 1.5\n", encoding="utf-8")
    with pytest.raises(SentimentLexiconError, match="before any"):
        load_sentiment_lexicon(path)
    path.write_text("[positive]\n放心 lots\n", encoding="utf-8")
    with pytest.raises(SentimentLexiconError, match=":2:"):
        load_sentiment_lexicon(path)


@pytest.mark.parametrize("text", ["不是不好喝", "不能不夸", "没有不满意的", "没不好"])
def test_double_negation_affirms_in_the_lexicon_and_the_full_model(text: str) -> None:
    lexicon_only = SentimentModel(learned=None)
    assert lexicon_only.analyze(text).label == "positive"
    assert MODEL.analyze(text).label == "positive"


def test_a_single_negation_still_turns_praise() -> None:
    assert SentimentModel(learned=None).analyze("不好喝").label == "negative"
    assert SentimentModel(learned=None).analyze("不是不放心").label == "neutral"  # a denial frame


def test_cached_readings_do_not_depend_on_earlier_messages() -> None:
    """Clause and n-gram readings are cached per text: the same text reads the same after others."""
    model = SentimentModel()
    first = model.analyze("不是不好喝，就是有点贵")
    for text in ("太好喝了", "不好喝", "就是有点贵", "不是不好喝"):
        model.analyze(text)
    assert model.analyze("不是不好喝，就是有点贵") == first
    assert SentimentModel().analyze("不是不好喝，就是有点贵") == first
