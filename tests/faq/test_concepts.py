"""Concept patterns: colloquial descriptions stand in for the knowledge base's terms."""

from __future__ import annotations

from pathlib import Path

import pytest

from livebot.faq.errors import LexiconError
from livebot.faq.lexicon import DATA_DIR, ConceptMatcher, load_lexicon
from livebot.faq.tokenizer import default_tokenizer


def terms(text: str) -> tuple[str, ...]:
    return default_tokenizer().analyze(text).terms


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("宝宝三天没拉了", "便秘"),
        ("喝完好几天才拉一次", "便秘"),
        ("大便稀稀的一天好几次", "腹泻"),
        ("罐子打开以后能放多久", "保存期限"),
        ("开了盖一个多月了", "保存期限"),
        ("喝着甜甜的加糖了吗", "蔗糖"),
        ("扫了半天没反应", "扫不出"),
        ("35周就出生了", "早产儿"),
        ("娃4岁了", "大童"),
        ("刚挤的奶37℃", "冷却"),
        ("拼多多上买的", "渠道"),
        ("页面一直加载打不开", "扫不出"),
        ("罐子搁哪儿合适", "保存"),
        ("比得上荷兰的标准不", "欧盟"),
        ("车间里全靠机器人", "人手接触"),
        ("那个塔里是热风吗", "喷雾干燥"),
        ("生下来才4斤", "早产儿"),
        ("储奶罐里要一直搅拌吗", "储奶罐"),
    ],
)
def test_descriptions_become_concepts(text: str, term: str) -> None:
    assert term in terms(text)


def test_a_concept_replaces_the_words_it_covers() -> None:
    assert terms("宝宝喝完好几天才拉一次") == ("宝宝", "喝", "便秘")


def test_a_domain_word_inside_a_concept_is_kept() -> None:
    assert "罐子" in terms("罐子里充的是什么气")


def test_the_longer_concept_wins_even_when_it_starts_later() -> None:
    matcher = ConceptMatcher({"奶是哪": ("奶源",), "哪个地方产": ("产地",)})
    assert [m.terms for m in matcher.find("你们家奶是哪个地方产的")] == [("产地",)]


def test_numbers_and_gaps() -> None:
    matcher = ConceptMatcher({"2小时": ("2小时",), "N天没拉": ("便秘",), "拉*费劲": ("便秘",)})
    assert [m.terms for m in matcher.find("72小时内发货")] == []
    assert [m.terms for m in matcher.find("2小时内")] == [("2小时",)]
    assert [m.terms for m in matcher.find("12天没拉")] == [("便秘",)]
    assert [m.terms for m in matcher.find("拉的时候很费劲")] == [("便秘",)]
    assert matcher.find("拉，很费劲") == []  # a gap never crosses punctuation
    assert matcher.find("") == []


@pytest.mark.parametrize(
    "line",
    ["便秘 拉不出", "= 拉不出", "便秘 =", "便 秘 = 拉不出", "便秘 = ***"],
)
def test_malformed_concept_lines_name_the_line(tmp_path: Path, line: str) -> None:
    for name in ("synonyms.txt", "stopwords.txt", "weak_words.txt", "domain_dict.txt"):
        (tmp_path / name).write_text((DATA_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "concepts.txt").write_text(f"# header\n{line}\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="concepts.txt:2"):
        load_lexicon(tmp_path)


def test_a_pattern_standing_for_two_concepts_is_refused(tmp_path: Path) -> None:
    for name in ("synonyms.txt", "stopwords.txt", "weak_words.txt", "domain_dict.txt"):
        (tmp_path / name).write_text((DATA_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "concepts.txt").write_text("便秘 = 拉不出\n腹泻 = 拉不出\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="already stands for"):
        load_lexicon(tmp_path)


@pytest.mark.parametrize("text", ["<script>拉不出</script>", "拉不出" * 400, "\u202e几天没拉", "🀄几天没拉🀄"])
def test_hostile_text_is_safe(text: str) -> None:
    assert all(isinstance(term, str) and term for term in terms(text))


def test_the_bundled_concepts_load() -> None:
    lexicon = load_lexicon()
    assert lexicon.concepts is not None and len(lexicon.concepts) > 1000
