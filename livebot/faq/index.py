"""Inverted-index BM25 and the FAQ index built on it.

``Bm25Index`` computes exactly rank_bm25's ``BM25Okapi`` scores (same IDF with the epsilon
floor, same length normalisation) but only visits documents that share a term with the query:
~20× faster over a 1,000-entry knowledge base, because a chat question shares terms with a
handful of entries, not with all of them.

``FaqIndex`` turns FAQ entries into three fields (phrasings = question and aliases, tags,
answer) and three channels per field: canonical words, character bigrams (robust to jieba
cutting a phrase differently) and pinyin-syllable bigrams (robust to homophone typos).
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from livebot.faq.kb import FaqEntry
from livebot.faq.learned import MAX_ENTRIES, Example, LearnedChannel, fit_channel, shipped_examples
from livebot.faq.tokenizer import Analysis, Tokenizer
from livebot.text.normalize import normalize
from livebot.text.phonetics import is_cjk, syllable

WORD, BIGRAM, PINYIN = "w", "c", "p"
GENERIC_INFO = 7.0
INFO_SPAN = 5.0
UNKNOWN_FLOOR = 0.15
COMMON_INFO = 5.0
COMMON_SPAN = 4.0
COMMON_FLOOR = 0.25
NUMBER_IMPORTANCE = 0.1
MIN_IDF = 1e-3
# Bare quantities (8个月 is normalised to digits, but 一年半, 两年, 半 stay in words): how much
# or how long says little about which entry a question is about.
_NUMBER = re.compile(r"^(?:[0-9.]+[a-z]*|[0-9.零一二两三四五六七八九十百千万半几]+(?:年|个月|周|天|岁|次|罐|勺|斤|小时|分钟|个)?)$")


class Bm25Index:
    """Okapi BM25 over an inverted index (scores identical to ``rank_bm25.BM25Okapi``)."""

    def __init__(self, documents: Sequence[Sequence[str]], *, k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25):
        self.k1, self.b = k1, b
        self.size = len(documents)
        lengths = [len(document) for document in documents]
        self.average_length = (sum(lengths) / self.size) if self.size else 0.0
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for doc_id, document in enumerate(documents):
            norm = k1 * (1 - b + b * lengths[doc_id] / self.average_length) if self.average_length else k1
            for term, count in Counter(document).items():
                # Precompute the whole tf part: the query loop is then a multiply and an add.
                postings[term].append((doc_id, count * (k1 + 1) / (count + norm)))
        self._postings = dict(postings)
        self._idf = self._compute_idf(epsilon)

    def _compute_idf(self, epsilon: float) -> dict[str, float]:
        idf = {term: math.log(self.size - len(p) + 0.5) - math.log(len(p) + 0.5) for term, p in self._postings.items()}
        if not idf:
            return idf
        # rank_bm25's floor for terms in more than half the documents; kept positive so a
        # tiny corpus (one or two entries), where every IDF is negative, still ranks.
        floor = max(epsilon * (sum(idf.values()) / len(idf)), MIN_IDF)
        return {term: (value if value >= 0 else floor) for term, value in idf.items()}

    def idf(self, term: str) -> float:
        """The term's IDF (0 for a term no document contains)."""
        return self._idf.get(term, 0.0)

    def __contains__(self, term: str) -> bool:
        return term in self._postings

    def scores(self, query: Mapping[str, float] | Iterable[str]) -> dict[int, float]:
        """BM25 score per document that matches at least one query term.

        ``query`` is a bag of terms or a mapping term → weight (a weight of 2 equals the
        term given twice, as in rank_bm25).
        """
        weights = query if isinstance(query, Mapping) else Counter(query)
        result: dict[int, float] = {}
        get = result.get
        all_postings, idf = self._postings, self._idf
        for term, weight in weights.items():
            postings = all_postings.get(term)
            if postings is None:
                continue
            factor = weight * idf[term]
            for doc_id, tf_part in postings:
                result[doc_id] = get(doc_id, 0.0) + factor * tf_part
        return result


# ───────────── features of one text ─────────────


def channel_terms(terms: Sequence[str]) -> dict[str, list[str]]:
    """Word, character-bigram and pinyin-bigram terms of a sequence of canonical terms."""
    return _channel_terms(tuple(terms))


@functools.lru_cache(maxsize=65536)
def _channel_terms(terms: tuple[str, ...]) -> dict[str, list[str]]:
    # Cached per clause: the same clauses recur all through a stream. Callers must not
    # mutate the lists returned.
    chars = "".join(terms)
    bigrams = [chars[i : i + 2] for i in range(len(chars) - 1) if is_cjk(chars[i]) and is_cjk(chars[i + 1])]
    sounds = [syllable(char) for char in chars]
    pinyin = [f"{sounds[i]}_{sounds[i + 1]}" for i in range(len(sounds) - 1) if sounds[i] and sounds[i + 1]]
    return {
        WORD: [f"{WORD}|{term}" for term in terms],
        BIGRAM: [f"{BIGRAM}|{bigram}" for bigram in bigrams],
        PINYIN: [f"{PINYIN}|{pair}" for pair in pinyin],
    }


def all_channel_terms(terms: Sequence[str]) -> list[str]:
    """The three channels of ``terms`` as one bag."""
    channels = channel_terms(terms)
    return [*channels[WORD], *channels[BIGRAM], *channels[PINYIN]]


# ───────────── the FAQ index ─────────────


@functools.lru_cache(maxsize=8)
def _fitted(entries: tuple[FaqEntry, ...], examples: tuple[Example, ...], tokenizer: Tokenizer) -> LearnedChannel:
    """The learned channel of a knowledge base, reused while its entries and examples are the same."""
    return fit_channel(entries, examples, lambda text: tokenizer.analyze(text).clauses)


