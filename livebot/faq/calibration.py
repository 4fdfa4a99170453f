"""Fit the ranking confidence model and the card model: logistic regressions, offline.

Offline tooling, not on the hot path. Training rows come from labelled cases (the dev set
format: ``{"text", "faq_id"}``, ``faq_id`` null for chatter and unanswerable questions).
The candidate model ("this candidate is right"): each of the top candidates of a case
detected as a question is a positive when it is the labelled entry, else a negative. The card
model ("this card holds the answer"): each case's card of three readings under the candidate
model, a positive when the labelled entry is on it (``ranking.card_features``). The fitted
constants are copied into ``ranking.CALIBRATION`` / ``CALIBRATION_BIAS`` and
``ranking.CARD_CALIBRATION`` / ``CARD_BIAS``; ``python -m livebot.faq.calibration KB CASES``
prints them.

``--leave-entry-out W`` asks every phrasing of an entry against an index without the whole
entry (in-domain questions the knowledge base cannot answer: the near misses abstention must
catch), each such row weighing W. A cases path may end in ``:tune`` or ``:held`` to use one
half of it (``evaluation.split_half``): calibrate on the tune half, report on the held half.
``--folds K`` prints K-fold cross-validated figures per show threshold over the first cases
file, ``--left-out CASES...`` a set's figures under a fit without it.

The learned channel (``learned.py``) is trained on labelled examples that include these very
cases, so its probability is cross-fitted: every case is scored by a channel fitted without
the examples of its fold (the same folds as ``--folds``), and a left-out set leaves the
channel's examples too. The calibration thus learns how far to trust the channel on wording
it has not seen, which is what it meets live.
"""

from __future__ import annotations

import argparse
import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from livebot.faq.evaluation import read_split_cases
from livebot.faq.index import FaqIndex
from livebot.faq.kb import FaqEntry, load_kb
from livebot.faq.learned import Example, shipped_examples
from livebot.faq.question import detect_question
from livebot.faq.ranking import (
    CALIBRATION,
    CALIBRATION_BIAS,
    SHOW_THRESHOLD,
    Candidate,
    QueryWord,
    Ranker,
    calibrated,
    card_evidence,
    card_features,
    confidence_features,
)
from livebot.faq.tokenizer import default_tokenizer

TOP_CANDIDATES = 3
CHANNEL_FOLDS = 5
"""Folds of the learned channel's cross-fitting (``scored_cases``)."""


