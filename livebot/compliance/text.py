"""Fold text for the compliance guard while keeping every character's place in the original.

Rules match a canonical form (Simplified, half width, lower case, no spacing or emoji tricks,
homophones and pinyin put back to the term they dodge), but findings must point at what the
author typed. Folding runs on C-level string operations (``str.translate``, regex deletions)
so a 2,000-character text costs well under a millisecond; the map from canonical characters
back to original spans is built by the very same steps, and only when a rule has matched.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from livebot.text.normalize import EMOJI, INVISIBLE, SKIN_TONE, to_simplified
from livebot.text.phonetics import FUNCTION_CHARS, is_cjk, syllable

BREAK = "，"
CLAUSE_BREAKS = frozenset("，,。！!？?；;：:、\n\r…|")
KEEP_SYMBOLS = frozenset("%+")
# Characters a dodge may swap in but that carry grammar: 作为一个 must not become 作唯一个.
_GRAMMAR_CHARS = FUNCTION_CHARS | frozenset("为个一以之于其而与及或把让给对从向被所")
_LATIN = re.compile(r"[a-z][a-z0-9]*")
_HAS_LATIN = re.compile(r"[a-z]")
# Applied in order to the translated text; each deletes what it matches.
_CLEANUPS = (
    (".", re.compile(r"\.(?!(?<=[0-9]\.)[0-9])")),  # a dot is kept only inside a number (4.1)
    ("，", re.compile(r"，(?<=，，)")),  # runs of breaks collapse to one
    ("，", re.compile(r"^，|，$")),  # no break at either end
    # A break beside a one-character clause is a spacing trick (免，疫，力), not a clause.
    ("，", re.compile(r"，(?:(?<=^[^，]，)|(?<=，[^，]，)|(?=[^，](?:，|$)))")),
)


@dataclass(frozen=True, slots=True)
class Folded:
    """Canonical text plus, per character, the original ``[start, end)`` it stands for."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of canonical characters ``start..end``."""
        if start >= end or end > len(self.starts):
            return (0, 0)
        return (self.starts[start], self.ends[end - 1])


class _FoldTable(dict[int, str]):
    """``str.translate`` table filled on demand: code point → folded text ('' drops it)."""

    def __init__(self, emoji: Mapping[str, str]) -> None:
        super().__init__({ord(key[0]): value for key, value in emoji.items() if key})

    def __missing__(self, key: int) -> str:
        value = _fold_char(chr(key))
        self[key] = value
        return value


@dataclass(frozen=True, slots=True)
class DodgeTerms:
    """Terms whose homophones, full pinyin and listed abbreviations are read as the term."""

    by_sound: Mapping[str, str]
    aliases: Mapping[str, str]
    table: _FoldTable
    sounds: _SoundTable
    sound_finder: Any  # Aho-Corasick over the coded sounds of the terms
    spelt_blob: str
    spelt_pattern: re.Pattern[str]


class _SoundTable(dict[int, str]):
    """``str.translate`` table: each CJK character → one private-use character per toneless
    syllable, anything else → a silent mark, so equal sounds are equal characters, 1:1."""

    SILENT = "\ue000"

    def __init__(self) -> None:
        super().__init__()
        self._codes: dict[str, str] = {}

    def __missing__(self, key: int) -> str:
        sound = syllable(chr(key))
        value = self.code(sound) if sound else self.SILENT
        self[key] = value
        return value

    def code(self, sound: str) -> str:
        if sound not in self._codes:
            self._codes[sound] = chr(0xE001 + len(self._codes))
        return self._codes[sound]