def _vocabulary(entries: Sequence[FaqEntry], tokenizer: Tokenizer) -> set[str]:
    """Words of an entry's phrasings, tags and answer, as jieba cuts them."""
    words: set[str] = set()
    for entry in entries:
        for text in (*entry.phrasings(), *entry.tags, entry.answer):
            words.update(tokenizer.cut(normalize(text).text))
    return words


@dataclass(frozen=True, slots=True)
class EntryTerms:
    """Channel terms an entry offers: strong (phrasings and tags) and weak (answer only)."""

    strong: frozenset[str]
    weak: frozenset[str]


class FaqIndex:
    """Fields and channels of every entry, ready for ``ranking.Ranker``."""

    def __init__(
        self, entries: Sequence[FaqEntry], tokenizer: Tokenizer, *, examples: Sequence[Example] | None = None
    ) -> None:
        self.entries = tuple(entries)
        self.tokenizer = tokenizer
        # Viewers misspell the knowledge base's own words too (品终 for 品种): let the
        # tokenizer repair them, before any text of this index is analysed.
        tokenizer.extend_vocabulary(_vocabulary(self.entries, tokenizer))
        phrasing_docs: list[list[str]] = []
        self.phrasing_entry: list[int] = []
        tag_docs: list[list[str]] = []
        answer_docs: list[list[str]] = []
        entry_terms: list[EntryTerms] = []
        # Per entry, the content words of each phrasing: how fully a question restates one.
        phrasing_words: list[tuple[frozenset[str], ...]] = []
        weak = tokenizer.lexicon.weak_words
        asked: Counter[str] = Counter()
        for number, entry in enumerate(self.entries):
            strong: set[str] = set()
            worded: list[frozenset[str]] = []
            for phrasing in entry.phrasings():
                terms = self._terms(phrasing)
                worded.append(frozenset(f"{WORD}|{term}" for term in terms if term not in weak))
                bag = all_channel_terms(terms)
                phrasing_docs.append(bag)
                self.phrasing_entry.append(number)
                strong.update(bag)
            asked.update(strong)
            phrasing_words.append(tuple(words for words in worded if words))
            tags = all_channel_terms([term for tag in entry.tags for term in self._terms(tag)])
            answer = all_channel_terms(self._terms(entry.answer))
            tag_docs.append(tags)
            answer_docs.append(answer)
            strong.update(tags)
            entry_terms.append(EntryTerms(frozenset(strong), frozenset(answer) - strong))
        self.phrasings = Bm25Index(phrasing_docs)
        self.tags = Bm25Index(tag_docs)
        self.answers = Bm25Index(answer_docs)
        self.entry_terms = tuple(entry_terms)
        self.phrasing_words = tuple(phrasing_words)
        self._entry_df = Counter(term for terms in entry_terms for term in terms.strong | terms.weak)
        # Specificity counts where a term is *asked about* (questions and aliases): 奶源 is a
        # tag of every milk-source entry and in many answers, but few entries are about it.
        self._asked_df = asked
        self._importance_memo: dict[str, float] = {}
        self._rare_idf = max(math.log((len(self.entries) + 1) / 1.5), 0.1)
        # The learned channel (``learned.py``): fitted on this index's entries and the labelled
        # examples of their ids (the shipped ones unless ``examples`` is given); none for a
        # knowledge base too large to fit in a second or two (the ranker then falls back).
        self.learned: LearnedChannel | None = (
            _fitted(self.entries, tuple(shipped_examples() if examples is None else examples), tokenizer)
            if 0 < len(self.entries) <= MAX_ENTRIES
            else None
        )

    def _terms(self, text: str) -> tuple[str, ...]:
        return self.analyze(text).terms

    def analyze(self, text: str) -> Analysis:
        """The tokenizer's analysis (shared cache with the per-message path)."""
        return self.tokenizer.analyze(text)

    def importance(self, term: str) -> float:
        """Memoised ``_importance`` (the same few thousand terms recur in chat)."""
        value = self._importance_memo.get(term)
        if value is None:
            value = self._importance(term)
            if len(self._importance_memo) < 100_000:
                self._importance_memo[term] = value
        return value

    def _importance(self, term: str) -> float:
        """How much a query term matters when deciding whether an entry explains the query.

        In 0..1. A term the knowledge base knows weighs by its IDF over entries relative to
        a term found in a single entry. An unknown term weighs by how informative it is in
        general Chinese: an unexplained 口红 or 上市公司 signals an off-topic question, an
        unexplained 东西 or 别人 does not. Bare numbers (ages, counts) weigh little.
        """
        word = term.split("|", 1)[-1]
        if _NUMBER.match(word):
            return NUMBER_IMPORTANCE
        df = self._asked_df.get(term, 0) or self._entry_df.get(term, 0)
        general = self.tokenizer.informativeness(word)
        if df:
            # Rare in the knowledge base is not enough: 人 in 被人动手脚 is rare there but says
            # nothing in "主播是哪里人". Very common Chinese words weigh less.
            plain = min(1.0, max(COMMON_FLOOR, (general - COMMON_INFO) / COMMON_SPAN))
            # Nor is rare in the knowledge base enough for a word found in documents of every
            # subject (收到, 确认, 处理): its general-language specificity caps the weight.
            plain = min(plain, self.tokenizer.specificity(word))
            return plain * math.log((len(self.entries) + 1) / (df + 0.5)) / self._rare_idf
        return min(1.0, max(UNKNOWN_FLOOR, (general - GENERIC_INFO) / INFO_SPAN))

    def known(self, term: str) -> bool:
        """True when some entry (any field) contains the term."""
        return term in self._entry_df

    def __len__(self) -> int:
        return len(self.entries)
