"""The compliance rule engine: one verdict (block / warn / ok) with findings for any text.

Rules come from the versioned ``rules.toml`` shipped with livebot plus the brand's own
additions from the database; every surface (answers, overlays, ticker, KB, reminders) calls
the same ``RuleSet.check`` so a text judged once is judged the same everywhere.
"""

from __future__ import annotations

import functools
import math
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any, Literal

from livebot.compliance.learned import Judgement, LearnedGuard, default_learned
from livebot.compliance.text import DodgeTerms, Folded, build_dodges, fold_lazy, literal_finder

Severity = Literal["block", "warn"]
Verdict = Literal["block", "warn", "ok"]
SEVERITIES: tuple[Severity, ...] = ("block", "warn")
_Postings = tuple[tuple[int, ...], tuple[int, ...]]
"""An anchor's pattern slots and the gated slots it opens."""
_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}
RULES_FILE = Path(__file__).with_name("rules.toml")
MAX_CHARS = 20_000
_MACRO = re.compile(r"<<([A-Z0-9_]+)>>")
_CLAUSE = "，"
_MAX_ANCHORS = 200
LEARNED_NOTE = "（由模型判断：这段话的说法与此类违规相近，没有命中具体词，请改写后再发。）"


class RuleFileError(ValueError):
    """The rule file (or a brand rule) is malformed; the message names the rule and key."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule hit: the rule's category (fact-sheet id), severity and where it is."""

    rule: str
    rule_id: str
    severity: Severity
    span: tuple[int, int]
    excerpt: str
    explanation: str
    rewording: str
    policy: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of the CLI contract plus the detail the UI shows."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "span": [self.span[0], self.span[1]],
            "explanation": self.explanation,
            "id": self.rule_id,
            "excerpt": self.excerpt,
            "rewording": self.rewording,
            "policy": self.policy,
        }


@dataclass(frozen=True, slots=True)
class Result:
    """The verdict for one text and the findings behind it."""

    verdict: Verdict
    findings: tuple[Finding, ...]

    @property
    def blocked(self) -> bool:
        return self.verdict == "block"

    def as_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "findings": [finding.as_dict() for finding in self.findings]}


OK = Result("ok", ())


@dataclass(frozen=True, slots=True)
class Rule:
    """A compiled rule: patterns, each with the literals one of which its matches contain."""

    id: str
    category: str
    severity: Severity
    explanation: str
    rewording: str
    patterns: tuple[re.Pattern[str], ...]
    anchors: tuple[frozenset[str] | None, ...] = ()
    widths: tuple[int | None, ...] = ()
    """Longest possible match per pattern (None: unbounded), to search only around anchors."""
    also: tuple[frozenset[str] | None, ...] = ()
    """Per pattern, a second literal set every match also contains: no need to run it without one."""
    unless_before: tuple[re.Pattern[str], ...] = ()
    unless_after: tuple[re.Pattern[str], ...] = ()
    unless_clause: tuple[re.Pattern[str], ...] = ()
    unless_match: tuple[re.Pattern[str], ...] = ()
    policy: str = "law"
    basis: str = ""
    source: str = "file"
    _unless: tuple[re.Pattern[str] | None, ...] = field(default=(), init=False, repr=False, compare=False)
    """Each exception list as one alternation (one C call instead of a loop per list)."""
    _excepts: bool = field(default=False, init=False, repr=False, compare=False)
    """Whether the rule has any exception at all (else a match needs no look at its clause)."""

    def __post_init__(self) -> None:
        lists = (self.unless_before, self.unless_after, self.unless_match, self.unless_clause)
        object.__setattr__(self, "_unless", tuple(_either(patterns) for patterns in lists))
        object.__setattr__(self, "_excepts", any(lists))

    def matches(self, text: str, index: int, ends: list[int] | None) -> Iterator[tuple[int, int]]:
        """Spans in the canonical ``text`` where pattern ``index`` hits and no exception applies.

        ``ends`` are where the pattern's anchors end (None: search the whole text); a match
        must contain one, so only windows around them are searched.
        """
        pattern = self.patterns[index]
        width = self.widths[index] if index < len(self.widths) else None
        for lo, hi in _windows(len(text), width, ends):
            for match in pattern.finditer(text, lo, hi):
                start, end = match.span()
                if start < end and not self._excepted(text, start, end, match.group(0)):
                    yield (start, end)

    def finding(self, folded: Folded, original: str, start: int, end: int) -> Finding:
        span = folded.span(start, end)
        return Finding(
            rule=self.category,
            rule_id=self.id,
            severity=self.severity,
            span=span,
            excerpt=original[span[0] : span[1]],
            explanation=self.explanation,
            rewording=self.rewording,
            policy=self.policy,
        )

    def _excepted(self, text: str, start: int, end: int, matched: str) -> bool:
        clause_start = text.rfind(_CLAUSE, 0, start) + 1
        clause_end = text.find(_CLAUSE, end)
        clause_end = len(text) if clause_end < 0 else clause_end
        before, after, match, clause = self._unless
        return bool(
            (before is not None and before.search(text[clause_start:start]))
            or (after is not None and after.search(text[end:clause_end]))
            or (match is not None and match.search(matched))
            or (clause is not None and clause.search(text, clause_start, clause_end))
        )


