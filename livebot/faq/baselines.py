"""Naive baselines measured on the same lines as livebot: jieba + rank_bm25, and SnowNLP.

Offline evaluation only (``livebot faq eval --baselines``, ``bench/nlp.py``); rank_bm25 and
SnowNLP come with the ``test`` extra and are imported lazily, so a plain install never needs them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from livebot.faq.kb import FaqEntry
from livebot.sentiment.evaluation import evaluate_sentiment

SNOW_POSITIVE = 0.6
SNOW_NEGATIVE = 0.4


class BaselineUnavailable(RuntimeError):
    """rank_bm25 or SnowNLP is not installed (``pip install -e '.[test]'``)."""


def bm25_top1(entries: Sequence[FaqEntry], cases: Iterable[Mapping[str, Any]], *, aliases: bool = True) -> float:
    """Top-1 of plain jieba + BM25Okapi over each entry's question (and aliases) on answerable cases."""
    try:
        import jieba
        from rank_bm25 import BM25Okapi
    except ImportError as err:
        raise BaselineUnavailable(str(err)) from err
    jieba.setLogLevel(60)
    documents = [jieba.lcut(" ".join(entry.phrasings()) if aliases else entry.question) for entry in entries]
    bm25 = BM25Okapi(documents)
    answerable = [case for case in cases if case.get("faq_id")]
    hits = 0
    for case in answerable:
        scores = bm25.get_scores(jieba.lcut(str(case["text"])))
        best = max(range(len(entries)), key=lambda i: scores[i])
        hits += entries[best].id == case["faq_id"]
    return round(hits / len(answerable), 4) if answerable else 0.0


def snownlp_label(text: str) -> str:
    """SnowNLP's sentiment probability read as three classes (>= 0.6 positive, <= 0.4 negative)."""
    try:
        from snownlp import SnowNLP
    except ImportError as err:
        raise BaselineUnavailable(str(err)) from err
    value = SnowNLP(text).sentiments if text.strip() else 0.5
    return "positive" if value >= SNOW_POSITIVE else "negative" if value <= SNOW_NEGATIVE else "neutral"


def snownlp_macro_f1(cases: Iterable[Mapping[str, Any]]) -> float:
    """SnowNLP's three-class macro-F1 on labelled ``{"text", "label"}`` cases."""
    return evaluate_sentiment(snownlp_label, cases).macro_f1
