"""Enrichment stage benchmark: ``chat.stored`` in, stored enrichment and ``chat.enriched`` out.

Builds the real app in-process on a fresh SQLite file (or ``--database`` / ``--bus`` URLs),
imports the sample knowledge base with live ``{batch.*}`` answers, stores N chat rows (about a
quarter questions, the rest chatter, repeated the way live chat repeats), presents a batch for
the session, then announces the rows on ``chat.stored`` at ``--rate`` per second and waits for
every ``chat.enriched``.

Prints throughput, publish-to-enriched latency p50/p99, the number of flush transactions,
placeholder-context queries, and the longest event-loop stall seen by a 5 ms ticker (the stage
must not block the loop). Bounded: at most ``--events`` messages, a 120 s ceiling.

    python bench/faq_stage.py [--events 20000] [--rate 5000] [--database URL] [--bus URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from aiohttp import web  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from livebot.app import create_app  # noqa: E402
from livebot.appkeys import BUS, DATABASE  # noqa: E402
from livebot.chat.models import StoredEvent  # noqa: E402
from livebot.config import config_from_mapping  # noqa: E402
from livebot.demo.faq import demo_entries  # noqa: E402
from livebot.faq import store  # noqa: E402
from livebot.faq.stage import STAGE  # noqa: E402
from livebot.schedule.models import LiveSession  # noqa: E402
from livebot.storage.base import utcnow  # noqa: E402
from livebot.topics import CHAT_ENRICHED, CHAT_STORED  # noqa: E402

QUESTIONS = ["奶源是哪里的？", "奶牛吃什么饲料？", "这批奶粉检测合格了吗", "挤出来的奶多久降温", "几段适合6个月宝宝",
             "冲奶粉水温多少度", "开罐后能放多久", "有没有优惠券？", "宝宝喝了便秘怎么办", "工厂在哪里",
             "BJ20261124A01 这个批次怎么样", "奶源是哪裡的？", "DHA含量是多少", "怎么扫码溯源"]
CHATTER = ["冲冲冲", "666", "来了来了", "主播好美", "[玫瑰][玫瑰]", "👍👍👍", "打卡", "已关注", "支持北境", "哈哈哈哈",
           "主播晚上好", "牧场好漂亮", "已下单", "宝宝睡了偷偷看", "老粉来了", "奶牛好可爱🐄", "工厂好干净", "学到了"]
BATCH = {"gtin": "06901234567892", "lot": "BJ20261124A01", "product_name": "北境臻护 1段", "stage": "1段",
         "plant": "齐齐哈尔工厂",
         "raw_milk": {"lot": "RM20261124Q03", "farm": "双城牧场", "milking_end": "2026-11-24T05:40:00+08:00",
                      "cooled_at": "2026-11-24T05:58:00+08:00", "cooling_temp_c": 3.6,
                      "processing_start": "2026-11-24T07:05:00+08:00"}}


def chat_text(rng: random.Random, n: int) -> str:
    if rng.random() < 0.25:
        return rng.choice(QUESTIONS)
    if rng.random() < 0.3:
        return f"{rng.choice(CHATTER)}{n % 97}"  # some unique text, so not everything is a cache hit
    return rng.choice(CHATTER)


async def seed(app: web.Application, events: int) -> tuple[int, list[dict[str, Any]]]:
    from livebot.trace.keys import TRACE_SETTINGS
    from livebot.trace.pushes import parse_batches
    from livebot.trace.store import save_batches, set_session_lots

    db = app[DATABASE]
    await store.import_entries(db, demo_entries(), "bench")
    await app[STAGE].index.rebuild()
    now = utcnow()
    async with db.sessions() as session:
        live = LiveSession(title="北境臻护 · 从牧场到罐的 2 小时", planned_start=now - timedelta(minutes=5),
                           planned_end=now + timedelta(hours=2), status="live", started_at=now)
        session.add(live)
        await session.commit()
        session_id = live.id
    await save_batches(db, parse_batches({"batches": [BATCH]}), app[TRACE_SETTINGS])
    await set_session_lots(db, session_id, ["BJ20261124A01"])
    rng = random.Random(7)
    ts = datetime.now(UTC)
    rows = [{"source": "bench", "external_id": f"b-{i}", "platform": "douyin", "channel": "room", "kind": "comment",
             "ts": ts, "received_at": ts, "user_id": f"u{i % 3000}", "user_name": "观众", "text": chat_text(rng, i),
             "session_id": session_id, "hidden": False, "flags": [], "merged_count": 1} for i in range(events)]
    async with db.engine.begin() as conn:
        for start in range(0, len(rows), 1000):
            await conn.execute(insert(StoredEvent.__table__), rows[start : start + 1000])
        ids = dict((await conn.execute(select(StoredEvent.external_id, StoredEvent.id))).all())
    messages = [{"pk": ids[r["external_id"]], "source": "bench", "id": r["external_id"], "platform": "douyin",
                 "channel": "room", "kind": "comment", "ts": ts.isoformat(), "user": {"id": r["user_id"], "name": "观众"},
                 "text": r["text"], "count": None, "viewers": None, "value": None, "session_id": session_id,
                 "site_id": None, "segment_id": None, "hidden": False, "flags": [], "merged_count": 1} for r in rows]
    return session_id, messages


async def ticker(stalls: list[float], stop: asyncio.Event) -> None:
    """Record how late a 5 ms timer fires: the longest stall is how long the loop was blocked."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        before = loop.time()
        await asyncio.sleep(0.005)
        stalls.append(loop.time() - before - 0.005)


