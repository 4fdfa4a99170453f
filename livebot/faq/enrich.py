"""The one call the chat pipeline makes per message: ``Enricher.enrich(text)``.

It normalises and tokenises once, then runs question detection, FAQ ranking (only for
questions), sentiment and trace-code recognition on that single analysis. Results are
cached by text: live chat repeats itself (~75% of messages), so most calls are a lookup.

The knowledge base can change while the stream runs (an advisor approves a viewer's
phrasing as a new alias): ``add_alias`` and ``rebuild`` swap in a new index, and a
generation number in the cache key makes sure no answer computed on the old index is
served afterwards.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

from livebot.faq.errors import UnknownEntryError
from livebot.faq.index import FaqIndex
from livebot.faq.kb import FaqEntry, replace_entry
from livebot.faq.question import QuestionResult, detect_question
from livebot.faq.ranking import Ranker, Suggestion
from livebot.faq.tokenizer import Analysis, Tokenizer, default_tokenizer
from livebot.faq.tracecodes import TraceCode, TraceCodeRecognizer
from livebot.sentiment.model import Label, SentimentModel
from livebot.text.normalize import MAX_CHARS

DEFAULT_CACHE_SIZE = 65536


@dataclass(frozen=True, slots=True)
class Enrichment:
    """What livebot knows about one chat message."""

    text: str
    tokens: tuple[str, ...]
    is_question: bool
    question_confidence: float
    suggestions: tuple[Suggestion, ...]
    sentiment: Label
    sentiment_score: float
    trace_codes: tuple[TraceCode, ...]

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly form (for the bus and the consoles)."""
        return {
            "text": self.text,
            "tokens": list(self.tokens),
            "is_question": self.is_question,
            "question_confidence": self.question_confidence,
            "suggestions": [{"id": s.id, "score": s.score} for s in self.suggestions],
            "sentiment": {"label": self.sentiment, "score": self.sentiment_score},
            "trace_codes": [{"kind": c.kind, "lot": c.lot, "gtin": c.gtin} for c in self.trace_codes],
        }


class Enricher:
    """Per-message NLP over one knowledge base; rebuildable when the knowledge base changes."""

    def __init__(
        self,
        entries: Sequence[FaqEntry],
        *,
        sentiment: SentimentModel | None = None,
        tokenizer: Tokenizer | None = None,
        trace_codes: TraceCodeRecognizer | None = None,
        limit: int = 3,
        cache_size: int = DEFAULT_CACHE_SIZE,
        calibration: tuple[Sequence[float], float] | None = None,
    ) -> None:
        self._tokenizer = tokenizer or default_tokenizer()
        self._sentiment = sentiment or SentimentModel()
        self._trace_codes = trace_codes or TraceCodeRecognizer()
        self._limit = limit
        self._calibration = calibration
        self._lock = threading.Lock()
        self._generation = 0
        self._ranker = self._build(entries)
        self._cached = functools.lru_cache(maxsize=cache_size)(self._compute)
        # Question detection and ranking depend only on the cleaned text, which many raw
        # variants share; sentiment (emoji) and trace codes (raw digits) stay per raw text.
        self._answer = functools.lru_cache(maxsize=cache_size)(self._question_and_suggestions)
        self._feeling = functools.lru_cache(maxsize=cache_size)(self._sentiment.score)

    @property
    def entries(self) -> tuple[FaqEntry, ...]:
        """The knowledge base the current index was built from."""
        return self._ranker.index.entries

    def entry(self, entry_id: str) -> FaqEntry:
        """The entry with this id (``UnknownEntryError`` when absent)."""
        for entry in self.entries:
            if entry.id == entry_id:
                return entry
        raise UnknownEntryError(entry_id)

    def enrich(self, text: str) -> Enrichment:
        """Analyse one message (cached by text)."""
        return self._cached(text[: MAX_CHARS + 1], self._generation)

    def warm_up(self) -> None:
        """Load jieba, the general IDF table and build everything now rather than on the first message."""
        self._tokenizer.warm_up()
        self.enrich("奶源在哪里？")

    def rebuild(self, entries: Sequence[FaqEntry]) -> None:
        """Replace the knowledge base; later calls see the new one immediately."""
        ranker = self._build(entries)
        with self._lock:
            self._ranker = ranker
            self._generation += 1
        self._cached.cache_clear()
        self._answer.cache_clear()

    def add_alias(self, entry_id: str, alias: str) -> FaqEntry:
        """Learning loop: add an approved viewer phrasing to an entry and re-index."""
        with self._lock:
            updated = self.entry(entry_id).with_alias(alias)
            entries = replace_entry(self.entries, updated)
        self.rebuild(entries)
        return updated

    def cache_info(self) -> functools._CacheInfo:
        """Hit/miss counters of the per-text cache (for metrics)."""
        return self._cached.cache_info()

    def _build(self, entries: Sequence[FaqEntry]) -> Ranker:
        return Ranker(FaqIndex(entries, self._tokenizer), limit=self._limit, calibration=self._calibration)

    def _question_and_suggestions(
        self, analysis: Analysis, generation: int
    ) -> tuple[QuestionResult, tuple[Suggestion, ...]]:
        question = detect_question(analysis.text, analysis.terms)
        suggestions = self._ranker.suggest(analysis) if question.is_question else ()
        return question, suggestions

    def _compute(self, text: str, generation: int) -> Enrichment:
        analysis = self._tokenizer.analyze(text)
        codes = self._trace_codes.find(text) if any(char.isdigit() for char in text) else ()
        # A batch number is noise to the ranker (an unknown "word" that nothing explains):
        # rank what the viewer asks about it; the code itself travels in ``trace_codes``.
        asked = self._tokenizer.analyze(without_codes(text, codes)) if codes else analysis
        question, suggestions = self._answer(replace(asked, emojis=()) if asked.emojis else asked, generation)
        sentiment = self._feeling(analysis.text, analysis.emojis)
        return Enrichment(
            text=analysis.text,
            tokens=analysis.tokens,
            is_question=question.is_question,
            question_confidence=question.confidence,
            suggestions=suggestions,
            sentiment=sentiment.label,
            sentiment_score=sentiment.score,
            trace_codes=codes,
        )


def without_codes(text: str, codes: Sequence[TraceCode]) -> str:
    """``text`` with every recognised trace code cut out."""
    for code in codes:
        text = text.replace(code.raw, " ")
    return text
