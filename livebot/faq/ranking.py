"""Rank FAQ entries for one analysed message and decide whether to suggest anything at all.

Score: BM25 over the phrasings field (best single phrasing of an entry, since aliases are
alternative wordings, not one long document) plus lighter tag and answer fields, each over
word, character-bigram and pinyin-bigram channels, with the question clause weighted above
context clauses ("我家宝宝8个月了，换了奶三天没拉，怎么办": the last clauses matter).

Abstention: a wrong suggestion costs an advisor more than none, so a candidate is shown only
when a calibrated confidence clears a threshold. The confidence is a logistic function of
three features that generalise beyond any phrasing list:
  * coverage – the share of the query's content (weighted by how specific each term is, an
    unknown word such as 上市/口红 being maximally specific) that the entry explains;
  * relative score – the BM25 score against the score a perfect phrasing would get;
  * margin – how far the best entry is ahead of the runner-up.
Chatter is stopped earlier by question detection; questions about things the knowledge base
does not cover fail on coverage.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from livebot.faq.index import BIGRAM, PINYIN, WORD, FaqIndex, channel_terms
from livebot.faq.question import detect_question
from livebot.faq.tokenizer import Analysis

CONTEXT_WEIGHT = 0.35
WEAK_WEIGHT = 0.3
SINGLE_CHAR_WEIGHT = 0.6
CHANNEL_WEIGHTS = {WORD: 1.0, BIGRAM: 0.5, PINYIN: 0.25}
TAG_FIELD_WEIGHT = 0.3
ANSWER_FIELD_WEIGHT = 0.15
ANSWER_ONLY_CREDIT = 0.5
PARTIAL_CREDIT = 0.8
CANDIDATES = 10

# Logistic calibration: confidence = sigmoid(w · features + bias), features =
# (coverage, relative score, margin). Fitted by ``livebot.faq.calibration`` on the dev set.
CALIBRATION = (8.0, 2.0, 1.5)
CALIBRATION_BIAS = -5.4
SHOW_THRESHOLD = 0.5
SECONDARY_THRESHOLD = 0.3


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A FAQ entry worth showing an advisor; ``score`` is a calibrated confidence in 0..1."""

    id: str
    score: float


@dataclass(frozen=True, slots=True)
class Candidate:
    """A scored entry with the features behind its confidence (for evaluation and debugging)."""

    entry: int
    id: str
    raw: float
    coverage: float
    relative: float
    margin: float
    confidence: float


@dataclass(frozen=True, slots=True)
class Query:
    """Weighted channel terms of a message, and its word terms for coverage."""

    weights: dict[str, float]
    words: dict[str, float]


class Ranker:
    """Scores entries of a ``FaqIndex`` and returns only confident suggestions."""

    def __init__(
        self,
        index: FaqIndex,
        *,
        limit: int = 3,
        threshold: float = SHOW_THRESHOLD,
        secondary_threshold: float = SECONDARY_THRESHOLD,
    ) -> None:
        self.index = index
        self.limit = limit
        self.threshold = threshold
        self.secondary_threshold = secondary_threshold

    def suggest(self, analysis: Analysis) -> tuple[Suggestion, ...]:
        """At most ``limit`` confident suggestions, best first; empty to abstain."""
        candidates = self.candidates(analysis)
        if not candidates or candidates[0].confidence < self.threshold:
            return ()
        shown = [c for c in candidates if c.confidence >= self.secondary_threshold][: self.limit]
        return tuple(Suggestion(c.id, round(c.confidence, 4)) for c in shown)

    def candidates(self, analysis: Analysis) -> list[Candidate]:
        """Top entries with their features, most confident first."""
        query = build_query(analysis, self.index)
        if not query.words:
            return []
        raw = self._raw_scores(query)
        if not raw:
            return []
        ranked = sorted(raw.items(), key=lambda item: item[1], reverse=True)[:CANDIDATES]
        ideal = self._ideal_score(query)
        best = ranked[0][1]
        result = []
        for position, (entry, score) in enumerate(ranked):
            runner_up = ranked[1][1] if position == 0 and len(ranked) > 1 else best
            margin = (score - runner_up) / score if position == 0 and score > 0 else (score - best) / best
            coverage = self._coverage(query, entry)
            relative = min(score / ideal, 1.5) if ideal > 0 else 0.0
            confidence = calibrated(coverage, relative, margin)
            result.append(Candidate(entry, self.index.entries[entry].id, score, coverage, relative, margin, confidence))
        result.sort(key=lambda c: (c.confidence, c.raw), reverse=True)
        return result

    def _raw_scores(self, query: Query) -> dict[int, float]:
        index = self.index
        scores: dict[int, float] = {}
        for doc, score in index.phrasings.scores(query.weights).items():
            entry = index.phrasing_entry[doc]
            if score > scores.get(entry, 0.0):
                scores[entry] = score
        for entry, score in index.tags.scores(query.weights).items():
            scores[entry] = scores.get(entry, 0.0) + TAG_FIELD_WEIGHT * score
        for entry, score in index.answers.scores(query.weights).items():
            scores[entry] = scores.get(entry, 0.0) + ANSWER_FIELD_WEIGHT * score
        return scores

    def _ideal_score(self, query: Query) -> float:
        """Score of a phrasing holding every query term once: what a perfect match earns."""
        phrasings = self.index.phrasings
        ceiling = max((phrasings.idf(term) for term in query.weights if term in phrasings), default=0.0)
        return sum(
            weight * (phrasings.idf(term) if term in phrasings else ceiling) for term, weight in query.weights.items()
        )

    def _coverage(self, query: Query, entry: int) -> float:
        terms = self.index.entry_terms[entry]
        explained = total = 0.0
        for word, weight in query.words.items():
            importance = weight * self.index.importance(word)
            total += importance
            if word in terms.strong:
                explained += importance
            elif word in terms.weak:
                explained += importance * ANSWER_ONLY_CREDIT
            else:
                explained += importance * PARTIAL_CREDIT * _partial_match(word, terms.strong)
        return explained / total if total > 0 else 0.0


