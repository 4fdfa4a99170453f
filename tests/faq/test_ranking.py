"""Ranking: confident suggestions only, abstention, robustness to hostile input, BM25 parity."""

from __future__ import annotations

import math

import pytest
from rank_bm25 import BM25Okapi

from livebot.faq.enrich import Enricher
from livebot.faq.index import Bm25Index, FaqIndex
from livebot.faq.kb import FaqEntry
from livebot.faq.ranking import (
    CARD_BIAS,
    CARD_CALIBRATION,
    Candidate,
    Query,
    QueryWord,
    Ranker,
    card_evidence,
    card_features,
)
from livebot.faq.tokenizer import default_tokenizer


def ids(enricher: Enricher, text: str) -> list[str]:
    return [suggestion.id for suggestion in enricher.enrich(text).suggestions]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("奶源在哪里？", "milk-source-location"),
        ("乳铁蛋白含量多少", "lactoferrin"),
        ("宝宝拉肚子怎么办", "diarrhea"),
        ("溯源码在哪", "trace-code-location"),
        ("开罐后能放多久", "opened-can-shelf-life"),
    ],
)
def test_plain_questions_rank_first(enricher: Enricher, text: str, expected: str) -> None:
    assert ids(enricher, text)[:1] == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("請問溯源碼在哪裡？", "trace-code-location"),
        ("乳鐵蛋白含量多少", "lactoferrin"),
        ("bb拉稀了咋办😭😭", "diarrhea"),
        ("ＤＨＡ加了多少？？？", "dha-ara"),
        ("主播你好，我是第一次来直播间，家里宝宝5个月了，想问一下开罐以后能放多久", "opened-can-shelf-life"),
    ],
)
def test_noisy_input_still_ranks(enricher: Enricher, text: str, expected: str) -> None:
    assert ids(enricher, text)[:1] == [expected]


@pytest.mark.parametrize("text", ["冲冲冲", "主播好美", "666", "[玫瑰][玫瑰]", "👍👍👍", "奶牛好可爱🐄", "已下单"])
def test_abstains_on_chatter(enricher: Enricher, text: str) -> None:
    assert ids(enricher, text) == []


@pytest.mark.parametrize("text", ["你们公司是上市公司吗", "背景音乐叫什么名字", "主播衣服哪里买的", "有孕妇奶粉吗", "主播口红什么色号"])
def test_abstains_on_questions_the_kb_cannot_answer(enricher: Enricher, text: str) -> None:
    result = enricher.enrich(text)
    assert result.is_question
    assert result.suggestions == ()


def test_suggestions_are_at_most_three_sorted_and_calibrated(enricher: Enricher) -> None:
    for text in ("宝宝喝完吐奶还拉肚子怎么办", "扫码扫不出来怎么办", "一段和二段有什么区别", "奶粉怎么保存"):
        scores = [suggestion.score for suggestion in enricher.enrich(text).suggestions]
        assert len(scores) <= 3
        assert scores == sorted(scores, reverse=True)
        assert all(0.0 <= score <= 1.0 for score in scores)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "👍",
        "x" * 600,
        "奶源" * 300,
        "我家宝宝" + "，".join(["今天很开心"] * 60) + "，奶源在哪里？",
        "\x00\x01\x02奶源\x7f\u202e在哪",
        "<script>alert('奶源在哪')</script>",
        "<img src=x onerror=alert(1)>乳铁蛋白含量",
        "'; DROP TABLE faq; -- 奶源在哪",
        "SELECT * FROM users WHERE 1=1 OR '奶源'='奶源'",
        "%s %d {batch.farm} ${jndi:ldap://x}",
        "\ud83d",
        "🀄" * 100,
    ],
)
def test_hostile_input_never_crashes(enricher: Enricher, text: str) -> None:
    result = enricher.enrich(text)
    assert len(result.suggestions) <= 3
    assert all(token.strip() for token in result.tokens)
    assert not any(char in token for token in result.tokens for char in "<>\x00\u202e")


def test_long_input_keeps_the_question(enricher: Enricher) -> None:
    text = "我家宝宝" + "，".join(["今天很开心"] * 60) + "，乳铁蛋白含量多少？"
    assert "乳铁蛋白" in enricher.enrich(text[-200:]).tokens


def test_empty_knowledge_base_never_suggests() -> None:
    engine = Enricher([])
    assert engine.enrich("奶源在哪里？").suggestions == ()


