"""A learned layer beside the rules: it blocks claims worded in ways no pattern lists.

Patterns catch what they spell out; measured on sets written blind (``docs/compliance.md``)
they catch only about half of the forbidden claims, because people describe a claim rather
than name it ("一整个冬天不挂水", "跟你自己喂的没两样"). This layer reads hashed character 1–3-grams
of the folded text (the rules' canonical form, so dodges are already written back) with two
softmax regressions fitted on labelled lines: a gate (block or pass) over windows of a few
clauses, and a category model (the blocking fact-sheet ids) on the window the gate picks,
which is also the span shown. It speaks only where the rules found nothing, and only to
block: its finding names the category and says that a model, not a rule, judged it, so an
advisor knows to reword rather than to look for a forbidden word.

Inference is a handful of numpy operations over the whole text (no Python loop per
character); the weights are fitted offline by ``python -m livebot.compliance.learned``.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

WEIGHTS_FILE = Path(__file__).with_name("data") / "learned_weights.npz"
BITS = 16
"""Hash buckets: 2**16; collisions among the few ten thousand grams seen are rare."""
GATE_CLASSES = ("pass", "block")
MAX_CHARS = 16_384
"""Characters the layer reads (the rules read 20,000)."""
WINDOW = 48
"""Characters per window: about one training line (a sentence or two of chat)."""
THRESHOLD = 0.4
"""The gate's chance of block a window needs (chosen by leave-one-set-out, docs/compliance.md)."""
_SALTS = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(0x165667B19E3779F9))
_MIX = np.uint64(0xD6E8FEB86659FD93)
_SHIFT = np.uint64(64 - BITS)
MIN_HAN = 6
"""Han characters a window needs: the layer learned Chinese claims, not short cheers or English."""
_BREAK_POINT = ord("，")
_REPEATED = 1 << BITS
_PLACES = np.arange(MAX_CHARS, dtype=np.int64)

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Judgement:
    """The window most likely to block: its class, probability and canonical span."""

    category: str
    probability: float
    start: int
    end: int


def code_points(text: str) -> npt.NDArray[np.uint64]:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def buckets(canonical: str, points: npt.NDArray[np.uint64] | None = None) -> tuple[Ints, Ints, Ints]:
    """Hash buckets of the 1-, 2- and 3-grams starting at each position of ``canonical``."""
    if points is None:
        points = code_points(canonical)
    with np.errstate(over="ignore"):
        one = points * _SALTS[0]
        two = (one[:-1] ^ points[1:]) * _SALTS[1]
        three = (two[:-1] ^ points[2:]) * _SALTS[2]
        return tuple((grams * _MIX >> _SHIFT).astype(np.int64) for grams in (one, two, three))  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Model:
    """Softmax regression over hash buckets: per-class weights per bucket and a bias."""

    classes: tuple[str, ...]
    weights: Floats
    bias: Floats


