"""Offline evaluation of the FAQ engine on labelled cases (the dev-set JSON-lines format).

A case is ``{"text": str, "faq_id": str | null, "is_question": bool}``; ``faq_id`` null marks
chatter and questions the knowledge base cannot answer, where the engine must abstain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from livebot.errors import LivebotError
from livebot.faq.enrich import Enricher


class CasesError(LivebotError):
    """A cases file is unreadable or a line is not a valid case; names the file and line."""


@dataclass(frozen=True, slots=True)
class FaqReport:
    """Ranking and question-detection quality on a set of cases."""

    cases: int
    answerable: int
    top1: float
    top3: float
    abstention: float
    qd_precision: float
    qd_recall: float
    qd_f1: float

    def as_dict(self) -> dict[str, float | int]:
        """Plain mapping for JSON output."""
        return {name: getattr(self, name) for name in self.__slots__}


def read_cases(path: str | Path, required: tuple[str, ...] = ("text",)) -> list[dict[str, Any]]:
    """JSON lines with at least the ``required`` keys; blank lines are skipped."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise CasesError(f"{path}: cannot read: {err}") from err
    cases = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            case = orjson.loads(line)
        except orjson.JSONDecodeError as err:
            raise CasesError(f"{path}:{number}: invalid JSON: {err}") from err
        if not isinstance(case, dict) or any(key not in case for key in required):
            raise CasesError(f"{path}:{number}: expected an object with {', '.join(required)}")
        cases.append(case)
    return cases


HALVES = ("tune", "held")


def split_half(cases: Sequence[Mapping[str, Any]], half: str, salt: str = "") -> list[Mapping[str, Any]]:
    """One half of a labelled set, fixed by a hash of each text (not by position or label).

    ``tune`` is the half rules and calibration may be developed on; ``held`` is the check that
    nothing was tuned on, and its figure is the honest one. A ``salt`` gives a split
    independent of the unsalted one (to split a set that is itself one half).
    """
    if half not in HALVES:
        raise CasesError(f"unknown half {half!r}: expected one of {', '.join(HALVES)}")
    wanted = HALVES.index(half)
    return [case for case in cases if hashlib.md5((salt + str(case["text"])).encode()).digest()[0] % 2 == wanted]


def read_split_cases(spec: str, required: tuple[str, ...] = ("text",)) -> list[Mapping[str, Any]]:
    """Cases of ``PATH``, or of one half of it with ``PATH:tune`` / ``PATH:held``."""
    path, _, half = spec.rpartition(":") if spec.endswith(tuple(f":{h}" for h in HALVES)) else (spec, "", "")
    cases = read_cases(path, required)
    return split_half(cases, half) if half else list(cases)


def evaluate_faq(enricher: Enricher, cases: Iterable[Mapping[str, Any]]) -> FaqReport:
    """Top-1/top-3 on answerable cases, abstention on the others, and question detection."""
    total = answerable = top1 = top3 = unanswerable = abstained = 0
    true_pos = false_pos = false_neg = 0
    for case in cases:
        total += 1
        result = enricher.enrich(str(case["text"]))
        ids = [suggestion.id for suggestion in result.suggestions]
        gold = case.get("faq_id")
        if gold:
            answerable += 1
            top1 += ids[:1] == [gold]
            top3 += gold in ids[:3]
        else:
            unanswerable += 1
            abstained += not ids
        expected = bool(case.get("is_question", bool(gold)))
        true_pos += result.is_question and expected
        false_pos += result.is_question and not expected
        false_neg += expected and not result.is_question
    precision = _ratio(true_pos, true_pos + false_pos)
    recall = _ratio(true_pos, true_pos + false_neg)
    return FaqReport(
        cases=total,
        answerable=answerable,
        top1=_ratio(top1, answerable),
        top3=_ratio(top3, answerable),
        abstention=_ratio(abstained, unanswerable),
        qd_precision=precision,
        qd_recall=recall,
        qd_f1=_ratio(2 * precision * recall, precision + recall),
    )


def _ratio(numerator: float, denominator: float) -> float:
    return round(numerator / denominator, 4) if denominator else 0.0
