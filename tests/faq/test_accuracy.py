"""Quality targets on phrasings written without looking at the engine (fail on regression).

``questions_unseen.jsonl`` and ``sentiment_unseen.jsonl`` were written from the knowledge
base before any tuning; ``questions_unseen_hard.jsonl`` was written later from the answers
(not the aliases) to probe paraphrases (its errors then guided error analysis by category);
``questions_unseen_blind.jsonl`` was written in the noisy style of live chat.
``questions_unseen_v2.jsonl`` (live-chat paraphrases, symptoms described in the viewer's own
words, typos, Traditional, pinyin initials, context before the question, plus chatter and
questions the knowledge base cannot answer) was written before the concept lexicon existed
and evaluated exactly twice: before (top-1 0.73, top-3 0.73, abstention 0.89) and after the
work (top-1 0.88, top-3 0.88, abstention 0.95, question-detection F1 0.997). Every bar sits a
little below the measured value, so a regression fails. The dev set is the shared one.
"""

from __future__ import annotations

import pytest

from livebot.faq.enrich import Enricher
from livebot.faq.evaluation import FaqReport, evaluate_faq

from .conftest import read_jsonl


@pytest.fixture(scope="module")
def unseen(enricher: Enricher) -> FaqReport:
    return evaluate_faq(enricher, read_jsonl("questions_unseen.jsonl"))


@pytest.fixture(scope="module")
def unseen_v2(enricher: Enricher) -> FaqReport:
    return evaluate_faq(enricher, read_jsonl("questions_unseen_v2.jsonl"))


def test_fixture_sizes() -> None:
    assert len(read_jsonl("questions_unseen.jsonl")) >= 150
    assert len(read_jsonl("sentiment_unseen.jsonl")) >= 120
    v2 = read_jsonl("questions_unseen_v2.jsonl")
    assert len(v2) >= 150
    assert sum(1 for case in v2 if case["faq_id"]) >= 110
    assert sum(1 for case in v2 if not case["faq_id"]) >= 40


def test_unseen_top1(unseen: FaqReport) -> None:
    assert unseen.top1 >= 0.92


def test_unseen_top3(unseen: FaqReport) -> None:
    assert unseen.top3 >= 0.93


def test_unseen_abstention(unseen: FaqReport) -> None:
    assert unseen.abstention >= 0.93


def test_unseen_question_detection(unseen: FaqReport) -> None:
    assert unseen.qd_f1 >= 0.97


def test_unseen_v2_top1(unseen_v2: FaqReport) -> None:
    assert unseen_v2.top1 >= 0.86


def test_unseen_v2_top3(unseen_v2: FaqReport) -> None:
    # Measured 0.88: the 0.93 target is not reached on this set (misses are abstentions).
    assert unseen_v2.top3 >= 0.86


def test_unseen_v2_abstention(unseen_v2: FaqReport) -> None:
    assert unseen_v2.abstention >= 0.92


def test_unseen_v2_question_detection(unseen_v2: FaqReport) -> None:
    assert unseen_v2.qd_f1 >= 0.97


def test_dev_set(enricher: Enricher) -> None:
    report = evaluate_faq(enricher, read_jsonl("questions_dev.jsonl"))
    assert report.top1 >= 0.93 and report.top3 >= 0.95 and report.abstention >= 0.95 and report.qd_f1 >= 0.97


def test_hard_paraphrases(enricher: Enricher) -> None:
    report = evaluate_faq(enricher, read_jsonl("questions_unseen_hard.jsonl"))
    assert report.top1 >= 0.86 and report.top3 >= 0.88 and report.abstention >= 0.9 and report.qd_f1 >= 0.97


def test_blind_set(enricher: Enricher) -> None:
    report = evaluate_faq(enricher, read_jsonl("questions_unseen_blind.jsonl"))
    assert report.top1 >= 0.93 and report.top3 >= 0.93 and report.abstention >= 0.9 and report.qd_f1 >= 0.97
