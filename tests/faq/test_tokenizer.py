"""Domain-aware tokenisation: dictionary, synonyms, homophone repair, lazy private jieba."""

from __future__ import annotations

import subprocess
import sys

import pytest

from livebot.faq.enrich import Enricher
from livebot.faq.tokenizer import default_tokenizer
from livebot.text.normalize import normalize


@pytest.mark.parametrize("word", ["乳铁蛋白", "溯源码", "生牛乳", "湿法工艺", "喷雾干燥", "上火"])
def test_domain_words_stay_whole(enricher: Enricher, word: str) -> None:
    assert word in default_tokenizer().analyze(f"请问{word}怎么样").tokens


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("bb喝了拉稀", "腹泻"),
        ("宝宝拉肚子", "腹泻"),
        ("nf怎么冲泡", "冲调"),
        ("娃几个月", "宝宝"),
        ("罐子底部的码", "罐底"),
        ("kf不回", "客服"),
    ],
)
def test_synonyms_are_canonicalised(enricher: Enricher, text: str, term: str) -> None:
    assert term in default_tokenizer().analyze(text).terms


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("乳铁蛋拜有吗", "乳铁蛋白"), ("塑源码在哪", "溯源码"), ("奶圆在哪里", "奶源"), ("三聚氰俺查不查", "三聚氰胺")],
)
def test_homophone_typos_are_repaired(enricher: Enricher, typed: str, meant: str) -> None:
    analysis = default_tokenizer().analyze(typed)
    assert meant in analysis.text or meant in analysis.terms


@pytest.mark.parametrize("text", ["微信扫一扫能扫吗", "客服一直不回", "扫码显示已经被查询3次了", "已下单"])
def test_real_words_and_particles_are_not_repaired(enricher: Enricher, text: str) -> None:
    assert default_tokenizer().analyze(text).text == normalize(text).text


def test_clauses_split_on_punctuation(enricher: Enricher) -> None:
    analysis = default_tokenizer().analyze("我家宝宝8个月了，换了奶3天没拉粑粑，怎么办")
    assert len(analysis.clause_texts) == 3
    assert "便秘" in analysis.clauses[1]


def test_cache_returns_the_same_analysis(enricher: Enricher) -> None:
    tokenizer = default_tokenizer()
    assert tokenizer.analyze("奶源在哪") is tokenizer.analyze("奶源在哪")


def test_jieba_is_not_loaded_at_import_and_global_instance_untouched() -> None:
    code = (
        "import sys\n"
        "import livebot.faq.enrich, livebot.faq.tokenizer, livebot.cli.faq, livebot.sentiment.model\n"
        "print('jieba' in sys.modules, 'pypinyin' in sys.modules, 'opencc' in sys.modules)\n"
        "from livebot.faq.tokenizer import default_tokenizer\n"
        "default_tokenizer().analyze('乳铁蛋白')\n"
        "import jieba\n"
        "print(jieba.dt.initialized, '乳铁蛋白' in jieba.dt.FREQ)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "False False False"
    assert out[1] == "False False"


@pytest.mark.parametrize(
    "text",
    ["我家宝宝3个月了,奶圆在哪里?", "bb喝了拉稀 怎么办~ 急急急", "乳铁蛋拜含量多少 v2.0版-新罐", "买了2罐,溯源码扫不出来!!", ""],
)
def test_run_by_run_reading_equals_whole_text_reading(enricher: Enricher, text: str) -> None:
    """Cutting and repairing each run on its own (cached) reads exactly as the whole text would."""
    tokenizer = default_tokenizer()
    clean = normalize(text).text
    engine, corrector = tokenizer._ensure_loaded()
    whole = engine.lcut(clean, HMM=False)
    repaired = corrector.correct(clean, whole) if whole else ""
    tokens = [token for token in engine.lcut(repaired, HMM=False) if not token.isspace()]
    analysis = tokenizer.analyze(text)
    assert analysis.text == repaired
    assert [token for token in tokens if any(char.isalnum() for char in token)] == list(analysis.tokens)
    assert tokenizer.cut(clean) == [token for token in whole if not token.isspace()]
