"""Case categories, their Chinese names, how soon each must be followed up, and the status machine."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    due: timedelta
    words: re.Pattern[str]


CATEGORIES: tuple[Category, ...] = (
    Category("adverse", "过敏/不良反应", timedelta(hours=4),
             re.compile(r"过敏|湿疹|起疹|疹子|红疹|腹泻|拉肚子|拉稀|呕吐|吐奶|便血|便秘|不良反应|发烧|哭闹不止")),
    Category("food_safety", "食品安全", timedelta(hours=8),
             re.compile(r"异物|变质|结块|发霉|霉变|异味|怪味|有虫|虫子|头发|食品安全|检测不合格|超标")),
    Category("counterfeit", "疑似假货", timedelta(hours=24),
             re.compile(r"假货|假的|仿冒|山寨|防伪|真伪|扫不出|查不到")),
    Category("damaged", "破损", timedelta(hours=24),
             re.compile(r"破损|漏粉|凹陷|瘪了|罐子坏|密封|封口|鼓罐|胀罐|摔坏")),
    Category("complaint", "投诉", timedelta(hours=24),
             re.compile(r"投诉|退货|退款|差评|客服|态度|维权|12315")),
    Category("other", "其他", timedelta(hours=48), re.compile(r"(?!)")),
)
BY_KEY = {category.key: category for category in CATEGORIES}

STATUS_LABELS = {"open": "待跟进", "contacted": "已联系", "resolved": "已解决", "escalated": "已转质量部门"}
NEXT = {
    "open": ("contacted", "resolved", "escalated"),
    "contacted": ("resolved", "escalated"),
    "escalated": ("resolved",),
    "resolved": (),
}
ACTIVE = ("open", "contacted", "escalated")
ACTION_LABELS = {"opened": "创建", "status": "状态变更", "note": "备注", "assigned": "指派", "batch": "登记批次",
                 "message": "发消息", "received": "收到回复"}


def guess_category(text: str) -> str:
    """The first category whose words the text uses (adverse reactions first), else ``other``."""
    for category in CATEGORIES:
        if category.words.search(text):
            return category.key
    return "other"


def may_move(current: str, target: str) -> bool:
    return target in NEXT.get(current, ())