def test_inverted_index_matches_rank_bm25_exactly() -> None:
    tokenizer = default_tokenizer()
    texts = ["奶源来自哪里", "牧场有多少头奶牛", "奶牛吃什么饲料", "溯源码在哪里", "溯源码扫不出来怎么办", "奶粉怎么保存"]
    corpus = [tokenizer.cut(text) for text in texts]
    ours, theirs = Bm25Index(corpus), BM25Okapi(corpus)
    for query in (["奶源", "哪里"], ["溯源码", "溯源码", "怎么办"], ["奶牛"], ["不存在"]):
        expected = theirs.get_scores(query)
        got = ours.scores(query)
        for doc in range(len(texts)):
            assert math.isclose(got.get(doc, 0.0), expected[doc], rel_tol=1e-9, abs_tol=1e-12)


def test_candidates_expose_features(sample_entries: list[FaqEntry]) -> None:
    ranker = Ranker(FaqIndex(sample_entries, default_tokenizer()))
    [best, *_] = ranker.candidates(default_tokenizer().analyze("奶源在哪里"))
    assert best.id == "milk-source-location"
    assert 0 <= best.coverage <= 1 and best.explained <= best.total and 0 <= best.confidence <= 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("喝完好几天拉不出来", "constipation"),
        ("罐子打开能放多久", "opened-can-shelf-life"),
        ("这奶粉有没有加糖", "no-sucrose-flavour"),
        ("宝宝拉屎特别费劲，小脸憋得通红", "constipation"),
        ("冲好的奶放了两个钟头还能给宝宝喝吗", "prepared-milk-keep-time"),
        ("我在超市买的，翻过来找了半天，溯源码在哪儿", "trace-code-location"),
    ],
)
def test_described_concepts_rank_first(enricher: Enricher, text: str, expected: str) -> None:
    """Viewers describe the concept in their own words, not the knowledge base's."""
    assert ids(enricher, text)[:1] == [expected]


@pytest.mark.parametrize("text", ["主播身上的衣服哪里买的", "宝宝几个月能翻身呀", "你们公司一共多少员工"])
def test_shared_words_with_an_unexplained_topic_abstain(enricher: Enricher, text: str) -> None:
    assert ids(enricher, text) == []


SUM_CARD = ((1.0, 0.0, 0.0, 0.0, 0.0, 0.0), 0.0)
"""A card model that reads only the readings' summed chance: card chance = that sum."""


class FixedRanker(Ranker):
    """A ranker whose candidates are given, to test what is shown."""

    def __init__(self, index: FaqIndex, confidences: list[float], card: tuple[tuple[float, ...], float] = SUM_CARD):
        super().__init__(index, card=card)
        self.confidences = confidences

    def _ranked(self, clauses: object, focus: object) -> tuple[Query, tuple[Candidate, ...]]:  # type: ignore[override]
        words = (QueryWord("w|奶源", 1.0, ()),)
        return Query({}, words), tuple(
            Candidate(n, f"entry-{n}", 1.0, 1.0, 1.0, 1.0, 0.0, confidence)
            for n, confidence in enumerate(self.confidences)
        )


@pytest.mark.parametrize(
    ("confidences", "shown"),
    [
        ([0.9, 0.3, 0.1], ["entry-0", "entry-1", "entry-2"]),  # a shown card carries up to three readings
        ([0.6, 0.004], ["entry-0", "entry-1"]),  # an unlikely runner-up still rides along, with its chance
        ([0.2, 0.1], ["entry-0", "entry-1"]),  # together 0.30 >= SHOW_THRESHOLD (0.2)
        ([0.1, 0.05, 0.04], []),  # together 0.19: not likely enough, abstain
        ([0.005, 0.005], []),  # weak evidence: abstain
        ([0.9, 0.5, 0.4, 0.3], ["entry-0", "entry-1", "entry-2"]),  # at most ``limit``
        ([], []),
    ],
)
def test_what_is_shown(sample_entries: list[FaqEntry], confidences: list[float], shown: list[str]) -> None:
    ranker = FixedRanker(FaqIndex(sample_entries[:3], default_tokenizer()), confidences)
    assert [s.id for s in ranker.suggest(default_tokenizer().analyze("x"))] == shown


def test_card_model_weighs_what_the_card_explains(sample_entries: list[FaqEntry]) -> None:
    """Same readings' chances; the card model (shipped signs) shows the card that explains the question."""
    index = FaqIndex(sample_entries[:3], default_tokenizer())
    ranker = FixedRanker(index, [0.2, 0.05, 0.05], card=(CARD_CALIBRATION, CARD_BIAS))
    query, shown = ranker._ranked((), frozenset())
    strong = next(iter(index.entry_terms[0].strong))
    explained = Query({}, (QueryWord(strong, 1.0, ()), QueryWord("w|未知词", 0.2, ())))
    unexplained = Query({}, (QueryWord(strong, 0.2, ()), QueryWord("w|未知词", 1.0, ())))
    assert ranker.card_chance(explained, shown[:1]) > ranker.card_chance(unexplained, shown[:1])


