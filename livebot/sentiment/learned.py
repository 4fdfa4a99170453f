"""A learned layer over the lexicon: softmax regression on character n-grams and lexicon features.

The lexicon (``model.SentimentModel``) reads textbook sentiment words well but labels praise
without them (第二箱了, 就认这个味儿), scepticism (又是摆拍吧, 弹幕全是托) and service complaints
as neutral. This model learns from labelled livestream and parent-group lines which character
sequences carry sentiment, with the lexicon's own reading as features, so it keeps what the
lexicon knows (negation, degree, sarcasm, emoji) and adds what the audience says.

``--nb-weight W`` adds, per n-gram, a naive Bayes reading (``naive_bayes``: the n-gram's
centred log-likelihood per label from the same lines, scaled by W) to the regression's weights;
both are one weight per n-gram and label, so inference is unchanged. It is off in the shipped
weights: five-fold cross-validated over sentiment_dev2 it adds 0.008-0.017 macro-F1, but without
negation scope it reads 靠谱 as negative (from 不靠谱) and 不能不夸 as neutral.

Inference is pure Python (a dict lookup per n-gram); the weights are a small JSON file fitted
offline by ``python -m livebot.sentiment.learned OUT.json TRAIN.jsonl...`` (see ``train``);
``--cv CASES --folds K`` prints a K-fold cross-validated macro-F1 over CASES instead (each fold
scored by weights fitted on the training files plus the other folds).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

LABELS = ("positive", "neutral", "negative")
WEIGHTS_FILE = Path(__file__).with_name("data") / "learned_weights.json"
MAX_ORDER = 3
GRAM_CACHE = 32768
# Weights smaller than this are dropped from the shipped file (they change no decision).
PRUNE = 0.06
# The naive Bayes reading's scale (off: see the module docstring) and its additive smoothing.
NB_WEIGHT = 0.0
NB_ALPHA = 0.5


def features(text: str, lexicon_total: float, interrogative: bool, emojis: Sequence[str]) -> dict[str, float]:
    """Sparse features of normalised ``text``: character 1-3-grams plus the lexicon's reading."""
    found: dict[str, float] = {}
    padded = f"^{text}$"
    for order in range(1, MAX_ORDER + 1):
        for start in range(len(padded) - order + 1):
            gram = padded[start : start + order]
            if gram not in ("^", "$"):
                found[gram] = 1.0
    found.update(_extra_features(text, lexicon_total, interrogative, emojis))
    return found


def _extra_features(text: str, lexicon_total: float, interrogative: bool, emojis: Sequence[str]) -> dict[str, float]:
    """The features besides n-grams: emoji, the lexicon's total, asking, a bias."""
    found = {f"e:{emoji}": 1.0 for emoji in emojis}
    if not text and emojis:
        found["emoji-only"] = 1.0
    found["lex+"] = min(max(lexicon_total, 0.0), 4.0)
    found["lex-"] = min(max(-lexicon_total, 0.0), 4.0)
    if interrogative:
        found["interrogative"] = 1.0
    found["bias"] = 1.0
    return found


class LearnedSentiment:
    """Per-label linear weights over ``features``."""

    def __init__(self, weights: Mapping[str, Sequence[float]]) -> None:
        self.weights = {feature: tuple(values) for feature, values in weights.items()}
        self._gram_logits = functools.lru_cache(maxsize=GRAM_CACHE)(self._read_grams)

    def _read_grams(self, text: str) -> tuple[float, float, float]:
        """The character n-grams' share of the logits (cached in ``_gram_logits``: the text decides it)."""
        get = self.weights.get
        p0 = p1 = p2 = 0.0
        padded = f"^{text}$"
        length = len(padded)
        grams = {padded[start : start + order] for order in range(1, MAX_ORDER + 1) for start in range(length - order + 1)}
        for gram in grams:  # binary features, as in training ("^" and "$" alone carry no weight)
            row = get(gram)
            if row is not None:
                p0 += row[0]
                p1 += row[1]
                p2 += row[2]
        return p0, p1, p2

    def clear_cache(self) -> None:
        """Forget the cached n-gram readings, e.g. to measure first sight."""
        self._gram_logits.cache_clear()

    def probabilities(self, found: Mapping[str, float]) -> tuple[float, ...]:
        """Probability per label in ``LABELS`` order."""
        return _probabilities(self.weights, found)

    def label_probabilities(
        self, text: str, lexicon_total: float, interrogative: bool, emojis: Sequence[str]
    ) -> tuple[float, ...]:
        """``probabilities(features(...))`` without building the feature dict (the hot path)."""
        get = self.weights.get
        p0, p1, p2 = self._gram_logits(text)
        for feature, value in _extra_features(text, lexicon_total, interrogative, emojis).items():
            row = get(feature)
            if row is not None:
                p0 += row[0] * value
                p1 += row[1] * value
                p2 += row[2] * value
        return _softmax(p0, p1, p2)