def features(candidate: Candidate) -> tuple[float, ...]:
    """The calibrated features of a candidate (same order as ``ranking.CALIBRATION``)."""
    return confidence_features(
        candidate.explained, candidate.total, candidate.margin, candidate.missing, candidate.restated,
        candidate.learned,
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


@dataclass(frozen=True, slots=True)
class Scored:
    """A case as the ranker sees it, independent of the calibration: its label, its candidates
    (id, features, raw score, credit per query word) and its query words (importance, known to
    the knowledge base); no candidates when question detection stops it first."""

    gold: str | None
    candidates: tuple[tuple[str, tuple[float, ...], float, tuple[float, ...]], ...]
    words: tuple[tuple[float, bool], ...] = ()
    text: str = ""
    learned: tuple[float, ...] = ()
    """Per candidate, the learned channel's probability (empty: no channel)."""
    unanswered: float = 0.0
    """The learned channel's probability of ``none``."""


Model = tuple[Sequence[float], float, Sequence[float], float]
"""Candidate weights and bias, then card weights and bias."""


def scored_case(ranker: Ranker, text: str, gold: str | None, *, ask: bool = True) -> Scored:
    """One case scored by ``ranker`` (``ask`` False: question detection is skipped)."""
    analysis = ranker.index.analyze(text)
    if ask and not detect_question(analysis.text, analysis.terms).is_question:
        return Scored(gold, (), (), text)
    found = ranker.candidates(analysis)
    if not found:
        return Scored(gold, (), (), text)
    query = ranker.query(analysis)
    words = tuple((word.importance, ranker.index.known(word.term)) for word in query.words)
    channel = ranker.index.learned
    unanswered = float(channel.probabilities(analysis.clauses)[-1]) if channel is not None else 0.0
    return Scored(
        gold, tuple((c.id, features(c), c.raw, ranker.word_credits(query, c.entry)) for c in found), words, text,
        tuple(c.learned for c in found), unanswered,
    )


def scored_cases(
    entries: Sequence[FaqEntry], cases: Iterable[Mapping[str, Any]], examples: Sequence[Example] | None = None,
    *, folds: int = CHANNEL_FOLDS,
) -> list[Scored]:
    """Every case's candidates with their features, which do not depend on the calibration.

    The learned channel is cross-fitted: a case is scored by an index whose channel was fitted
    without the examples (``examples``, default the shipped ones) in the case's fold
    (``text_fold``), so its probability never comes from a fit that saw the case's text; folds
    are those of ``cross_validate``.
    """
    pool = tuple(shipped_examples() if examples is None else examples)
    tokenizer = default_tokenizer()
    rankers = [
        Ranker(FaqIndex(entries, tokenizer, examples=[x for x in pool if text_fold(x[0], folds) != fold]))
        for fold in range(folds)
    ]
    return [
        scored_case(rankers[text_fold(str(case["text"]), folds)], str(case["text"]), case.get("faq_id"))
        for case in cases
    ]


def leave_entry_out_scored(entries: Sequence[FaqEntry]) -> list[Scored]:
    """Each entry's phrasings scored against an index without that entry (cases to abstain on)."""
    tokenizer = default_tokenizer()
    scored: list[Scored] = []
    for position, entry in enumerate(entries):
        ranker = Ranker(FaqIndex([*entries[:position], *entries[position + 1 :]], tokenizer))
        scored.extend(scored_case(ranker, phrasing, None, ask=False) for phrasing in entry.phrasings())
    return scored


def card(case: Scored, weights: Sequence[float], bias: float, limit: int = 3) -> tuple[list[str], tuple[float, ...]]:
    """The card a model shows for a case (ids, most confident first) and its card features."""
    ranked = sorted(
        ((calibrated(row, weights, bias), raw, n) for n, (_, row, raw, _) in enumerate(case.candidates)), reverse=True
    )[:limit]
    if not ranked:
        return [], ()
    shown = [case.candidates[n] for _, _, n in ranked]
    words = [QueryWord("", importance, ()) for importance, _ in case.words]
    union, elsewhere, total = card_evidence(words, [c[3] for c in shown], [known for _, known in case.words])
    learned = sum(case.learned[n] for _, _, n in ranked) if case.learned else 0.0
    return [c[0] for c in shown], card_features(
        [p for p, _, _ in ranked], union, elsewhere, total, len(words), learned, case.unanswered
    )


def card_rows(scored: Iterable[Scored], weights: Sequence[float], bias: float) -> list[tuple[tuple[float, ...], int]]:
    """(card features, whether the labelled entry is on the card) per case with candidates."""
    rows: list[tuple[tuple[float, ...], int]] = []
    for case in scored:
        ids, row = card(case, weights, bias)
        if ids:
            rows.append((row, int(bool(case.gold) and case.gold in ids)))
    return rows


def fit_policy(
    cases: Sequence[Scored], near_misses: Sequence[Scored], *, near_miss_weight: float, l2: float
) -> Model:
    """Fit the candidate model, then the card model on the cards it ranks.

    ``near_misses`` (leave-entry-out) add negatives: their best candidate by raw score to the
    candidate model (the one that would be shown) and their whole card to the card model.
    """
    rows = case_rows(cases)
    negatives = [(best[1], 0) for best in (max(c.candidates, key=lambda x: x[2]) for c in near_misses if c.candidates)]
    weights, bias = fit(
        [*rows, *negatives], weights=[1.0] * len(rows) + [near_miss_weight] * len(negatives), l2=l2
    )
    shown, missed = card_rows(cases, weights, bias), card_rows(near_misses, weights, bias)
    card_weights, card_bias = fit(
        [*shown, *missed], weights=[1.0] * len(shown) + [near_miss_weight] * len(missed), l2=l2
    )
    return weights, bias, card_weights, card_bias


def miss_breakdown(
    entries: Sequence[FaqEntry], cases: Iterable[Mapping[str, Any]], weights: Sequence[float], bias: float,
    threshold: float, limit: int = 3, card_model: tuple[Sequence[float], float] | None = None,
) -> dict[str, int]:
    """Why answerable cases miss the shown top ``limit``: counts per cause.

    ``not a question``: question detection stopped the case (``ranked 1-3`` says whether the
    ranker, asked anyway, had the right entry among its first three); ``abstained``: the card
    was not shown although asked; ``shown``: the card was shown without the right entry.
    ``ranked 4-6`` / ``not ranked`` say where the ranker put the right entry.
    """
    ranker = Ranker(
        FaqIndex(entries, default_tokenizer()), calibration=(weights, bias), card=card_model, threshold=threshold
    )
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
    for case in scored:
        # The top by raw score and the top by the learned channel: both kinds get shown.
        by_raw = sorted(case.candidates, key=lambda c: c[2], reverse=True)[:TOP_CANDIDATES]
        chances = case.learned or (0.0,) * len(case.candidates)
        by_learned = [c for _, c in sorted(zip(chances, case.candidates, strict=True), key=lambda x: -x[0])]
        for candidate_id, row, _, _ in {c[0]: c for c in [*by_raw, *by_learned[:TOP_CANDIDATES]]}.values():
            rows.append((row, int(candidate_id == case.gold)))
    return rows


def card_figures(
    scored: Sequence[Scored], model: Model, threshold: float, limit: int = 3
) -> tuple[int, int, int, int, int]:
    """(answerable, top-1 hits, top-3 hits, unanswerable, abstentions) under the show policy."""
    weights, bias, card_weights, card_bias = model
    answerable = top1 = top3 = unanswerable = abstained = 0
    for case in scored:
        ids, row = card(case, weights, bias, limit)
        shown = ids if ids and calibrated(row, card_weights, card_bias) >= threshold else []
        if case.gold:
            answerable += 1
            top1 += shown[:1] == [case.gold]
            top3 += case.gold in shown
        else:
            unanswerable += 1
            abstained += not shown
    return answerable, top1, top3, unanswerable, abstained


def fold_of(case: Scored, folds: int) -> int:
    """A case's fold, fixed by a hash of its text (not by position or label)."""
    return text_fold(case.text, folds)


def text_fold(text: str, folds: int) -> int:
    """The fold of a text (cases and the learned channel's examples alike)."""
    return hashlib.md5(("cv" + text).encode()).digest()[0] % folds


def cross_validate(
    folded: Sequence[Scored], extra: Sequence[Scored], near_misses: Sequence[Scored], *,
    folds: int, l2: float, thresholds: Sequence[float], near_miss_weight: float = 0.5,
) -> dict[float, tuple[float, float, float]]:
    """K-fold figures (top-1, top-3, abstention) per show threshold: each fold is scored by a
    policy fitted on the other folds plus ``extra`` and ``near_misses``; nothing is scored by a
    fit that saw it."""
    totals = {threshold: [0, 0, 0, 0, 0] for threshold in thresholds}
    for fold in range(folds):
        train = [case for case in folded if fold_of(case, folds) != fold]
        test = [case for case in folded if fold_of(case, folds) == fold]
        model = fit_policy([*train, *extra], near_misses, near_miss_weight=near_miss_weight, l2=l2)
        for threshold in thresholds:
            for slot, value in enumerate(card_figures(test, model, threshold)):
                totals[threshold][slot] += value
    return {threshold: _rates(values) for threshold, values in totals.items()}


def left_out(
    sets: Mapping[str, Sequence[Scored]], near_misses: Sequence[Scored], *, l2: float, thresholds: Sequence[float],
    near_miss_weight: float = 0.5,
) -> dict[str, dict[float, tuple[float, float, float]]]:
    """Per set, its figures under a policy fitted on every other set (and the near misses)."""
    result = {}
    for name, cases in sets.items():
        others = [case for other, rest in sets.items() if other != name for case in rest]
        model = fit_policy(others, near_misses, near_miss_weight=near_miss_weight, l2=l2)
        result[name] = {threshold: _rates(card_figures(cases, model, threshold)) for threshold in thresholds}
    return result


def _rates(values: Sequence[int]) -> tuple[float, float, float]:
    answerable, top1, top3, unanswerable, abstained = values
    return top1 / max(answerable, 1), top3 / max(answerable, 1), abstained / max(unanswerable, 1)


THRESHOLDS = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)


