"""General behaviours that carry to phrasings no test set holds.

* Term importance blends the knowledge base's IDF with general-language document frequency
  (jieba's IDF table): a generic verb found in one entry (收到, 确认) weighs less than a domain
  word found in one entry (乳铁蛋白).
* Concept patterns can ask for a word boundary (``|``): 几天才拉 (constipation) is not
  几天才拉走 (hauled away).
* 冷藏 is the fridge or the cold chain by its context, never collapsed into one of them.
* Saying one does not understand (看不懂, 搞不明白, 求解释) asks a question; when another clause
  asks explicitly, that clause names what is asked.
* A tag question with one generic word (没问题吧) reads the clause before it.

Every phrasing here was written for this file; none comes from an evaluation set.
"""

from __future__ import annotations

import pytest

from livebot.faq.enrich import Enricher
from livebot.faq.errors import LexiconError
from livebot.faq.index import FaqIndex
from livebot.faq.kb import FaqEntry
from livebot.faq.lexicon import DATA_DIR, ConceptMatcher, load_lexicon
from livebot.faq.question import asks_beyond_help, detect_question
from livebot.faq.ranking import focus_clauses
from livebot.faq.tokenizer import SPECIFICITY_FLOOR, default_tokenizer
from livebot.text.idf import general_idf
from livebot.text.normalize import normalize


def terms(text: str) -> tuple[str, ...]:
    return default_tokenizer().analyze(text).terms


def ids(enricher: Enricher, text: str) -> list[str]:
    return [suggestion.id for suggestion in enricher.enrich(text).suggestions]


# ───────────── general-language IDF ─────────────


def test_the_general_idf_table_is_jiebas() -> None:
    table = general_idf()
    assert len(table) > 100_000
    assert table["东西"] < table["收到"] < table["冷藏"]
    assert general_idf() is table  # read once per process


@pytest.mark.parametrize("word", ["收到", "确认", "处理"])
def test_generic_verbs_are_not_specific(word: str) -> None:
    assert SPECIFICITY_FLOOR <= default_tokenizer().specificity(word) < 0.8


@pytest.mark.parametrize("word", ["乳铁蛋白", "溯源码", "生牛乳", "假货"])
def test_domain_and_topical_words_keep_their_weight(word: str) -> None:
    assert default_tokenizer().specificity(word) == 1.0


def test_general_idf_down_weights_a_generic_verb_found_in_one_entry() -> None:
    # Both words occur in exactly one entry, so the knowledge base alone cannot tell them apart.
    entries = [
        FaqEntry(id="order", question="下单以后怎么确认订单", answer="在订单页查看。"),
        FaqEntry(id="lactoferrin", question="乳铁蛋白含量是多少", answer="每100克含80毫克。"),
        FaqEntry(id="price", question="一罐多少钱", answer="以直播间价格为准。"),
    ]
    index = FaqIndex(entries, default_tokenizer())
    assert index.known("w|确认") and index.known("w|乳铁蛋白")
    assert index.importance("w|确认") < 0.8 * index.importance("w|乳铁蛋白")


# ───────────── word boundaries in concept patterns ─────────────


def test_a_marked_pattern_does_not_end_inside_a_word() -> None:
    matcher = ConceptMatcher({"几天才拉|": ("便秘",)})
    # 放/几天/才/拉走 and 宝宝/几天/才/拉/一次, as jieba cuts them
    assert matcher.find("放几天才拉走", boundaries={0, 1, 3, 4, 6}) == []
    assert [m.terms for m in matcher.find("宝宝几天才拉一次", boundaries={0, 2, 4, 5, 6, 8})] == [("便秘",)]
    # without a cut the mark is ignored (plain substring matching)
    assert [m.terms for m in matcher.find("放几天才拉走")] == [("便秘",)]


def test_an_unmarked_pattern_may_end_inside_a_word() -> None:
    matcher = ConceptMatcher({"扫不出": ("扫不出",)})
    assert [m.terms for m in matcher.find("扫不出来", boundaries={0, 1, 2, 4})] == [("扫不出",)]


