"""Fold text for the compliance guard while keeping every character's place in the original.

Rules match a canonical form (Simplified, half width, lower case, no spacing or emoji tricks,
homophones and pinyin put back to the term they dodge), but findings must point at what the
author typed. Folding runs on C-level string operations (``str.translate``, regex deletions)
so a 2,000-character text costs well under a millisecond; the map from canonical characters
back to original spans is built by the very same steps, and only when a rule has matched.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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
_ENDS = re.compile(r"^，|，$")
# Applied in order to the translated text, each only when its text occurs; each deletes what it matches.
_CLEANUPS = (
    (".", re.compile(r"\.(?!(?<=[0-9]\.)[0-9])")),  # a dot is kept only inside a number (4.1)
    ("，，", re.compile(r"，(?<=，，)")),  # runs of breaks collapse to one
    ("，", _ENDS),  # no break at either end
    # A break beside a one-character clause is a spacing trick (免，疫，力), not a clause.
    ("，", re.compile(r"，(?:(?<=^[^，]，)|(?<=，[^，]，)|(?=[^，](?:，|$)))")),
)
_BMP = 0x10000
_UNKNOWN: Any = ...
"""A list-table entry not filled yet: ``str.translate`` raises TypeError on it, so it is filled then."""


@dataclass(frozen=True, slots=True)
class Folded:
    """Canonical text plus, per character, the original ``[start, end)`` it stands for.

    ``starts[i]`` is where canonical character ``i`` begins in the original; it ends one
    character later unless ``wide`` says otherwise (a dodge written back as its term covers
    the whole dodge).
    """

    text: str
    starts: Sequence[int]
    wide: Mapping[int, int]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of canonical characters ``start..end``."""
        if start >= end or end > len(self.starts):
            return (0, 0)
        last = end - 1
        return (self.starts[start], self.wide.get(last, self.starts[last] + 1))


class _FoldTable(dict[int, str]):
    """``str.translate`` table filled on demand: code point → folded text ('' drops it)."""

    def __init__(self, emoji: Mapping[str, str]) -> None:
        super().__init__({ord(key[0]): value for key, value in emoji.items() if key})

    def __missing__(self, key: int) -> str:
        value = _fold_char(chr(key))
        self[key] = value
        return value


class _PairTable(dict[int, str]):
    """``str.translate`` table: code point → its folded text with each character's sound code
    after it (``a·sound(a)·b·sound(b)``), so one pass gives both the canonical text (even
    positions) and its sounds for homophone search (odd positions)."""

    def __init__(self, folds: _FoldTable, sounds: _SoundTable) -> None:
        super().__init__()
        self._folds = folds
        self._sounds = sounds

    def __missing__(self, key: int) -> str:
        value = "".join(char + self._sounds[ord(char)] for char in self._folds[key])
        self[key] = value
        return value


class _WidthTable(dict[int, str]):
    """``str.translate`` table: code point → chr(how many characters it folds to)."""

    def __init__(self, folds: _FoldTable) -> None:
        super().__init__()
        self._folds = folds

    def __missing__(self, key: int) -> str:
        value = chr(len(self._folds[key]))
        self[key] = value
        return value


@dataclass(frozen=True, slots=True)
class DodgeTerms:
    """Terms whose homophones, full pinyin and listed abbreviations are read as the term."""

    by_sound: Mapping[str, str]
    aliases: Mapping[str, str]
    table: _FoldTable
    pairs: _PairTable
    widths: _WidthTable
    sounds: _SoundTable
    sound_finder: Any  # Aho-Corasick over the coded sounds of the terms
    spelt_blob: str
    spelt_pattern: re.Pattern[str]
    keep: frozenset[str] = frozenset()
    """Domain words never read as a dodge, nor cut by one (益生菌: 益生 is not 医生)."""
    pair_list: list[Any] = dataclasses.field(default_factory=lambda: [_UNKNOWN] * _BMP, compare=False, repr=False)
    """``pairs`` as a list over the BMP, filled on demand: ``str.translate`` indexes a list about
    twice as fast as it looks a dict up (the dict stays for texts beyond the BMP)."""
    odd: _OddChars = dataclasses.field(default_factory=lambda: _OddChars(), compare=False, repr=False)
    """The characters met in ``pair_list`` that fold to other than one character (the span map's only work)."""
    initials: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """A term with some characters written as their pinyin initial (m乳, 免y力, 卫j委) → the term."""
    initial_sides: Mapping[str, frozenset[str]] = dataclasses.field(default_factory=dict)
    """Per letter run of those spellings (m, y, my …), the characters beside it there (乳 for m):
    any other run, or one with other neighbours (the g of 100g奶粉), needs no look-up."""


