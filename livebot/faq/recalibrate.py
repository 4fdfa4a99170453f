"""Learning from a stream's advisor actions: refit the confidence model, propose aliases.

Advisors' actions are labels. A card answered with entry X says "this wording asks X"; a card
answered with a free text says "a question the knowledge base cannot answer"; a dismissed
card says "chatter". ``livebot faq calibrate`` turns a session's labels (from the console's
question cards, or a JSON-lines file of them) into cases, keeps a fixed part of them back
(``evaluation.split_half``: by a hash of the text), refits the calibration on the rest with
the shipped model as prior, and prints the figures on the held-back part before and after,
with the wordings worth proposing as aliases (answered with an entry the engine did not put
first). Nothing changes by itself: the constants and aliases are for a person to apply.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from livebot.faq.calibration import fit, training_rows
from livebot.faq.enrich import Enricher
from livebot.faq.evaluation import FaqReport, evaluate_faq, split_half
from livebot.faq.kb import FaqEntry
from livebot.faq.ranking import CALIBRATION, CALIBRATION_BIAS, calibrated

ACTIONS = ("answered", "free_answer", "dismissed")
# How strongly the refit is pulled towards the shipped model (one session is a few hundred rows).
PRIOR_STRENGTH = 2.0
MAX_LABELS = 50_000
SALT = "advisor-labels:"  # a split of its own, independent of the dev sets' tune/held halves


class LabelError(ValueError):
    """A recorded label is not usable; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Recalibration:
    """Before/after on the held-back labels, the refit constants and proposed aliases."""

    fitted_on: int
    held_back: int
    before: FaqReport
    after: FaqReport
    log_loss_before: float
    log_loss_after: float
    weights: tuple[float, ...]
    bias: float
    aliases: tuple[tuple[str, str], ...]


def case_from_label(label: Mapping[str, Any]) -> dict[str, Any]:
    """A dev-set style case from one advisor action (``{"text", "action", "faq_id"}``)."""
    text, action, faq_id = label.get("text"), label.get("action"), label.get("faq_id")
    if not isinstance(text, str) or not text.strip():
        raise LabelError("label without text")
    if action not in ACTIONS:
        raise LabelError(f"unknown action {action!r}: expected one of {', '.join(ACTIONS)}")
    if action == "answered":
        if not isinstance(faq_id, str) or not faq_id:
            raise LabelError("an answered label needs faq_id")
        return {"text": text, "faq_id": faq_id, "is_question": True}
    return {"text": text, "faq_id": None, "is_question": action == "free_answer"}


def cases_from_labels(labels: Iterable[Mapping[str, Any]], entries: Sequence[FaqEntry]) -> list[dict[str, Any]]:
    """Usable cases, one per distinct text (the last action wins); unknown entries are skipped."""
    known = {entry.id for entry in entries}
    cases: dict[str, dict[str, Any]] = {}
    for number, label in enumerate(labels):
        if number >= MAX_LABELS:
            raise LabelError(f"more than {MAX_LABELS} labels")
        if not isinstance(label, Mapping):
            raise LabelError(f"label {number + 1} is not an object")
        case = case_from_label(label)
        if case["faq_id"] is None or case["faq_id"] in known:
            cases[case["text"]] = case
    return list(cases.values())


def recalibrate(entries: Sequence[FaqEntry], cases: Sequence[Mapping[str, Any]]) -> Recalibration:
    """Refit on the ``tune`` half of the cases and measure both models on the ``held`` half."""
    fitting, held = split_half(cases, "tune", SALT), split_half(cases, "held", SALT)
    if not fitting or not held:
        raise LabelError("too few labels to keep some back: record more of the session")
    rows = training_rows(entries, fitting)
    prior = [*CALIBRATION, CALIBRATION_BIAS]
    if rows and any(y for _, y in rows) and not all(y for _, y in rows):
        weights, bias = fit(rows, l2=PRIOR_STRENGTH, prior=prior)
    else:
        weights, bias = list(CALIBRATION), CALIBRATION_BIAS  # one class only: nothing to learn
    held_rows = training_rows(entries, held)
    before = evaluate_faq(Enricher(entries), held)
    after = evaluate_faq(Enricher(entries, calibration=(tuple(weights), bias)), held)
    return Recalibration(
        fitted_on=len(fitting),
        held_back=len(held),
        before=before,
        after=after,
        log_loss_before=log_loss(held_rows, CALIBRATION, CALIBRATION_BIAS),
        log_loss_after=log_loss(held_rows, weights, bias),
        weights=tuple(round(w, 2) for w in weights),
        bias=round(bias, 2),
        aliases=proposed_aliases(entries, cases),
    )


def log_loss(rows: Sequence[tuple[Sequence[float], int]], weights: Sequence[float], bias: float) -> float:
    """Mean negative log-likelihood of "this candidate is right" (lower is better calibrated)."""
    if not rows:
        return 0.0
    total = 0.0
    for features, label in rows:
        p = min(max(calibrated(features, weights, bias), 1e-9), 1 - 1e-9)
        total -= math.log(p if label else 1 - p)
    return round(total / len(rows), 4)


def proposed_aliases(entries: Sequence[FaqEntry], cases: Iterable[Mapping[str, Any]]) -> tuple[tuple[str, str], ...]:
    """(entry, wording) for answered wordings the engine did not suggest first."""
    enricher = Enricher(entries)
    proposals = []
    for case in cases:
        if case.get("faq_id"):
            suggestions = enricher.enrich(str(case["text"])).suggestions
            if not suggestions or suggestions[0].id != case["faq_id"]:
                proposals.append((str(case["faq_id"]), str(case["text"])))
    return tuple(proposals)