def build_dodges(terms: Sequence[str], aliases: Mapping[str, str], emoji: Mapping[str, str]) -> DodgeTerms:
    """Index dodge terms by their toneless pinyin, spelt (for letters) and coded (for homophones)."""
    by_sound: dict[str, str] = {}
    table = _SoundTable()
    by_key: dict[str, list[str]] = {}
    for term in terms:
        sounds = [syllable(char) for char in term]
        if len(term) < 2 or not all(sounds):
            continue
        by_sound.setdefault("".join(s for s in sounds if s), term)
        by_key.setdefault(term.translate(table), []).append(term)
    return DodgeTerms(
        by_sound=by_sound,
        aliases=dict(aliases),
        table=_FoldTable(emoji),
        sounds=table,
        sound_finder=literal_finder((key, tuple(values)) for key, values in by_key.items()) if by_key else None,
        spelt_blob="|".join(by_sound),
        spelt_pattern=re.compile("|".join(sorted(by_sound, key=len, reverse=True)) or "(?!)"),
    )


def literal_finder(items: Iterable[tuple[str, Any]]) -> Any:
    """An Aho-Corasick automaton: one C-level pass finds every listed literal in a text."""
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for key, value in items:
        automaton.add_word(key, (key, value))
    automaton.make_automaton()
    return automaton


@functools.lru_cache(maxsize=65536)
def _fold_char(char: str) -> str:
    """One character as the rules see it: '' to drop, '，' for a clause break, else text."""
    if INVISIBLE.match(char) or SKIN_TONE.match(char) or char in "\u200d":
        return ""
    folded = unicodedata.normalize("NFKC", char).lower()
    if len(folded) != 1:
        return "".join(c for c in folded if c.isalnum() or c in KEEP_SYMBOLS)
    if folded in CLAUSE_BREAKS or char in "。，":
        return BREAK
    if folded.isspace() or EMOJI.match(folded):
        return ""
    if is_cjk(folded):
        return to_simplified(folded)[:1] or folded
    if folded.isalnum() or folded in KEEP_SYMBOLS or folded == ".":
        return folded
    return ""


def fold_text(text: str, dodges: DodgeTerms) -> str:
    """The canonical text alone (the fast path every check takes)."""
    canonical = text.translate(dodges.table)
    for needed, cleanup in _CLEANUPS:
        if needed in canonical:
            canonical = cleanup.sub("", canonical)
    replacements = list(_dodge_replacements(canonical, dodges))
    if not replacements:
        return canonical
    return _apply(Folded(canonical, (), ()), replacements, mapped=False).text


def fold(text: str, dodges: DodgeTerms) -> Folded:
    """Canonical text with the map back to ``text``; same steps as ``fold_text``."""
    pieces = [dodges.table[ord(char)] for char in text]
    canonical = "".join(pieces)
    starts = [index for index, piece in enumerate(pieces) for _ in piece]
    for _, cleanup in _CLEANUPS:
        canonical, starts = _delete(cleanup, canonical, starts)
    folded = Folded(canonical, tuple(starts), tuple(start + 1 for start in starts))
    replacements = list(_dodge_replacements(canonical, dodges))
    return _apply(folded, replacements, mapped=True) if replacements else folded


def _delete(pattern: re.Pattern[str], text: str, starts: list[int]) -> tuple[str, list[int]]:
    kept_text: list[str] = []
    kept_starts: list[int] = []
    position = 0
    for match in pattern.finditer(text):
        kept_text.append(text[position : match.start()])
        kept_starts.extend(starts[position : match.start()])
        position = match.end()
    kept_text.append(text[position:])
    kept_starts.extend(starts[position:])
    return "".join(kept_text), kept_starts


def _dodge_replacements(text: str, dodges: DodgeTerms) -> Iterator[tuple[int, int, str]]:
    """Spans to rewrite as the term they dodge, in order and not overlapping."""
    found: list[tuple[int, int, str]] = []
    if dodges.sound_finder is not None:
        for last, (key, terms) in dodges.sound_finder.iter(text.translate(dodges.sounds)):
            start, end = last + 1 - len(key), last + 1
            span = text[start:end]
            if span not in terms:  # the term itself, spelt right, needs nothing
                term = _homophone_of(span, terms)
                if term is not None and _plausible_homophone(text, start, end):
                    found.append((start, end, term))
    if _HAS_LATIN.search(text):
        found.extend(_latin_dodges(text, dodges))
    found.sort(key=lambda item: (item[0], -item[1]))
    last_end = 0
    for start, end, term in found:
        if start >= last_end:
            last_end = end
            yield (start, end, term)