class _SoundTable(dict[int, str]):
    """``str.translate`` table: each CJK character → one private-use character per toneless
    syllable, anything else → a silent mark, so equal sounds are equal characters, 1:1.

    Once ``close``d (the terms are coded), a syllable no term has is silent too: it can take
    no part in a term's sounds, and the homophone automaton steps over silent marks cheaply.
    """

    SILENT = "\ue000"

    def __init__(self) -> None:
        super().__init__()
        self._codes: dict[str, str] = {}
        self._closed = False

    def __missing__(self, key: int) -> str:
        sound = syllable(chr(key))
        value = self.code(sound) if sound else self.SILENT
        self[key] = value
        return value

    def code(self, sound: str) -> str:
        if sound not in self._codes:
            if self._closed:
                return self.SILENT
            self._codes[sound] = chr(0xE001 + len(self._codes))
        return self._codes[sound]

    def close(self) -> None:
        self._closed = True


def build_dodges(
    terms: Sequence[str], aliases: Mapping[str, str], emoji: Mapping[str, str], keep: Sequence[str] = ()
) -> DodgeTerms:
    """Index dodge terms by their toneless pinyin, spelt (for letters) and coded (for homophones)."""
    by_sound: dict[str, str] = {}
    table = _SoundTable()
    by_key: dict[str, list[str]] = {}
    initials: dict[str, str] = {}
    spelt_aliases: dict[str, str] = {}
    for term in terms:
        sounds = [syllable(char) for char in term]
        if len(term) < 2 or not all(sounds):
            continue
        by_sound.setdefault("".join(s for s in sounds if s), term)
        by_key.setdefault(term.translate(table), []).append(term)
        for key, kept in _initial_keys(term, [s[0] for s in sounds if s]):
            if kept:
                initials.setdefault(key, term)
            elif len(key) >= 3:  # all initials: only 3+ letters are specific enough (mrh, wjw)
                spelt_aliases.setdefault(key, term)
    aliases = {**spelt_aliases, **aliases}
    table.close()
    folds = _FoldTable(emoji)
    return DodgeTerms(
        by_sound=by_sound,
        aliases=dict(aliases),
        table=folds,
        pairs=_PairTable(folds, table),
        widths=_WidthTable(folds),
        sounds=table,
        sound_finder=_sound_finder(by_key) if by_key else None,
        spelt_blob="|".join(by_sound),
        spelt_pattern=re.compile("|".join(sorted(by_sound, key=len, reverse=True)) or "(?!)"),
        keep=frozenset(keep),
        initials=initials,
        initial_sides=_initial_sides(initials),
    )


_ODD_MAX = 4096
"""Beyond this many odd characters met (a flood of symbols), the span map reads every character's width."""


class _OddChars:
    """Characters that fold to nothing or to several, kept as one character class to find them by."""

    def __init__(self) -> None:
        self.chars: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()  # a check may run in a worker thread (the guard's warm-up does)

    def add(self, char: str) -> None:
        with self._lock:
            self.chars.add(char)
            self._pattern = None

    def pattern(self) -> re.Pattern[str]:
        with self._lock:
            if self._pattern is None:
                body = "".join(f"\\u{ord(char):04x}" for char in sorted(self.chars))
                self._pattern = re.compile(f"[{body}]" if body else "(?!)")
            return self._pattern


