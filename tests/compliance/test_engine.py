"""The rule engine: folding, obfuscations, grey zones, exceptions, spans, the rule file and hostile input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from livebot.compliance.engine import RULES_FILE, RuleFileError, default_rules, load_rules, parse_rules, pattern_anchors
from livebot.compliance.text import fold, fold_text

RULES = default_rules()


def verdict(text: str) -> str:
    return RULES.check(text).verdict


def rules_hit(text: str) -> set[str]:
    return {finding.rule for finding in RULES.check(text).findings}


@pytest.mark.parametrize("text, rule", [
    ("能显著提高免疫力，营养最接近母乳，是最好的奶粉", "function-claim"),
    ("喝了之后宝宝免疫力提高了，比母乳还好！", "breastmilk-substitute"),
    ("北境臻护能增强宝宝抵抗力", "function-claim"),
    ("我们是人乳化配方", "breastmilk-substitute"),
    ("奶水不够就全换奶粉吧", "breastmilk-substitute"),
    ("全国最新鲜的奶粉", "absolute-term"),
    ("喝了就不便秘", "disease-claim"),
    ("宝宝喝了再也不过敏", "disease-claim"),
    ("进口奶源，原生态牧场", "unverifiable-origin"),
    ("本品不含三聚氰胺", "zero-additive"),
    ("儿科医生都推荐这款", "medical-endorsement"),
    ("卫健委认证的好奶粉", "authority-endorsement"),
    ("孕妈免费领1段试用装", "free-sample"),
    ("请3岁的小朋友给大家代言推荐", "minor-endorser"),
    ("屏幕上只放好评，差评都删了", "data-manipulation"),
])
def test_plain_claims_are_blocked(text: str, rule: str) -> None:
    assert verdict(text) == "block"
    assert rule in rules_hit(text)


@pytest.mark.parametrize("text", [
    "能提高免.疫.力",  # punctuation between characters
    "提高免 疫 力",  # spacing
    "提高免，疫，力",  # clause breaks as spacers
    "提高免役力",  # homophone
    "提高面疫力",
    "提高mianyili",  # full pinyin
    "提高免yi力",  # mixed pinyin
    "增强myl",  # pinyin initials
    "比母汝还好",  # homophone of 母乳
    "比mu乳还好",
    "比MR还好",
    "增強抵抗力",  # Traditional
    "營養最接近母乳",
    "比母乳還好",
    "ｎｏ．１的奶粉",  # full width
    "全网No.1奶粉",
    "💯好评",  # emoji standing for text
    "🥇的奶粉品牌",
    "🈚️激素奶粉",
    "宝宝湿🌟疹好了",  # emoji as spacer
    "这款奶粉ZUI好",
    "提高\u200b免\u200b疫\u200b力",  # zero-width characters
    "<b>提高免疫力</b>",  # markup
])
def test_obfuscated_claims_are_still_blocked(text: str) -> None:
    assert verdict(text) == "block", RULES.check(text)


@pytest.mark.parametrize("text", [
    "奶粉不能替代母乳",  # the required statement
    "本品不能代替母乳，母乳是宝宝最好的食物",
    "对于0～6月龄的婴儿最理想的食品是母乳",
    "含有乳铁蛋白",  # a fact, not an effect
    "2段每100克含乳铁蛋白约50毫克",
    "批次2411A07 三聚氰胺：未检出，报告编号见溯源页",  # a test result
    "冲调水温最好在50℃左右，以罐身说明为准",  # a tip
    "冲好的奶最好1小时内喝完",
    "这是本周最新下线的批次",  # time order
    "宝宝便秘了怎么办？请咨询儿科医生",  # symptom and a doctor
    "宝宝大便带血请及时就医",
    "请带宝宝看儿科医生",
    "奶源来自齐齐哈尔市富裕县北境第三牧场",  # a named farm
    "乳清粉原产国：法国（见配料表）",  # a named country
    "“2小时生态圈”指从挤奶到进厂不超过2小时",
    "每批都检测，检测报告可扫码查看",  # a legal duty stated plainly
    "工厂通过了HACCP和ISO 22000认证",
    "宝宝爱喝", "物流快", "工厂好干净",  # experience without effect
    "作为一个新手妈妈我有点焦虑",  # 为一 is not 唯一
    "第一次喝就很爱喝",
    "工作之余看直播",  # 之余 is not 治愈
    "宝宝一直很爱喝",  # 一直 is not 益智
    "3段（12–36月龄）今晚满2罐减30元",  # 3段 promotion
    "1段官方指导价368元",
    "",
    "   ",
])
def test_facts_tips_and_required_statements_pass(text: str) -> None:
    assert verdict(text) == "ok", RULES.check(text)


@pytest.mark.parametrize("text, rule", [
    ("乳铁蛋白是母乳中天然存在的一种活性蛋白", "breastmilk-substitute"),  # ingredient tied to breast milk
    ("添加了母乳低聚糖HMO", "breastmilk-substitute"),
    ("钙是骨骼和牙齿的主要组成成分", "function-claim"),  # nutrient role
    ("OPO有助于脂肪吸收", "function-claim"),
    ("不添加蔗糖和香精", "zero-additive"),  # permitted per stage: QA must check
    ("不含蔗糖", "zero-additive"),
    ("复购率92%", "unsubstantiated-claim"),
    ("比欧盟标准还严", "unsubstantiated-claim"),
    ("2024年双11天猫婴配粉店铺TOP3", "absolute-term"),
    ("荣获2023年度乳业质量金奖", "authority-endorsement"),
    ("公认的黄金奶源带", "unverifiable-origin"),
    ("比海运来的洋奶粉新鲜", "disparagement"),
    ("今天下单加赠试用装", "free-sample"),
    ("2段买3罐送1罐", "infant-promotion"),
])
def test_grey_zone_claims_warn(text: str, rule: str) -> None:
    result = RULES.check(text)
    assert result.verdict == "warn", result
    assert rule in {finding.rule for finding in result.findings}


def test_facts_pass_effects_do_not() -> None:
    assert verdict("含乳铁蛋白") == "ok"
    assert verdict("乳铁蛋白能提高免疫力") == "block"
    assert verdict("检测合格") == "ok"
    assert verdict("检测合格，绝对安全") == "block"
    assert verdict("每批都检测") == "ok"
    assert verdict("只有我们每批都检，别家都是抽检") == "block"


def test_findings_point_at_the_original_text_and_carry_explanation_and_rewording() -> None:
    text = "家人们，这款能提高免 疫 力哦"
    result = RULES.check(text)
    finding = next(f for f in result.findings if f.rule == "function-claim")
    start, end = finding.span
    assert text[start:end] == "提高免 疫 力" == finding.excerpt
    assert finding.severity == "block"
    assert re.search(r"[\u4e00-\u9fff]", finding.explanation) and re.search(r"[\u4e00-\u9fff]", finding.rewording)
    assert RULES.check(finding.rewording).verdict == "ok"


def test_every_rewording_passes_the_guard() -> None:
    for rule in RULES.rules:
        assert RULES.check(rule.rewording).verdict == "ok", rule.id


def test_unconfirmed_sources_are_labelled_brand_policy() -> None:
    policy = {rule.category: rule.policy for rule in RULES.rules}
    assert policy["free-sample"] == "brand" and policy["infant-promotion"] == "brand"
    assert policy["breastmilk-substitute"] == "law"
    assert RULES.version


def test_every_pattern_has_a_literal_prefilter() -> None:
    """Without one a pattern would scan every text in full (see bench/compliance.py)."""
    for rule in RULES.rules:
        for pattern in rule.patterns:
            assert pattern_anchors(pattern), (rule.id, pattern.pattern)


@pytest.mark.parametrize("text", [
    "免，疫，力", "，，好的，，我们。。最好。", "4.1度 No.1 a.b", "，", "", "。。。", "💯" * 50,
    "提高免yi力 mianyili myl", "a" * 3000, "母" * 500 + "乳", "\u202e提高免疫力\u202c", "免\x00疫\x07力",
])
def test_fast_and_mapped_folding_agree(text: str) -> None:
    assert fold(text, RULES.dodges).text == fold_text(text, RULES.dodges)


def test_hostile_and_oversized_input() -> None:
    assert verdict("<script>alert(1)</script>提高免疫力") == "block"
    assert verdict("\x00\x01\x02" * 1000) == "ok"
    assert verdict("宝宝爱喝" * 10_000) == "ok"  # oversized: checked up to the limit, no error
    assert verdict("提高免疫力" + "好" * 30_000) == "block"
    assert verdict("😀" * 5000) == "ok"
    assert verdict("((((((((((" * 200) == "ok"  # regex metacharacters are text
    result = RULES.check("最好的奶粉最好的奶粉")
    assert len({f.span for f in result.findings}) == len(result.findings)  # duplicates reported once per place


def test_rule_file_errors_name_the_rule_and_key(tmp_path: Path) -> None:
    base = RULES_FILE.read_text(encoding="utf-8")
    cases = {
        "version = \"\"": "version",
        base.replace('severity = "block"', 'severity = "stop"', 1): "severity",
        base.replace("patterns = ['母乳化'", "patterns = ['(母乳化'", 1): "patterns",
        base.replace("<<BM>>", "<<NOPE>>", 1): "unknown macro",
        base + ('\n[[rule]]\nid = "absolute-term.superlative"\ncategory = "x"\nseverity = "warn"\nexplanation = "x"\n'
                'rewording = "x"\npatterns = ["x"]\n'): "duplicate",
    }
    for text, needle in cases.items():
        path = tmp_path / "rules.toml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(RuleFileError, match=needle):
            load_rules(path)
    (tmp_path / "bad.toml").write_text("[[rule]\n", encoding="utf-8")
    with pytest.raises(RuleFileError):
        load_rules(tmp_path / "bad.toml")
    with pytest.raises(RuleFileError, match="at least one"):
        parse_rules({"version": "1", "rule": []})


def test_a_long_text_finds_what_its_sentences_find() -> None:
    """Searching only around anchors must not lose a hit in a long text."""
    from livebot.compliance.evaluation import read_cases

    dev = Path(__file__).resolve().parents[1] / "fixtures" / "compliance" / "dev.jsonl"
    lines = [case.text for case in read_cases(dev.read_bytes().splitlines())]
    long_text = "\n".join(lines)
    assert len(long_text) > 2000
    found = {(f.rule_id, f.excerpt) for f in RULES.check(long_text).findings}
    for line in lines:
        for finding in RULES.check(line).findings:
            assert (finding.rule_id, finding.excerpt) in found or any(
                rule_id == finding.rule_id and finding.excerpt in excerpt for rule_id, excerpt in found
            ), (line, finding)


def test_characters_beyond_the_bmp_keep_spans_right() -> None:
    """The anchor pass runs on UTF-16 code units; an astral character (𠮷) takes two, so such texts take the direct path."""
    for text in ("𠮷𠮷提高免疫力", "提高免疫力𠮷", "𠮷" * 30 + "最好的奶粉"):
        result = RULES.check(text)
        assert result.verdict == "block"
        start, end = result.findings[0].span
        assert text[start:end] in ("提高免疫力", "最好的"), text[start:end]
    assert RULES.check("𠮷𠮷宝宝爱喝").verdict == "ok"


def test_exception_lists_act_like_any_of_their_patterns() -> None:
    assert verdict("婴儿配方奶粉不能替代母乳") == "ok"  # unless_before
    assert verdict("奶粉替代母乳") == "block"
    assert verdict("配料表显示不含蔗糖") == "ok"  # unless_clause
    assert verdict("不含蔗糖") == "warn"


def test_code_unit_anchor_pass_agrees_with_the_direct_one() -> None:
    """Anchors found over UTF-16 code units (bytes as Latin-1) must be exactly those found over characters."""
    import random

    anchors = sorted(RULES._postings)
    alphabet = sorted({char for anchor in anchors for char in anchor}) + list("yYz09%，") + ["\u4e67", "\u6759", "\u597d"]
    rng = random.Random(7)
    for _ in range(300):
        parts = [rng.choice(anchors) if rng.random() < 0.3 else rng.choice(alphabet) for _ in range(rng.randrange(1, 60))]
        text = "".join(parts)
        direct: dict[int, list[int]] = {}
        opened: set[int] = set()
        for last, (_, (slots, gates)) in RULES._wide_finder.iter(text):
            for slot in slots:
                direct.setdefault(slot, []).append(last + 1)
            opened.update(gates)
        direct = {slot: ends for slot, ends in direct.items() if slot not in RULES._gated or slot in opened}
        via_units = {slot: ends for slot, ends in RULES._candidates(text).items() if ends is not None}
        assert {slot: sorted(ends) for slot, ends in via_units.items()} == {slot: sorted(ends) for slot, ends in direct.items()}


def test_a_gated_pattern_only_matches_text_holding_its_second_literal() -> None:
    """A pattern is skipped when none of its second literals occurs: every match must hold one."""
    from livebot.compliance.evaluation import read_cases

    here = Path(__file__).resolve().parent
    texts = [case.text for path in (here / "fixtures" / "independent.jsonl", here / "fixtures" / "independent_batch6.jsonl")
             for case in read_cases(path.read_bytes().splitlines())]
    gated = 0
    for rule in RULES.rules:
        for pattern, also in zip(rule.patterns, rule.also, strict=True):
            if not also:
                continue
            gated += 1
            for text in texts:
                for match in pattern.finditer(fold_text(text, RULES.dodges)):
                    assert any(literal in match.group(0) for literal in also), (rule.id, pattern.pattern, text)
    assert gated > 10


@pytest.mark.parametrize("text", [
    "卫j委推荐的奶粉",  # a pinyin initial among the term's characters
    "m乳化配方",
    "免y力提高了",
    "提高my力",
    "wjw推荐",  # all initials of a 3-character term
    "过mǐn好了",  # pinyin with tone marks
    "提高免疫lì",
    "补🧠好奶",  # emoji read as text
    "👨‍⚕️推荐的奶粉",
])
def test_initials_tone_marks_and_emoji_are_read_as_the_term(text: str) -> None:
    assert verdict(text) == "block"


@pytest.mark.parametrize("text", [
    "100g奶粉", "myself", "DHA约70mg", "iso认证", "x光",
    "益生菌粉和奶粉能一起冲吗？这个最好问问儿科医生",  # 益生 in 益生菌 is not a dodge of 医生
    "2段添加了益生元GOS",
])
def test_letters_and_domain_words_are_not_mistaken_for_dodges(text: str) -> None:
    assert verdict(text) == "ok"
    assert "医生元" not in fold_text("益生元", RULES.dodges)


@pytest.mark.parametrize("text, expected", [
    ("不建议因为奶粉放弃母乳，混合喂养也可以", "ok"),  # negation scope: an advice verb reaches further
    ("我们不能说最好，只能说放心", "ok"),  # talking about the rules is not making the claim
    ("说奶粉能提高免疫力是违规的", "ok"),
    ("母乳替代品的广告是法律禁止的", "ok"),
    ("我们不做任何跟医院合作的推广", "ok"),
    ("唯一要注意的是开罐后四周内吃完", "ok"),  # 唯一 in a tip or a fact
    ("乳糖是这款配方唯一的碳水化合物来源", "ok"),
    ("聪明的妈妈都会看配料表", "ok"),
    ("1段和2段不参加今晚的满减", "ok"),
    ("宝宝喝了变聪明", "block"),
    ("奶粉就是最好的", "block"),
    ("1段今天第二罐半价", "warn"),
])
def test_negation_scope_meta_statements_and_facts(text: str, expected: str) -> None:
    assert verdict(text) == expected


@pytest.mark.parametrize("text, rule", [
    ("宝宝喝着跟亲妈喂的没两样", "breastmilk-substitute"),  # any comparison with breast milk
    ("母乳里有的营养我们全都有", "breastmilk-substitute"),
    ("和母乳比起来一点不差", "breastmilk-substitute"),
    ("市面上找不到比这更安全的奶粉", "absolute-term"),  # superlative families
    ("品质数一数二", "absolute-term"),
    ("对宝宝便秘有很好的调理作用", "disease-claim"),
    ("湿疹宝宝换了我们家奶粉，第二天就好了", "disease-claim"),
    ("帮助宝宝身体的免疫系统更完善", "function-claim"),  # claim verb + immune/brain/growth object in a clause
    ("个子蹿得特别快", "function-claim"),
    ("好多儿科医生自己家孩子都喝这个", "medical-endorsement"),
    ("差评我们都私下处理不显示", "data-manipulation"),
])
def test_concept_level_claims(text: str, rule: str) -> None:
    assert verdict(text) == "block"
    assert rule in rules_hit(text)


def test_macros_may_use_macros_but_not_themselves() -> None:
    base = {"version": "1", "rule": [{"id": "x", "category": "x", "severity": "block", "explanation": "x",
                                      "rewording": "x", "patterns": ["<<A>>"]}]}
    rules = parse_rules({**base, "macros": {"A": "(?:<<B>>好)", "B": "奶粉"}})
    assert rules.check("奶粉好").verdict == "block"
    with pytest.raises(RuleFileError, match="nested"):
        parse_rules({**base, "macros": {"A": "<<A>>x"}})


@pytest.mark.parametrize("text", [
    "我们不是什么“国家免检”产品，婴配粉每一批都得检。",
    "合格不等于“绝对安全”，我们也不会这么说。",
    "我们不做“零添加”的宣传，配料表写了什么就是什么。",
    "“接近母乳”这种说法是违规的。",
    "顾问纠正一下：没有哪款奶粉「接近母乳」。",
])
def test_a_claim_quoted_to_deny_it_is_a_mention(text: str) -> None:
    assert load_rules(learned=False).check(text).verdict == "ok"


@pytest.mark.parametrize("text", [
    "我们就是“国家免检”产品",
    "咱这奶粉可不是“一般的”好，是“最好的”",
    "不少宝妈说“喝了湿疹就好了”",
    "“母乳化配方”，宝宝更易接受",
])
def test_a_quoted_claim_nothing_denies_is_still_a_claim(text: str) -> None:
    assert load_rules(learned=False).check(text).verdict == "block"


@pytest.mark.parametrize("text", [
    "有宝妈在群里说喝奶粉能防过敏，这个说法不对，奶粉是食品，不能预防疾病。",
    "楼上说喝奶粉能防过敏，别乱说，过敏要看医生的",
    "评论区有人说喝了能提高免疫力，这个我们不敢说，每个宝宝情况不一样。",
    "群里有人转发喝某某奶粉能长高的文章，这类说法没有依据，请大家别信。",
    "我们没法说奶粉能让孩子少感冒，宝宝反复发烧请一定去医院。",
    "奶粉不能承诺长高，生长发育的问题请咨询儿保医生。",
])
def test_a_claim_reported_and_refuted_is_a_mention(text: str) -> None:
    assert load_rules(learned=False).check(text).verdict == "ok"


@pytest.mark.parametrize("text", [
    "有宝妈说喝了能提高免疫力，确实是这样",
    "有宝妈说喝了不生病，我们的奶粉就是能防病，别信谣言",
    "有人说喝了能提高免疫力，这个说法不对，但我们的奶粉确实能提高免疫力",
    "别人都说不能说最好，我们就是最好",
    "楼上说得对，喝了能提高免疫力",
])
def test_a_claim_reported_without_refutation_or_made_after_it_stays_a_claim(text: str) -> None:
    assert load_rules(learned=False).check(text).verdict == "block"