def _homophone_of(span: str, terms: Sequence[str]) -> str | None:
    """The term ``span`` dodges: same sounds, at least one character kept, no grammar swapped in."""
    for term in terms:
        if span == term:
            return None
        changed = [a for a, b in zip(span, term, strict=True) if a != b]
        if len(changed) < len(term) and not any(char in _GRAMMAR_CHARS for char in changed):
            return term
    return None


def _latin_dodges(text: str, dodges: DodgeTerms) -> Iterator[tuple[int, int, str]]:
    """Listed abbreviations (myl, no1) and pinyin spelt in letters, alone or mixed (免yi力)."""
    for match in _LATIN.finditer(text):
        run = match.group(0)
        alias = dodges.aliases.get(run)
        if alias is not None:
            yield (match.start(), match.end(), alias)
            continue
        letters = run.rstrip("0123456789")
        if len(letters) < 2 or not (letters in dodges.spelt_blob or dodges.spelt_pattern.search(letters)):
            continue
        for position in range(max(0, match.start() - 3), match.end()):
            spelt = _sound_match(text, position, match.start(), match.end(), dodges)
            if spelt is not None:
                yield (position, spelt[0], spelt[1])


def _sound_match(text: str, position: int, run_start: int, run_end: int, dodges: DodgeTerms) -> tuple[int, str] | None:
    """The longest term whose pinyin is spelt from ``position`` and uses the letter run."""
    best: tuple[int, str] | None = None
    spelt = ""
    end = position
    while end < len(text) and len(spelt) < 16:
        char = text[end]
        sound = char if "a" <= char <= "z" else syllable(char)
        if sound is None:
            break
        spelt += sound
        end += 1
        term = dodges.by_sound.get(spelt)
        if term is not None and end > run_start and _plausible_pinyin(text, position, end, run_start, run_end):
            best = (end, term)
    return best


def _plausible_pinyin(text: str, start: int, end: int, run_start: int, run_end: int) -> bool:
    letters = sum(1 for char in text[start:end] if "a" <= char <= "z")
    # Whole syllables, not a slice of an English word: a term cut from inside a letter run needs 6+ letters.
    inside_word = (start > run_start) or (end < run_end)
    return letters >= 2 and (not inside_word or letters >= 6)


def _plausible_homophone(text: str, start: int, end: int) -> bool:
    words = _words()
    if text[start:end] in words:
        return False
    # The dodge must not cut a real word at either edge (作为一 is 作为/一, not 作/为一).
    return text[max(0, start - 1) : start + 1] not in words and text[end - 1 : end + 1] not in words


@functools.cache
def _words() -> frozenset[str]:
    from livebot.text.idf import general_idf

    return frozenset(word for word in general_idf() if 2 <= len(word) <= 4)


def _apply(folded: Folded, replacements: Sequence[tuple[int, int, str]], *, mapped: bool) -> Folded:
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    position = 0
    for start, end, term in replacements:
        chars.append(folded.text[position:start])
        chars.append(term)
        if mapped:
            starts.extend(folded.starts[position:start])
            ends.extend(folded.ends[position:start])
            starts.extend([folded.starts[start]] * len(term))
            ends.extend([folded.ends[end - 1]] * len(term))
        position = end
    chars.append(folded.text[position:])
    if mapped:
        starts.extend(folded.starts[position:])
        ends.extend(folded.ends[position:])
    return Folded("".join(chars), tuple(starts), tuple(ends))