class LearnedGuard:
    """A gate (block or not) read over every window, and a category model read on the one it picks."""

    def __init__(self, gate: Model, category: Model, threshold: float = THRESHOLD) -> None:
        for model in (gate, category):
            if model.weights.shape != (1 << BITS, len(model.classes)) or model.bias.shape != (len(model.classes),):
                raise ValueError(f"learned weights: expected {(1 << BITS, len(model.classes))}, got {model.weights.shape}")
        if gate.classes != GATE_CLASSES:
            raise ValueError(f"learned weights: the gate's classes must be {GATE_CLASSES}, got {gate.classes}")
        self.category = category
        self.threshold = threshold
        # Per bucket the gate's block-minus-pass logit; bucket _REPEATED (a repeated gram) weighs 0.
        self._gate = np.zeros((1 << BITS) + 1)
        self._gate[:-1] = gate.weights[:, 1] - gate.weights[:, 0]
        self._bias = float(gate.bias[1] - gate.bias[0])

    def judge(self, canonical: str) -> Judgement | None:
        """The window of ``canonical`` most likely to block, when its chance reaches the threshold."""
        length = min(len(canonical), MAX_CHARS)
        if length == 0:
            return None
        canonical = canonical[:length]
        points = code_points(canonical)
        starts, ends = _windows(points)
        han = np.zeros(length + 1, dtype=np.int64)
        np.cumsum(((points >= 0x3400) & (points <= 0x9FFF)).astype(np.int64), out=han[1:])
        counted = han[ends] - han[starts]
        readable = (counted >= MIN_HAN) & (2 * counted >= ends - starts)
        if not readable.any():
            return None
        grams = buckets(canonical, points)
        fresh = _fresh(grams, length)
        weight = np.zeros(length + 1)
        count = np.zeros(length + 1)
        for order in range(3):
            weight[1 : length + 1 - order] += np.take(self._gate, np.where(fresh[order], grams[order], _REPEATED))
            count[1 : length + 1 - order] += fresh[order]
        np.cumsum(weight, out=weight)
        np.cumsum(count, out=count)
        total = count[ends] - count[starts]
        readable &= total >= 3 * MIN_HAN - 3  # as many new grams as six characters give: not a repeat
        total = np.maximum(total, 1.0)
        logits = np.where(readable, (weight[ends] - weight[starts]) / np.sqrt(total) + self._bias, -np.inf)
        best = int(logits.argmax())
        chance = 1.0 / (1.0 + math.exp(-logits[best])) if np.isfinite(logits[best]) else 0.0
        if chance < self.threshold:
            return None
        start, end = int(starts[best]), int(ends[best])
        return Judgement(self._category(grams, fresh, start, end), chance, start, end)

    def _category(self, grams: tuple[Ints, Ints, Ints], fresh: list[npt.NDArray[np.bool_]], start: int, end: int) -> str:
        """The blocking category the category model reads in ``[start, end)``."""
        found = np.concatenate([
            found[start : max(start, end - order)][kept[start : max(start, end - order)]]
            for order, (found, kept) in enumerate(zip(grams, fresh, strict=True))
        ])
        logits = self.category.weights[found].sum(axis=0) / math.sqrt(max(len(found), 1)) + self.category.bias
        return self.category.classes[int(logits.argmax())]


def _fresh(grams: tuple[Ints, Ints, Ints], length: int) -> list[npt.NDArray[np.bool_]]:
    """Per order, True where a gram does not already occur in the ``WINDOW`` characters before it.

    A window reads each gram once, as training reads each line's grams once: repeating a phrase
    does not make it weigh more. A stable radix sort of the 16-bit buckets keeps each bucket's
    places in order, so a repeat is a neighbour with the same bucket a short way before.
    """
    sizes = [len(found) for found in grams]
    ranked = np.argsort(np.concatenate(grams).astype(np.uint16), kind="stable")
    places = np.concatenate([_PLACES[: size] for size in sizes])[ranked]
    buckets_ranked = np.concatenate(grams)[ranked]
    gap = places[1:] - places[:-1]
    repeated = np.zeros(len(ranked), dtype=np.bool_)
    repeated[1:] = (buckets_ranked[1:] == buckets_ranked[:-1]) & (gap >= 0) & (gap <= WINDOW)
    fresh = np.empty(len(ranked), dtype=np.bool_)
    fresh[ranked] = ~repeated
    edges = np.cumsum([0, *sizes])
    return [fresh[edges[order] : edges[order + 1]] for order in range(3)]


