"""Question detection: asking (with or without '?') versus chatter, praise and statements."""

from __future__ import annotations

import pytest

from livebot.faq.question import detect_question, is_interrogative
from livebot.text.normalize import normalize

QUESTIONS = [
    "奶源在哪里",
    "多少钱一罐",
    "是a2奶源吗",
    "能不能用开水冲",
    "有没有益生菌",
    "是自有牧场还是合作牧场",
    "湿法工艺是啥意思，小白求科普",
    "请问回放在哪看",
    "宝宝几个月可以喝2段",
    "正常不",
    "你们是按新国标来的吧",
    "为啥要充氮气",
    "那3段呢？",
    "齐齐哈尔冬天有多冷",
    "宝宝喝完一直拉稀，一天七八次",
    "罐子收到就瘪了",
    "扫码提示查无此码",
]
NOT_QUESTIONS = [
    "冲冲冲",
    "主播好美",
    "666",
    "来了来了",
    "已下单",
    "宝宝刚睡着，偷偷来看",
    "之前喝别的总便秘，换了这个好多了",
    "宝宝喝了半年，没上过火，很满意",
    "国产奶粉可以了",
    "好几次都没抢到",
    "怎么这么好看！",
    "",
]


@pytest.mark.parametrize("text", QUESTIONS)
def test_questions(text: str) -> None:
    result = detect_question(normalize(text).text)
    assert result.is_question, result.cues
    assert result.confidence >= 0.5


@pytest.mark.parametrize("text", NOT_QUESTIONS)
def test_not_questions(text: str) -> None:
    result = detect_question(normalize(text).text)
    assert not result.is_question, result.cues
    assert result.confidence < 0.5


def test_problem_report_typed_as_a_synonym_counts_with_terms() -> None:
    text = normalize("娃喝了一直拉水样便").text
    assert detect_question(text, terms=("宝宝", "腹泻")).is_question


def test_interrogative_ignores_problem_reports() -> None:
    assert is_interrogative("能用开水冲吗")
    assert not is_interrogative("宝宝拉肚子了")


@pytest.mark.parametrize(
    "text",
    ["怎么能这么干净", "谁家的牛这么胖啊 羡慕", "啥也不说了 下单", "什么也不想说了", "谁懂啊 看挤奶好解压", "咋这么多人",
     "哪有这么好的事", "什么神仙牧场"],
)
def test_exclamations_with_question_words_are_not_questions(text: str) -> None:
    assert not detect_question(text).is_question


@pytest.mark.parametrize(
    "text",
    ["冲奶粉用矿泉水好伐", "奶粉罐放边度好", "扫码一直转圈圈", "扫了码出不来", "呢个奶粉几多钱", "有冇优惠",
     "发货了未", "点解扫唔到", "罐子鼓包了", "物流一直不动"],
)
def test_dialect_questions_and_problem_reports_are_questions(text: str) -> None:
    assert detect_question(text).is_question