def _in_bmp(text: str) -> bool:
    return len(text.encode("utf-16-be", "surrogatepass")) == 2 * len(text)


def _translate(text: str, table: list[Any], fallback: Mapping[int, str], odd: _OddChars | None = None) -> str:
    """``text.translate(fallback)``, through the list ``table`` (filled from ``fallback`` on demand).

    With ``odd`` (``table`` being pairs: two characters per folded one), a character filled in
    whose fold is not one character is noted there.
    """
    if not _in_bmp(text):  # beyond the BMP: the dict
        return text.translate(fallback)
    try:
        return text.translate(table)
    except TypeError:  # characters not met before
        for char in set(text):
            code = ord(char)
            if table[code] is _UNKNOWN:
                value = fallback[code]
                if odd is not None and len(value) != 2:
                    odd.add(char)  # before the entry is visible: a text that finds it filled finds it noted
                table[code] = value
        return text.translate(table)


_SILENT_RUN = _SoundTable.SILENT * 4 + "\x00"
"""Never in a text's sounds (they are codes and silent marks only): as the automaton's first
word it makes the silent mark the root's first child, so a run of them costs a compare or two
a character instead of a scan of every term's first sound."""


def _sound_finder(by_key: Mapping[str, Sequence[str]]) -> Any:
    return literal_finder(itertools.chain([(_SILENT_RUN, ())], ((key, tuple(values)) for key, values in by_key.items())))


def _initial_sides(initials: Iterable[str]) -> dict[str, frozenset[str]]:
    sides: dict[str, set[str]] = {}
    for key in initials:
        for run in _LATIN.finditer(key):
            beside = sides.setdefault(run.group(), set())
            beside.update(key[max(0, run.start() - 1) : run.start()] + key[run.end() : run.end() + 1])
    return {run: frozenset(chars) for run, chars in sides.items()}


def _initial_keys(term: str, letters: Sequence[str]) -> Iterator[tuple[str, bool]]:
    """``term`` with every non-empty set of its characters written as their pinyin initials,
    and whether a character of the term is kept (m乳 and 免y力 keep one; myl keeps none)."""
    for mask in range(1, 1 << len(term)):
        key = "".join(letters[i] if mask >> i & 1 else char for i, char in enumerate(term))
        yield key, mask != (1 << len(term)) - 1


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
    if not folded.isascii() and folded.isalpha():  # tone marks on pinyin (mǐn, lǜ) are dropped
        bare = "".join(c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c))
        if bare.isascii() and bare.isalpha():
            return bare
    if is_cjk(folded):
        return to_simplified(folded)[:1] or folded
    if folded.isalnum() or folded in KEEP_SYMBOLS or folded == ".":
        return folded
    return ""


def fold_text(text: str, dodges: DodgeTerms) -> str:
    """The canonical text alone (the fast path every check takes)."""
    return fold_lazy(text, dodges)[0]


def fold(text: str, dodges: DodgeTerms) -> Folded:
    """Canonical text with the map back to ``text``; same steps as ``fold_text``."""
    return fold_lazy(text, dodges)[1]()


def fold_lazy(text: str, dodges: DodgeTerms) -> tuple[str, Callable[[], Folded]]:
    """The canonical text now, and a function building its map back to ``text`` when needed.

    Checks only need the map when a rule matched; building it reuses this pass's steps.
    """
    pairs = _translate(text, dodges.pair_list, dodges.pairs, dodges.odd)
    canonical, sounds = pairs[0::2], pairs[1::2]
    stages: list[tuple[re.Pattern[str], str]] = []
    for needed, cleanup in _CLEANUPS:
        if needed in canonical:
            if cleanup is _ENDS and "\n" not in canonical:  # ^，|，$ without a scan of the text between
                cuts = [(0, 1)] if canonical[0] == BREAK else []
                if len(canonical) > 1 and canonical[-1] == BREAK:
                    cuts.append((len(canonical) - 1, len(canonical)))
            else:
                cuts = [match.span() for match in cleanup.finditer(canonical)]
            if cuts:
                stages.append((cleanup, canonical))
                canonical, sounds = _cut(canonical, cuts), _cut(sounds, cuts)
    replacements = list(_dodge_replacements(canonical, sounds, dodges))
    cleaned = canonical
    if replacements:
        canonical = _apply_text(cleaned, replacements)

    def mapped() -> Folded:
        starts = _starts(text, dodges)
        for cleanup, before in stages:
            starts = _delete(cleanup, before, starts)
        if not replacements:
            return Folded(cleaned, starts, {})
        return _apply_map(cleaned, starts, replacements)

    return canonical, mapped


