"""A relay's retry changes nothing: one transcript sent once, and sent with every batch twice,
through the signed webhook of the real app, gives identical stored flags and identical figures
(live minute rows, ``livebot engagement rebuild``, the stored report, ``livebot report`` and the CSV sums)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from livebot.app import create_app
from livebot.appkeys import DATABASE
from livebot.chat.keys import INGEST
from livebot.chat.models import StoredEvent
from livebot.cli import main
from livebot.config import Config
from livebot.console.models import QuestionAsk
from livebot.engagement.keys import LIVE, REPORTER
from livebot.engagement.store import minute_rows
from livebot.schedule.models import Channel
from tests.chat.ingest_helpers import post_events
from tests.engagement.support import Show, make_show
from tests.support import bearer, eventually

CLEAN_SOURCE, RETRIED_SOURCE = "relay-clean", "relay-retried"
CHANNELS = ("live-room", "group-chat")
DECOY = "unbound-room"
BATCH = 50
TEXTS = ("牧场的草好绿", "今天的奶粉看起来不错", "工厂好干净", "主播讲得很清楚", "宝宝一直喝这个", "包装很精致", "支持国产奶粉",
         "刚下单了两罐", "老用户来捧场", "这个活动力度大", "期待下一场", "讲解很专业", "画面很清楚", "想看看生产线")


@dataclass
class Transcript:
    events: list[dict[str, Any]]
    countable: int
    """Comments in bound channels engagement counts (everything but spam and rate-limited ones)."""
    hidden: int
    merged: int
    viewers: set[str] = field(default_factory=set)


def build_transcript(start: datetime) -> Transcript:
    """1,527 countable comments from 213 viewers on three platforms and two channels: plain chat,
    floods that merge, a same-viewer repeat, a rate-limit burst, a steady poster, spam, likes, gifts,
    viewer counts, and decoys on an unbound channel. Every expected figure is known by construction."""
    rng = random.Random(23)
    platforms = ("douyin", "kuaishou", "channels")
    viewers = [(f"v{i}", platforms[i % 3], CHANNELS[i % 2]) for i in range(211)]
    events: list[dict[str, Any]] = []
    countable = hidden = merged = 0

    def add(seconds: float, kind: str, who: tuple[str, str, str] | None = None, channel: str | None = None,
            **fields: Any) -> None:
        user_id, platform, home = who or ("", rng.choice(platforms), CHANNELS[0])
        events.append({"id": f"t-{len(events)}", "platform": platform, "channel": channel or home, "kind": kind,
                       "ts": (start + timedelta(seconds=seconds)).isoformat(),
                       "user": {"id": user_id, "name": f"观众{user_id}"}, **fields})

    for n in range(1370):  # plain chat, every text unique (no accidental flood), at most one comment a second each
        who = viewers[n % 211]
        add(10 + n * 1.25 + rng.random(), "comment", who, text=f"{rng.choice(TEXTS)}（第{n}条）")
    countable += 1370
    for at, text, size in ((120, "666", 25), (700, "主播好美", 18), (1300, "6666", 30), (1312, "６６６！", 12)):
        for k in range(size):  # a flood within 8 s: the first heads it, the rest merge (1312: a new head)
            add(at + k * 8 / size, "comment", viewers[(k * 7 + at) % 211], text=text)
        countable += size
        merged += size - 1
    add(400, "comment", viewers[5], text="请问有试用装吗（重复）")
    add(430, "comment", viewers[5], text="请问有试用装吗（重复）")  # the same viewer again within 60 s: merged
    countable, merged = countable + 2, merged + 1
    burst = ("burst", "douyin", CHANNELS[0])
    for k in range(15):  # 15 different comments in 7 s: the 11th and later exceed 10 per 10 s
        add(900 + k * 0.5, "comment", burst, text=f"快看我第{k}条")
    countable, hidden = countable + 10, hidden + 5
    steady = ("steady", "kuaishou", CHANNELS[1])
    for k in range(60):  # every 4 s for 4 minutes: never rate-limited, however batches are re-sent
        add(1000 + k * 4, "comment", steady, text=f"我每四秒说一句：{k}")
    countable += 60
    for k, text in enumerate(("加V：milkmom888 低价代购", "看这里 https://cheap-milk.example/x", "电话 138 0013 8000", "兼职日结")):
        add(1500 + k * 30, "comment", viewers[100 + k], text=text)
        hidden += 1
    for k in range(80):
        add(30 + k * 20, "like", viewers[(k * 3) % 211], count=1 + k % 5)
    for k in range(20):
        add(50 + k * 80, "gift", viewers[(k * 11) % 211], text="玫瑰", count=1 + k % 3, value=100 * (1 + k % 4))
    for k in range(30):
        for platform in platforms:
            add(5 + k * 60, "viewers", ("", platform, CHANNELS[0]), viewers=800 + 37 * k + len(platform))
    for k in range(40):  # decoys: not routed to the session, never in its figures
        add(60 + k * 40, "comment", viewers[k], channel=DECOY, text="666" if k % 2 else f"别处的聊天{k}")
    events.sort(key=lambda e: e["ts"])
    return Transcript(events, countable, hidden, merged, {v[0] for v in viewers})


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float = 120.0) -> None:
    await eventually(predicate, timeout=timeout, interval=0.1)


async def bound_show(app: web.Application, source: str, start: datetime) -> Show:
    db = app[DATABASE]
    show = await make_show(db, status="ended", start=start)
    async with db.sessions() as s:
        s.add_all([Channel(session_id=show.session_id, source_id=source, channel=ch, platform="douyin") for ch in CHANNELS])
        await s.commit()
    return show


def normalised(rows: list[dict[str, Any]], show: Show) -> list[dict[str, Any]]:
    """Minute rows without what differs between two identical shows (ids, write times)."""
    ids = {"session_id": {show.session_id: "session"}, "site_id": {show.studio: "studio", show.farm: "farm"},
           "segment_id": {seg: f"segment-{i}" for i, seg in enumerate(show.segments)}}
    return [{k: ids[k].get(v, v) if k in ids else v for k, v in row.items() if k not in ("updated_at", "id")}
            for row in rows]


def flags_by_id(rows: list[StoredEvent]) -> dict[str, tuple[bool, list[str], int]]:
    return {r.external_id: (r.hidden, list(r.flags), r.merged_count) for r in rows}


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    return {k: report[k] for k in ("summary", "platforms")}


def csv_sum(data: bytes, column: str) -> int:
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    return sum(int(r[column] or 0) for r in rows if r["时间"] != "合计")


async def test_retried_transcript_gives_the_same_flags_and_figures(
    aiohttp_client: Any, make_config: Callable[..., Config], database_url: str, tmp_path: Path,
) -> None:
    sources = [{"id": s, "type": "webhook", "secret": "test-webhook-secret"} for s in (CLEAN_SOURCE, RETRIED_SOURCE)]
    app = create_app(make_config(sources=sources, schedule={"scheduler_enabled": False},
                                 engagement={"flush_seconds": 300}))
    client = await aiohttp_client(app)
    db = app[DATABASE]
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
    clean, retried = await bound_show(app, CLEAN_SOURCE, start), await bound_show(app, RETRIED_SOURCE, start)
    app[INGEST].router.invalidate()  # type: ignore[union-attr]
    transcript = build_transcript(start)
    batches = [transcript.events[i : i + BATCH] for i in range(0, len(transcript.events), BATCH)]

    for batch in batches:
        assert (await post_events(client, batch, source=CLEAN_SOURCE))[0] == 202
    for index, batch in enumerate(batches):  # each batch twice: the retry comes after the next batch
        status, answer = await post_events(client, batch, source=RETRIED_SOURCE)
        assert (status, answer["duplicates"]) == (202, 0)
        if index:
            status, answer = await post_events(client, batches[index - 1], source=RETRIED_SOURCE)
            assert (status, answer) == (202, {"accepted": 0, "duplicates": len(batches[index - 1])})
    assert (await post_events(client, batches[-1], source=RETRIED_SOURCE))[1]["accepted"] == 0

    async def rows_of(source: str) -> list[StoredEvent]:
        async with db.sessions() as s:
            return list((await s.scalars(select(StoredEvent).where(StoredEvent.source == source)
                                         .order_by(StoredEvent.id))).all())

    clean_rows, retried_rows = await rows_of(CLEAN_SOURCE), await rows_of(RETRIED_SOURCE)
    assert len(clean_rows) == len(retried_rows) == len(transcript.events)
    assert flags_by_id(retried_rows) == flags_by_id(clean_rows)
    burst = [r for r in clean_rows if r.user_id == "burst"]
    assert [r.flags for r in burst] == [[]] * 10 + [["rate_limited"]] * 5
    assert all(r.flags == [] for r in clean_rows if r.user_id == "steady")

    async def settled() -> bool:
        """Every comment enriched, and every visible question of both shows asked on the console."""
        async with db.sessions() as s:
            pending = await s.scalar(select(func.count()).select_from(StoredEvent).where(
                StoredEvent.kind == "comment", StoredEvent.is_question.is_(None)))
            questions = await s.scalar(select(func.count()).select_from(StoredEvent).where(
                StoredEvent.is_question.is_(True), StoredEvent.hidden.is_(False), StoredEvent.session_id.is_not(None)))
            asks = await s.scalar(select(func.count()).select_from(QuestionAsk))
        return pending == 0 and asks == questions

    await wait_for(settled)
    await app[LIVE].flush()
    live = {show.session_id: normalised(await minute_rows(db, show.session_id), show) for show in (clean, retried)}
    assert live[retried.session_id] == live[clean.session_id]
    figures = live[clean.session_id]
    assert sum(r["comments"] for r in figures) == transcript.countable
    assert sum(r["hidden"] for r in figures) == transcript.hidden
    assert sum(r["merged"] for r in figures) == transcript.merged
    assert sum(r["likes"] for r in figures) == sum(e.get("count", 0) for e in transcript.events if e["kind"] == "like")

    config = tmp_path / "livebot.toml"
    config.write_text(f'[database]\nurl = "{database_url}"\n', encoding="utf-8")
    reports = {}
    for show in (clean, retried):  # the CLI, in a thread (it runs its own event loop)
        args = ["engagement", "rebuild", "--session", str(show.session_id), "--config", str(config)]
        assert await asyncio.to_thread(main, args) == 0
        assert normalised(await minute_rows(db, show.session_id), show) == figures
        out = tmp_path / f"report-{show.session_id}.json"
        args = ["report", str(show.session_id), "--format", "json", "--out", str(out), "--config", str(config)]
        assert await asyncio.to_thread(main, args) == 0
        reports[show.session_id] = comparable(json.loads(out.read_bytes()))
    assert reports[retried.session_id] == reports[clean.session_id]
    assert reports[clean.session_id]["summary"]["comments"] == transcript.countable

    headers = await bearer(client, "marketing")
    stored, sums = {}, {}
    for show in (clean, retried):
        await app[REPORTER].generate(show.session_id, "manual")  # the stored end-of-session report
        answer = await client.get(f"/api/v1/engagement/sessions/{show.session_id}/report", headers=headers)
        stored[show.session_id] = comparable(await answer.json())
        answer = await client.get(f"/api/v1/engagement/sessions/{show.session_id}/export?format=csv", headers=headers)
        sums[show.session_id] = csv_sum(await answer.read(), "评论数")
    assert stored[retried.session_id] == stored[clean.session_id] == reports[clean.session_id]
    assert sums[retried.session_id] == sums[clean.session_id] == transcript.countable
    await client.close()  # while the database still exists (PostgreSQL fixtures drop it first otherwise)
