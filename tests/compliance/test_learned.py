"""The learned layer: what it reads, what it adds to the rules' verdict, and that its weights are current."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from livebot.compliance import learned
from livebot.compliance.engine import LEARNED_NOTE, default_rules, load_rules
from livebot.compliance.learned import BITS, GATE_CLASSES, LearnedGuard, Model, fit_guard

ROOT = Path(__file__).resolve().parents[2]
RULES = default_rules()
RULES_ONLY = load_rules(learned=False)
# A claim told as an outcome: none of the rules' words, so the rules alone pass it.
DESCRIBED = "换季的时候别人家娃三天两头往医院跑，咱家这罐喝下来，一整个冬天都没挂过水。"


def toy_guard() -> LearnedGuard:
    texts = ["喝了这个宝宝再也不生病了真的神奇", "这个奶粉让孩子一冬天都不用去医院",
             "请问这个奶粉怎么冲泡比较好呢", "今天的直播几点开始呀我想看看牧场"] * 3
    labels = ["disease-claim", "disease-claim", "ok", "ok"] * 3
    gate, category = fit_guard(texts, labels)
    return LearnedGuard(gate, category, threshold=0.5)


def test_fit_learns_a_separation_and_judge_names_the_window() -> None:
    guard = toy_guard()
    judged = guard.judge("主播好，请问这个奶粉怎么冲泡，喝了这个宝宝再也不生病了")
    assert judged is not None and judged.category == "disease-claim"
    assert "不生病" in "主播好，请问这个奶粉怎么冲泡，喝了这个宝宝再也不生病了"[judged.start : judged.end]
    assert guard.judge("请问这个奶粉怎么冲泡比较好呢") is None


@pytest.mark.parametrize("text", ["", "hello world, this is English only", "宝宝爱喝", "😀😀😀", "\x00\x01" * 50])
def test_too_little_chinese_is_not_judged(text: str) -> None:
    assert toy_guard().judge(text) is None


def test_repeating_a_phrase_does_not_make_it_weigh_more() -> None:
    guard = toy_guard()
    once = guard.judge("请问这个奶粉怎么冲泡比较好呢")
    many = guard.judge("请问这个奶粉怎么冲泡比较好呢" * 500)
    assert once is None and many is None


def test_weights_of_the_wrong_shape_are_refused() -> None:
    category = Model(("disease-claim",), np.zeros((1 << BITS, 1)), np.zeros(1))
    with pytest.raises(ValueError, match="learned weights"):
        LearnedGuard(Model(GATE_CLASSES, np.zeros((10, 2)), np.zeros(2)), category)
    with pytest.raises(ValueError, match="gate's classes"):
        LearnedGuard(Model(("ok", "block"), np.zeros((1 << BITS, 2)), np.zeros(2)), category)
    assert LearnedGuard(Model(GATE_CLASSES, np.zeros((1 << BITS, 2)), np.zeros(2)), category).judge("") is None


def test_the_shipped_layer_blocks_a_described_claim_the_rules_pass() -> None:
    assert RULES_ONLY.check(DESCRIBED).verdict == "ok"
    result = RULES.check(DESCRIBED)
    assert result.verdict == "block"
    finding = result.findings[0]
    assert finding.rule_id.startswith("learned.") and finding.rule == finding.rule_id.removeprefix("learned.")
    assert finding.explanation.endswith(LEARNED_NOTE) and finding.rewording
    start, end = finding.span
    assert 0 <= start < end <= len(DESCRIBED) and finding.excerpt == DESCRIBED[start:end]


def test_the_layer_speaks_only_where_the_rules_find_nothing() -> None:
    """A rule's block stays the rule's; a rule's warn goes to a senior as it is."""
    blocked = RULES.check("北境臻护能提高免疫力")
    assert blocked.verdict == "block" and all(not f.rule_id.startswith("learned.") for f in blocked.findings)
    warned = RULES.check("宝妈们都说好，" + DESCRIBED)
    assert warned.verdict == "warn" and all(not f.rule_id.startswith("learned.") for f in warned.findings)


@pytest.mark.parametrize("text", [
    "<script>alert(1)</script>" + DESCRIBED, DESCRIBED + "😀🧸" * 300, "\u202e" + DESCRIBED + "\x00", "𠀀𠀁" * 1000,
])
def test_hostile_input_is_judged_without_error(text: str) -> None:
    result = RULES.check(text)
    for finding in result.findings:
        assert 0 <= finding.span[0] <= finding.span[1] <= len(text)


def test_the_shipped_weights_were_fitted_on_the_training_files_as_they_are() -> None:
    """Editing a training file without refitting would ship weights that no longer match it."""
    with np.load(learned.WEIGHTS_FILE) as data:
        trained_on = [str(item) for item in data["trained_on"]]
    names = {path.name: path for folder in ("training/compliance", "training/faq", "tests/compliance/fixtures",
                                            "tests/fixtures/compliance", "tests/fixtures/faq") for path in (ROOT / folder).glob("*.jsonl")}
    assert len(trained_on) >= 8
    for item in trained_on:
        name = item.split(":")[0]
        assert learned.digest(name, names[name].read_bytes()) == item, (
            f"{name} changed since the weights were fitted: refit (training/compliance/README.md)")
    fitted = {item.split(":")[0] for item in trained_on}
    assert not fitted & {"independent_batch9.jsonl", "independent_batch10.jsonl"}  # the standing blind sets


def test_training_lines_are_labelled_with_the_fact_sheet_ids() -> None:
    categories = {rule.category for rule in RULES.rules}
    for path in sorted((ROOT / "training" / "compliance").glob("*_voice.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            case = json.loads(line)
            assert case["verdict"] in ("block", "warn", "ok")
            assert (case["rule"] is None) == (case["verdict"] == "ok")
            assert case["rule"] is None or case["rule"] in categories, (path.name, case)