def _cut(text: str, cuts: Sequence[tuple[int, int]]) -> str:
    """``text`` without the ``[start, end)`` spans in ``cuts`` (in order, not overlapping)."""
    pieces: list[str] = []
    position = 0
    for start, end in cuts:
        pieces.append(text[position:start])
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _starts(text: str, dodges: DodgeTerms) -> list[int]:
    """Per character of ``text.translate(dodges.table)``, the index of the original it came from.

    ``text`` has been through ``fold_lazy`` (so each of its characters through ``pair_list``):
    only the few characters that fold to other than one (spaces, quotes, emoji) need a look;
    the runs between them map one to one.
    """
    if not _in_bmp(text) or len(dodges.odd.chars) > _ODD_MAX:  # per character: the dict path noted nothing
        widths = text.translate(dodges.widths).encode("latin-1")
        return [index for index, width in enumerate(widths) for _ in range(width)]
    folds = dodges.table
    starts: list[int] = []
    position = 0
    for match in dodges.odd.pattern().finditer(text):
        index = match.start()
        starts.extend(range(position, index))
        starts.extend([index] * len(folds[ord(match.group())]))
        position = index + 1
    starts.extend(range(position, len(text)))
    return starts


def _delete(pattern: re.Pattern[str], text: str, starts: list[int]) -> list[int]:
    """``starts`` with the characters ``pattern`` deletes from ``text`` taken out."""
    kept: list[int] = []
    position = 0
    for match in pattern.finditer(text):
        kept.extend(starts[position : match.start()])
        position = match.end()
    kept.extend(starts[position:])
    return kept


def _dodge_replacements(text: str, sounds: str, dodges: DodgeTerms) -> Iterator[tuple[int, int, str]]:
    """Spans to rewrite as the term they dodge, in order and not overlapping."""
    found: list[tuple[int, int, str]] = []
    if dodges.sound_finder is not None:
        for last, (key, terms) in dodges.sound_finder.iter(sounds):
            start, end = last + 1 - len(key), last + 1
            span = text[start:end]
            if span not in terms:  # the term itself, spelt right, needs nothing
                term = _homophone_of(span, terms)
                if term is not None and _plausible_homophone(text, start, end, dodges.keep):
                    found.append((start, end, term))
    runs = [(match.group(), *match.span()) for match in _LATIN.finditer(text)]  # one scan for both letter passes
    if runs:
        found.extend(_latin_dodges(text, dodges, runs))
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
        # A particle swapped in reads as grammar (作唯一个), unless two characters of a longer term stay (原生太).
        kept_enough = len(term) >= 3 and len(term) - len(changed) >= 2
        if len(changed) < len(term) and (kept_enough or not any(char in _GRAMMAR_CHARS for char in changed)):
            return term
    return None