def test_hauled_away_is_not_constipation_but_a_rare_poo_is() -> None:
    assert "便秘" not in terms("牛奶在牧场放几天才拉走")
    assert "便秘" in terms("我家娃几天才拉一次")
    assert "便秘" in terms("宝宝3天没拉了")
    assert "吐奶" not in terms("一直吐血")  # 吐血 is a word of its own
    assert "吐奶" in terms("宝宝喝完一直吐")


def test_a_boundary_mark_in_the_middle_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name in ("synonyms.txt", "stopwords.txt", "weak_words.txt", "domain_dict.txt"):
        (tmp_path / name).write_text((DATA_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "concepts.txt").write_text("便秘 = 拉|不出\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="concepts.txt:1"):
        load_lexicon(tmp_path)


# ───────────── 冷藏: fridge or cold chain by context ─────────────


@pytest.mark.parametrize("text", ["运输的时候有冷藏吗", "奶是冷藏运过来的吗", "路上冷藏做得怎么样", "生牛乳全程冷藏吗"])
def test_cold_storage_in_transport_is_the_cold_chain(text: str) -> None:
    found = terms(text)
    assert "冷链" in found and "冰箱" not in found


@pytest.mark.parametrize("text", ["奶粉能放冷藏吗", "开罐后要冷藏吗", "冷藏保存行不行"])
def test_cold_storage_of_the_product_is_the_fridge(text: str) -> None:
    found = terms(text)
    assert "冰箱" in found and "冷链" not in found


def test_cold_storage_questions_reach_the_right_entry(enricher: Enricher) -> None:
    assert ids(enricher, "路上冷藏做得怎么样")[:1] == ["cold-chain-transport"]
    assert ids(enricher, "奶是冷藏运过来的吗")[:1] == ["cold-chain-transport"]
    assert ids(enricher, "开罐后要冷藏吗")[:1] == ["storage-conditions"]


# ───────────── not understanding is a question ─────────────

NEEDS_HELP = [
    "这个配料表我真搞不明白",
    "配方里的opo没太看懂",
    "冲调说明写得不太清楚",
    "不知道这款适合过敏宝宝",
    "求解释一下罐底这串数字",
    "溯源页面上的指标看不懂",
    "二段三段的区别不太懂",
]
NOT_HELP = ["明白了", "好的明白了", "我也不知道", "主播讲得通俗易懂", "这孩子真不懂事", "画面看不清", "懂了懂了"]


@pytest.mark.parametrize("text", NEEDS_HELP)
def test_not_understanding_is_an_implicit_question(text: str) -> None:
    result = detect_question(normalize(text).text)
    assert result.is_question and "needs-help" in result.cues


@pytest.mark.parametrize("text", NOT_HELP)
def test_understanding_and_other_chatter_are_not_questions(text: str) -> None:
    assert not detect_question(normalize(text).text).is_question


def test_the_explicit_clause_names_what_is_asked(enricher: Enricher) -> None:
    text = "看了好久也没看懂，喷雾干燥到底是什么意思"
    assert not asks_beyond_help("看了好久也没看懂") and asks_beyond_help("喷雾干燥到底是什么意思")
    analysis = enricher._tokenizer.analyze(text)  # noqa: SLF001 - the shared tokenizer
    assert focus_clauses(analysis, enricher._ranker.index) == frozenset({1})  # noqa: SLF001
    assert ids(enricher, text)[:1] == ["spray-drying"]


def test_a_help_statement_alone_reaches_the_advisor(enricher: Enricher) -> None:
    assert enricher.enrich("扫码后那页检测数据看不懂").is_question


# ───────────── tag questions read the clause before ─────────────


def test_a_generic_tag_question_reads_the_clause_before(enricher: Enricher) -> None:
    analysis = enricher._tokenizer.analyze("这次买的颜色比上次深，没问题吧")  # noqa: SLF001
    assert focus_clauses(analysis, enricher._ranker.index) == frozenset({0, 1})  # noqa: SLF001
    # a specific word in the question clause still names the topic on its own
    analysis = enricher._tokenizer.analyze("前两天买了一罐，溯源码在哪")  # noqa: SLF001
    assert focus_clauses(analysis, enricher._ranker.index) == frozenset({1})  # noqa: SLF001