def calibrated(coverage: float, relative: float, margin: float) -> float:
    """Probability that the candidate is right, from the calibrated logistic model."""
    a, b, c = CALIBRATION
    z = a * coverage + b * relative + c * margin + CALIBRATION_BIAS
    return 1.0 / (1.0 + math.exp(-z))


def _partial_match(word_term: str, strong: frozenset[str]) -> float:
    """Share of a multi-character word's bigrams (or their sounds) the entry contains."""
    word = word_term.split("|", 1)[1]
    if len(word) < 2:
        return 0.0
    channels = channel_terms([word])
    bigrams, sounds = channels[BIGRAM], channels[PINYIN]
    if not bigrams:
        return 0.0
    hits = sum(1 for b, s in zip(bigrams, sounds) if b in strong or s in strong)
    return hits / len(bigrams)


def build_query(analysis: Analysis, index: FaqIndex) -> Query:
    """Weighted channel terms: question clauses count fully, context clauses less."""
    focus = focus_clauses(analysis, index)
    weights: dict[str, float] = {}
    words: dict[str, float] = {}
    weak = index.tokenizer.lexicon.weak_words
    for number, terms in enumerate(analysis.clauses):
        clause_weight = 1.0 if number in focus else CONTEXT_WEIGHT
        for term in terms:
            weight = clause_weight * term_weight(term, weak)
            key = f"{WORD}|{term}"
            words[key] = max(words.get(key, 0.0), weight)
        strong_terms = [term for term in terms if term not in weak]
        channels = channel_terms(strong_terms)
        for channel in (BIGRAM, PINYIN):
            for key in channels[channel]:
                weights[key] = weights.get(key, 0.0) + clause_weight * CHANNEL_WEIGHTS[channel]
    for key, weight in words.items():
        weights[key] = weights.get(key, 0.0) + weight * CHANNEL_WEIGHTS[WORD]
    return Query(weights=weights, words=words)


def term_weight(term: str, weak: frozenset[str]) -> float:
    """Weak words (哪里, 多少) and single characters say less about the topic."""
    if term in weak:
        return WEAK_WEIGHT
    if len(term) == 1 and not term.isascii():
        return SINGLE_CHAR_WEIGHT
    return 1.0


def focus_clauses(analysis: Analysis, index: FaqIndex) -> frozenset[int]:
    """Clauses that carry the question, extended backwards until they name a topic."""
    clauses = analysis.clauses
    if len(clauses) <= 1:
        return frozenset(range(len(clauses)))
    asking = [n for n, text in enumerate(analysis.clause_texts) if detect_question(text).is_question]
    if not asking:
        return frozenset(range(len(clauses)))
    weak = index.tokenizer.lexicon.weak_words
    focus = set(asking)
    first = min(asking)
    while first > 0 and sum(1 for n in focus for t in clauses[n] if t not in weak) < 2:
        first -= 1
        focus.add(first)
    return frozenset(focus)
