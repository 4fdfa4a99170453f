"""Fit the ranking confidence model: logistic regression of "this candidate is right".

Offline tooling, not on the hot path. Training rows come from labelled cases (the dev set
format: ``{"text", "faq_id"}``, ``faq_id`` null for chatter and unanswerable questions):
each of the top candidates of a case detected as a question is a positive when it is the labelled entry, else a
negative. The fitted weights and bias are copied into ``ranking.CALIBRATION`` and
``ranking.CALIBRATION_BIAS``; ``python -m livebot.faq.calibration KB CASES`` prints them.

Two kinds of rows come from the knowledge base itself: ``--leave-one-out`` asks every alias
against an index without it (natural positives), ``--leave-entry-out W`` asks every phrasing
of an entry against an index without the whole entry (in-domain questions the knowledge base
cannot answer: the near misses abstention must catch), each such row weighing W.
A cases path may end in ``:tune`` or ``:held`` to use one half of it (``evaluation.split_half``):
calibrate on the tune half, report on the held half. The shipped constants: see
``ranking.CALIBRATION``.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from livebot.faq.evaluation import read_split_cases
from livebot.faq.index import FaqIndex
from livebot.faq.kb import FaqEntry, load_kb
from livebot.faq.question import detect_question
from livebot.faq.ranking import (
    CALIBRATION,
    CALIBRATION_BIAS,
    SHOW_THRESHOLD,
    Candidate,
    Ranker,
    calibrated,
    confidence_features,
)
from livebot.faq.tokenizer import default_tokenizer

TOP_CANDIDATES = 3


def features(candidate: Candidate) -> tuple[float, ...]:
    """The calibrated features of a candidate (same order as ``ranking.CALIBRATION``)."""
    return confidence_features(
        candidate.explained, candidate.total, candidate.margin, candidate.missing, candidate.restated
    )


def training_rows(entries: Sequence[FaqEntry], cases: Iterable[Mapping[str, Any]]) -> list[tuple[tuple[float, ...], int]]:
    """(features, label) for the top candidates of every case."""
    ranker = Ranker(FaqIndex(entries, default_tokenizer()))
    rows: list[tuple[tuple[float, ...], int]] = []
    for case in cases:
        analysis = ranker.index.analyze(str(case["text"]))
        if not detect_question(analysis.text).is_question:
            continue  # chatter never reaches the ranker in production
        # Top by raw BM25, not by confidence: the rows must not depend on the current calibration.
        by_score = sorted(ranker.candidates(analysis), key=lambda candidate: candidate.raw, reverse=True)
        for candidate in by_score[:TOP_CANDIDATES]:
            rows.append((features(candidate), int(candidate.id == case.get("faq_id"))))
    return rows


def leave_one_out_rows(entries: Sequence[FaqEntry]) -> list[tuple[tuple[float, ...], int]]:
    """Rows from the knowledge base itself: each alias asked against an index without it.

    Aliases are real alternative phrasings, so this adds hundreds of natural positives (and
    the near-misses ranked above or beside them) to the few labelled dev cases.
    """
    tokenizer = default_tokenizer()
    rows: list[tuple[tuple[float, ...], int]] = []
    for position, entry in enumerate(entries):
        for alias in entry.aliases:
            reduced = list(entries)
            reduced[position] = replace(entry, aliases=tuple(a for a in entry.aliases if a != alias))
            ranker = Ranker(FaqIndex(reduced, tokenizer))
            analysis = tokenizer.analyze(alias)
            by_score = sorted(ranker.candidates(analysis), key=lambda candidate: candidate.raw, reverse=True)
            for candidate in by_score[:TOP_CANDIDATES]:
                rows.append((features(candidate), int(candidate.id == entry.id)))
    return rows


def leave_entry_out_rows(entries: Sequence[FaqEntry]) -> list[tuple[tuple[float, ...], int]]:
    """Negative rows: each entry's phrasings asked against an index without that entry.

    Only the best candidate is kept: it is the one that would be shown, and so the one the
    confidence must hold below the threshold.
    """
    tokenizer = default_tokenizer()
    rows: list[tuple[tuple[float, ...], int]] = []
    for position, entry in enumerate(entries):
        ranker = Ranker(FaqIndex([*entries[:position], *entries[position + 1 :]], tokenizer))
        for phrasing in entry.phrasings():
            by_score = sorted(ranker.candidates(tokenizer.analyze(phrasing)), key=lambda c: c.raw, reverse=True)
            rows.extend((features(candidate), 0) for candidate in by_score[:1])
    return rows


def fit(
    rows: Sequence[tuple[Sequence[float], int]],
    *,
    l2: float = 0.01,
    steps: int = 50,
    weights: Sequence[float] | None = None,
    prior: Sequence[float] | None = None,
) -> tuple[list[float], float]:
    """Logistic regression by Newton's method with a small L2 penalty (no numpy needed).

    ``weights`` (one per row, default 1) let a kind of evidence count less than labelled cases.
    ``prior`` (feature weights, then bias) is what the penalty pulls towards instead of zero:
    a refit on one session's labels then moves the shipped model only as far as they show.
    """
    width = len(rows[0][0]) + 1
    anchor = list(prior) if prior is not None else [0.0] * width
    theta = anchor[:]
    row_weights = list(weights) if weights is not None else [1.0] * len(rows)
    for _ in range(steps):
        gradient = [0.0] * width
        hessian = [[0.0] * width for _ in range(width)]
        for (x, y), weight in zip(rows, row_weights, strict=False):
            v = [*x, 1.0]
            p = 1.0 / (1.0 + math.exp(-sum(t * f for t, f in zip(theta, v, strict=False))))
            for i in range(width):
                gradient[i] += weight * (p - y) * v[i]
                for j in range(width):
                    hessian[i][j] += weight * p * (1 - p) * v[i] * v[j]
        for i in range(width - 1):
            gradient[i] += l2 * (theta[i] - anchor[i])
            hessian[i][i] += l2
        step = _solve(hessian, gradient)
        theta = [t - s for t, s in zip(theta, step, strict=False)]
        if max(abs(s) for s in step) < 1e-8:
            break
    return theta[:-1], theta[-1]


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (tiny systems)."""
    n = len(vector)
    a = [row[:] + [vector[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        if abs(a[col][col]) < 1e-12:
            continue
        for r in range(n):
            if r != col:
                factor = a[r][col] / a[col][col]
                a[r] = [x - factor * y for x, y in zip(a[r], a[col], strict=False)]
    return [a[i][n] / a[i][i] if abs(a[i][i]) > 1e-12 else 0.0 for i in range(n)]


Scored = tuple[str | None, list[tuple[str, tuple[float, ...], float]]]
"""A case as the ranker sees it: its label and its candidates (id, features, raw score); no
candidates when question detection stops it first."""



def scored_cases(entries: Sequence[FaqEntry], cases: Iterable[Mapping[str, Any]]) -> list[Scored]:
    """Every case's candidates with their features, which do not depend on the calibration."""
    ranker = Ranker(FaqIndex(entries, default_tokenizer()))
    scored: list[Scored] = []
    for case in cases:
        analysis = ranker.index.analyze(str(case["text"]))
        found = ranker.candidates(analysis) if detect_question(analysis.text, analysis.terms).is_question else []
        scored.append((case.get("faq_id"), [(c.id, features(c), c.raw) for c in found]))
    return scored


def miss_breakdown(
    entries: Sequence[FaqEntry], cases: Iterable[Mapping[str, Any]], weights: Sequence[float], bias: float,
    threshold: float, limit: int = 3,
) -> dict[str, int]:
    """Why answerable cases miss the shown top ``limit``: counts per cause.

    ``not a question``: question detection stopped the case (``ranked 1-3`` says whether the
    ranker, asked anyway, had the right entry among its first three); ``abstained``: the card
    was not shown although asked; ``shown``: the card was shown without the right entry.
    ``ranked 4-6`` / ``not ranked`` say where the ranker put the right entry.
    """
    ranker = Ranker(FaqIndex(entries, default_tokenizer()), calibration=(weights, bias))
    counts: dict[str, int] = {}
    for case in cases:
        gold = case.get("faq_id")
        if not gold:
            continue
        analysis = ranker.index.analyze(str(case["text"]))
        ranked = [candidate.id for candidate in ranker.candidates(analysis)]
        where = "ranked 1-3" if gold in ranked[:limit] else "ranked 4-6" if gold in ranked else "not ranked"
        if not detect_question(analysis.text, analysis.terms).is_question:
            cause = f"not a question, {where}"
        else:
            shown = [c.id for c in ranker.suggest(analysis)] if ranked else []
            if gold in shown[:limit]:
                cause = "hit"
            else:
                cause = f"{'shown' if shown else 'abstained'}, {where}"
        counts[cause] = counts.get(cause, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))


def case_rows(scored: Iterable[Scored]) -> list[tuple[tuple[float, ...], int]]:
    """Training rows of scored cases (top candidates by raw score, as ``training_rows``)."""
    rows: list[tuple[tuple[float, ...], int]] = []
    for gold, found in scored:
        for candidate_id, row, _ in sorted(found, key=lambda c: c[2], reverse=True)[:TOP_CANDIDATES]:
            rows.append((row, int(candidate_id == gold)))
    return rows


def card_figures(
    scored: Sequence[Scored], weights: Sequence[float], bias: float, threshold: float, limit: int = 3
) -> tuple[int, int, int, int, int]:
    """(answerable, top-1 hits, top-3 hits, unanswerable, abstentions) under the show policy."""
    answerable = top1 = top3 = unanswerable = abstained = 0
    for gold, found in scored:
        ranked = sorted(((calibrated(row, weights, bias), raw, cid) for cid, row, raw in found), reverse=True)[:limit]
        shown = [cid for _, _, cid in ranked] if ranked and sum(c for c, _, _ in ranked) >= threshold else []
        if gold:
            answerable += 1
            top1 += shown[:1] == [gold]
            top3 += gold in shown
        else:
            unanswerable += 1
            abstained += not shown
    return answerable, top1, top3, unanswerable, abstained


def cross_validate(
    folded: Sequence[Scored], extra_rows: Sequence[tuple[tuple[float, ...], int]], extra_weights: Sequence[float], *,
    folds: int, l2: float, thresholds: Sequence[float],
) -> dict[float, tuple[float, float, float]]:
    """K-fold figures (top-1, top-3, abstention) per show threshold: each fold is scored by a
    model fitted on the other folds plus ``extra_rows``; nothing is scored by a fit that saw it."""
    totals = {threshold: [0, 0, 0, 0, 0] for threshold in thresholds}
    for fold, _, (weights, bias) in _fold_fits(folded, extra_rows, extra_weights, folds=folds, l2=l2):
        test = [case for n, case in enumerate(folded) if n % folds == fold]
        for threshold in thresholds:
            for slot, value in enumerate(card_figures(test, weights, bias, threshold)):
                totals[threshold][slot] += value
    return {
        threshold: (t1 / max(ans, 1), t3 / max(ans, 1), ab / max(una, 1))
        for threshold, (ans, t1, t3, una, ab) in totals.items()
    }


def _fold_fits(
    folded: Sequence[Any], extra_rows: Sequence[tuple[tuple[float, ...], int]], extra_weights: Sequence[float], *,
    folds: int, l2: float,
) -> Iterable[tuple[int, list[Any], tuple[list[float], float]]]:
    """Per fold: its number, its training cases and the model fitted on them plus ``extra_rows``."""
    for fold in range(folds):
        train = [case for n, case in enumerate(folded) if n % folds != fold]
        rows = case_rows(train)
        yield fold, train, fit([*rows, *extra_rows], weights=[1.0] * len(rows) + list(extra_weights), l2=l2)


def main(argv: Sequence[str] | None = None) -> int:
    """Print fitted calibration constants for a knowledge base and labelled cases."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kb", type=Path)
    parser.add_argument("cases", nargs="+", help="JSON lines {text, faq_id}; PATH:tune or PATH:held for one half")
    parser.add_argument("--l2", type=float, default=0.01, help="L2 penalty of the logistic fit")
    parser.add_argument("--leave-one-out", action="store_true", help="also learn from the KB's own aliases")
    parser.add_argument(
        "--leave-entry-out", type=float, default=0.0, metavar="W",
        help="also learn abstention from each entry asked without it, rows weighing W",
    )
    parser.add_argument(
        "--folds", type=int, default=0, metavar="K",
        help="also print K-fold cross-validated figures per show threshold, folds over the first cases file",
    )
    parser.add_argument(
        "--breakdown", nargs="+", default=(), metavar="CASES",
        help="only print, per cases file, why answerable cases miss the shown top three (shipped constants)",
    )
    args = parser.parse_args(argv)
    entries = load_kb(args.kb)
    if args.breakdown:
        for spec in args.breakdown:
            counts = miss_breakdown(entries, read_split_cases(spec), CALIBRATION, CALIBRATION_BIAS, SHOW_THRESHOLD)
            print(f"{spec}: {_causes(counts)}")
        return 0
    cases = [case for spec in args.cases for case in read_split_cases(spec)]
    if args.folds > 1:
        _print_cross_validation(entries, args)
    rows = training_rows(entries, cases)
    if args.leave_one_out:
        rows += leave_one_out_rows(entries)
    row_weights = [1.0] * len(rows)
    if args.leave_entry_out > 0:
        negatives = leave_entry_out_rows(entries)
        rows += negatives
        row_weights += [args.leave_entry_out] * len(negatives)
    weights, bias = fit(rows, weights=row_weights, l2=args.l2)
    print(f"CALIBRATION = ({', '.join(f'{w:.2f}' for w in weights)})")
    print(f"CALIBRATION_BIAS = {bias:.2f}")
    print(f"rows={len(rows)} positives={sum(y for _, y in rows)}", file=sys.stderr)
    return 0


def _print_cross_validation(entries: Sequence[FaqEntry], args: argparse.Namespace) -> None:
    raw_cases = read_split_cases(args.cases[0])
    folded = scored_cases(entries, raw_cases)
    extra = case_rows(scored_cases(entries, [case for spec in args.cases[1:] for case in read_split_cases(spec)]))
    extra_weights = [1.0] * len(extra)
    if args.leave_entry_out > 0:
        negatives = leave_entry_out_rows(entries)
        extra += negatives
        extra_weights += [args.leave_entry_out] * len(negatives)
    figures = cross_validate(folded, extra, extra_weights, folds=args.folds, l2=args.l2,
                             thresholds=(0.1, 0.15, 0.2, 0.25, 0.3, 0.4))
    for threshold, (top1, top3, abstention) in figures.items():
        print(f"cv threshold {threshold:.2f}: top-1 {top1:.3f} top-3 {top3:.3f} abstention {abstention:.3f}")
    causes: dict[str, int] = {}
    for fold, _, (weights, bias) in _fold_fits(folded, extra, extra_weights, folds=args.folds, l2=args.l2):
        test = [case for n, case in enumerate(raw_cases) if n % args.folds == fold]
        for cause, count in miss_breakdown(entries, test, weights, bias, SHOW_THRESHOLD).items():
            causes[cause] = causes.get(cause, 0) + count
    print(f"cv answerable at threshold {SHOW_THRESHOLD}: {_causes(causes)}")


def _causes(counts: Mapping[str, int]) -> str:
    return "; ".join(f"{cause} {count}" for cause, count in sorted(counts.items(), key=lambda item: -item[1]))


if __name__ == "__main__":
    raise SystemExit(main())
