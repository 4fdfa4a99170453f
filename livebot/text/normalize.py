"""Normalise one chat message before any NLP: one canonical form for cache keys and tokens.

Handles what live chat throws at us: full-width letters and digits, Traditional characters,
Unicode emoji and Douyin-style bracket emoji (``[玫瑰]``), repeated punctuation and letters,
HTML fragments, control and zero-width characters, Chinese numerals before units (三个月 →
3个月, 二段 → 2段), degrees (37℃ → 37度) and absurdly long pastes.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_CHARS = 1000

_TAG = re.compile(r"</?[A-Za-z!][^<>]{0,300}>")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufe00-\ufe0f\U000e0000-\U000e007f\u20e3]")
_BRACKET_EMOJI = re.compile(r"\[([\u4e00-\u9fffA-Za-z]{1,6})\]")
EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff\u2190-\u21ff\u3030\u303d\u3297\u3299]"
)
SKIN_TONE = re.compile("[\U0001f3fb-\U0001f3ff]")
_SAME_PUNCT_RUN = re.compile(r"([^\w\s])\1+")
_QUESTION_RUN = re.compile(r"[?!]{2,}")
_ELLIPSIS = re.compile(r"\.{2,}|。{2,}|…+")
_LONG_REPEAT = re.compile(r"(\D)\1{3,}")
_SPACES = re.compile(r"\s+")
_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_NUMBER_UNIT = re.compile(
    r"([零一二两三四五六七八九十]{1,3})(?=个|岁|段(?!时|话|路|日子|距离)|周|罐|勺|次(?!性)|天|头|座|项|顿|批|瓶|箱|袋|小时|钟头)"
)
_DEGREES = re.compile(r"(?<=[0-9])\s*(?:°c|℃|°)")


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """The cleaned text NLP runs on, plus the emoji taken out of it (sentiment needs them)."""

    text: str
    emojis: tuple[str, ...]


def normalize(text: str) -> NormalizedText:
    """Clean one message; pure and cheap, the caller caches."""
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS])
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    text = _CONTROL.sub(" ", text)
    text = INVISIBLE.sub("", text)
    emojis: list[str] = []
    if "[" in text:
        text = _BRACKET_EMOJI.sub(lambda match: _keep(emojis, match.group(0)), text)
    text = EMOJI.sub(lambda match: _keep(emojis, match.group(0)), SKIN_TONE.sub("", text))
    text = to_simplified(text).lower()
    text = _CN_NUMBER_UNIT.sub(_arabic, text)
    if "°" in text or "℃" in text:
        text = _DEGREES.sub("度", text)  # 37℃ / 37°C → 37度, as viewers type it
    text = _ELLIPSIS.sub("…", text)
    text = _SAME_PUNCT_RUN.sub(r"\1", text)
    text = _QUESTION_RUN.sub(lambda match: "?" if "?" in match.group(0) else "!", text)
    text = _LONG_REPEAT.sub(r"\1\1\1", text)
    text = _SPACES.sub(" ", text).strip()
    return NormalizedText(text=text, emojis=tuple(emojis))


def _keep(emojis: list[str], emoji: str) -> str:
    """Remember ``emoji`` and replace it with a space in the text."""
    emojis.append(emoji)
    return " "


def _arabic(match: re.Match[str]) -> str:
    """三 → 3, 十二 → 12, 二十 → 20: small numbers before a unit (months, stages, days)."""
    numeral = match.group(1)
    if "十" not in numeral:
        if len(numeral) > 1:
            return numeral
        return str(_CN_DIGITS[numeral])
    tens, _, ones = numeral.partition("十")
    if len(tens) > 1 or len(ones) > 1 or (tens and tens not in _CN_DIGITS) or (ones and ones not in _CN_DIGITS):
        return numeral
    return str((_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0))


def to_simplified(text: str) -> str:
    """Traditional → Simplified, skipping OpenCC entirely for text with no Traditional-only char."""
    if _traditional_only_chars().isdisjoint(text):
        return text
    return _converter().convert(text)


@functools.cache
def _converter() -> Any:
    from opencc import OpenCC

    return OpenCC("t2s")


@functools.cache
def _traditional_only_chars() -> frozenset[str]:
    """Characters that only occur in Traditional writing (so their presence means convert)."""
    import opencc

    folder = Path(opencc.__file__).with_name("dictionary")
    simplified = {line.split("\t", 1)[0] for line in _dict_lines(folder / "STCharacters.txt")}
    result = set()
    for line in _dict_lines(folder / "TSCharacters.txt"):
        source, _, targets = line.partition("\t")
        if source not in simplified and source not in targets.split():
            result.add(source)
    return frozenset(result)


def _dict_lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if "\t" in line]
