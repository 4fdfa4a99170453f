"""The learned sentiment layer: audience language the lexicon alone reads as neutral."""

from __future__ import annotations

import pytest

from livebot.sentiment.learned import (
    LABELS,
    LearnedSentiment,
    default_learned,
    features,
    fit_weights,
    naive_bayes,
    train,
)
from livebot.sentiment.model import SentimentModel

MODEL = SentimentModel()
LEXICON_ONLY = SentimentModel(learned=None)


def test_shipped_weights_load() -> None:
    assert default_learned() is not None
    assert MODEL.learned is not None and LEXICON_ONLY.learned is None


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("这些评论一看就是托", "negative"),  # planted chat
        ("怕不是摆拍的吧", "negative"),  # staged show
        ("客服两天了都没人理", "negative"),  # service complaint
        ("孩子就认这个味道", "positive"),  # praise without a textbook word
        ("😡😡", "negative"),  # emoji only
        ("🥰", "positive"),
        ("明天几点开播", "neutral"),
    ],
)
def test_audience_language(text: str, label: str) -> None:
    assert MODEL.analyze(text).label == label


def test_scores_stay_in_range_and_agree_with_the_label() -> None:
    for text in ("又是摆拍吧", "第二箱了", "收到", "", "🙂" * 500, "<b>好</b>\x00\u202e", "不是不好"):
        result = MODEL.analyze(text)
        assert -1 <= result.score <= 1
        if result.label == "positive":
            assert result.score > 0
        elif result.label == "negative":
            assert result.score < 0
        else:
            assert abs(result.score) <= 0.3


def test_fast_path_equals_feature_path() -> None:
    learned = default_learned()
    assert learned is not None
    for text in ("弹幕全是托", "宝宝喝了拉肚子，很生气", "x", ""):
        found = features(text, -1.5, True, ("😡",))
        slow = learned.probabilities(found)
        fast = learned.label_probabilities(text, -1.5, True, ("😡",))
        assert all(abs(a - b) < 1e-9 for a, b in zip(slow, fast, strict=True))


def test_training_learns_a_separable_toy_set() -> None:
    rows = [(features(text, 0.0, False, ()), label) for text, label in [
        ("甲甲甲", "positive"), ("甲甲", "positive"), ("乙乙乙", "negative"), ("乙乙", "negative"),
        ("丙丙丙", "neutral"), ("丙丙", "neutral"),
    ] * 3]
    model = LearnedSentiment(train(rows, epochs=20))
    for text, label in (("甲", "positive"), ("乙", "negative"), ("丙", "neutral")):
        probabilities = model.probabilities(features(text, 0.0, False, ()))
        assert LABELS[probabilities.index(max(probabilities))] == label


def test_without_weights_the_lexicon_decides() -> None:
    assert LEXICON_ONLY.analyze("太失望了").label == "negative"
    assert LEXICON_ONLY.analyze("收到").label == "neutral"


def test_naive_bayes_reads_ngrams_by_the_labels_they_come_with() -> None:
    rows = [
        (features("好喝", 0.0, False, ()), "positive"),
        (features("好喝啊", 0.0, False, ()), "positive"),
        (features("难喝", 0.0, False, ()), "negative"),
        (features("几点", 0.0, False, ()), "neutral"),
    ]
    reading = naive_bayes(rows, weight=1.0)
    positive, negative = LABELS.index("positive"), LABELS.index("negative")
    assert reading["好喝"][positive] > reading["好喝"][negative]
    assert reading["难"][negative] > reading["难"][positive]
    assert abs(sum(reading["喝"])) < 1e-9  # centred over the labels
    assert "lex+" not in reading and "bias" not in reading  # left to the regression


def test_fit_weights_without_naive_bayes_is_the_regression() -> None:
    rows = [(features(text, 0.0, False, ()), label) for text, label in [("好喝", "positive"), ("难喝", "negative"), ("几点", "neutral")]]
    assert fit_weights(rows, epochs=5, nb_weight=0.0) == train(rows, epochs=5)
    with_nb = fit_weights(rows, epochs=5, nb_weight=0.5)
    assert with_nb["好"] != train(rows, epochs=5).get("好")