class RuleSet:
    """Rules plus the dodge table they share; ``check`` is the one entry point."""

    def __init__(self, version: str, rules: Sequence[Rule], dodges: DodgeTerms, learned: LearnedGuard | None = None) -> None:
        self.version = version
        self.rules = tuple(rules)
        self.dodges = dodges
        self.learned = learned
        """The learned layer, asked when no rule finds anything (``learned.py``); None: rules alone."""
        self._slots: list[tuple[Rule, int]] = []
        self._unanchored: list[int] = []
        self._gated: set[int] = set()
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for rule in self.rules:
            for pattern_index in range(len(rule.patterns)):
                slot = len(self._slots)
                self._slots.append((rule, pattern_index))
                anchors = rule.anchors[pattern_index] if pattern_index < len(rule.anchors) else None
                if anchors is None:
                    self._unanchored.append(slot)
                for anchor in anchors or ():
                    postings.setdefault(anchor, ([], []))[0].append(slot)
                also = rule.also[pattern_index] if anchors and pattern_index < len(rule.also) else None
                if also:
                    self._gated.add(slot)
                    for literal in also:
                        postings.setdefault(literal, ([], []))[1].append(slot)
        self._postings = {anchor: (tuple(slots), tuple(gates)) for anchor, (slots, gates) in postings.items()}
        self._runs = [
            (rule, rule.patterns[index], rule.widths[index] if index < len(rule.widths) else None, id(rule),
             clause_bound(rule.patterns[index]))
            for rule, index in self._slots
        ]
        # Keyed on UTF-16 code units spelt as Latin-1 characters: pyahocorasick looks a node's
        # children up one by one, so a root with 2 × 256 byte values beats one with 300+ ideographs.
        self._anchor_finder = (
            literal_finder((_units(anchor), value) for anchor, value in self._postings.items())
            if self._postings else None
        )
        self._wide_finder = (
            literal_finder((anchor, value) for anchor, value in self._postings.items())
            if self._postings else None
        )

    def check(self, text: str) -> Result:
        """Verdict and findings for ``text`` (spans index the text as given)."""
        if not isinstance(text, str) or not text.strip():
            return OK
        original = text[:MAX_CHARS]
        canonical, mapped = fold_lazy(original, self.dodges)
        hits: dict[tuple[int, int, int], Rule] = {}
        excused: set[str] = set()  # categories whose words matched but an exception let pass (不含蔗糖)
        length = len(canonical)
        runs = self._runs
        for slot, ends in sorted(self._candidates(canonical).items()):
            rule, pattern, width, rule_key, bound = runs[slot]  # Rule.matches, inlined: this loop runs ~30-70 times a text
            if ends is None or width is None or width * 4 >= length:
                # A match held in one clause lies in a clause holding an anchor: searching those clauses
                # finds exactly what a search of the whole text finds.
                windows: Sequence[tuple[int, int]] = _clauses(canonical, ends) if bound and ends else _WHOLE
            elif len(ends) == 1:
                end = ends[0]
                windows = ((end - width if end > width else 0, end + width + _LOOK_AROUND),)
            else:
                windows = _windows(length, width, ends)
            search = pattern.search
            for lo, hi in windows:
                first = search(canonical, lo, hi)
                if first is None:  # most windows hold no match: no iterator for them
                    continue
                excepted = rule._excepted if rule._excepts else None
                # finditer goes on from a non-empty match's end, as a new search from there does.
                following = pattern.finditer(canonical, first.end(), hi) if first.end() > first.start() else None
                for match in (first, *following) if following is not None else pattern.finditer(canonical, lo, hi):
                    start, end = match.span()
                    if start >= end:
                        continue
                    if excepted is not None and excepted(canonical, start, end, match.group(0)):
                        excused.add(rule.category)
                    else:
                        hits.setdefault((rule_key, start, end), rule)
        if not hits:  # the learned layer speaks only here: a rule's warn already goes to a senior
            judgement = self.learned.judge(canonical) if self.learned is not None else None
            # Nor does it overrule an exception: where 第一期 or 不含蔗糖 was let pass, it may not call the same category.
            if judgement is None or judgement.category in excused:
                return OK
            return Result("block", (self._learned_finding(judgement, mapped(), original),))
        folded = mapped()
        span = folded.span
        # _distinct's order and pruning on bare spans; Finding objects only for the hits kept.
        order = []
        located = [(span(start, end), rule) for (_, start, end), rule in hits.items()]
        claims = [lo for (lo, _), _ in located]
        quoted = _QUOTES.search(original) is not None
        for index, ((lo, hi), rule) in enumerate(located):
            if _mentioned(original, lo, hi, claims, quoted):
                continue
            order.append((_RANK[rule.severity], lo, -hi, index, rule))
        if not order:
            return OK
        order.sort()
        kept: list[Finding] = []
        spans: dict[str, list[tuple[int, int]]] = {}
        for _, lo, negative_hi, _, rule in order:
            hi = -negative_hi
            same = spans.setdefault(rule.category, [])
            for a, b in same:
                if a <= lo and hi <= b:
                    break
            else:
                same.append((lo, hi))
                kept.append(Finding(rule.category, rule.id, rule.severity, (lo, hi), original[lo:hi],
                                    rule.explanation, rule.rewording, rule.policy))
        verdict: Verdict = "block" if kept[0].severity == "block" else "warn"
        return Result(verdict, tuple(kept))

    def _learned_finding(self, judgement: Judgement, folded: Folded, original: str) -> Finding:
        """A finding for the learned layer's judgement, worded from its category's first blocking rule."""
        model = next((rule for rule in self.rules if rule.category == judgement.category and rule.severity == "block"), None)
        span = folded.span(judgement.start, judgement.end)
        return Finding(
            rule=judgement.category,
            rule_id=f"learned.{judgement.category}",
            severity="block",
            span=span,
            excerpt=original[span[0] : span[1]],
            explanation=(model.explanation if model else "这段话与禁止的说法相近。") + LEARNED_NOTE,
            rewording=model.rewording if model else "",
            policy=model.policy if model else "law",
        )

    def _candidates(self, text: str) -> dict[int, list[int] | None]:
        """Patterns (by slot) worth running on ``text`` and where their anchors end (one pass)."""
        todo: dict[int, list[int] | None] = dict.fromkeys(self._unanchored)
        if self._anchor_finder is None or not text:
            return todo
        units = _units(text)
        # Hits grouped by anchor first (one dict step a hit), then spread over the anchors' slots;
        # a slot's ends may come out of text order, which _windows sorts anyway.
        lasts: dict[str, tuple[_Postings, list[int]]] = {}  # by anchor (its hash is cached)
        groups: list[tuple[_Postings, list[int]]] = []
        if len(units) == 2 * len(text):
            for last, (anchor, postings) in self._anchor_finder.iter(units):
                group = lasts.get(anchor)
                if group is None:
                    lasts[anchor] = (postings, [last])
                else:
                    group[1].append(last)
            # A hit ending on a whole code unit is real (one across two characters' bytes is not):
            # odd last byte, the character ending there is (last + 1) / 2.
            for postings, raw in lasts.values():
                ends = [(last + 1) >> 1 for last in raw if last & 1]
                if ends:
                    groups.append((postings, ends))
        elif self._wide_finder is not None:  # beyond the BMP a character takes two code units: index characters
            for last, (anchor, postings) in self._wide_finder.iter(text):
                lasts.setdefault(anchor, (postings, []))[1].append(last + 1)
            groups = list(lasts.values())
        found: dict[int, list[int]] = {}
        opened: set[int] = set()  # gated slots whose second literal occurs
        for (slots, gates), ends in groups:
            for slot in slots:
                if slot in found:
                    found[slot] += ends
                else:
                    found[slot] = ends if len(slots) == 1 else ends[:]
            if gates:
                opened.update(gates)
        if self._gated:
            for slot in self._gated.intersection(found).difference(opened):
                del found[slot]
        todo.update(found)
        return todo

    def with_rules(self, extra: Sequence[Rule]) -> RuleSet:
        """This rule set plus ``extra`` (the brand's additions)."""
        if not extra:
            return self
        return RuleSet(self.version, self.rules + tuple(extra), self.dodges, self.learned)


    def rule(self, rule_id: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.id == rule_id), None)