def _latin_dodges(text: str, dodges: DodgeTerms, runs: Sequence[tuple[str, int, int]]) -> Iterator[tuple[int, int, str]]:
    """Listed abbreviations (myl, no1), pinyin initials among the term's characters (免y力) and
    pinyin spelt in letters, alone or mixed (免yi力); ``runs`` are the text's letter runs."""
    if dodges.initials:
        for start, end, term in _initials_near_letters(text, dodges, runs):
            # The letters must be a whole letter run each: y in 免y力, not the y of "myself".
            if (start > 0 and _is_latin(text[start]) and _is_latin(text[start - 1])) or (
                end < len(text) and _is_latin(text[end - 1]) and _is_latin(text[end])
            ):
                continue
            yield (start, end, term)
    for run, run_start, run_end in runs:
        alias = dodges.aliases.get(run)
        if alias is not None:
            yield (run_start, run_end, alias)
            continue
        letters = run.rstrip("0123456789")
        if len(letters) < 2 or not (letters in dodges.spelt_blob or dodges.spelt_pattern.search(letters)):
            continue
        for position in range(max(0, run_start - 3), run_end):
            spelt = _sound_match(text, position, run_start, run_end, dodges)
            if spelt is not None:
                yield (position, spelt[0], spelt[1])


_INITIALS_REACH = 3
"""Characters a term written with initials reaches beyond a letter run (免y力: one each side)."""


def _initials_near_letters(
    text: str, dodges: DodgeTerms, runs: Sequence[tuple[str, int, int]]
) -> Iterator[tuple[int, int, str]]:
    """Terms written with some initials (m乳, 免y力), looked up around the text's letter runs only."""
    initials, sides = dodges.initials, dodges.initial_sides
    for run, run_start, run_end in runs:
        beside = sides.get(run)
        # dha, mg: no term is spelt with these letters; 100g奶粉: none has g beside 奶
        if beside is None or not (text[run_start - 1 : run_start] in beside or text[run_end : run_end + 1] in beside):
            continue
        for start in range(max(0, run_start - _INITIALS_REACH), run_start + 1):
            for end in range(min(len(text), run_end + _INITIALS_REACH), run_end - 1, -1):
                term = initials.get(text[start:end])
                if term is not None:
                    yield (start, end, term)
                    break


def _is_latin(char: str) -> bool:
    return "a" <= char <= "z" or "0" <= char <= "9"


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


def _plausible_homophone(text: str, start: int, end: int, keep: frozenset[str] = frozenset()) -> bool:
    words = _words()
    if text[start:end] in words or text[start:end] in keep:
        return False
    # Part of a longer word written right (益生 in 益生菌, 原生 in 原生乳) is that word, not a dodge.
    for lo in range(max(0, start - 2), start + 1):
        for hi in range(end, min(len(text), end + 2) + 1):
            if hi - lo > end - start and (text[lo:hi] in keep or text[lo:hi] in words):
                return False
    # The dodge must not cut a common word at either edge (作为一 is 作为/一, not 作/为一); a
    # rare word there (代母 in 替代母儒) is a coincidence, not a reading.
    common = _common_words()
    return text[max(0, start - 1) : start + 1] not in common and text[end - 1 : end + 1] not in common


@functools.cache
def _words() -> frozenset[str]:
    from livebot.text.idf import general_idf

    return frozenset(word for word in general_idf() if 2 <= len(word) <= 4)


_RARE_IDF = 12.0
"""jieba IDF from which a word is too rare to be what a writer meant at a dodge's edge."""


@functools.cache
def _common_words() -> frozenset[str]:
    from livebot.text.idf import general_idf

    return frozenset(word for word, idf in general_idf().items() if len(word) == 2 and idf < _RARE_IDF)


def _apply_text(text: str, replacements: Sequence[tuple[int, int, str]]) -> str:
    chars: list[str] = []
    position = 0
    for start, end, term in replacements:
        chars.append(text[position:start])
        chars.append(term)
        position = end
    chars.append(text[position:])
    return "".join(chars)


def _apply_map(text: str, starts: list[int], replacements: Sequence[tuple[int, int, str]]) -> Folded:
    new_starts: list[int] = []
    wide: dict[int, int] = {}
    position = 0
    for start, end, term in replacements:
        new_starts.extend(starts[position:start])
        first = len(new_starts)
        new_starts.extend([starts[start]] * len(term))
        for index in range(first, first + len(term)):
            wide[index] = starts[end - 1] + 1
        position = end
    new_starts.extend(starts[position:])
    return Folded(_apply_text(text, replacements), new_starts, wide)
