"""Is this chat message a question an advisor should answer, or chatter/praise/statement?

Viewers rarely type '?'. The detector scores grammatical cues of asking (吗/呢/么 particles,
wh-words such as 怎么/多少/哪/几/啥, A不A forms like 能不能/有没有, 是…还是…, request verbs
like 请问/求问), statements of not understanding or needing help (看不懂, 搞不明白, 求解释)
and problem reports that expect an answer without asking (宝宝拉稀, 罐子瘪了, 扫不出来). The
score becomes a confidence through a logistic curve centred on the decision threshold, so
``confidence >= 0.5`` exactly when ``is_question``.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

THRESHOLD = 1.2
_STEEPNESS = 1.6

_FINAL_PARTICLE = re.compile(r"(?:吗|么|嘛|伐|咩|吗呀|吗啊|了未)(?=[\s,.!?;:~…]|$)")
_FINAL_NE = re.compile(r"呢(?=[\s,.!?~…]|$)")
_FINAL_BA = re.compile(r"(?:的吧|是吧|对吧|了吧|吧)(?=[\s,.!?~…]|$)")
_FINAL_NOT = re.compile(r"[\u4e00-\u9fff](?:不|没|没有|否)(?=[\s,.!?~…]|$)")
_A_NOT_A = re.compile(r"([\u4e00-\u9fff])[不没唔冇]\1|有冇|系咪")
_ALTERNATIVE = re.compile(r"还是(?![不没很挺有太觉会蛮真都就])")
_WH = re.compile(
    r"怎么(?!这么|那么|都|也)|咋|怎样|如何|为什么|为啥|干嘛|多少|多久|多长|多大|多远|多高|多重|多厚|有多"
    r"|哪(?!怕|里哪里)|什么(?!都|的|也)|啥(?![都也])|谁(?!知道|懂|能想到|也|都)|边度|边个|乜嘢|啥子|咋个|点解|点样|几多|乜"
    r"|(?<![好十没])几(?![乎十百])(?=[\u4e00-\u9fff0-9])"
)
_REQUEST = re.compile(r"请问|求问|问一下|问下|想问|想知道|求科普|科普一下|求解答|请教|咨询一下|有人知道|求助|求推荐")
# Saying one does not understand, or asking for help, asks for an explanation without a
# question word: 检验报告一堆数字看不懂, 这个配料表搞不明白, 求解释. Not 不懂事 (naughty),
# not 看不清/听不清 (a stream-quality complaint), not a bare 不知道 (我也不知道).
_HELP = re.compile(
    r"(?:看|听|搞|弄|读|想)(?:不|没)(?:太|大|是很)?(?:懂|明白)(?!事)|没(?:太|怎么)?(?:看|搞|弄|读|听)(?:懂|明白)"
    r"|(?<![看听搞弄读想没])不(?:太|大|是很)?(?:懂|明白)(?!事)|(?:搞|弄)不(?:太)?清|不(?:太|大|是很)清楚"
    r"|(?<![也都谁就])不知道(?=[\u4e00-\u9fff]{2})"
    r"|求解释|解释一下|求讲解|讲解一下|求指导|求指点|求指教|求告知|帮忙看看|帮我看看|给讲讲"
)
# Exclamations with a question word: 怎么这么干净, 谁家牛这么干净啊, 怎么会有这么大的罐子.
_EXCLAIM_WH = re.compile(r"怎么这么|怎么那么|多么|不怎么|哪(?:有|来)(?:这么|那么)|(?:什么|啥)神仙|(?:怎么|咋|谁家|啥时候)[^吗呢?]{0,5}(?:这么|那么)")
_NEGATED = re.compile(r"(?:没|不|没有|不再|从不|从没|没再)$")
_RESOLVED = re.compile(r"好多了|好了|顺利|正常了|没事了|改善|解决了|不再|都好")

DATA_DIR = Path(__file__).with_name("data")


@dataclass(frozen=True, slots=True)
class QuestionResult:
    """Decision, confidence in 0..1, and the cues that fired (for debugging and tests)."""

    is_question: bool
    confidence: float
    cues: tuple[str, ...]


@functools.cache
def _concerns() -> tuple[str, ...]:
    words: list[str] = []
    for line in (DATA_DIR / "concerns.txt").read_text(encoding="utf-8").splitlines():
        words.extend(line.split("#", 1)[0].split())
    # Longest first so 拉肚子 wins over 拉 and the negation check sees the whole phrase.
    return tuple(sorted(set(words), key=len, reverse=True))


def detect_question(text: str, terms: Collection[str] = ()) -> QuestionResult:
    """Score normalised ``text`` (see ``normalize``) for being a question.

    ``terms`` are the message's canonical terms (see ``Tokenizer``): a symptom typed as any
    synonym (拉水样便 → 腹泻) then counts as a problem report too.
    """
    return _detect(text, tuple(terms))


def asks_beyond_help(text: str, terms: Collection[str] = ()) -> bool:
    """True when ``text`` is a question even without a statement of needing help.

    In "看了半天还是没搞懂，湿法到底是啥意思" both clauses ask, but the second carries the
    question; the first only says that an explanation is wanted (see ``ranking.focus_clauses``).
    """
    return _detect(text, tuple(terms), False).is_question


@functools.lru_cache(maxsize=65536)
def _detect(text: str, terms: tuple[str, ...], help_asks: bool = True) -> QuestionResult:
    # Cached: clauses such as "请问" or "主播主播" recur across thousands of messages.
    cues: list[str] = []
    score = 0.0
    for weight, cue, found in _cue_checks(text):
        if found and (help_asks or cue != "needs-help"):
            score += weight
            cues.append(cue)
    if score < THRESHOLD and _has_concern(text, terms):
        score += 1.6
        cues.append("concern")
    if text.rstrip().endswith("!") and "?" not in text:
        score -= 0.8
    confidence = 1.0 / (1.0 + math.exp(-_STEEPNESS * (score - THRESHOLD)))
    return QuestionResult(is_question=score >= THRESHOLD, confidence=round(confidence, 4), cues=tuple(cues))


@functools.lru_cache(maxsize=65536)
def is_interrogative(text: str) -> bool:
    """True when the text asks grammatically (particles, wh-words, A不A ...), ignoring concerns."""
    return sum(weight for weight, _, found in _cue_checks(text) if found) >= THRESHOLD


def _cue_checks(text: str) -> list[tuple[float, str, bool]]:
    return [
        (3.0, "question-mark", "?" in text),
        (2.5, "particle", bool(_FINAL_PARTICLE.search(text))),
        (2.0, "a-not-a", bool(_A_NOT_A.search(text))),
        (2.0, "wh-word", bool(_WH.search(text)) and not _EXCLAIM_WH.search(text)),
        (2.0, "request", bool(_REQUEST.search(text))),
        (2.0, "needs-help", bool(_HELP.search(text))),
        (2.0, "final-negative", bool(_FINAL_NOT.search(text))),
        (1.3, "alternative", bool(_ALTERNATIVE.search(text))),
        (1.3, "tag-ba", bool(_FINAL_BA.search(text))),
        (0.9, "particle-ne", bool(_FINAL_NE.search(text))),
    ]


def _has_concern(text: str, terms: Collection[str]) -> bool:
    if _RESOLVED.search(text):
        return False
    for match in _concern_pattern().finditer(text):
        if not _NEGATED.search(text[max(0, match.start() - 2) : match.start()]):
            return True
    concerns = _concern_set()
    return any(term in concerns for term in terms)


@functools.cache
def _concern_pattern() -> re.Pattern[str]:
    return re.compile("|".join(re.escape(phrase) for phrase in _concerns()))


@functools.cache
def _concern_set() -> frozenset[str]:
    return frozenset(_concerns())
