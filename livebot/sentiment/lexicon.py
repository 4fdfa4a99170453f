"""The sentiment lexicon: sectioned word lists read from ``data/lexicon.txt``."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from livebot.errors import LivebotError

DATA_FILE = Path(__file__).with_name("data") / "lexicon.txt"
SECTIONS = ("positive", "negative", "neutral", "negator", "degree", "sarcasm", "contrast", "emoji")


class SentimentLexiconError(LivebotError):
    """The sentiment lexicon file is malformed; the message names the line."""


@dataclass(frozen=True, slots=True)
class SentimentLexicon:
    """Word → value per section; ``polarity`` merges positive, negative and neutral words."""

    polarity: Mapping[str, float]
    negators: Mapping[str, float]
    degrees: Mapping[str, float]
    sarcasm: Mapping[str, float]
    contrasts: frozenset[str]
    emoji: Mapping[str, float]
    max_length: int

    def kinds(self, word: str) -> tuple[str, ...]:
        """Which roles a text word can play (a word may be both a degree and a polarity word)."""
        roles = []
        if word in self.sarcasm:
            roles.append("sarcasm")
        if word in self.negators:
            roles.append("negator")
        if word in self.degrees:
            roles.append("degree")
        if word in self.polarity:
            roles.append("polarity")
        if word in self.contrasts:
            roles.append("contrast")
        return tuple(roles)


def load_sentiment_lexicon(path: Path = DATA_FILE) -> SentimentLexicon:
    """Parse a sectioned lexicon file."""
    sections: dict[str, dict[str, float]] = {name: {} for name in SECTIONS}
    current: dict[str, float] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = _COMMENT.sub("", raw).strip()
        if not line:
            continue
        if line in _HEADERS:
            current = sections[line[1:-1]]
            continue
        if current is None:
            raise SentimentLexiconError(f"{path.name}:{number}: entry before any [section]")
        word, _, value = line.rpartition(" ")
        word = word.strip()
        try:
            current[word] = float(value)
        except ValueError as err:
            raise SentimentLexiconError(f"{path.name}:{number}: expected 'word weight'") from err
        if not word:
            raise SentimentLexiconError(f"{path.name}:{number}: expected 'word weight'")
    polarity = {**sections["neutral"], **sections["positive"], **sections["negative"]}
    text_words = [*polarity, *sections["negator"], *sections["degree"], *sections["sarcasm"], *sections["contrast"]]
    return SentimentLexicon(
        polarity=polarity,
        negators=sections["negator"],
        degrees=sections["degree"],
        sarcasm=sections["sarcasm"],
        contrasts=frozenset(sections["contrast"]),
        emoji=sections["emoji"],
        max_length=max(len(word) for word in text_words),
    )


_HEADERS = frozenset(f"[{name}]" for name in SECTIONS)
_COMMENT = re.compile(r"(?:^|\s)#.*$")


@functools.cache
def default_sentiment_lexicon() -> SentimentLexicon:
    """The bundled lexicon, read once per process."""
    return load_sentiment_lexicon()