def _probabilities(weights: Mapping[str, Sequence[float]], found: Mapping[str, float]) -> tuple[float, ...]:
    logits = [0.0, 0.0, 0.0]
    get = weights.get
    for feature, value in found.items():
        row = get(feature)
        if row is not None:
            logits[0] += row[0] * value
            logits[1] += row[1] * value
            logits[2] += row[2] * value
    return _softmax(*logits)


def _softmax(a: float, b: float, c: float) -> tuple[float, float, float]:
    top = max(a, b, c)
    ea, eb, ec = math.exp(a - top), math.exp(b - top), math.exp(c - top)
    total = ea + eb + ec
    return (ea / total, eb / total, ec / total)


@functools.cache
def default_learned() -> LearnedSentiment | None:
    """The shipped weights, or None when the file is absent (the lexicon alone then decides)."""
    try:
        data = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return LearnedSentiment(data["weights"])


def train(
    rows: Sequence[tuple[Mapping[str, float], str]], *, epochs: int = 40, l2: float = 1e-4, rate: float = 0.3, seed: int = 7,
    prune: float = PRUNE,
) -> dict[str, list[float]]:
    """Softmax regression by AdaGrad with L2; returns feature → per-label weights (``prune``: see ``PRUNE``)."""
    weights: dict[str, list[float]] = {}
    squares: dict[str, list[float]] = {}
    order = list(range(len(rows)))
    rng = random.Random(seed)
    width = len(LABELS)
    for _ in range(epochs):
        rng.shuffle(order)
        for index in order:
            found, label = rows[index]
            probabilities = _probabilities(weights, found)
            gold = LABELS.index(label)
            for feature, value in found.items():
                row = weights.setdefault(feature, [0.0] * width)
                square = squares.setdefault(feature, [1e-8] * width)
                for k in range(width):
                    gradient = (probabilities[k] - (k == gold)) * value + l2 * row[k]
                    square[k] += gradient * gradient
                    row[k] -= rate * gradient / math.sqrt(square[k])
    return {feature: [round(w, 3) for w in row] for feature, row in weights.items() if max(abs(w) for w in row) >= prune}


def naive_bayes(
    rows: Sequence[tuple[Mapping[str, float], str]], *, weight: float = NB_WEIGHT, alpha: float = NB_ALPHA
) -> dict[str, list[float]]:
    """Per character n-gram, ``weight`` × its log-likelihood per label, centred over the labels.

    Bernoulli-style counts (a line counts an n-gram once), smoothed by ``alpha``; the
    lexicon's and emoji features are left to the regression.
    """
    counts: dict[str, list[int]] = {}
    lines = [0] * len(LABELS)
    for found, label in rows:
        k = LABELS.index(label)
        lines[k] += 1
        for gram in _gram_names(found):
            counts.setdefault(gram, [0] * len(LABELS))[k] += 1
    result = {}
    for gram, seen in counts.items():
        logs = [math.log((seen[k] + alpha) / (lines[k] + 2 * alpha)) for k in range(len(LABELS))]
        mean = sum(logs) / len(logs)
        result[gram] = [weight * (value - mean) for value in logs]
    return result


