"""Sentiment quality on the shared dev set and on phrasings written before tuning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from livebot.sentiment.evaluation import evaluate_sentiment
from livebot.sentiment.model import SentimentModel

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "faq"


def cases(name: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("name", ["sentiment_unseen.jsonl", "sentiment_dev.jsonl"])
def test_macro_f1(name: str) -> None:
    model = SentimentModel()
    report = evaluate_sentiment(lambda text: model.analyze(text).label, cases(name))
    assert report.macro_f1 >= 0.80
    assert min(report.f1.values()) >= 0.7
