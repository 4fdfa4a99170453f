"""Domain lexicon: jieba user words, synonym/colloquial canonicalisation, stop and weak words.

The data lives in ``livebot/faq/data/*.txt`` so advisors can extend it without touching code.
Files are read on first use and kept for the process (``default_lexicon()``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from livebot.faq.errors import LexiconError

DATA_DIR = Path(__file__).with_name("data")
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Word lists that shape tokenisation and ranking."""

    canonical: Mapping[str, str]
    stopwords: frozenset[str]
    weak_words: frozenset[str]
    domain_words: tuple[str, ...]
    _variants: tuple[str, ...] = field(default=(), repr=False)

    def canonicalize(self, token: str) -> str:
        """The canonical form of a token (itself when it has no synonym group)."""
        return self.canonical.get(token, token)

    def is_content(self, term: str) -> bool:
        """True for a canonical term that should count for ranking (not a stopword)."""
        return term not in self.stopwords

    def jieba_words(self) -> Iterator[str]:
        """Words the tokenizer must keep in one piece: domain words and synonym variants."""
        yield from self.domain_words
        for variant in self._variants:
            if len(variant) >= 2:
                yield variant

    def homophone_targets(self) -> frozenset[str]:
        """Chinese domain terms (2+ characters) worth repairing when typed with a homophone."""
        words = set(self.domain_words) | set(self.canonical.values())
        return frozenset(word for word in words if len(word) >= 2 and all(_CJK.match(ch) for ch in word))


def load_lexicon(data_dir: Path = DATA_DIR) -> Lexicon:
    """Read the lexicon files from ``data_dir``."""
    canonical, variants = _read_synonyms(data_dir / "synonyms.txt")
    return Lexicon(
        canonical=canonical,
        stopwords=frozenset(_read_words(data_dir / "stopwords.txt")),
        weak_words=frozenset(_read_words(data_dir / "weak_words.txt")),
        domain_words=tuple(_read_domain_words(data_dir / "domain_dict.txt")),
        _variants=tuple(variants),
    )


@functools.cache
def default_lexicon() -> Lexicon:
    """The bundled lexicon, read once per process."""
    return load_lexicon()


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise LexiconError(f"{path}: cannot read: {err}") from err
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if line:
            yield number, line


def _read_words(path: Path) -> list[str]:
    return [word for _, line in _lines(path) for word in line.split()]


def _read_domain_words(path: Path) -> list[str]:
    # jieba userdict lines are "word [freq] [tag]"; the tokenizer loads the file itself,
    # here only the words matter.
    return [line.split()[0] for _, line in _lines(path)]


def _read_synonyms(path: Path) -> tuple[dict[str, str], list[str]]:
    canonical: dict[str, str] = {}
    variants: list[str] = []
    for number, line in _lines(path):
        head, sep, tail = line.partition("=")
        head = head.strip()
        if not sep or not head or " " in head:
            raise LexiconError(f"{path.name}:{number}: expected 'canonical = variant variant ...'")
        for variant in [head, *tail.split()]:
            variant = variant.lower()
            previous = canonical.get(variant)
            if previous is not None and previous != head:
                raise LexiconError(f"{path.name}:{number}: {variant!r} already maps to {previous!r}")
            canonical[variant] = head
            variants.append(variant)
    return canonical, variants