def main(argv: Sequence[str] | None = None) -> int:
    """Print fitted calibration constants for a knowledge base and labelled cases."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kb", type=Path)
    parser.add_argument("cases", nargs="+", help="JSON lines {text, faq_id}; PATH:tune or PATH:held for one half")
    parser.add_argument("--l2", type=float, default=0.01, help="L2 penalty of the logistic fit")
    parser.add_argument(
        "--leave-entry-out", type=float, default=0.0, metavar="W",
        help="also learn abstention from each entry asked without it, rows weighing W",
    )
    parser.add_argument(
        "--folds", type=int, default=0, metavar="K",
        help="also print K-fold cross-validated figures per show threshold, folds over the first cases file",
    )
    parser.add_argument(
        "--left-out", nargs="*", default=(), metavar="CASES",
        help="also print, per cases file given here or after the first, its figures under a fit without it",
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
    folds = args.folds if args.folds > 1 else CHANNEL_FOLDS
    sets = {spec: scored_cases(entries, read_split_cases(spec), folds=folds) for spec in args.cases}
    near_misses = leave_entry_out_scored(entries) if args.leave_entry_out > 0 else []
    weight = args.leave_entry_out
    if args.folds > 1:
        folded, extra = sets[args.cases[0]], [case for spec in args.cases[1:] for case in sets[spec]]
        figures = cross_validate(
            folded, extra, near_misses, folds=args.folds, l2=args.l2, thresholds=THRESHOLDS, near_miss_weight=weight
        )
        _print_figures(f"cv {args.cases[0]}", figures)
    for spec in args.left_out:
        # The left-out set's texts leave the channel's examples too.
        cases = read_split_cases(spec)
        texts = {str(case["text"]) for case in cases}
        unseen = [example for example in shipped_examples() if example[0] not in texts]
        outside = {**sets, spec: scored_cases(entries, cases, unseen, folds=folds)}
        training = {name: cases for name, cases in outside.items() if name != spec}
        model = fit_policy(
            [case for cases in training.values() for case in cases], near_misses, near_miss_weight=weight, l2=args.l2
        )
        _print_figures(
            f"left out {spec}", {t: _rates(card_figures(outside[spec], model, t)) for t in THRESHOLDS}
        )
    weights, bias, card_weights, card_bias = fit_policy(
        [case for cases in sets.values() for case in cases], near_misses, near_miss_weight=weight, l2=args.l2
    )
    print(f"CALIBRATION = ({', '.join(f'{w:.2f}' for w in weights)})")
    print(f"CALIBRATION_BIAS = {bias:.2f}")
    print(f"CARD_CALIBRATION = ({', '.join(f'{w:.2f}' for w in card_weights)})")
    print(f"CARD_BIAS = {card_bias:.2f}")
    return 0


def _print_figures(label: str, figures: Mapping[float, tuple[float, float, float]]) -> None:
    for threshold, (top1, top3, abstention) in figures.items():
        print(f"{label} threshold {threshold:.2f}: top-1 {top1:.3f} top-3 {top3:.3f} abstention {abstention:.3f}")


def _causes(counts: Mapping[str, int]) -> str:
    return "; ".join(f"{cause} {count}" for cause, count in sorted(counts.items(), key=lambda item: -item[1]))


if __name__ == "__main__":
    raise SystemExit(main())
