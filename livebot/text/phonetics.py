"""Pinyin for homophone tolerance: viewers type 奶圆 for 奶源 and 乳铁蛋拜 for 乳铁蛋白.

Pinyin is looked up per character and cached (pypinyin on whole strings costs ~60 µs; the
per-character cache makes it a dictionary lookup). Tones are dropped because input-method
slips keep the syllable but not always the tone (拜 bài for 白 bái).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence

# Particles, pronouns and degree adverbs are typed on purpose: "能扫吗" must not become
# "能扫码", nor "晚好几天" become "完好几天".
FUNCTION_CHARS = frozenset("吗嘛么呢吧啊呀哦哈了的得地着过和与是在有不没也都就还已被会要能这那哪好很太更最")


def is_cjk(char: str) -> bool:
    """True for a CJK unified ideograph (the characters pinyin exists for)."""
    return "\u4e00" <= char <= "\u9fff"


@functools.lru_cache(maxsize=32768)
def syllable(char: str) -> str | None:
    """Toneless pinyin of one CJK character (None for anything else)."""
    if not is_cjk(char):
        return None
    from pypinyin import lazy_pinyin  # imported on first use: ~0.15 s

    return lazy_pinyin(char)[0]


def syllables(text: str) -> list[str | None]:
    """Toneless pinyin per character (None where a character has none)."""
    return [syllable(char) for char in text]


class HomophoneCorrector:
    """Rewrites a misspelt domain term to its proper characters when the pinyin matches.

    A span is repaired only when it sounds exactly like a known term, differs from it in at
    most a third of its characters (at least one kept: slips change a character, not a word),
    holds no grammatical particle, is not itself a dictionary word (上货 never becomes 上火)
    and lines up with word boundaries of the text as typed (被查询 is 被/查询, so 被查 is not
    a slip for 备查).
    """

    def __init__(self, terms: Iterable[str], is_word: Callable[[str], bool]) -> None:
        self._by_sound: dict[tuple[str, ...], str] = {}
        for term in terms:
            sound = syllables(term)
            if all(sound) and len(term) >= 2:
                self._by_sound.setdefault(tuple(s for s in sound if s), term)
        self._lengths = sorted({len(key) for key in self._by_sound}, reverse=True)
        self._first = {key[0] for key in self._by_sound}
        self._is_word = is_word

    def correct(self, text: str, tokens: Sequence[str] | None = None) -> str:
        """``text`` with misspelt domain terms replaced (unchanged when nothing matches).

        ``tokens`` is the text as segmented before repair; a repair must start and end on
        their boundaries. Without tokens any span may be repaired.
        """
        sounds = syllables(text)
        if not self._lengths or not any(s in self._first for s in sounds):
            return text
        out: list[str] = []
        position = 0
        boundaries = _boundaries(tokens) if tokens is not None else None
        while position < len(text):
            repaired = self._repair_at(text, sounds, position, boundaries)
            if repaired:
                out.append(repaired)
                position += len(repaired)
            else:
                out.append(text[position])
                position += 1
        return "".join(out)

    def _repair_at(
        self, text: str, sounds: list[str | None], position: int, boundaries: set[int] | None
    ) -> str | None:
        if sounds[position] not in self._first:
            return None
        for length in self._lengths:
            end = position + length
            if end > len(text):
                continue
            window = sounds[position:end]
            if None in window:
                continue
            term = self._by_sound.get(tuple(window))  # type: ignore[arg-type]
            if term is None:
                continue
            span = text[position:end]
            if span == term:
                return span
            if self._is_slip(span, term) and (boundaries is None or (position in boundaries and end in boundaries)):
                return term
        return None

    def _is_slip(self, span: str, term: str) -> bool:
        changed = sum(1 for a, b in zip(span, term, strict=False) if a != b)
        return (
            changed <= max(1, len(term) // 3)
            and changed < len(term)
            and not any(char in FUNCTION_CHARS for char in span)
            and not self._is_word(span)
        )


def _boundaries(tokens: Sequence[str]) -> set[int]:
    offsets, position = {0}, 0
    for token in tokens:
        position += len(token)
        offsets.add(position)
    return offsets
