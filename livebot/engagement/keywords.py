"""Top keywords of a session's comments: TF-IDF over the FAQ tokenizer's content terms.

Terms come from the FAQ tokenizer's private jieba (:mod:`livebot.faq.tokenizer`, with the
domain dictionary) over normalised text, folded to canonical words and without the FAQ stop
words by its lexicon. Only the plain cut is used, not the full per-message analysis with
homophone repair: that costs milliseconds per text, and a report reads thousands. TF is how often a term was
sent — each distinct text weighted by how many times it was sent, flood repeats included — and
IDF is the term's self-information in jieba's general-Chinese word counts, so words common
everywhere (知道, 现在) sink and topical ones (奶源, 三聚氰胺) rise. A further stop list below
removes what is frequent in *live chat* but says nothing (主播, 666, 哈哈).
Runs in a worker thread: tokenising thousands of texts is CPU work.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from livebot.faq.tokenizer import Tokenizer, default_tokenizer
from livebot.text.normalize import normalize

CHAT_STOPWORDS = frozenset({
    "主播", "直播", "直播间", "哈哈", "哈哈哈", "哈哈哈哈", "嘿嘿", "呵呵", "666", "6666", "来了", "打卡", "宝宝", "哪里",
    "什么", "怎么", "多少", "可以", "知道", "现在", "今天", "一下", "这个", "那个", "姐妹", "姐妹们", "老师", "谢谢",
    "好的", "请问", "大家", "真的", "还是", "就是", "是不是", "有没有", "能不能", "一个", "时候", "感觉", "觉得", "问题",
    "支持", "关注", "好评", "啊啊啊", "hhh", "ok",
})
IDF_CAP = 14.0
"""Unknown tokens (ids, typos) have the maximum self-information; capping keeps them from winning on rarity alone."""
NOISE = re.compile(r"^[\d\W_]+$|^[a-z]$", re.IGNORECASE)


@dataclass(frozen=True)
class Keyword:
    term: str
    count: int
    weight: float

    def as_json(self) -> dict[str, object]:
        return {"term": self.term, "count": self.count, "weight": round(self.weight, 2)}


def is_keyword(term: str) -> bool:
    """Worth showing: two characters or more, not digits/punctuation, not live-chat filler."""
    return len(term) >= 2 and not NOISE.match(term) and term.lower() not in CHAT_STOPWORDS


def terms(tokenizer: Tokenizer, text: str) -> set[str]:
    """The distinct keyword candidates of one comment."""
    lexicon = tokenizer.lexicon
    out = set()
    for token in tokenizer.cut(normalize(text).text):
        term = lexicon.canonicalize(token)
        if lexicon.is_content(term) and is_keyword(term):
            out.add(term)
    return out


def keywords(texts: Sequence[tuple[str, int]], top: int, tokenizer: Tokenizer | None = None) -> list[Keyword]:
    """The ``top`` keywords of (text, times sent) pairs, best first (ties by count, then term)."""
    tokenizer = tokenizer or default_tokenizer()
    counts: Counter[str] = Counter()
    for text, sent in texts:
        if sent > 0:
            for term in terms(tokenizer, text):
                counts[term] += sent
    scored = [Keyword(term, n, n * min(tokenizer.informativeness(term), IDF_CAP)) for term, n in counts.items()]
    scored.sort(key=lambda k: (-k.weight, -k.count, k.term))
    return scored[:top]
