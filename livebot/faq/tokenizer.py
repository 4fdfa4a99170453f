"""Tokenise a message once: normalise, repair homophone typos, cut with jieba, canonicalise.

jieba is loaded lazily into a private ``jieba.Tokenizer`` (never the global one, so other
code cannot change our dictionary) with the domain words and synonym variants added; this
costs ~0.6 s and happens once per process, on first use. Results are cached per text
because ~75% of live chat repeats ("冲冲冲", "666", "多少钱").
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
import re
import threading
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from livebot.faq.lexicon import ConceptMatch, Lexicon, default_lexicon
from livebot.text.idf import general_idf
from livebot.text.normalize import normalize
from livebot.text.phonetics import HomophoneCorrector, is_cjk

if TYPE_CHECKING:
    import jieba

logger = logging.getLogger(__name__)

DOMAIN_WORD_FREQ = 3000
# General-language specificity (see ``Tokenizer.specificity``): jieba's IDF over a general
# Chinese document collection: the weight rises linearly from SPECIFICITY_FLOOR at IDF <=
# GENERIC_IDF (公司 3.5, 东西 4.8) to 1 at IDF >= SPECIFIC_IDF (假货 9.5, 冷藏 9.9); 收到 (6.7)
# and 确认 (6.5) land near 0.7.
GENERIC_IDF = 3.0
SPECIFIC_IDF = 8.0
SPECIFICITY_FLOOR = 0.4
_WORD = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)
_BOUNDARY = re.compile(r"^[\s,.!?;:，。！？；：、…~\-—()（）\[\]【】\"'“”‘’/|]+$")
# jieba cuts each run of these characters on its own (``jieba.re_han_default``): a run cut
# once serves every message it recurs in ("我家宝宝3个月了，…", "刚进来，…").
_JIEBA_BLOCK = re.compile(r"([\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]+)")


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
        self._general_freq: dict[str, int] = {}
        self._vocabulary: set[str] = set(self.lexicon.homophone_targets())
        self.analyze = functools.lru_cache(maxsize=cache_size)(self._analyze)  # type: ignore[method-assign]
        # Chat variants differ only in emoji and punctuation runs (多少钱 / 多少钱？？ / 多少钱👍):
        # the costly part is cached a second time, by normalised text.
        self._analyze_normalized = functools.lru_cache(maxsize=cache_size)(self._analyze_clean)
        # Pure functions of their argument, cached because clauses recur across messages.
        self._cut_block = functools.lru_cache(maxsize=cache_size)(self._cut_block_uncached)
        self._read_run = functools.lru_cache(maxsize=cache_size)(self._read_run_uncached)
        self._clause_terms = functools.lru_cache(maxsize=cache_size)(self._clause_terms_uncached)  # type: ignore[method-assign]

    def analyze(self, text: str) -> Analysis:
        """Normalise, repair, cut and canonicalise ``text`` (cached by text)."""
        raise NotImplementedError  # replaced per instance by the cached bound method

    def warm_up(self) -> None:
        """Load jieba and the dictionaries now (e.g. at service start) instead of on first use."""
        self._ensure_loaded()
        general_idf()

    def cut(self, text: str) -> list[str]:
        """Raw jieba tokens of already-normalised text (whitespace dropped)."""
        return [token for token in self._raw_cut(text) if not token.isspace()]

    def extend_vocabulary(self, words: Iterable[str]) -> None:
        """Also repair homophone slips of these words (a knowledge base's own vocabulary).

        Only Chinese words of 2+ characters count; the per-text cache is cleared when the
        set of repairable words grows, since earlier analyses may now read differently.
        """
        new = {word for word in words if len(word) >= 2 and all(is_cjk(char) for char in word)}
        with self._lock:
            if new <= self._vocabulary:
                return
            self._vocabulary |= new
            self._corrector = None
        self.analyze.cache_clear()  # type: ignore[attr-defined]
        self._analyze_normalized.cache_clear()
        self._read_run.cache_clear()

    def clear_caches(self) -> None:
        """Forget every cached reading (texts, runs, clauses), e.g. to measure first sight."""
        for cache in (self.analyze, self._analyze_normalized, self._read_run, self._cut_block, self._clause_terms):
            cache.cache_clear()  # type: ignore[union-attr]

    def informativeness(self, word: str) -> float:
        """Self-information of a word in general Chinese (jieba's corpus counts), in nats.

        Generic words (东西, 出来, 别人) score ~8, topical ones (口红, 上市公司) 13-17.
        """
        engine, _ = self._ensure_loaded()
        count = self._general_freq.get(word)
        if count is None:
            count = engine.FREQ.get(word) or 0
        return math.log(engine.total / max(count, 1))

    def specificity(self, word: str) -> float:
        """How topical a word is in general Chinese, in SPECIFICITY_FLOOR..1.

        From the *document* frequency of jieba's general IDF table: 收到 (6.7), 确认 (6.5),
        处理 (5.4) are in many documents of every subject and say little about what a question
        is about, however rare they are in one knowledge base; 乳铁蛋白, 溯源码, 生牛乳 (domain
        words, or absent from the table) keep a full weight.
        """
        if self.lexicon.is_domain(word):
            return 1.0
        idf = general_idf().get(word)
        if idf is None:
            return 1.0
        return min(1.0, max(SPECIFICITY_FLOOR, (idf - GENERIC_IDF) / (SPECIFIC_IDF - GENERIC_IDF)))

    def correct(self, text: str) -> str:
        """Repair homophone typos of domain terms in already-normalised text."""
        _, corrector = self._ensure_loaded()
        return corrector.correct(text, self._raw_cut(text))

    def _raw_cut(self, text: str) -> list[str]:
        """jieba's tokens of ``text``, cut run by run as jieba does, each run's cut cached."""
        cut = self._cut_block
        return [token for block in _JIEBA_BLOCK.split(text) if block for token in cut(block)]

    def _read_run_uncached(self, run: str) -> tuple[str, tuple[str, ...]]:
        """One run with homophone slips repaired, and its tokens."""
        _, corrector = self._ensure_loaded()
        raw = self._cut_block(run)
        corrected = corrector.correct(run, raw)
        if corrected != run:
            raw = self._cut_block(corrected)  # cut again only when a repair changed the text
        return corrected, raw

    def _cut_block_uncached(self, block: str) -> tuple[str, ...]:
        engine, _ = self._ensure_loaded()
        return tuple(engine.cut(block, HMM=False))  # no HMM: it glues unknown characters into junk words

    def _analyze(self, text: str) -> Analysis:
        normalized = normalize(text)
        analysis = self._analyze_normalized(normalized.text)
        return replace(analysis, emojis=normalized.emojis) if normalized.emojis else analysis

    def _analyze_clean(self, text: str) -> Analysis:
        # jieba cuts run by run and a repair never spans a character without pinyin, so the
        # text is read run by run, each run's reading cached (chat repeats clauses).
        runs = [self._read_run(run) for run in _JIEBA_BLOCK.split(text) if run]
        corrected = "".join(run for run, _ in runs)
        tokens = [token for _, cut in runs for token in cut if not token.isspace()]
        clauses, clause_texts = self._clauses(tokens)
        words = tuple(token for token in tokens if _WORD.search(token))
        return Analysis(text=corrected, emojis=(), tokens=words, clauses=clauses, clause_texts=clause_texts)

    def _clauses(self, tokens: list[str]) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
        """Split at punctuation; per clause its surface text and its canonical content terms."""
        clauses: list[tuple[str, ...]] = []
        texts: list[str] = []
        surface: list[str] = []
        for token in [*tokens, "."]:
            if _BOUNDARY.match(token):
                if surface:
                    clauses.append(self._clause_terms(tuple(surface)))
                    texts.append("".join(surface))
                surface = []
                continue
            surface.append(token)
        return tuple(clauses), tuple(texts)

    def _clause_terms(self, surface: tuple[str, ...]) -> tuple[str, ...]:
        """Canonical content terms of one clause (cached per instance; see ``_clause_terms_uncached``)."""
        raise NotImplementedError  # replaced per instance by the cached bound method

    def _clause_terms_uncached(self, surface: tuple[str, ...]) -> tuple[str, ...]:
        """Canonical content terms of one clause; a concept stands in for the tokens it covers.

        "宝宝喝完好几天才拉一次" is 宝宝 + 便秘 rather than 宝宝/完好/几天/拉/1: the words of
        a described symptom would otherwise count as unexplained content. A token mostly
        inside concepts goes with them (jieba's 完好 in 喝完好几天); one mostly outside stays,
        and so does a domain word (罐子 in 罐子里充的气), so that a pattern matching the
        knowledge base's wording but not the viewer's does not take a shared word away.
        """
        lexicon = self.lexicon
        matches: list[ConceptMatch] = []
        if lexicon.concepts is not None:
            boundaries = set(itertools.accumulate((len(token) for token in surface), initial=0))
            matches = lexicon.concepts.find("".join(surface), boundaries)
        terms: list[str] = []
        from_concepts: set[str] = set()
        emitted: set[int] = set()
        position = 0
        for token in surface:
            start, end = position, position + len(token)
            position = end
            covered = 0
            for number, match in enumerate(matches):
                if match.start >= end or start >= match.end:
                    continue
                covered += min(end, match.end) - max(start, match.start)
                if number not in emitted:
                    emitted.add(number)
                    for term in match.terms:
                        term = lexicon.canonicalize(term)
                        if term not in from_concepts:
                            from_concepts.add(term)
                            terms.append(term)
            if not _WORD.search(token):
                continue
            term = lexicon.canonicalize(token)
            if 2 * covered >= len(token) and not lexicon.is_domain(term):
                continue
            if lexicon.is_content(term) and not (matches and term in from_concepts):
                terms.append(term)
        return tuple(terms)

    def _ensure_loaded(self) -> tuple[jieba.Tokenizer, HomophoneCorrector]:
        engine, corrector = self._jieba, self._corrector
        if engine is not None and corrector is not None:
            return engine, corrector
        with self._lock:
            if self._jieba is None:
                self._jieba, self._general_freq = _build_jieba(self.lexicon)
            if self._corrector is None:
                freq = self._jieba.FREQ
                self._corrector = HomophoneCorrector(self._vocabulary, is_word=lambda word: freq.get(word, 0) > 0)
            return self._jieba, self._corrector


def _build_jieba(lexicon: Lexicon) -> tuple[jieba.Tokenizer, dict[str, int]]:
    """A private jieba with the domain words, and the general counts those words replaced."""
    with warnings.catch_warnings():
        # jieba 0.42 still touches pkg_resources / invalid escapes on some installs.
        warnings.simplefilter("ignore")
        import jieba

        logging.getLogger("jieba").setLevel(logging.WARNING)
        engine = jieba.Tokenizer()
        engine.initialize()
    general: dict[str, int] = {}
    for word in lexicon.jieba_words():
        general[word] = engine.FREQ.get(word) or 0
        # A floor frequency: domain words must beat accidental general words around them
        # (会上火 is 会/上火 here, not 会上/火 as the general dictionary would cut it).
        engine.add_word(word, max(engine.FREQ.get(word) or 0, DOMAIN_WORD_FREQ))
    logger.info("jieba loaded with %d domain words", len(lexicon.domain_words))
    return engine, general


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