def _windows(points: npt.NDArray[np.uint64]) -> tuple[Ints, Ints]:
    """Windows of whole clauses up to ``WINDOW`` characters, one starting at each clause.

    A clause longer than the window is read in half-overlapping pieces of it.
    """
    breaks = np.flatnonzero(points == _BREAK_POINT)
    clause_starts = np.concatenate(([0], breaks + 1))
    clause_ends = np.concatenate((breaks, [len(points)]))
    keep = clause_ends > clause_starts
    clause_starts, clause_ends = clause_starts[keep], clause_ends[keep]
    if (clause_ends - clause_starts > WINDOW).any():
        pieces = [
            (at, min(at + WINDOW, end)) if end - start > WINDOW else (start, end)
            for start, end in zip(clause_starts.tolist(), clause_ends.tolist(), strict=True)
            for at in (range(start, end - WINDOW // 2, WINDOW // 2) if end - start > WINDOW else (start,))
        ]
        clause_starts = np.array([piece[0] for piece in pieces], dtype=np.int64)
        clause_ends = np.array([piece[1] for piece in pieces], dtype=np.int64)
    last = np.searchsorted(clause_ends, clause_starts + WINDOW, side="right") - 1
    last = np.maximum(last, np.arange(len(clause_starts)))
    return clause_starts, np.maximum.accumulate(clause_ends)[last]


@functools.cache
def default_learned() -> LearnedGuard | None:
    """The shipped weights, or None when the file is absent (the rules alone then decide)."""
    if not WEIGHTS_FILE.exists():
        return None
    with np.load(WEIGHTS_FILE) as data:
        gate = Model(tuple(str(name) for name in data["gate_classes"]), data["gate_weights"], data["gate_bias"])
        category = Model(tuple(str(name) for name in data["classes"]), data["weights"], data["bias"])
        return LearnedGuard(gate, category, float(data["threshold"]))


def label_of(verdict: str, rule: str | None) -> str:
    """The training class of a labelled case: ok, warn, or the blocking category."""
    if verdict == "block":
        return rule or "block"
    return verdict


def fit(
    texts: Sequence[str], labels: Sequence[str], *, classes: Sequence[str] = (), steps: int = 400, l2: float = 3e-4,
    rate: float = 0.5,
) -> tuple[tuple[str, ...], Floats, Floats]:
    """Softmax regression by full-batch AdaGrad over hashed grams; returns classes, weights, bias."""
    classes = tuple(classes) or tuple(sorted(set(labels)))
    rows, columns, values = [], [], []
    for row, text in enumerate(texts):
        found = np.unique(np.concatenate(buckets(text))) if text else np.zeros(0, dtype=np.int64)
        for bucket in (found,):
            rows.append(np.full(len(bucket), row))
            columns.append(bucket)
            values.append(np.full(len(bucket), 1.0 / math.sqrt(max(len(bucket), 1))))
    row_of, column_of, value_of = np.concatenate(rows), np.concatenate(columns), np.concatenate(values)
    gold = np.zeros((len(texts), len(classes)))
    gold[np.arange(len(texts)), [classes.index(label) for label in labels]] = 1.0
    weights = np.zeros((1 << BITS, len(classes)))
    bias = np.zeros(len(classes))
    squares = np.full_like(weights, 1e-8)
    bias_squares = np.full_like(bias, 1e-8)
    for _ in range(steps):
        logits = np.zeros((len(texts), len(classes)))
        np.add.at(logits, row_of, weights[column_of] * value_of[:, None])
        logits += bias
        logits -= logits.max(axis=1, keepdims=True)
        odds = np.exp(logits)
        error = (odds / odds.sum(axis=1, keepdims=True) - gold) / len(texts)
        gradient = np.zeros_like(weights)
        np.add.at(gradient, column_of, error[row_of] * value_of[:, None])
        gradient += l2 * weights
        squares += gradient**2
        weights -= rate * gradient / np.sqrt(squares)
        bias_gradient = error.sum(axis=0)
        bias_squares += bias_gradient**2
        bias -= rate * bias_gradient / np.sqrt(bias_squares)
    return classes, weights, bias


def digest(name: str, data: bytes) -> str:
    """How the weights file names a training file: its name and the start of its SHA-256."""
    return f"{name}:{hashlib.sha256(data).hexdigest()[:16]}"


def fit_guard(texts: Sequence[str], labels: Sequence[str], approved: Sequence[str] = ()) -> tuple[Model, Model]:
    """The gate (``GATE_CLASSES`` over every line) and the category model (over the blocking lines).

    ``approved`` texts pass, and so does every window of them: the gate reads windows, and a
    clause of an approved answer ("结合宝宝状态来就好") must not read as a claim on its own.
    (Windows of the labelled ``ok`` lines are not added: measured, that cost recall.)
    """
    parts = [part for text in approved for part in [text, *windows_of(text)]]
    gate = fit([*texts, *parts], [*("block" if label not in ("ok", "warn") else "pass" for label in labels), *("pass" for _ in parts)],
               classes=GATE_CLASSES)
    blocking = [(text, label) for text, label in zip(texts, labels, strict=True) if label not in ("ok", "warn")]
    category = fit([text for text, _ in blocking], [label for _, label in blocking])
    return Model(*gate), Model(*category)


def windows_of(text: str) -> list[str]:
    """The windows ``judge`` reads in ``text`` that are shorter than it."""
    if not text:
        return []
    starts, ends = _windows(code_points(text))
    return [text[start:end] for start, end in zip(starts.tolist(), ends.tolist(), strict=True) if end - start < len(text)]


def read_training(paths: Iterable[Path], chatter: Iterable[Path] = ()) -> tuple[list[str], list[str], list[str]]:
    """Texts, labels ("" for chatter) and a digest per file.

    ``paths`` hold labelled cases ``{"text","verdict","rule"}`` (read by ``evaluation.read_cases``,
    whose errors name the line); ``chatter`` files hold viewers' lines ``{"text", ...}``, which
    ``main`` reads as passing where the rules let them through.
    """
    from livebot.compliance.evaluation import read_cases

    texts: list[str] = []
    labels: list[str] = []
    digests: list[str] = []
    for path in paths:
        data = path.read_bytes()
        digests.append(digest(path.name, data))
        for case in read_cases(data.splitlines()):
            texts.append(case.text)
            labels.append(label_of(case.verdict, case.rule))
    for path in chatter:
        data = path.read_bytes()
        digests.append(digest(path.name, data))
        for line in data.decode("utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["text"])
                labels.append("")
    return texts, labels, digests


def main(argv: Sequence[str] | None = None) -> int:
    """Fit the weights from labelled files and write them (``--out``, the shipped file by default)."""
    from livebot.compliance.engine import load_rules
    from livebot.compliance.text import fold_lazy

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("train", nargs="+", type=Path, help='JSON lines {"text","verdict","rule"}')
    parser.add_argument("--chatter", nargs="*", type=Path, default=[], help="viewers' lines {text}: ok where the rules pass them")
    parser.add_argument("--out", type=Path, default=WEIGHTS_FILE)
    parser.add_argument("--threshold", type=float, default=THRESHOLD)
    args = parser.parse_args(argv)
    texts, labels, digests = read_training(args.train, args.chatter)
    rules = load_rules(learned=False)  # the rules alone: chatter they flag is left out rather than called ok
    labelled = [(text, label) for text, label in zip(texts, labels, strict=True) if label]
    approved = [text for text, label in zip(texts, labels, strict=True) if not label and rules.check(text).verdict == "ok"]
    gate, category = fit_guard([fold_lazy(text, rules.dodges)[0] for text, _ in labelled], [label for _, label in labelled],
                               [fold_lazy(text, rules.dodges)[0] for text in approved])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out, gate_classes=np.array(gate.classes), gate_weights=gate.weights.astype(np.float16), gate_bias=gate.bias,
        classes=np.array(category.classes), weights=category.weights.astype(np.float16), bias=category.bias,
        threshold=np.float64(args.threshold), trained_on=np.array(digests),
    )
    print(f"{len(labelled)} labelled and {len(approved)} approved lines, {len(category.classes)} blocking categories, written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
