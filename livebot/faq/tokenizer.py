"""Tokenise a message once: normalise, repair homophone typos, cut with jieba, canonicalise.

jieba is loaded lazily into a private ``jieba.Tokenizer`` (never the global one, so other
code cannot change our dictionary) with the domain words and synonym variants added; this
costs ~0.6 s and happens once per process, on first use. Results are cached per text
because ~75% of live chat repeats ("冲冲冲", "666", "多少钱").
"""

from __future__ import annotations

import functools
import logging
import math
import re
import threading
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from livebot.faq.lexicon import Lexicon, default_lexicon
from livebot.faq.normalize import normalize
from livebot.faq.phonetics import HomophoneCorrector

if TYPE_CHECKING:
    import jieba

logger = logging.getLogger(__name__)

DOMAIN_WORD_FREQ = 3000
_WORD = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)
_BOUNDARY = re.compile(r"^[\s,.!?;:，。！？；：、…~\-—()（）\[\]【】\"'“”‘’/|]+$")


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything later stages need from the text of one message."""

    text: str
    emojis: tuple[str, ...]
    tokens: tuple[str, ...]
    clauses: tuple[tuple[str, ...], ...]
    clause_texts: tuple[str, ...]

    @property
    def terms(self) -> tuple[str, ...]:
        """All canonical content terms, in order (stopwords removed)."""
        return tuple(term for clause in self.clauses for term in clause)


class Tokenizer:
    """Domain-aware Chinese tokenizer with a per-text LRU cache."""

    def __init__(self, lexicon: Lexicon | None = None, *, cache_size: int = 65536) -> None:
        self.lexicon = lexicon or default_lexicon()
        self._jieba: jieba.Tokenizer | None = None
        self._corrector: HomophoneCorrector | None = None
        self._lock = threading.Lock()
        self.analyze = functools.lru_cache(maxsize=cache_size)(self._analyze)  # type: ignore[method-assign]

    def analyze(self, text: str) -> Analysis:
        """Normalise, repair, cut and canonicalise ``text`` (cached by text)."""
        raise NotImplementedError  # replaced per instance by the cached bound method

    def warm_up(self) -> None:
        """Load jieba and the dictionaries now (e.g. at service start) instead of on first use."""
        self._ensure_loaded()

    def cut(self, text: str) -> list[str]:
        """Raw jieba tokens of already-normalised text (whitespace dropped)."""
        engine, _ = self._ensure_loaded()
        return [token for token in engine.lcut(text, HMM=False) if not token.isspace()]

    def informativeness(self, word: str) -> float:
        """Self-information of a word in general Chinese (jieba's corpus counts), in nats.

        Generic words (东西, 出来, 别人) score ~8, topical ones (口红, 上市公司) 13-17.
        """
        engine, _ = self._ensure_loaded()
        return math.log(engine.total / max(engine.FREQ.get(word) or 0, 1))

    def correct(self, text: str) -> str:
        """Repair homophone typos of domain terms in already-normalised text."""
        _, corrector = self._ensure_loaded()
        return corrector.correct(text)

    def _analyze(self, text: str) -> Analysis:
        normalized = normalize(text)
        corrected = self.correct(normalized.text) if normalized.text else ""
        tokens = self.cut(corrected) if corrected else []
        clauses, clause_texts = self._clauses(tokens)
        words = tuple(token for token in tokens if _WORD.search(token))
        return Analysis(
            text=corrected, emojis=normalized.emojis, tokens=words, clauses=clauses, clause_texts=clause_texts
        )

    def _clauses(self, tokens: list[str]) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
        """Split at punctuation; per clause its surface text and its canonical content terms."""
        clauses: list[tuple[str, ...]] = []
        texts: list[str] = []
        terms: list[str] = []
        surface: list[str] = []
        for token in [*tokens, "."]:
            if _BOUNDARY.match(token):
                if surface:
                    clauses.append(tuple(terms))
                    texts.append("".join(surface))
                terms, surface = [], []
                continue
            surface.append(token)
            if not _WORD.search(token):
                continue
            term = self.lexicon.canonicalize(token)
            if self.lexicon.is_content(term):
                terms.append(term)
        return tuple(clauses), tuple(texts)

    def _ensure_loaded(self) -> tuple[jieba.Tokenizer, HomophoneCorrector]:
        engine, corrector = self._jieba, self._corrector
        if engine is not None and corrector is not None:
            return engine, corrector
        with self._lock:
            if self._jieba is None or self._corrector is None:
                self._jieba = _build_jieba(self.lexicon)
                freq = self._jieba.FREQ
                self._corrector = HomophoneCorrector(
                    self.lexicon.homophone_targets(), is_word=lambda word: freq.get(word, 0) > 0
                )
            return self._jieba, self._corrector


def _build_jieba(lexicon: Lexicon) -> jieba.Tokenizer:
    with warnings.catch_warnings():
        # jieba 0.42 still touches pkg_resources / invalid escapes on some installs.
        warnings.simplefilter("ignore")
        import jieba

        logging.getLogger("jieba").setLevel(logging.WARNING)
        engine = jieba.Tokenizer()
        engine.initialize()
    for word in lexicon.jieba_words():
        # A floor frequency: domain words must beat accidental general words around them
        # (会上火 is 会/上火 here, not 会上/火 as the general dictionary would cut it).
        engine.add_word(word, max(engine.FREQ.get(word) or 0, DOMAIN_WORD_FREQ))
    logger.info("jieba loaded with %d domain words", len(lexicon.domain_words))
    return engine


_default_lock = threading.Lock()
_default: Tokenizer | None = None


def default_tokenizer() -> Tokenizer:
    """The process-wide tokenizer (jieba itself still loads lazily on first use)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Tokenizer()
    return _default
