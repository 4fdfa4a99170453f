"""The learned channel: it ranks described situations, matches the live knowledge base, and ships its examples honestly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from livebot.faq import index as index_module
from livebot.faq.evaluation import read_split_cases
from livebot.faq.index import FaqIndex
from livebot.faq.kb import FaqEntry
from livebot.faq.learned import (
    EXAMPLES_FILE,
    EXCLUDED,
    build_examples,
    default_specs,
    digest,
    fit_channel,
    grams,
    shipped_examples,
)
from livebot.faq.ranking import PLAIN_CALIBRATION, PLAIN_CARD, PLAIN_THRESHOLD, Ranker
from livebot.faq.tokenizer import default_tokenizer

ROOT = Path(__file__).resolve().parents[2]

SMALL_KB = [
    FaqEntry("shipping-time", "多久发货", ("什么时候发货", "几天能到")),
    FaqEntry("storage-conditions", "奶粉怎么保存", ("开罐后放哪里",)),
    FaqEntry("spit-up", "宝宝吐奶怎么办", ("喝完吐奶正常吗",)),
]
# Described situations, no word of which the entries' phrasings use.
SITUATIONS = [
    ("每次喂完嘴角就往外冒，衣服上全是奶渍", "spit-up"),
    ("刚喝完没多久从嘴里涌出来一大口", "spit-up"),
    ("拍完嗝还是往外冒白白的", "spit-up"),
    ("下单三天了物流一直没动静", "shipping-time"),
    ("付完款到现在还显示待揽收", "shipping-time"),
    ("罐子放在灶台旁边热乎乎的行不行", "storage-conditions"),
    ("主播好美", None),
    ("哈哈哈哈", None),
]


def analyze(text: str) -> tuple[tuple[str, ...], ...]:
    return default_tokenizer().analyze(text).clauses


def test_a_described_situation_ranks_its_entry() -> None:
    channel = fit_channel(SMALL_KB, SITUATIONS, analyze)
    [(first, chance), *_] = channel.ranked(analyze("宝宝喂完总是从嘴角往外冒"))
    assert SMALL_KB[first].id == "spit-up" and chance > 0.5
    # The same question without examples: the phrasings alone do not know the situation.
    plain = fit_channel(SMALL_KB, [], analyze)
    assert plain.ranked(analyze("宝宝喂完总是从嘴角往外冒"))[0][1] < chance


def test_the_ranker_proposes_what_the_channel_finds() -> None:
    index = FaqIndex(SMALL_KB, default_tokenizer(), examples=SITUATIONS)
    found = Ranker(index).candidates(index.analyze("物流一直没动静是怎么回事"))
    assert found and found[0].id == "shipping-time"
    assert found[0].learned > 0.5


def test_examples_of_entries_the_kb_lacks_are_ignored() -> None:
    stray = [("每次喂完嘴角就往外冒", "not-in-this-kb"), ("往外冒奶渍", "another-brand-entry")]
    with_stray = fit_channel(SMALL_KB, [*SITUATIONS, *stray], analyze)
    without = fit_channel(SMALL_KB, SITUATIONS, analyze)
    assert with_stray.weights.shape == (len(with_stray.vocabulary), len(SMALL_KB) + 1)
    assert dict(with_stray.vocabulary) == dict(without.vocabulary)
    assert np.array_equal(with_stray.weights, without.weights)  # deterministic, stray lines unused


def test_a_kb_without_examples_still_ranks(sample_entries: list[FaqEntry]) -> None:
    index = FaqIndex(sample_entries, default_tokenizer(), examples=[])
    assert index.learned is not None  # fitted on questions and aliases alone
    ranker = Ranker(index)
    shown = ranker.suggest(index.analyze("奶源在哪里"))
    assert shown and shown[0].id == "milk-source-location"
    assert not ranker.suggest(index.analyze("主播今天穿的衣服好看吗"))


def test_too_large_a_kb_falls_back_to_the_plain_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_module, "MAX_ENTRIES", 2)
    index = FaqIndex(SMALL_KB, default_tokenizer(), examples=SITUATIONS)
    assert index.learned is None
    ranker = Ranker(index)
    assert (ranker.calibration, ranker.card, ranker.threshold) == (PLAIN_CALIBRATION, PLAIN_CARD, PLAIN_THRESHOLD)
    assert ranker.suggest(index.analyze("多久发货"))[0].id == "shipping-time"


def test_grams_do_not_cross_clauses() -> None:
    assert set(grams([("奶粉",), ("保存",)])) == {"奶", "粉", "奶粉", "保", "存", "保存"}  # no 粉保


def test_shipped_examples_are_built_from_the_training_files() -> None:
    """The shipped file is exactly what ``python -m livebot.faq.learned build`` makes of the
    listed sets and training/faq/*.jsonl (same SHA-256): no hand edits, no stale copy."""
    rebuilt = build_examples(default_specs(ROOT), [str(ROOT / spec) for spec in EXCLUDED])
    assert digest(rebuilt) == digest(EXAMPLES_FILE.read_bytes())
    assert len(shipped_examples()) >= 2500
    assert len(list(ROOT.glob("training/faq/*.jsonl"))) >= 5


def test_the_held_half_is_never_an_example() -> None:
    held = {str(case["text"]) for case in read_split_cases(str(ROOT / EXCLUDED[0]))}
    assert held and not held & {text for text, _ in shipped_examples()}
