"""A generated multi-platform chat transcript for the demo, the replay source and the benchmark.

Several platforms' audiences of one traceability livestream: parents asking (colloquially,
with the typos and repeats of real chat) about 奶源, 工艺, 质检, 冲泡, 段位 and 价格, plus
chatter (666, 主播好美, [玫瑰]), floods, likes, gifts, follows, viewer counts per channel, a
little spam for moderation to catch, and a WeCom parents' group relayed by a bot.
Deterministic for a seed. Events are in livebot's webhook format (:mod:`livebot.chat.wire`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson

CST = timezone(timedelta(hours=8))

CHANNELS = (
    # (platform, channel, share of the audience, base viewers) — the demo session's channels
    ("douyin", "douyin-room-7731", 0.38, 3200),
    ("kuaishou", "ks-room-5520", 0.18, 1300),
    ("channels", "channels-live", 0.16, 900),
    ("bilibili", "bili-room-2233", 0.10, 600),
    ("taobao", "taobao-live-88", 0.12, 1100),
    ("wecom", "wecom-parents-1", 0.06, 0),
)

NAME_HEADS = (
    "小雨", "乐乐", "糖糖", "豆豆", "果果", "朵朵", "安安", "可可", "米粒", "团团", "圆圆", "多多", "甜甜", "妞妞", "壮壮",
    "悠悠", "贝贝", "嘟嘟", "橙子", "一一", "小满", "七七", "芒果", "星星", "暖暖", "航航", "睿睿", "沫沫", "桃子", "花卷",
)
NAME_TAILS = ("妈妈", "麻麻", "爸爸", "的妈", "宝妈", "奶奶", "姥姥", "老爸", "", "酱", "家的", "本宝")
LONE_NAMES = ("一只小橙子", "奶爸老王", "爱吃草莓的猫", "Lily", "木子李", "晴天", "静待花开", "张三丰", "阳光正好", "小太阳")

QUESTIONS: dict[str, tuple[str, ...]] = {
    "奶源": (
        "奶源是哪里的？", "奶源是哪里的", "奶源哪的啊", "是自己的牧场吗", "奶源是进口的还是国产的？", "牧场在哪个省",
        "牛是吃什么长大的", "奶牛一天挤几次奶？", "nai源是黑龙江的吗", "牧场离工厂远吗", "奶源有保障吗姐妹们",
    ),
    "工艺": (
        "湿法还是干法工艺？", "从挤奶到做成奶粉要多久", "是生牛乳一次成粉吗", "工艺是湿法的吗", "工厂是全自动的吗",
        "鲜奶多久能进工厂", "为什么说两小时", "喷雾干燥温度多少度",
    ),
    "质检": (
        "质检报告在哪里看？", "三聚氰胺检测了吗", "每批都检测吗", "有第三方检测吗", "罐底的追溯码怎么查",
        "批号怎么查真伪", "检测项目有多少项？", "这批的检测报告能看吗",
    ),
    "冲泡": (
        "冲泡水温多少度合适？", "一勺兑多少水", "冲好的奶能放多久", "可以用矿泉水冲吗", "泡沫多正常吗",
        "冲的时候要摇吗还是搅", "水温多少度啊", "夜奶怎么冲方便",
    ),
    "段位": (
        "一段适合几个月？", "宝宝8个月喝几段", "转段要注意什么", "三段和二段有啥区别", "早产宝宝能喝吗",
        "宝宝一岁了喝几段", "转奶要过渡几天",
    ),
    "价格": (
        "多少钱一罐？", "有优惠吗", "直播间有券吗", "买两罐送什么", "链接在哪里", "价格多少", "会员价多少",
    ),
}

CHATTER = (
    "666", "666666", "主播好美", "[玫瑰]", "[玫瑰][玫瑰][玫瑰]", "[赞][赞]", "来了来了", "打卡", "支持国货",
    "宝宝喝了很好", "已下单", "哈哈哈", "主播声音好好听", "牧场好漂亮", "奶牛好可爱", "👍👍👍", "❤️", "第一次来",
    "刚进来，讲到哪了", "学到了", "拍得好清楚", "工厂好干净", "主播辛苦了", "关注了", "好评", "[比心]", "太专业了",
)

WECOM_LINES = (
    "群里有人喝过这个吗？我家宝宝有点上火", "今晚直播几点开始呀", "刚看了直播，工厂真的很干净",
    "请问奶源是哪里的？\n我看罐子上写的是黑龙江", "冲泡水温是40度还是50度？", "转段的时候要注意什么呀",
    "直播间的券能在群里用吗", "追溯码在罐底，扫一下就能看到检测报告", "宝宝6个月，喝一段还是二段？",
)

SPAM = (
    "加V：abc12345 低价代购正品奶粉", "www.milk-cheap.top 领券", "兼职日结，私聊我", "QQ 12345678 进群领福利",
    "代购奶粉 联系 138 0013 8000",
)

GIFTS = (("小心心", 1, 10), ("玫瑰", 1, 100), ("棒棒糖", 9, 900), ("为你点亮", 1, 1000), ("嘉年华", 1, 300000))


@dataclass
class Viewer:
    id: str
    name: str
    platform: str
    channel: str
    asked: list[str] = field(default_factory=list)


def audience(rng: random.Random, size: int = 400) -> list[Viewer]:
    """Viewers spread over the channels by each platform's share of the audience."""
    viewers = []
    weights = [share for _, _, share, _ in CHANNELS]
    for index in range(size):
        platform, channel, _, _ = rng.choices(CHANNELS, weights)[0]
        if rng.random() < 0.1:
            name = rng.choice(LONE_NAMES)
        else:
            name = rng.choice(NAME_HEADS) + rng.choice(NAME_TAILS)
        viewers.append(Viewer(id=f"{platform[:2]}-u{index:04d}", name=name, platform=platform, channel=channel))
    return viewers


