"""Lexicon sentiment model for live chat: label and a score in -1..1 (negative..positive).

How a message is scored:
  * the text is split into clauses; each clause is scanned left to right with longest match
    against the lexicon (so 不放心 is one negative word, 冲奶 is not the cheer 冲);
  * a negator (不/没/一点也不) within a few characters flips the next polar word; negating a
    negative gives a mild positive (没有不适应), except the denial frame 不是不X, which is
    neutral ("不是不放心，就是想问…" is a question, not praise);
  * degree words (很/太/有点) scale the next polar word; 好 is a degree word right before a
    polar word (好干净) and praise on its own;
  * sarcasm markers (呵呵/就这/真行/所谓) count as negative and turn the message's praise
    into mockery;
  * the clause after a contrast (但是/不过) and the last clause count more, negative
    statements count a little more than positive ones (complaints outweigh politeness),
    and words inside a question clause count less (可以用开水吗 is not praise);
  * emoji and bracket emoji ([赞], [发怒]) add their weight, with diminishing returns.
Score = tanh(total / 2); the lexicon alone labels neutral while |total| < 0.6.

With the shipped learned weights (``learned.LearnedSentiment``: character n-grams of this
audience's lines plus the lexicon's total as features) the label is the learned model's; the
score keeps the lexicon's intensity when its sign agrees, else P(positive) - P(negative).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from livebot.faq.question import is_interrogative
from livebot.sentiment.learned import LABELS, LearnedSentiment, default_learned, features
from livebot.sentiment.lexicon import SentimentLexicon, default_sentiment_lexicon
from livebot.text.normalize import normalize

Label = Literal["positive", "neutral", "negative"]

LABEL_THRESHOLD = 0.6
NEGATION_REACH = 4
DEGREE_REACH = 3
NEGATED_NEGATIVE = 0.4
# A second negator this close after the first cancels it (不能不, 不得不, 没有不, 不会不).
DOUBLE_NEGATION_GAP = 1
LAST_CLAUSE_WEIGHT = 1.4
AFTER_CONTRAST_WEIGHT = 1.5
BEFORE_CONTRAST_WEIGHT = 0.6
NEGATIVITY_BIAS = 1.2
QUESTION_DAMPING = 0.4
# An emoji score this strong decides a message the learned layer reads as neutral.
EMOJI_DECIDES = 1.5
CLAUSE_CACHE = 32768
NEUTRAL_BAND = round(math.tanh(LABEL_THRESHOLD / 2), 4)
_CLAUSE_SPLIT = re.compile(r"[,.!?;:，。！？；：、…~\s]+")


@dataclass(frozen=True, slots=True)
class Sentiment:
    """The label and a score in -1..1 (negative to positive; 0 is neutral)."""

    label: Label
    score: float


@dataclass(slots=True)
class _Clause:
    total: float = 0.0
    sarcasm: float = 0.0
    contrast: bool = False


class SentimentModel:
    """Scores normalised chat text; cheap (~10 µs), safe to call on every message."""

    def __init__(self, lexicon: SentimentLexicon | None = None, *, learned: LearnedSentiment | None | bool = True) -> None:
        self.lexicon = lexicon or default_sentiment_lexicon()
        # ``learned=True`` takes the shipped weights; None (or False) is the lexicon alone.
        self.learned: LearnedSentiment | None = default_learned() if learned is True else (learned or None)
        words = {*lexicon_words(self.lexicon)}
        lengths: dict[str, set[int]] = {}
        for word in words:
            lengths.setdefault(word[0], set()).add(len(word))
        # Longest match only tries the lengths that exist for the character at hand.
        self._words = frozenset(words)
        self._lengths = {first: tuple(sorted(sizes, reverse=True)) for first, sizes in lengths.items()}
        # A clause's reading depends on its text alone, and clauses recur across messages.
        self._clause = functools.lru_cache(maxsize=CLAUSE_CACHE)(self._read_clause)
        self._words_total = functools.lru_cache(maxsize=CLAUSE_CACHE)(self._read_words)

    def analyze(self, text: str) -> Sentiment:
        """Sentiment of a raw message (normalises it first)."""
        normalized = normalize(text)
        return self.score(normalized.text, normalized.emojis)

    def score(self, text: str, emojis: Sequence[str] = ()) -> Sentiment:
        """Sentiment of already-normalised text and the emoji taken out of it."""
        total = self._total(text, emojis)
        lexical = round(math.tanh(total / 2), 4)
        if self.learned is None:
            return Sentiment(label=_label(total), score=lexical)
        probabilities = self.learned.label_probabilities(text, total, is_interrogative(text), emojis)
        label: Label = LABELS[probabilities.index(max(probabilities))]  # type: ignore[assignment]
        if label == "neutral" and text and emojis:
            # Words that carry no feeling plus a clearly emotional emoji ("溯源码在哪？😡"): the
            # emoji says how the viewer feels.
            mood = self._emoji(emojis)
            if abs(mood) >= EMOJI_DECIDES:
                label = "positive" if mood > 0 else "negative"
        sign = {"positive": 1, "negative": -1, "neutral": 0}[label]
        if sign == 0:  # neutral stays within the lexicon's neutral band
            return Sentiment(label=label, score=max(-NEUTRAL_BAND, min(NEUTRAL_BAND, lexical)))
        if lexical * sign > 0:
            return Sentiment(label=label, score=lexical)
        return Sentiment(label=label, score=round(probabilities[0] - probabilities[2], 4))

    def features(self, text: str) -> dict[str, float]:
        """The learned model's features of a raw message (for training)."""
        normalized = normalize(text)
        total = self._total(normalized.text, normalized.emojis)
        return features(normalized.text, total, is_interrogative(normalized.text), normalized.emojis)

    def _total(self, text: str, emojis: Sequence[str]) -> float:
        return self._words_total(text) + self._emoji(emojis)

    def _read_words(self, text: str) -> float:
        """The words' total of a text (cached in ``_words_total``: the text decides it alone)."""
        return self._combine([self._clause(part) for part in _CLAUSE_SPLIT.split(text) if part])

    def _combine(self, clauses: list[_Clause]) -> float:
        if not clauses:
            return 0.0
        contrast_at = max((n for n, clause in enumerate(clauses) if clause.contrast), default=None)
        sarcastic = any(clause.sarcasm for clause in clauses)
        total = 0.0
        for number, clause in enumerate(clauses):
            weight = LAST_CLAUSE_WEIGHT if number == len(clauses) - 1 and len(clauses) > 1 else 1.0
            if contrast_at is not None:
                weight *= AFTER_CONTRAST_WEIGHT if number >= contrast_at else BEFORE_CONTRAST_WEIGHT
            value = clause.total
            if sarcastic and value > 0:
                value = -value  # "呵呵，直播里当然都说好": the praise is the joke
            total += weight * (value * NEGATIVITY_BIAS if value < 0 else value) + clause.sarcasm
        return total

    def _read_clause(self, text: str) -> _Clause:
        """One clause's polar total, sarcasm and contrast (callers must not mutate the result)."""
        clause = _Clause()
        lexicon = self.lexicon
        negation: tuple[int, float] | None = None
        degree: tuple[int, float] | None = None
        position = 0
        damping = QUESTION_DAMPING if is_interrogative(text) else 1.0
        while position < len(text):
            word = self._longest(text, position)
            if word is None:
                position += 1
                continue
            end = position + len(word)
            roles = lexicon.kinds(word)
            if "sarcasm" in roles:
                clause.sarcasm += lexicon.sarcasm[word]
            elif "contrast" in roles:
                clause.contrast = True
            elif "negator" in roles:
                if negation and position - negation[0] <= DOUBLE_NEGATION_GAP:
                    negation = None  # 不能不夸, 没有不满意的: two negations affirm
                else:
                    negation = (end, lexicon.negators[word])
            elif "degree" in roles and ("polarity" not in roles or self._polar_word_at(text, end)):
                degree = (end, lexicon.degrees[word])
            elif "polarity" in roles and lexicon.polarity[word]:
                value = lexicon.polarity[word]
                if degree and position - degree[0] <= DEGREE_REACH:
                    value *= degree[1]
                if negation and position - negation[0] <= NEGATION_REACH:
                    value = self._negate(value, negation[1], text, position)
                clause.total += value * damping
                negation = degree = None
            position = end
        return clause

    def _negate(self, value: float, strength: float, text: str, position: int) -> float:
        if value > 0:
            return -value * min(strength, 1.2)
        if text[max(0, position - 3) : position].startswith("不是") or text[max(0, position - 2) : position] == "不是":
            return 0.0  # 不是不放心: a denial frame, not praise
        return -value * NEGATED_NEGATIVE * strength

    def _polar_word_at(self, text: str, position: int) -> bool:
        word = self._longest(text, position)
        return word is not None and bool(self.lexicon.polarity.get(word))

    def _longest(self, text: str, position: int) -> str | None:
        lengths = self._lengths.get(text[position]) if position < len(text) else None
        if lengths is None:
            return None
        for length in lengths:
            word = text[position : position + length]
            if len(word) == length and word in self._words:
                return word
        return None

    def _emoji(self, emojis: Sequence[str]) -> float:
        values = [self.lexicon.emoji.get(emoji, 0.0) for emoji in emojis]
        positive = sum(v for v in values if v > 0)
        negative = sum(v for v in values if v < 0)
        # Three 👍 are a bit more than one, not three times as much.
        return _dampen(positive) - _dampen(-negative) * NEGATIVITY_BIAS


def _label(total: float) -> Label:
    """The lexicon's own label for a total."""
    if total >= LABEL_THRESHOLD:
        return "positive"
    if total <= -LABEL_THRESHOLD:
        return "negative"
    return "neutral"


def lexicon_words(lexicon: SentimentLexicon) -> set[str]:
    """Every word the text scanner can match (all sections but emoji)."""
    return {*lexicon.polarity, *lexicon.negators, *lexicon.degrees, *lexicon.sarcasm, *lexicon.contrasts}


def _dampen(value: float) -> float:
    return math.log1p(value) * 1.5 if value > 0 else 0.0