def test_card_evidence_splits_explained_known_elsewhere_and_unknown() -> None:
    words = [QueryWord("w|a", 1.0, ()), QueryWord("w|b", 0.5, ()), QueryWord("w|c", 0.25, ())]
    # entry 1 explains a, entry 2 knows b only from its answer; c is known to an entry off the card
    union, elsewhere, total = card_evidence(words, [(1.0, 0.0, 0.0), (0.0, 0.75, 0.0)], [True, True, True])
    assert (union, elsewhere, total) == (1.0 + 0.375, 0.25, 1.75)
    assert card_evidence(words, [(0.0, 0.0, 0.0)], [False, False, True]) == (0.0, 0.25, 1.75)
    features = card_features([0.5, 0.2], 1.375, 0.25, 1.75, 3)
    assert features[2] == pytest.approx(1.375 / 1.75) and features[3] == pytest.approx(0.25 / 1.75)
    assert features[0] > features[1]  # the summed chance is above the first reading's


def test_calibration_row_weights_scale_evidence() -> None:
    from livebot.faq.calibration import fit

    rows = [((0.0,), 0), ((1.0,), 1), ((1.0,), 0), ((2.0,), 1), ((0.5,), 0)]
    dropped = fit(rows[:-1])
    zero_weight = fit(rows, weights=[1, 1, 1, 1, 0])
    assert all(math.isclose(a, b, abs_tol=1e-6) for a, b in zip([*dropped[0], dropped[1]], [*zero_weight[0], zero_weight[1]], strict=True))


def test_leave_entry_out_rows_are_negatives(sample_entries: list[FaqEntry]) -> None:
    from livebot.faq.calibration import leave_entry_out_rows

    rows = leave_entry_out_rows(sample_entries[:6])
    assert rows and all(label == 0 for _, label in rows)
    assert len(rows) <= sum(len(entry.phrasings()) for entry in sample_entries[:6])


def test_cross_validation_scores_each_fold_with_a_fit_that_never_saw_it() -> None:
    from livebot.faq.calibration import Scored, cross_validate

    # Answerable cases: the right entry has high evidence and explains the question; the
    # unanswerable ones only weak candidates that explain little of it.
    folded: list[Scored] = []
    for n in range(40):
        folded.append(
            Scored("a", (("a", (2.0 + n % 3 * 0.1,), 9.0, (1.0, 1.0)), ("b", (0.0,), 5.0, (0.0, 0.0))),
                   ((1.0, True), (0.5, True)), f"a{n}")
        )
        folded.append(Scored(None, (("b", (-1.0 - n % 2 * 0.1,), 4.0, (0.0, 1.0)),), ((1.0, False), (0.5, True)), f"b{n}"))
    folded.append(Scored(None, (), (), "chatter"))
    figures = cross_validate(folded, [], [], folds=5, l2=0.1, thresholds=(0.3, 0.99))
    assert figures[0.3] == (1.0, 1.0, 1.0)
    assert figures[0.99][2] >= figures[0.3][2]


def test_miss_breakdown_accounts_for_every_answerable_case(sample_entries: list[FaqEntry], enricher: Enricher) -> None:
    """Causes add up to the answerable cases, and its hits are the evaluator's top-3 hits."""
    from livebot.faq.calibration import miss_breakdown
    from livebot.faq.evaluation import evaluate_faq
    from livebot.faq.ranking import CALIBRATION, CALIBRATION_BIAS, SHOW_THRESHOLD

    cases = [
        {"text": "奶源在哪里", "faq_id": "milk-source-location"},  # asked and shown
        {"text": "奶源", "faq_id": "milk-source-location"},  # no question: stopped by detection
        {"text": "主播身上的衣服哪里买的", "faq_id": "milk-source-location"},  # nothing to show
        {"text": "你们公司一共多少员工", "faq_id": None},  # unanswerable: not counted
    ]
    counts = miss_breakdown(sample_entries, cases, CALIBRATION, CALIBRATION_BIAS, SHOW_THRESHOLD)
    assert sum(counts.values()) == 3
    assert counts["hit"] == round(evaluate_faq(enricher, cases).top3 * 3)
    assert any(cause.startswith("not a question") for cause in counts)
    assert any(cause.startswith("abstained") for cause in counts)