_LOOK_AROUND = 12
"""Characters kept beyond a window's edge so lookarounds and clause exceptions still see them."""
_WHOLE = ((0, MAX_CHARS * 4),)
"""The whole text as one window (a search's end beyond the text means its end)."""


def _windows(length: int, width: int | None, ends: list[int] | None) -> list[tuple[int, int]]:
    """Merged windows around anchor ``ends`` a match can lie in (the whole text when unknown).

    A match is at most ``width`` long and contains an anchor, so it lies in
    ``[end - width, end + width)`` of one of them (plus room for lookarounds).
    """
    if ends is None or width is None or width * 4 >= length:
        return [(0, length)]
    if len(ends) == 1:
        end = ends[0]
        return [(end - width if end > width else 0, min(end + width + _LOOK_AROUND, length))]
    ends.sort()
    merged: list[tuple[int, int]] = []
    reach = width + _LOOK_AROUND
    for end in ends:
        lo, hi = end - width, end + reach
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo if lo > 0 else 0, hi))
    if merged[-1][1] > length:
        merged[-1] = (merged[-1][0], length)
    return merged


def _clauses(text: str, ends: list[int]) -> list[tuple[int, int]]:
    """The clauses (between breaks) holding the characters before ``ends``, in order."""
    spans: list[tuple[int, int]] = []
    for end in sorted(ends):
        if spans and end <= spans[-1][1]:
            continue
        after = text.find(_CLAUSE, end)
        spans.append((text.rfind(_CLAUSE, 0, end) + 1, len(text) if after < 0 else after))
    return spans


