"""Quality targets on phrasings written without looking at the engine (fail on regression).

``questions_unseen.jsonl`` and ``sentiment_unseen.jsonl`` were written from the knowledge
base before any tuning; ``questions_unseen_hard.jsonl`` was written later from the answers
(not the aliases) to probe paraphrases (its odd lines then guided error analysis, so it has
a lower bar); ``questions_unseen_blind.jsonl`` was written last, in the noisy style of live
chat, and evaluated once. The dev sets are the shared ones.
"""

from __future__ import annotations

import pytest

from livebot.faq.enrich import Enricher
from livebot.faq.evaluation import FaqReport, evaluate_faq

from .conftest import read_jsonl


@pytest.fixture(scope="module")
def unseen(enricher: Enricher) -> FaqReport:
    return evaluate_faq(enricher, read_jsonl("questions_unseen.jsonl"))


def test_fixture_sizes() -> None:
    assert len(read_jsonl("questions_unseen.jsonl")) >= 150
    assert len(read_jsonl("sentiment_unseen.jsonl")) >= 120


def test_unseen_top1(unseen: FaqReport) -> None:
    assert unseen.top1 >= 0.80


def test_unseen_top3(unseen: FaqReport) -> None:
    assert unseen.top3 >= 0.93


def test_unseen_abstention(unseen: FaqReport) -> None:
    assert unseen.abstention >= 0.85


def test_unseen_question_detection(unseen: FaqReport) -> None:
    assert unseen.qd_f1 >= 0.92


def test_dev_set(enricher: Enricher) -> None:
    report = evaluate_faq(enricher, read_jsonl("questions_dev.jsonl"))
    assert report.top1 >= 0.85 and report.top3 >= 0.9 and report.abstention >= 0.9 and report.qd_f1 >= 0.95


def test_hard_paraphrases(enricher: Enricher) -> None:
    report = evaluate_faq(enricher, read_jsonl("questions_unseen_hard.jsonl"))
    assert report.top1 >= 0.65 and report.top3 >= 0.7 and report.abstention >= 0.8


def test_blind_set(enricher: Enricher) -> None:
    report = evaluate_faq(enricher, read_jsonl("questions_unseen_blind.jsonl"))
    assert report.top1 >= 0.85 and report.abstention >= 0.85 and report.qd_f1 >= 0.95