def _gram_names(found: Mapping[str, float]) -> list[str]:
    """The n-gram features of a feature dict (emoji features are named ``e:…``, the rest below)."""
    return [name for name in found if name not in _EXTRA_NAMES and not name.startswith("e:")]


_EXTRA_NAMES = frozenset({"emoji-only", "lex+", "lex-", "interrogative", "bias"})


def fit_weights(
    rows: Sequence[tuple[Mapping[str, float], str]], *, epochs: int = 40, l2: float = 1e-4, nb_weight: float = NB_WEIGHT
) -> dict[str, list[float]]:
    """The shipped model: the regression's weights plus the naive Bayes reading, pruned."""
    weights = {feature: list(row) for feature, row in train(rows, epochs=epochs, l2=l2, prune=0.0).items()}
    if nb_weight > 0:
        for gram, row in naive_bayes(rows, weight=nb_weight).items():
            merged = weights.setdefault(gram, [0.0] * len(LABELS))
            for k, value in enumerate(row):
                merged[k] += value
    return {feature: [round(w, 3) for w in row] for feature, row in weights.items() if max(abs(w) for w in row) >= PRUNE}


def cross_validate(
    training: Sequence[tuple[str, str]], cases: Sequence[tuple[str, str]], *, folds: int, epochs: int = 40,
    l2: float = 1e-4, nb_weight: float = NB_WEIGHT,
) -> float:
    """K-fold macro-F1 over ``cases``: each fold scored by weights fitted on ``training`` and the other folds."""
    import hashlib

    from livebot.sentiment.evaluation import evaluate_sentiment
    from livebot.sentiment.model import SentimentModel

    lexicon_only = SentimentModel(learned=None)
    fold_of = {text: hashlib.md5(("cv" + text).encode()).digest()[0] % folds for text, _ in cases}
    predictions: dict[str, str] = {}
    for fold in range(folds):
        lines = [*training, *((text, label) for text, label in cases if fold_of[text] != fold)]
        rows = [(lexicon_only.features(text), label) for text, label in lines]
        model = SentimentModel(learned=LearnedSentiment(fit_weights(rows, epochs=epochs, l2=l2, nb_weight=nb_weight)))
        predictions.update((text, model.analyze(text).label) for text, _ in cases if fold_of[text] == fold)
    report = evaluate_sentiment(predictions.__getitem__, [{"text": text, "label": label} for text, label in cases])
    return report.macro_f1


def read_labelled(paths: Iterable[str]) -> list[tuple[str, str]]:
    """(text, label) from JSON-lines files; ``PATH:tune``/``PATH:held`` takes one half."""
    from livebot.faq.evaluation import read_split_cases

    return [(str(case["text"]), str(case["label"])) for path in paths for case in read_split_cases(path, ("text", "label"))]


def main(argv: Sequence[str] | None = None) -> int:
    """Fit the weights from labelled files and write them as JSON."""
    from livebot.sentiment.model import SentimentModel

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("train", nargs="+", help="JSON lines {text, label}; PATH:tune for one half")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--l2", type=float, default=1e-4)
    parser.add_argument("--nb-weight", type=float, default=NB_WEIGHT, help="scale of the naive Bayes reading (0: none)")
    parser.add_argument("--cv", metavar="CASES", help="print a cross-validated macro-F1 over CASES, write nothing")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    if args.cv:
        figure = cross_validate(
            read_labelled(args.train), read_labelled([args.cv]), folds=args.folds, epochs=args.epochs, l2=args.l2,
            nb_weight=args.nb_weight,
        )
        print(f"{args.folds}-fold cross-validated macro-F1 over {args.cv}: {figure:.3f}")
        return 0
    lexicon_only = SentimentModel(learned=None)
    rows = [(lexicon_only.features(text), label) for text, label in read_labelled(args.train)]
    weights = fit_weights(rows, epochs=args.epochs, l2=args.l2, nb_weight=args.nb_weight)
    args.out.write_text(
        json.dumps({"labels": LABELS, "trained_on": args.train, "weights": weights}, ensure_ascii=False, sort_keys=True),
        encoding="utf-8",
    )
    print(f"{len(rows)} lines, {len(weights)} features kept")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
