"""The compliance guard's fast paths give exactly what their plain reference forms give (speed work must not change a verdict)."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from livebot.compliance import text as folding
from livebot.compliance.engine import OK, Result, _clauses, _distinct, _mentioned, clause_bound, load_rules
from livebot.faq.kb import load_kb, sample_kb_path

RULES = load_rules(learned=False)  # the rules alone: the fast paths are the rules' (test_learned.py covers the layer)
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _sample() -> list[str]:
    """Fixture lines and KB answers, alone, run together into long texts, and spelt with dodges."""
    lines = [json.loads(line)["text"] for path in sorted(FIXTURES.glob("*.jsonl"))
             for line in path.read_text("utf-8").splitlines() if line.strip()]
    lines += [entry.answer for entry in load_kb(sample_kb_path())]
    rng = random.Random(11)
    long = ["".join(rng.choice(lines) for _ in range(40))[:2000] for _ in range(12)]
    noisy = ["".join(c + rng.choice(["", "", " ", "，", "😀", "\u200b", "Ａ", "…", "."]) for c in line) for line in lines[:60]]
    return lines + long + noisy + ["，。免疫力，", "\n，提高免疫力，\n", "𠮷提高免疫力💯", "。", "", "❤💯 -免疫力❤", "[-]^\\"]


SAMPLE = _sample()


def _reference_check(text: str) -> Result:
    """``RuleSet.check`` the plain way: ``Rule.matches`` per candidate, quoted mentions dropped, ``_distinct``."""
    if not text.strip():
        return OK
    canonical, mapped = folding.fold_lazy(text, RULES.dodges)
    hits = {}
    for slot, ends in sorted(RULES._candidates(canonical).items()):
        rule, index = RULES._slots[slot]
        for start, end in rule.matches(canonical, index, ends):
            hits.setdefault((id(rule), start, end), rule)
    if not hits:
        return OK
    folded = mapped()
    found = [rule.finding(folded, text, start, end) for (_, start, end), rule in hits.items()]
    claims = [finding.span[0] for finding in found]
    findings = _distinct([finding for finding in found if not _mentioned(text, *finding.span, claims)])
    if not findings:
        return OK
    return Result("block" if findings[0].severity == "block" else "warn", tuple(findings))


def test_check_agrees_with_the_plain_loop() -> None:
    hits = 0
    for text in SAMPLE:
        expected = _reference_check(text)
        assert RULES.check(text) == expected, text
        hits += bool(expected.findings)
    assert hits > 100


def test_list_translate_agrees_with_the_dict_table() -> None:
    dodges = folding.build_dodges(["免疫力"], {}, {"💯": "100%", "❤": "爱"})  # fresh tables: every character new
    for text in SAMPLE:
        assert folding._translate(text, dodges.pair_list, dodges.pairs, dodges.odd) == text.translate(dodges.pairs), text
    noted = {char for text in SAMPLE if folding._in_bmp(text) for char in text if len(dodges.table[ord(char)]) != 1}
    assert dodges.odd.chars == noted and {" ", "😀"} & noted == {" "}


@pytest.mark.parametrize("text", SAMPLE[:40] + SAMPLE[-80:])
def test_span_map_agrees_with_the_per_character_one(text: str) -> None:
    dodges = folding.build_dodges(["免疫力"], {}, {"💯": "100%", "❤": "爱"})  # fresh: the fold notes what it meets
    folding.fold_lazy(text, dodges)
    widths = text.translate(dodges.widths).encode("latin-1")
    assert folding._starts(text, dodges) == [index for index, width in enumerate(widths) for _ in range(width)]


@pytest.mark.parametrize("text", ["，", "，，", "a，", "，a", "，a，", "a", "a，b", "，\n", "a\n，"])
def test_end_breaks_cut_like_the_regex(text: str) -> None:
    dodges = RULES.dodges
    canonical, mapped = folding.fold_lazy(text, dodges)
    cleaned = text.translate(dodges.table)
    for needed, cleanup in folding._CLEANUPS:
        if needed in cleaned:
            cleaned = cleanup.sub("", cleaned)
    assert canonical == cleaned
    assert mapped().text == canonical
    assert not re.search(r"^，|，$", canonical) or "\n" in canonical


def test_sounds_no_term_has_are_silent_and_homophones_still_read() -> None:
    dodges = folding.build_dodges(["免疫力"], {}, {})
    assert dodges.sounds[ord("猫")] == dodges.sounds.SILENT  # mao: no term sounds like it
    assert dodges.sounds[ord("役")] == dodges.sounds[ord("疫")] != dodges.sounds.SILENT
    assert folding.fold_text("提高免役力的猫粮", dodges) == "提高免疫力的猫粮"


def test_span_map_reads_every_width_after_a_flood_of_symbols(monkeypatch: pytest.MonkeyPatch) -> None:
    dodges = folding.build_dodges(["免疫力"], {}, {})
    text = "提高 免役力！“真的”～ ok"
    folding.fold_lazy(text, dodges)
    noted = folding._starts(text, dodges)
    monkeypatch.setattr(folding, "_ODD_MAX", 0)
    assert folding._starts(text, dodges) == noted == [0, 1, 3, 4, 5, 6, 8, 9, 13, 14]


@pytest.mark.parametrize("source, bound", [
    (r"\d+%", True), (r"[^，]{0,8}快", True), (r"(?<=x)a", True), (r"^a", True), (r"\da", True), (r"[\u4e00-\u9fff]", True),
    (r"a.b", False), (r"a$", False), (r"a(?=b)", False), (r"(?<!x(?=y))a", False), (r"[^a]+", False), (r"\Wa", False),
    (r"a\b", False), (r"a，", False), (r"[，a]", False), (r"[\u4e00-\uffff]", False), (r"(a)\1", False),
])
def test_clause_bound_patterns_are_recognised(source: str, bound: bool) -> None:
    assert clause_bound(re.compile(source)) is bound


def test_searching_the_clauses_that_hold_an_anchor_finds_what_a_whole_text_search_finds() -> None:
    checked = 0
    for text in SAMPLE:
        canonical = folding.fold_text(text, RULES.dodges)
        for slot, ends in RULES._candidates(canonical).items():
            rule, pattern = RULES._runs[slot][:2]
            if not ends or not clause_bound(pattern):
                continue
            whole = [match.span() for match in pattern.finditer(canonical)]
            clauses = [match.span() for lo, hi in _clauses(canonical, list(ends)) for match in pattern.finditer(canonical, lo, hi)]
            assert clauses == whole, (rule.id, pattern.pattern, text)
            checked += bool(whole)
    assert checked > 50
