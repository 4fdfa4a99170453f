"""Domain lexicon: jieba user words, synonym/colloquial canonicalisation, concepts, stop and weak words.

The data lives in ``livebot/faq/data/*.txt`` so advisors can extend it without touching code.
Files are read on first use and kept for the process (``default_lexicon()``).

Synonyms map one jieba token to its canonical term (拉稀 → 腹泻). Concepts go further: they
recognise how viewers *describe* a thing in several words (几天没拉, 拉的时候很费劲 → 便秘;
开了盖…多久 → 开罐 + 保存期限) with short patterns matched on the clause text, and stand in
for the words they cover. Both sides of a match run through them: the knowledge base's own
questions, aliases and answers as well as the viewer's message.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Iterator, Mapping
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
    concepts: ConceptMatcher | None = field(default=None, repr=False)
    _domain_terms: frozenset[str] = field(default=frozenset(), repr=False)

    def __post_init__(self) -> None:
        domain = frozenset(self.canonical.values()) | frozenset(word.lower() for word in self.domain_words)
        object.__setattr__(self, "_domain_terms", domain)

    def canonicalize(self, token: str) -> str:
        """The canonical form of a token (itself when it has no synonym group)."""
        return self.canonical.get(token, token)

    def is_domain(self, term: str) -> bool:
        """True for a canonical term of the domain (a synonym group's head or a domain word)."""
        return term in self._domain_terms

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


@dataclass(frozen=True, slots=True)
class ConceptMatch:
    """A concept found in a clause: its canonical terms and the character span it covers."""

    start: int
    end: int
    terms: tuple[str, ...]


class ConceptMatcher:
    """Finds colloquial descriptions of domain concepts in a clause.

    A pattern is literal text with two wildcards: ``*`` stands for up to four characters of
    the same clause and ``N`` for a number (normalised text is lower-case, so a literal N
    never occurs). A ``|`` at either end asks for a word boundary there, as jieba cuts the
    clause: ``几天才拉|`` is 几天才拉一次 (拉, to poo) but not 几天才拉走 (拉走, to haul
    away), because that match would end inside the word 拉走. Where matches overlap the one
    with more literal text wins, wherever it starts: in 奶是哪个地方产的, 哪个地方产 beats the
    shorter 奶是哪 to its left.

    Patterns are indexed by their first character, so a clause costs one dictionary lookup
    per character and a few small anchored regex matches, not a scan of every pattern.
    """

    GAP = r"[^\s,.!?;:，。！？；：、…~]{0,4}?"
    _DIGITS = "0123456789"

    def __init__(self, patterns: Mapping[str, tuple[str, ...]]) -> None:
        by_first: dict[str, list[tuple[int, re.Pattern[str], tuple[str, ...], bool, bool]]] = {}
        for pattern, terms in patterns.items():
            starts, ends = pattern.startswith("|"), pattern.endswith("|")
            pattern = pattern.strip("|")
            weight = len(pattern.replace("*", ""))
            compiled = re.compile(self._regex(pattern))
            for first in self._DIGITS if pattern[0] == "N" else pattern[0]:
                by_first.setdefault(first, []).append((weight, compiled, terms, starts, ends))
        # Longest first, so the first match at a position is the best one there.
        self._by_first = {
            first: tuple(sorted(entries, key=lambda entry: -entry[0])) for first, entries in by_first.items()
        }
        self._size = len(patterns)

    @classmethod
    def _regex(cls, pattern: str) -> str:
        # A pattern that starts with a number must not start inside one (2小时 is not 12小时).
        parts = [r"(?<![0-9.])"] if pattern[0] == "N" or pattern[0].isdigit() else []
        for char in pattern:
            if char == "*":
                parts.append(cls.GAP)
            elif char == "N":
                parts.append(r"[0-9]+(?:\.[0-9]+)?")
            else:
                parts.append(re.escape(char))
        return "".join(parts)

    def find(self, text: str, boundaries: Collection[int] | None = None) -> list[ConceptMatch]:
        """Non-overlapping concept matches in ``text``, left to right.

        ``boundaries`` are the offsets where the tokenizer's words start and end; a pattern
        marked with ``|`` matches only where its marked end falls on one of them (without
        ``boundaries`` the marks are ignored).
        """
        found: list[tuple[int, int, int, tuple[str, ...]]] = []
        by_first = self._by_first
        for position, char in enumerate(text):
            for weight, compiled, terms, starts, ends in by_first.get(char, ()):
                match = compiled.match(text, position)
                if match is None or match.end() <= position:
                    continue
                if boundaries is not None and (
                    (starts and position not in boundaries) or (ends and match.end() not in boundaries)
                ):
                    continue
                found.append((weight, position, match.end(), terms))
                break
        if len(found) > 1:
            found.sort(key=lambda item: (-item[0], item[1]))
            chosen: list[tuple[int, int, int, tuple[str, ...]]] = []
            for item in found:
                if all(item[2] <= other[1] or other[2] <= item[1] for other in chosen):
                    chosen.append(item)
            found = sorted(chosen, key=lambda item: item[1])
        return [ConceptMatch(start, end, terms) for _, start, end, terms in found]

    def __len__(self) -> int:
        return self._size


def load_lexicon(data_dir: Path = DATA_DIR) -> Lexicon:
    """Read the lexicon files from ``data_dir``."""
    canonical, variants = _read_synonyms(data_dir / "synonyms.txt")
    concepts_file = data_dir / "concepts.txt"
    concepts = ConceptMatcher(_read_concepts(concepts_file)) if concepts_file.exists() else None
    return Lexicon(
        canonical=canonical,
        stopwords=frozenset(_read_words(data_dir / "stopwords.txt")),
        weak_words=frozenset(_read_words(data_dir / "weak_words.txt")),
        domain_words=tuple(_read_domain_words(data_dir / "domain_dict.txt")),
        _variants=tuple(variants),
        concepts=concepts,
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


def _read_concepts(path: Path) -> dict[str, tuple[str, ...]]:
    """``term [+term ...] = pattern pattern ...``: each pattern stands for those terms."""
    patterns: dict[str, tuple[str, ...]] = {}
    for number, line in _lines(path):
        head, sep, tail = line.partition("=")
        terms = tuple(term.strip().lower() for term in head.split("+") if term.strip())
        if not sep or not terms or any(" " in term for term in terms) or not tail.split():
            raise LexiconError(f"{path.name}:{number}: expected 'term[+term] = pattern pattern ...'")
        for pattern in tail.split():
            if pattern.strip("|").replace("*", "") == "":
                raise LexiconError(f"{path.name}:{number}: pattern {pattern!r} has no text")
            if "|" in pattern.strip("|"):
                raise LexiconError(f"{path.name}:{number}: pattern {pattern!r}: '|' marks a word boundary at an end only")
            previous = patterns.get(pattern)
            if previous is not None and previous != terms:
                raise LexiconError(f"{path.name}:{number}: {pattern!r} already stands for {'+'.join(previous)!r}")
            patterns[pattern] = terms
    return patterns
