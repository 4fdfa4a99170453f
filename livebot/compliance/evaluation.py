"""Per-verdict precision and recall of the guard on labelled cases (``{"text","verdict","rule"}``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from livebot.compliance.engine import RuleSet

VERDICTS = ("block", "warn", "ok")


@dataclass(frozen=True, slots=True)
class Case:
    text: str
    verdict: str
    rule: str | None


@dataclass(frozen=True, slots=True)
class Scores:
    """Precision/recall per verdict, rule agreement on hits, and the misjudged cases."""

    total: int
    precision: Mapping[str, float]
    recall: Mapping[str, float]
    support: Mapping[str, int]
    rule_agreement: float
    misses: tuple[tuple[Case, str], ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "precision": dict(self.precision),
            "recall": dict(self.recall),
            "support": dict(self.support),
            "rule_agreement": self.rule_agreement,
        }


def read_cases(lines: Iterable[bytes | str]) -> list[Case]:
    """Cases from JSON lines; a malformed line raises ValueError naming its number."""
    cases = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = orjson.loads(line)
        except orjson.JSONDecodeError as err:
            raise ValueError(f"line {number}: invalid JSON: {err}") from err
        if not isinstance(raw, dict) or not isinstance(raw.get("text"), str) or raw.get("verdict") not in VERDICTS:
            raise ValueError(f'line {number}: expected {{"text": str, "verdict": block|warn|ok}}')
        rule = raw.get("rule")
        cases.append(Case(raw["text"], raw["verdict"], rule if isinstance(rule, str) else None))
    return cases


def evaluate(rules: RuleSet, cases: list[Case]) -> Scores:
    """Score ``rules`` on ``cases``."""
    predicted: list[str] = []
    rule_hits = rule_total = 0
    misses: list[tuple[Case, str]] = []
    for case in cases:
        result = rules.check(case.text)
        predicted.append(result.verdict)
        if result.verdict != case.verdict:
            misses.append((case, result.verdict))
        if case.rule and result.verdict == case.verdict != "ok":
            rule_total += 1
            rule_hits += any(f.rule == case.rule for f in result.findings)
    precision, recall, support = {}, {}, {}
    for verdict in VERDICTS:
        tp = sum(1 for case, guess in zip(cases, predicted, strict=True) if guess == verdict == case.verdict)
        guessed = sum(1 for guess in predicted if guess == verdict)
        actual = sum(1 for case in cases if case.verdict == verdict)
        precision[verdict] = tp / guessed if guessed else 1.0
        recall[verdict] = tp / actual if actual else 1.0
        support[verdict] = actual
    return Scores(len(cases), precision, recall, support, rule_hits / rule_total if rule_total else 1.0, tuple(misses))