@functools.lru_cache(maxsize=4096)
def _clause_bound_source(source: str, flags: int) -> bool:
    try:
        return _holds_only(list(sre_parse.parse(source, flags)), _CLAUSE)
    except re.error:
        return False


def clause_bound(pattern: re.Pattern[str]) -> bool:
    """Whether no match of ``pattern`` can hold a clause break, nor look at where the text ends.

    Such a pattern finds in each clause (searched alone, up to the break) exactly the matches a
    search of the whole text finds there: nothing it can consume crosses the break, and nothing
    it asks (``$``, ``\\b``, lookahead) depends on where the searched text stops.
    """
    return _clause_bound_source(pattern.pattern, pattern.flags)


_CATEGORIES = {"CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D", "CATEGORY_SPACE": r"\s",
               "CATEGORY_NOT_SPACE": r"\S", "CATEGORY_WORD": r"\w", "CATEGORY_NOT_WORD": r"\W"}
_START_ONLY = ("AT_BEGINNING", "AT_BEGINNING_STRING", "AT_BEGINNING_LINE")


def _holds_only(items: list[Any], banned: str | None) -> bool:
    """No match of ``items`` holds ``banned`` (None: any character) nor depends on the text's end."""
    for op, value in items:
        name = str(op)
        if name == "LITERAL":
            if banned is not None and chr(value) == banned:
                return False
        elif name == "NOT_LITERAL":
            if banned is not None and chr(value) != banned:
                return False
        elif name == "IN":
            if banned is not None and _set_holds(value, banned):
                return False
        elif name == "SUBPATTERN":
            if not _holds_only(list(value[-1]), banned):
                return False
        elif name == "BRANCH":
            if not all(_holds_only(list(branch), banned) for branch in value[1]):
                return False
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            if not _holds_only(list(value[2]), banned):
                return False
        elif name == "ATOMIC_GROUP":
            if not _holds_only(list(value), banned):
                return False
        elif name == "AT":
            if str(value) not in _START_ONLY:
                return False
        elif name in ("ASSERT", "ASSERT_NOT"):
            direction, sub = value
            # A lookbehind consumes nothing and sees the text before (never cut); it must not look ahead itself.
            if direction >= 0 or not _holds_only(list(sub), None):
                return False
        else:  # ANY, back references, conditionals: not worth proving
            return False
    return True


