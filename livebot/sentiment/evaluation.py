"""Accuracy and macro-F1 of a sentiment model on labelled ``{"text", "label"}`` cases."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

LABELS = ("positive", "neutral", "negative")


@dataclass(frozen=True, slots=True)
class SentimentReport:
    """Three-class quality: accuracy, macro-F1 and F1 per label."""

    cases: int
    accuracy: float
    macro_f1: float
    f1: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        """Plain mapping for JSON output."""
        return {"cases": self.cases, "accuracy": self.accuracy, "macro_f1": self.macro_f1, "f1": self.f1}


def evaluate_sentiment(predict: Callable[[str], str], cases: Iterable[Mapping[str, Any]]) -> SentimentReport:
    """Score ``predict(text) -> label`` against the cases' labels."""
    pairs = [(str(case["label"]), predict(str(case["text"]))) for case in cases]
    f1 = {label: _f1(pairs, label) for label in LABELS}
    correct = sum(1 for gold, guess in pairs if gold == guess)
    return SentimentReport(
        cases=len(pairs),
        accuracy=round(correct / len(pairs), 4) if pairs else 0.0,
        macro_f1=round(sum(f1.values()) / len(LABELS), 4),
        f1=f1,
    )


def _f1(pairs: list[tuple[str, str]], label: str) -> float:
    true_pos = sum(1 for gold, guess in pairs if gold == label and guess == label)
    predicted = sum(1 for _, guess in pairs if guess == label)
    actual = sum(1 for gold, _ in pairs if gold == label)
    if not true_pos:
        return 0.0
    precision, recall = true_pos / predicted, true_pos / actual
    return round(2 * precision * recall / (precision + recall), 4)
