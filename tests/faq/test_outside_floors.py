"""Quality floors on the outside-style sets (questions_dev2, sentiment_dev2): fail on regression.

These sets were written independently of the knowledge base's wording. Calibration and the
learned sentiment layer used only their ``tune`` half (``evaluation.split_half``); the ``held``
half is the honest figure. Floors sit a little under the measured values (docs/benchmarks-nlp.md).
"""

from __future__ import annotations

import pytest

from livebot.faq.enrich import Enricher
from livebot.faq.evaluation import CasesError, evaluate_faq, read_split_cases, split_half
from livebot.sentiment.evaluation import evaluate_sentiment
from livebot.sentiment.model import SentimentModel
from tests.faq.support import FIXTURES, read_jsonl

QUESTIONS = str(FIXTURES / "questions_dev2.jsonl")
SENTIMENT = str(FIXTURES / "sentiment_dev2.jsonl")


@pytest.mark.parametrize(
    ("spec", "top1", "top3", "abstention", "f1"),
    # Measured with the learned channel (round 5): held 0.757 / 0.831 / 0.915 / 0.961 (out of
    # sample: the channel's examples, the calibration and the card model saw only the tune half
    # and the other sets; 0.632 / 0.728 / 0.881 before); whole 0.872 / 0.911 / 0.948 / 0.977
    # (the tune half in sample; five-fold cross-validated over the whole set, channel included,
    # the fitting procedure gives 0.841 / 0.911 / 0.925).
    [(QUESTIONS, 0.81, 0.88, 0.90, 0.96), (f"{QUESTIONS}:held", 0.73, 0.80, 0.89, 0.95)],
)
def test_faq_floors(enricher: Enricher, spec: str, top1: float, top3: float, abstention: float, f1: float) -> None:
    report = evaluate_faq(enricher, read_split_cases(spec))
    assert report.top1 >= top1, report
    assert report.top3 >= top3, report
    assert report.abstention >= abstention, report
    assert report.qd_f1 >= f1, report


# Measured macro-F1: whole 0.923, held 0.821.
@pytest.mark.parametrize(("spec", "floor"), [(SENTIMENT, 0.89), (f"{SENTIMENT}:held", 0.79)])
def test_sentiment_floors(spec: str, floor: float) -> None:
    model = SentimentModel()
    report = evaluate_sentiment(lambda text: model.analyze(text).label, read_split_cases(spec, ("text", "label")))
    assert report.macro_f1 >= floor, report
    assert min(report.f1.values()) >= floor - 0.1, report


def test_halves_partition_the_set() -> None:
    cases = read_jsonl("questions_dev2.jsonl")
    tune, held = split_half(cases, "tune"), split_half(cases, "held")
    assert len(tune) + len(held) == len(cases)
    assert not {c["text"] for c in tune} & {c["text"] for c in held}
    assert 0.4 < len(tune) / len(cases) < 0.6
    assert split_half(cases, "held") == held  # fixed by the text, not by chance


def test_unknown_half_is_an_error() -> None:
    with pytest.raises(CasesError):
        split_half(read_jsonl("questions_dev2.jsonl"), "train")


def test_half_suffix_only_when_known(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "odd:name.jsonl"
    path.write_text('{"text": "奶源在哪"}\n', encoding="utf-8")
    assert read_split_cases(str(path)) == [{"text": "奶源在哪"}]