def generate(
    seed: int = 7, minutes: float = 10.0, rate: float = 3.0, start: datetime | None = None
) -> list[dict[str, Any]]:
    """About ``rate`` events a second for ``minutes``, sorted by time, as webhook-format dicts."""
    rng = random.Random(seed)
    viewers = audience(rng)
    start = start or datetime(2026, 11, 24, 20, 0, tzinfo=CST)
    end = start + timedelta(minutes=minutes)
    events: list[dict[str, Any]] = []
    ids = iter(range(1, 10**9))
    now = start
    while now < end:
        now += timedelta(seconds=rng.expovariate(rate))
        events.extend(burst(rng, viewers, now, ids))
    events.extend(viewer_counts(rng, start, end, ids))
    events.sort(key=lambda e: e["ts"])
    last = end.astimezone(CST).isoformat(timespec="milliseconds")
    return [e for e in events if e["ts"] < last]


def burst(rng: random.Random, viewers: list[Viewer], at: datetime, ids: Iterator[int]) -> list[dict[str, Any]]:
    """One moment of chat: usually one event, sometimes a flood or a repeated question."""
    viewer = rng.choice(viewers)
    roll = rng.random()
    if viewer.platform == "wecom":
        return [comment(viewer, rng.choice(WECOM_LINES), at, ids)]
    if roll < 0.36:
        topic = rng.choice(list(QUESTIONS))
        text = rng.choice(QUESTIONS[topic])
        viewer.asked.append(text)
        return [comment(viewer, text, at, ids)]
    if roll < 0.42 and viewer.asked:
        return [comment(viewer, rng.choice(viewer.asked), at, ids)]
    if roll < 0.72:
        return [comment(viewer, rng.choice(CHATTER), at, ids)]
    if roll < 0.74:
        text = rng.choice(("666", "[玫瑰]", "主播好美", "来了来了"))
        crowd = [v for v in rng.sample(viewers, 12) if v.platform != "wecom"]
        return [comment(v, text, at + timedelta(milliseconds=150 * i), ids) for i, v in enumerate(crowd)]
    if roll < 0.75:
        return [comment(viewer, rng.choice(SPAM), at, ids)]
    if roll < 0.90:
        return [simple(viewer, "like", at, ids, count=rng.randint(1, 30))]
    if roll < 0.95:
        name, count, value = rng.choice(GIFTS)
        return [simple(viewer, "gift", at, ids, text=name, count=count, value=value * count)]
    kind = rng.choice(("follow", "share", "enter", "enter", "enter"))
    return [simple(viewer, kind, at, ids)]


def comment(viewer: Viewer, text: str, at: datetime, ids: Iterator[int]) -> dict[str, Any]:
    return simple(viewer, "comment", at, ids, text=text)


def simple(viewer: Viewer, kind: str, at: datetime, ids: Iterator[int], **extra: Any) -> dict[str, Any]:
    event = {
        "id": f"{viewer.platform}-{next(ids)}", "platform": viewer.platform, "channel": viewer.channel, "kind": kind,
        "ts": at.astimezone(CST).isoformat(timespec="milliseconds"), "user": {"id": viewer.id, "name": viewer.name},
        "text": extra.pop("text", ""),
    }
    event.update(extra)
    return event


def viewer_counts(rng: random.Random, start: datetime, end: datetime, ids: Iterator[int]) -> list[dict[str, Any]]:
    """A concurrent-viewer figure per channel every 15 s, drifting up through the show."""
    events = []
    for platform, channel, _, base in CHANNELS:
        if not base:
            continue
        level = float(base)
        at = start
        while at < end:
            level = max(50.0, level * rng.uniform(0.97, 1.05))
            events.append({
                "id": f"{platform}-v{next(ids)}", "platform": platform, "channel": channel, "kind": "viewers",
                "ts": at.astimezone(CST).isoformat(timespec="milliseconds"), "user": {"id": "", "name": ""},
                "text": "", "viewers": int(level),
            })
            at += timedelta(seconds=15)
    return events


def write_jsonl(path: str | Path, events: list[dict[str, Any]]) -> None:
    """Save a transcript, one event per line (UTF-8)."""
    with open(path, "wb") as out:
        for event in events:
            out.write(orjson.dumps(event) + b"\n")


def texts(seed: int = 7, count: int = 5000) -> list[tuple[str, str, str, str]]:
    """(platform, channel, user name, text) samples of realistic comments, for load generators."""
    rng = random.Random(seed)
    viewers = audience(rng)
    now = datetime.now(UTC)
    ids = iter(range(1, 10**9))
    samples: list[tuple[str, str, str, str]] = []
    while len(samples) < count:
        for event in burst(rng, viewers, now, ids):
            if event["kind"] == "comment":
                samples.append((event["platform"], event["channel"], event["user"]["name"], event["text"]))
    return samples[:count]