async def run(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="livebot-bench-faq-"))
    config = config_from_mapping({
        "database": {"url": args.database or f"sqlite:///{folder / 'bench.db'}"},
        "bus": {"url": args.bus, "channel_prefix": f"lbbench{random.randrange(10**6)}"},
        "auth": {"session_secret": "bench"},
    })
    app = create_app(config)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()  # runs the cleanup contexts: database, bus, the stage
    try:
        _, messages = await seed(app, args.events)
        stage = app[STAGE]
        sent: dict[int, float] = {}
        latencies: list[float] = []
        done = asyncio.Event()

        async def on_enriched(message: dict[str, Any]) -> None:
            latencies.append(time.perf_counter() - sent[message["pk"]])
            if len(latencies) >= len(messages):
                done.set()

        app[BUS].subscribe(CHAT_ENRICHED, on_enriched, queue_size=len(messages) + 10, name="bench.enriched")
        stalls: list[float] = []
        stop = asyncio.Event()
        tick = asyncio.create_task(ticker(stalls, stop))
        flushes, queries = stage.flushes, stage.context.queries
        start = time.perf_counter()
        chunk = max(1, args.rate // 100)
        for index in range(0, len(messages), chunk):
            for message in messages[index : index + chunk]:
                sent[message["pk"]] = time.perf_counter()
                await app[BUS].publish(CHAT_STORED, message)
            target = start + (index + chunk) / args.rate
            await asyncio.sleep(max(0.0, target - time.perf_counter()))
        published = time.perf_counter() - start
        await asyncio.wait_for(done.wait(), timeout=120)
        elapsed = time.perf_counter() - start
        stop.set()
        await tick
        latencies.sort()
        questions = sum(1 for m in messages if m["text"] in QUESTIONS)
        print(f"events                {len(messages)} ({questions} questions) on {config.database.url.split(':')[0]}"
              f" + {args.bus.split(':')[0]}")
        print(f"offered rate          {len(messages) / published:,.0f}/s")
        print(f"enriched + stored     {len(messages) / elapsed:,.0f}/s ({elapsed:.2f} s)")
        print(f"latency p50 / p99     {latencies[len(latencies) // 2] * 1000:.1f} ms / "
              f"{latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms")
        seconds = stage.metrics.flush_seconds._sum.get()  # noqa: SLF001 - reading our own histogram
        print(f"flush transactions    {stage.flushes - flushes} (mean {seconds / max(1, stage.flushes) * 1000:.0f} ms)")
        print(f"context queries       {stage.context.queries - queries}")
        print(f"longest loop stall    {max(stalls) * 1000:.1f} ms (top 5: {[round(s * 1000) for s in sorted(stalls)[-5:]]})")
        info = stage.index.enricher.cache_info() if stage.index.enricher else None
        if info:
            print(f"enricher cache        {info.hits / max(1, info.hits + info.misses):.0%} hits")
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rate", type=int, default=5_000, help="chat.stored messages per second")
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--bus", default="memory://", help="bus URL (memory:// or redis://...)")
    args = parser.parse_args()
    args.events = max(100, min(args.events, 200_000))
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
