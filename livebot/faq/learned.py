"""A learned channel for FAQ ranking: a softmax over the knowledge base's entries, fitted at index build.

BM25 finds the entry whose words a question repeats; viewers often describe a situation
instead ("冲好放了一下午还能喝吗", "扫出来一直转圈"), which shares few words with any entry. This
channel reads the character 1–3-grams of a message's canonical clause terms (the FAQ
pipeline's own reading: normalised, Traditional folded, homophones repaired, concepts
written back) and gives each entry a probability, with one more class, ``none``, for chatter
and questions the knowledge base cannot answer. It is trained on every entry's question and
aliases (so any brand's knowledge base has it) plus labelled example questions keyed by entry
id (``livebot/faq/data/examples.jsonl``, built by ``python -m livebot.faq.learned build``);
examples whose id the loaded knowledge base does not hold are ignored, so the channel always
matches the live index. The fit is a mini-batch softmax regression over the grams seen in
training (no hashing: the vocabulary is the training set's), deterministic, a fraction of a
second for the sample knowledge base, run where index builds run (off the event loop).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import orjson

from livebot.faq.kb import FaqEntry

EXAMPLES_FILE = Path(__file__).with_name("data") / "examples.jsonl"
SOURCES = (
    "tests/fixtures/faq/questions_dev.jsonl",
    "tests/fixtures/faq/questions_unseen.jsonl",
    "tests/fixtures/faq/questions_unseen_blind.jsonl",
    "tests/fixtures/faq/questions_unseen_hard.jsonl",
    "tests/fixtures/faq/questions_unseen_v2.jsonl",
    "tests/fixtures/faq/questions_unseen_v3.jsonl",
    "tests/fixtures/faq/questions_dev2.jsonl:tune",
)
"""Labelled sets the shipped examples are built from (plus ``training/faq/*.jsonl``)."""
EXCLUDED = ("tests/fixtures/faq/questions_dev2.jsonl:held",)
"""Held-out sets whose texts never join the examples (even when another set repeats one)."""
TRAINING_GLOB = "training/faq/*.jsonl"
NONE = "none"
MAX_ENTRIES = 250
"""Largest knowledge base the channel is fitted for: the fit grows with entries × grams (80
entries and 3,000 examples: ~0.5 s CPU; 1,000 entries: ~10 s), and the ranker falls back to
its plain models without it."""
ORDERS = (1, 2, 3)
EPOCHS = 6
BATCH = 64
LEARNING_RATE = 0.5
L2 = 1e-4
CLAUSE_CACHE = 16384
PHRASING_WEIGHT = 2.0
"""An entry's own question and aliases weigh this much more than one example question."""
ENTRY_MASS = 16.0
"""An entry with fewer examples than this has its phrasings weigh up to it together (every
entry of the sample knowledge base has at least 26 examples, so there this changes nothing)."""

Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int64]
Analyzer = Callable[[str], Sequence[Sequence[str]]]
"""Text → clause terms (``Tokenizer.analyze(text).clauses``)."""
Example = tuple[str, str | None]
"""(text, entry id or None for chatter and unanswerable questions)."""


def grams(clauses: Sequence[Sequence[str]]) -> list[str]:
    """Character 1–3-grams of each clause's terms, distinct within a clause (a clause boundary
    breaks a gram; a gram in two clauses counts twice, so a message's grams are the sum of its
    clauses', each computed once however many messages share the clause)."""
    return [gram for clause in clauses for gram in _clause_grams(tuple(clause))]


def _clause_grams(clause: tuple[str, ...]) -> tuple[str, ...]:
    chars = "".join(clause)
    return tuple(dict.fromkeys(chars[start : start + order] for order in ORDERS for start in range(len(chars) - order + 1)))


class LearnedChannel:
    """Per-gram weights over the entries (in index order) and ``none``, and a bias."""

    def __init__(self, vocabulary: Mapping[str, int], weights: Floats, bias: Floats, entries: int) -> None:
        self.vocabulary = vocabulary
        self.weights = weights
        self.bias = bias
        self.entries = entries
        # Chat repeats its clauses ("请问", "主播"): each clause's grams and their weights' sum
        # are computed once.
        self._clause = functools.lru_cache(maxsize=CLAUSE_CACHE)(self._clause_grams)

    def probabilities(self, clauses: Sequence[Sequence[str]]) -> Floats:
        """Softmax over the entries then ``none``, for a message's clause terms."""
        total: Floats | None = None
        count = 0
        for clause in clauses:
            found, weights = self._clause(tuple(clause))
            count += found
            if weights is not None:
                total = weights if total is None else total + weights
        logits = self.bias + total / math.sqrt(count) if total is not None else self.bias.copy()
        logits -= logits.max()
        exp = np.exp(logits)
        return exp / exp.sum()

    def _clause_grams(self, clause: tuple[str, ...]) -> tuple[int, Floats | None]:
        """How many grams a clause has and the sum of their weights (None: no gram is known)."""
        found = _clause_grams(clause)
        columns = [column for gram in found if (column := self.vocabulary.get(gram)) is not None]
        return len(found), (self.weights[columns].sum(axis=0) if columns else None)

    def ranked(self, clauses: Sequence[Sequence[str]]) -> list[tuple[int, float]]:
        """(entry, probability) for every entry, most probable first (``none`` left out)."""
        probabilities = self.probabilities(clauses)[: self.entries]
        order = np.argsort(-probabilities, kind="stable")
        return [(int(entry), float(probabilities[entry])) for entry in order]


def fit_channel(entries: Sequence[FaqEntry], examples: Iterable[Example], analyze: Analyzer, *, epochs: int | None = None) -> LearnedChannel:
    """Fit the channel on the entries' phrasings and the examples whose id the entries hold."""
    ids = {entry.id: number for number, entry in enumerate(entries)}
    examples = list(examples)
    taught = Counter(ids[faq_id] for _, faq_id in examples if faq_id in ids)
    rows: list[list[str]] = []
    labels: list[int] = []
    weights: list[float] = []
    for number, entry in enumerate(entries):
        phrasings = entry.phrasings()
        # An entry with few examples (a new one, or another brand's) leans on its phrasings.
        weight = max(PHRASING_WEIGHT, (ENTRY_MASS - taught[number]) / len(phrasings))
        for phrasing in phrasings:
            row = grams(analyze(phrasing))
            if not row:
                continue
            rows.append(row)
            labels.append(number)
            weights.append(weight)
    for text, faq_id in examples:
        label = len(entries) if faq_id is None else ids.get(faq_id)
        if label is None:
            continue
        row = grams(analyze(text))
        if not row:
            continue
        rows.append(row)
        labels.append(label)
        weights.append(1.0)
    vocabulary: dict[str, int] = {}
    for row in rows:
        for gram in row:
            vocabulary.setdefault(gram, len(vocabulary))
    classes = len(entries) + 1
    matrix, bias = _train(
        [np.array([vocabulary[g] for g in row], dtype=np.int64) for row in rows],
        np.array(labels, dtype=np.int64),
        np.array(weights, dtype=np.float32),
        len(vocabulary),
        classes,
        EPOCHS if epochs is None else epochs,
    )
    return LearnedChannel(vocabulary, matrix, bias, len(entries))


def _train(rows: Sequence[Ints], labels: Ints, row_weights: Floats, width: int, classes: int, epochs: int) -> tuple[Floats, Floats]:
    """Mini-batch softmax regression with Adagrad; batches in a fixed pseudo-random order."""
    weights = np.zeros((width, classes), dtype=np.float32)
    bias = np.zeros(classes, dtype=np.float32)
    history = np.full((width, classes), 1e-6, dtype=np.float32)
    bias_history = np.full(classes, 1e-6, dtype=np.float32)
    order = np.random.default_rng(15).permutation(len(rows))
    chunks = np.array_split(order, max(1, len(rows) // BATCH))
    batches = [(_batch([rows[i] for i in chunk]), labels[chunk], row_weights[chunk]) for chunk in chunks]
    for _ in range(epochs):
        for (columns, starts, scale, owner, unique, segments), y, w in batches:
            logits = np.add.reduceat(weights[columns], starts, axis=0) * scale[:, None] + bias
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(y)), y] -= 1.0
            p *= (w / len(y))[:, None]
            gradient = np.add.reduceat((p * scale[:, None])[owner], segments, axis=0)
            gradient += L2 * weights[unique]
            history[unique] += gradient * gradient
            weights[unique] -= LEARNING_RATE * gradient / np.sqrt(history[unique])
            step = p.sum(axis=0)
            bias_history += step * step
            bias -= LEARNING_RATE * step / np.sqrt(bias_history)
    return weights, bias


def _batch(rows: Sequence[Ints]) -> tuple[Ints, Ints, Floats, Ints, Ints, Ints]:
    """A batch's gram columns, row starts and 1/sqrt(grams) per row, and the same columns
    sorted with their owning row, the unique columns and their segment starts."""
    columns = np.concatenate(rows)
    lengths = np.array([len(row) for row in rows], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    scale = (1.0 / np.sqrt(lengths)).astype(np.float32)
    owner = np.repeat(np.arange(len(rows)), lengths)
    sort = np.argsort(columns, kind="stable")
    unique, segments = np.unique(columns[sort], return_index=True)
    return columns, starts, scale, owner[sort], unique, segments


@functools.lru_cache(maxsize=1)
def shipped_examples() -> tuple[Example, ...]:
    """The labelled examples shipped with livebot (``EXAMPLES_FILE``); empty when absent."""
    if not EXAMPLES_FILE.exists():
        return ()
    return tuple(_example(orjson.loads(line)) for line in EXAMPLES_FILE.read_bytes().splitlines() if line.strip())


def _example(case: Mapping[str, object]) -> Example:
    faq_id = case.get("faq_id")
    return str(case["text"]), str(faq_id) if faq_id else None


def build_examples(specs: Sequence[str], excluded: Sequence[str] = ()) -> bytes:
    """The examples file's content from labelled sets (``PATH`` or ``PATH:tune``): one
    ``{"text", "faq_id"}`` line per distinct text, in the order first met, leaving out every
    text of the ``excluded`` sets."""
    from livebot.faq.evaluation import read_split_cases

    held = {str(case["text"]) for spec in excluded for case in read_split_cases(spec)}
    seen: dict[str, str | None] = {}
    for spec in specs:
        for case in read_split_cases(spec):
            if str(case["text"]) not in held:
                seen.setdefault(str(case["text"]), _example(case)[1])
    return b"".join(orjson.dumps({"text": text, "faq_id": faq_id}) + b"\n" for text, faq_id in seen.items())


def digest(content: bytes) -> str:
    """SHA-256 of an examples file's content (what tests compare)."""
    return hashlib.sha256(content).hexdigest()


def main(argv: Sequence[str] | None = None) -> int:
    """``build OUT [SPEC...]``: write the examples file from the shipped sources (or SPECs)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=("build",))
    parser.add_argument("out", type=Path)
    parser.add_argument("specs", nargs="*")
    args = parser.parse_args(argv)
    specs = args.specs or default_specs(Path.cwd())
    content = build_examples(specs, [str(Path.cwd() / spec) for spec in EXCLUDED])
    args.out.write_bytes(content)
    print(f"{args.out}: {len(content.splitlines())} examples, sha256 {digest(content)}")
    return 0


def default_specs(root: Path) -> list[str]:
    """``SOURCES`` then every ``training/faq/*.jsonl`` under ``root``, sorted."""
    return [*(str(root / spec) for spec in SOURCES), *(str(path) for path in sorted(root.glob(TRAINING_GLOB)))]


if __name__ == "__main__":
    raise SystemExit(main())