def _set_holds(items: list[Any], char: str) -> bool:
    """Whether the character set ``[items]`` holds ``char`` (True when unsure)."""
    negate = False
    held = False
    for op, value in items:
        name = str(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            held = held or chr(value) == char
        elif name == "RANGE":
            held = held or value[0] <= ord(char) <= value[1]
        elif name == "CATEGORY" and str(value) in _CATEGORIES:
            held = held or re.fullmatch(_CATEGORIES[str(value)], char) is not None
        else:
            return True
    return held != negate


def _either(patterns: Sequence[re.Pattern[str]]) -> re.Pattern[str] | None:
    """One pattern that searches like ``any(p.search(...) for p in patterns)`` (None: no patterns)."""
    if not patterns:
        return None
    if len(patterns) == 1:
        return patterns[0]
    return re.compile("|".join(f"(?:{pattern.pattern})" for pattern in patterns))


def _distinct(findings: list[Finding]) -> list[Finding]:
    """Most severe first; a hit inside a kept hit of the same category adds nothing."""
    findings.sort(key=lambda f: (SEVERITIES.index(f.severity), f.span[0], -f.span[1]))
    kept: list[Finding] = []
    spans: dict[str, list[tuple[int, int]]] = {}
    for finding in findings:
        start, end = finding.span
        same = spans.setdefault(finding.rule, [])
        if not any(lo <= start and end <= hi for lo, hi in same):
            kept.append(finding)
            same.append(finding.span)
    return kept


_QUOTES = re.compile(r"[“”「」『』\"]")
_SAID = r"[^。！？!?；;\n]{0,10}?(?:说|问|讲|转发?|传|觉得|认为|提到)"
_REPORTED = re.compile("|".join(who + _SAID for who in ("有(?:位|个|些|的)?", "楼上", "弹幕", "评论区?", "群里", "网上", "刚才", "别人", "外面")))
"""Someone else's words reported: 有宝妈说…, 楼上说…, 群里有人转发…, 弹幕问…"""
_REFUTED = re.compile(  # every branch starts with a literal: the engine then skips positions by first character (5x)
    r"说法(?:不对|不准确|不科学|是错的|错误|没有?(?:依据|根据))|这(?:个|样|种|类)?(?:不对|不准确|是错的|不是事实|没有?(?:依据|根据))"
    r"|那(?:个|样|种|类)?(?:不对|不准确|是错的|不是事实|没有?(?:依据|根据))|不是事实|别(?:信|乱说|乱传|转)"
    r"|我们(?:不这么|不这样|不|没)(?:说|讲|用|做|搞|宣传)|咱们(?:不这么|不这样|不|没)(?:说|讲|用|做|搞|宣传)|不(?:这么|这样)(?:说|讲|宣传)"
    r"|纠正|更正|不是我们(?:发|说)|谣言|谣传|不敢(?:说|讲|保证)|不能(?:这样|这么)?(?:说|讲|承诺)"
)
"""A refutation of what was just reported: 这个说法不对, 别乱说, 我们不这样讲, 要纠正一下, 没有依据."""
_DENIED_SAYING = r"(?:说|讲|承诺|保证|宣传|打包票)[^，,。！？!?；;\n]{0,8}$"
_SPEECH_DENIED = re.compile("|".join(no + _DENIED_SAYING for no in ("没法", "无法", "不(?:能|敢|会|可以|得|是)")))
"""A denial of the speech act just before the claim: 我们没法说奶粉能让孩子…, 不能承诺长高, 不是说能…"""
_SENTENCE = re.compile(r"[。！？!?；;\n]")
_REACH = 40
"""Characters before a claim where its report or denial is looked for (every search is bounded: a text's
hits cost a few microseconds each, whatever its length)."""
_QUOTED = re.compile(r"“[^“”]{1,30}”|「[^「」]{1,30}」|『[^『』]{1,30}』|\"[^\"]{1,30}\"")
_DENIED_BEFORE = re.compile(
    r"(?:(?<!不少)(?<!不错)不(?!少|错|过|断|仅|但|光|久)|没有?|别|并非|绝非|非|无|未|勿|禁止|严禁|不得|不能|"
    r"纠正|所谓(?:的)?|谣传|传言|说法)[^，。！？；!?;\n“”「」『』\"]{0,8}$"
)
_DENIED_AFTER = re.compile(r"^(?:的|这种|这样的|这类|之类的?)?(?:说法|宣传|字样|词|话|表述|用语)|^(?:是|都是)?(?:违规|违法|不对|错误|不允许|不能说)")


def _mentioned(original: str, lo: int, hi: int, claims: Sequence[int] = (), quoted: bool = True) -> bool:
    """Whether ``original[lo:hi]`` is named to deny it, not claimed: quoted under a denial, reported and refuted.

    "我们不是什么“国家免检”产品", "“接近母乳”这种说法是违规的" quote the claim to deny it;
    "有宝妈在群里说喝奶粉能防过敏，这个说法不对" and "楼上说…，别乱说" report someone's claim and refute it;
    "我们没法说奶粉能让孩子少感冒" denies saying it. A claim nothing denies (我们就是“国家免检”, 有宝妈说喝了
    不生病，确实是这样) stays a claim, and so does one made after the refutation: ``claims`` are where the
    text's other findings start, and the refutation must come within 12 characters and before the next one.
    ``quoted`` False says the text holds no quotation mark (one search per text instead of one per finding).
    """
    if quoted:
        for quote in _QUOTED.finditer(original, max(0, lo - 31), min(len(original), hi + 31)):
            if quote.start() < lo and hi < quote.end():
                before = original[max(0, quote.start() - 12) : quote.start()]
                after = original[quote.end() : quote.end() + 8]
                if _DENIED_BEFORE.search(before) or _DENIED_AFTER.search(after):
                    return True
                break
    if _SPEECH_DENIED.search(original, max(0, lo - 16), lo):
        return True
    refutation = _REFUTED.search(original, hi, hi + 16)  # the rarer half first: most claims are not refuted
    if refutation is None or refutation.start() > hi + 12:
        return False
    start = max((m.end() for m in _SENTENCE.finditer(original, max(0, lo - _REACH), lo)), default=max(0, lo - _REACH))
    if _REPORTED.search(original, start, lo) is None:
        return False
    return not any(hi <= other < refutation.start() for other in claims)


def _units(text: str) -> str:
    """``text`` as its UTF-16 (big-endian) code units, each byte one Latin-1 character."""
    return text.encode("utf-16-be", "surrogatepass").decode("latin-1")


def load_rules(path: Path = RULES_FILE, *, learned: bool = True) -> RuleSet:
    """Parse and compile a rule file, with the shipped learned layer unless ``learned`` is False.

    Errors name the rule and key.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise RuleFileError(f"{path}: {err}") from err
    rules = parse_rules(data, origin=str(path))
    rules.learned = default_learned() if learned else None
    return rules


def parse_rules(data: Mapping[str, Any], origin: str = "rules") -> RuleSet:
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise RuleFileError(f"{origin}: version must be a non-empty string")
    macros = _strings_map(data.get("macros", {}), f"{origin}: macros")
    dodge = data.get("dodges", {})
    if not isinstance(dodge, Mapping):
        raise RuleFileError(f"{origin}: dodges must be a table")
    dodges = build_dodges(
        _strings(dodge.get("terms", []), f"{origin}: dodges.terms"),
        _strings_map(dodge.get("aliases", {}), f"{origin}: dodges.aliases"),
        _strings_map(dodge.get("emoji", {}), f"{origin}: dodges.emoji"),
        _strings(dodge.get("keep", []), f"{origin}: dodges.keep"),
    )
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list) or not raw_rules:
        raise RuleFileError(f"{origin}: at least one [[rule]] is required")
    rules = [_parse_rule(raw, macros, origin) for raw in raw_rules]
    ids = [rule.id for rule in rules]
    duplicates = sorted({rule_id for rule_id in ids if ids.count(rule_id) > 1})
    if duplicates:
        raise RuleFileError(f"{origin}: duplicate rule id {', '.join(duplicates)}")
    return RuleSet(version=version, rules=tuple(rules), dodges=dodges)


def _parse_rule(raw: Any, macros: Mapping[str, str], origin: str) -> Rule:
    if not isinstance(raw, Mapping):
        raise RuleFileError(f"{origin}: every [[rule]] must be a table")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not rule_id:
        raise RuleFileError(f"{origin}: a rule has no id")
    where = f"{origin}: rule {rule_id}"
    for key in ("category", "explanation", "rewording"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise RuleFileError(f"{where}: {key} must be a non-empty string")
    severity = raw.get("severity")
    if severity not in SEVERITIES:
        raise RuleFileError(f"{where}: severity must be block or warn")
    policy = raw.get("policy", "law")
    if policy not in ("law", "brand"):
        raise RuleFileError(f"{where}: policy must be law or brand")
    patterns = _compile_all(raw.get("patterns"), macros, f"{where}: patterns", required=True)
    return Rule(
        id=rule_id,
        category=raw["category"],
        severity=severity,
        explanation=raw["explanation"],
        rewording=raw["rewording"],
        patterns=patterns,
        anchors=tuple(pattern_anchors(pattern) for pattern in patterns),
        widths=tuple(pattern_width(pattern) for pattern in patterns),
        also=tuple(second_anchors(pattern) for pattern in patterns),
        unless_before=_compile_all(raw.get("unless_before"), macros, f"{where}: unless_before"),
        unless_after=_compile_all(raw.get("unless_after"), macros, f"{where}: unless_after"),
        unless_clause=_compile_all(raw.get("unless_clause"), macros, f"{where}: unless_clause"),
        unless_match=_compile_all(raw.get("unless_match"), macros, f"{where}: unless_match"),
        policy=policy,
        basis=str(raw.get("basis", "")),
    )


def _compile_all(raw: Any, macros: Mapping[str, str], where: str, required: bool = False) -> tuple[re.Pattern[str], ...]:
    items = _strings(raw if raw is not None else [], where)
    if required and not items:
        raise RuleFileError(f"{where}: at least one pattern is required")
    compiled = []
    for item in items:
        expanded = _expand(item, macros, where)
        try:
            compiled.append(re.compile(expanded))
        except re.error as err:
            raise RuleFileError(f"{where}: {item!r}: {err}") from err
    return tuple(compiled)


def _expand(pattern: str, macros: Mapping[str, str], where: str) -> str:
    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in macros:
            raise RuleFileError(f"{where}: unknown macro <<{name}>>")
        return macros[name]

    for _ in range(4):  # a macro may use macros (FORMULA uses SELF), a few levels deep
        expanded = _MACRO.sub(substitute, pattern)
        if expanded == pattern:
            return expanded
        pattern = expanded
    if _MACRO.search(pattern):
        raise RuleFileError(f"{where}: macros nested too deep (or a macro uses itself)")
    return pattern


def _strings(raw: Any, where: str) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(item, str) and item for item in raw):
        raise RuleFileError(f"{where}: must be a list of non-empty strings")
    return list(raw)


def _strings_map(raw: Any, where: str) -> dict[str, str]:
    if not isinstance(raw, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise RuleFileError(f"{where}: must be a table of strings")
    return dict(raw)


def pattern_width(pattern: re.Pattern[str]) -> int | None:
    """The longest text ``pattern`` can match, or None when it is unbounded (or very long)."""
    try:
        widest = sre_parse.parse(pattern.pattern).getwidth()[1]
    except re.error:
        return None
    return int(widest) if widest <= 400 else None


def pattern_anchors(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Literals one of which every match of ``pattern`` contains (None when there are none)."""
    try:
        parsed = sre_parse.parse(pattern.pattern)
    except re.error:
        return None
    found = _sequence_anchors(list(parsed))
    return frozenset(found) if found and all(found) else None


_GATE_MAX_FREQUENCY = 0.02
"""A second literal set is worth a gate only when texts rarely contain one (else every text opens it)."""


def second_anchors(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Another literal set every match of ``pattern`` contains, apart from its anchors' (None: none useful).

    Taken from the pattern's top-level sequence (each literal run there is mandatory); only
    a rare one, sharing no text with the anchors, is kept.
    """
    primary = pattern_anchors(pattern)
    if primary is None:
        return None
    try:
        items = list(sre_parse.parse(pattern.pattern))
    except re.error:
        return None
    candidates = [run for run in _literal_runs(items) if all(run)]
    candidates = [
        run for run in candidates if not any(a in b or b in a for a in run for b in primary)
    ]
    if not candidates:
        return None
    best = max(candidates, key=_score)
    if sum(_frequency(option) for option in best) > _GATE_MAX_FREQUENCY:
        return None
    return frozenset(best)


def _literal_runs(items: list[Any]) -> list[set[str]]:
    """The maximal literal runs of a top-level sequence (each is matched by every match)."""
    runs: list[set[str]] = []
    run: set[str] | None = None
    for item in items:
        options = _item_options(item)
        if options is None:
            if run:
                runs.append(run)
            run = None
            continue
        if not options:
            continue
        joined = options if run is None else _product(run, options)
        if joined is None:
            if run:
                runs.append(run)
            run = options
        else:
            run = joined
    if run:
        runs.append(run)
    return runs


def _sequence_anchors(items: list[Any]) -> set[str] | None:
    """The best literal set of a sequence: concatenated literal runs, the longest shortest one."""
    best: set[str] | None = None
    run: set[str] | None = None
    for item in items:
        options = _item_options(item)
        if options is None:
            run = None
            # A mandatory group that is not all literal (\d+%|百分之…) still has anchors of its own.
            nested = _nested_anchors(item)
            if nested and all(nested) and (best is None or _score(nested) > _score(best)):
                best = nested
            continue
        if not options:  # zero-width (lookaround, anchors): does not break a literal run
            continue
        run = options if run is None else _product(run, options)
        if run is not None and (best is None or _score(run) > _score(best)):
            best = run
        if run is None:
            run = options
            if best is None or _score(run) > _score(best):
                best = run
    if best is None:
        # A mandatory sub-pattern without literals of its own (e.g. a whole alternation) may still give one.
        for item in items:
            nested = _nested_anchors(item)
            if nested:
                return nested
    return best


def _item_options(item: Any) -> set[str] | None:
    """Literal strings this item always matches as a whole, set() for zero width, None if free."""
    op, value = item
    name = str(op)
    if name == "LITERAL":
        return {chr(value)}
    if name in ("AT", "ASSERT", "ASSERT_NOT"):
        return set()
    if name == "IN":
        chars = {chr(v) for o, v in value if str(o) == "LITERAL"}
        if len(chars) == len(value) and len(chars) <= 12:
            return chars
        return None
    if name == "SUBPATTERN":
        return _alternatives(list(value[-1]))
    if name == "BRANCH":
        options: set[str] = set()
        for branch in value[1]:
            alt = _alternatives(list(branch))
            if alt is None:
                return None
            options |= alt
        return options if len(options) <= _MAX_ANCHORS else None
    return None


def _alternatives(items: list[Any]) -> set[str] | None:
    """Every string a literal-only sequence can match (None when it is not literal-only)."""
    result: set[str] = {""}
    for item in items:
        options = _item_options(item)
        if options is None:
            return None
        if not options:
            continue
        product = _product(result, options)
        if product is None:
            return None
        result = product
    return result if "" not in result else None


def _nested_anchors(item: Any) -> set[str] | None:
    op, value = item
    name = str(op)
    if name == "SUBPATTERN":
        return _sequence_anchors(list(value[-1]))
    if name == "BRANCH":
        options: set[str] = set()
        for branch in value[1]:
            found = _sequence_anchors(list(branch))
            if not found:
                return None
            options |= found
        return options
    if name in ("MAX_REPEAT", "MIN_REPEAT") and value[0] >= 1:
        return _sequence_anchors(list(value[2]))
    return None


def _product(left: set[str], right: set[str]) -> set[str] | None:
    if len(left) * len(right) > _MAX_ANCHORS:
        return None
    return {a + b for a in left for b in right}


def _score(options: set[str]) -> tuple[float, int]:
    """Higher for a literal set that occurs less often: fewer prefilter hits to look at."""
    return (-sum(_frequency(option) for option in options), min(len(option) for option in options))


# Words every text of this domain is full of, whatever general Chinese says about them.
_DOMAIN_COMMON = ("北境", "臻护", "奶粉", "宝宝", "1段", "2段", "3段", "配方", "牧场", "奶源", "妈妈", "母乳", "喂养",
                  "批次", "检测", "生牛乳", "营养")
# Words a formula livestream's answers use in nearly every text (cans, drinking, switching,
# stages, doctors, orders): as anchors they would send a pattern to run on almost everything.
_DOMAIN_FREQUENT = ("宝宝", "妈妈", "宝妈", "家长", "奶粉", "营养", "罐", "喝", "吃", "换", "比", "全", "全部", "多", "少",
                    "长", "快", "养", "糖", "成分", "适合", "来自", "医生", "儿科", "一般", "主要", "下单", "订单",
                    "不要", "没", "奖", "提", "增", "退")


@functools.lru_cache(maxsize=8192)
def _frequency(literal: str) -> float:
    """Rough share of texts ``literal`` occurs in (jieba's general IDF, this domain's words boosted).

    Never more than any part of it: a longer literal is at most as common as its pieces.
    """
    idf = _idf().get(literal)
    if idf is not None:
        estimate = math.exp(-idf)
    elif len(literal) == 1:
        estimate = 0.05 if literal.isascii() else 0.01
    else:
        estimate = min(_frequency(char) for char in literal) * 0.1
    if any(literal in word for word in _DOMAIN_COMMON):
        estimate = max(estimate, 0.01)
    if len(literal) > 1:
        estimate = min(estimate, _frequency(literal[:-1]), _frequency(literal[1:]))
    if literal in _DOMAIN_FREQUENT:  # measured in this domain's texts, whatever its parts say
        estimate = max(estimate, 0.05)
    return estimate


@functools.cache
def _idf() -> dict[str, float]:
    from livebot.text.idf import general_idf

    return general_idf()


@functools.cache
def default_rules() -> RuleSet:
    """The shipped rule file with the shipped learned layer, compiled once per process."""
    return load_rules()
