"""Quality floor on the labelled dev set (the held-out set is of the same style; floors are the issue's)."""

from __future__ import annotations

from pathlib import Path

from livebot.compliance.engine import default_rules
from livebot.compliance.evaluation import evaluate, read_cases

DEV = Path(__file__).resolve().parents[1] / "fixtures" / "compliance" / "dev.jsonl"


def test_dev_set_meets_the_floors() -> None:
    cases = read_cases(DEV.read_bytes().splitlines())
    assert len(cases) >= 100
    scores = evaluate(default_rules(), cases)
    assert scores.recall["block"] >= 0.95, scores.misses
    assert scores.precision["block"] >= 0.90, scores.misses
    assert scores.recall["ok"] >= 0.90, scores.misses  # allowed factual statements passed
    assert scores.rule_agreement >= 0.90


def test_every_fact_sheet_rule_id_is_covered() -> None:
    categories = {rule.category for rule in default_rules().rules}
    labelled = {case.rule for case in read_cases(DEV.read_bytes().splitlines()) if case.rule}
    assert labelled <= categories
    assert len(categories) == 14
