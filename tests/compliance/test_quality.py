"""Quality floors on the labelled sets: the issue's floors on the dev set and on an independent set.

The independent set (``fixtures/independent.jsonl``) was written from the fact sheet's rule
categories as real-world phrasings and dodges, not from the rules' wording; its first blind
figures are in docs/compliance.md. Both sets are now also used in development, so these floors
guard against regressions; they do not measure unseen text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from livebot.compliance.engine import default_rules
from livebot.compliance.evaluation import evaluate, read_cases

DEV = Path(__file__).resolve().parents[1] / "fixtures" / "compliance" / "dev.jsonl"
INDEPENDENT = Path(__file__).resolve().parent / "fixtures" / "independent.jsonl"


@pytest.mark.parametrize("path", [DEV, INDEPENDENT], ids=["dev", "independent"])
def test_labelled_set_meets_the_floors(path: Path) -> None:
    cases = read_cases(path.read_bytes().splitlines())
    assert len(cases) >= 100
    scores = evaluate(default_rules(), cases)
    assert scores.recall["block"] >= 0.95, scores.misses
    assert scores.precision["block"] >= 0.90, scores.misses
    assert scores.recall["ok"] >= 0.90, scores.misses  # allowed factual statements passed
    assert scores.rule_agreement >= 0.90


BATCH6 = Path(__file__).resolve().parent / "fixtures" / "independent_batch6.jsonl"


def test_sixth_blind_batch_keeps_its_after_level() -> None:
    """Batch 6 was scored blind first (block R 0.757, P 0.933, allowed 0.875: docs/compliance.md);
    after the rules were generalised by category it scored 1.000 on all three. Floors: that minus 0.03."""
    cases = read_cases(BATCH6.read_bytes().splitlines())
    assert len(cases) >= 100
    assert {case.rule for case in cases if case.verdict == "block"} >= {rule.category for rule in default_rules().rules} - {
        "unsubstantiated-claim", "infant-promotion"}  # the two rules that only warn
    scores = evaluate(default_rules(), cases)
    assert scores.recall["block"] >= 0.97, scores.misses
    assert scores.precision["block"] >= 0.97, scores.misses
    assert scores.recall["ok"] >= 0.97, scores.misses


def test_independent_set_covers_every_rule_and_the_dodges() -> None:
    cases = read_cases(INDEPENDENT.read_bytes().splitlines())
    labelled = {case.rule for case in cases if case.rule}
    assert labelled == {rule.category for rule in default_rules().rules}
    blocked = [case.text for case in cases if case.verdict == "block"]
    # Dodges the held-out set is said to use: spacing, emoji, pinyin, Traditional, full width.
    for marker in (" ", "🌟", "myl", "寶", "ｙ", "mu乳", "."):
        assert any(marker in text for text in blocked), marker


def test_every_fact_sheet_rule_id_is_covered() -> None:
    categories = {rule.category for rule in default_rules().rules}
    labelled = {case.rule for case in read_cases(DEV.read_bytes().splitlines()) if case.rule}
    assert labelled <= categories
    assert len(categories) == 14


FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.mark.parametrize("name, floors", [
    ("independent_batch9.jsonl", (0.89, 0.91, 0.87)),
    ("independent_batch10.jsonl", (0.84, 0.84, 0.86)),
])
def test_the_standing_blind_batches_keep_their_level(name: str, floors: tuple[float, float, float]) -> None:
    """Batches 9 and 10 are in no fit and no rule was written from them (docs/compliance.md, "The learned layer").

    With the shipped layer, block R / block P / allowed passed: batch 9 0.925 / 0.949 / 0.909, batch 10
    0.875 / 0.875 / 0.891 (the rules alone: 0.713 / 0.934 / 0.909 and 0.672 / 0.860 / 0.906).
    Floors: those figures minus about 0.03.
    """
    cases = read_cases((FIXTURES / name).read_bytes().splitlines())
    assert len(cases) == 160
    scores = evaluate(default_rules(), cases)
    recall, precision, allowed = floors
    assert scores.recall["block"] >= recall, scores.misses
    assert scores.precision["block"] >= precision, scores.misses
    assert scores.recall["ok"] >= allowed, scores.misses
