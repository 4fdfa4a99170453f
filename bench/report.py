"""Engagement report benchmark: a 2-hour session with 500,000 stored events.

Inserts the events (Core executemany into a temporary SQLite file, as ingest stores them: five
platforms, 30,000 viewers, enrichment JSON on comments, flood repeats and spam hidden, viewer
counts every 15 s per platform) plus the console's question cards and asks, and the session's
actual timeline (eight segments, site switches). Then times:

- ``rebuild``: every per-minute row recomputed from the 500,000 events (what
  ``livebot engagement rebuild`` and the post-session report do);
- ``report``: the whole report built from the stored rows and the conversation (keywords with
  jieba, FAQ entries, unanswered questions, most-repeated comments), cold then warm;
- each export (xlsx, csv, json, html) rendered from the report.

The target is the report under 5 s. Traffic: none (a local SQLite file). Bounded to ~2 minutes.

    python bench/report.py [--events 500000] [--hours 2]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import insert, select  # noqa: E402

from livebot.chat import transcript  # noqa: E402
from livebot.chat.models import StoredEvent  # noqa: E402
from livebot.console.models import QuestionAsk, QuestionCard  # noqa: E402
from livebot.engagement import exports  # noqa: E402
from livebot.engagement.rebuild import rebuild  # noqa: E402
from livebot.engagement.report import build_report  # noqa: E402
from livebot.engagement.settings import EngagementSettings  # noqa: E402
from livebot.schedule.models import LiveSession, Segment, SessionSite, Site, TimelineEntry  # noqa: E402
from livebot.storage import migrate  # noqa: E402
from livebot.storage.engine import Database  # noqa: E402

PLATFORMS = (("douyin", 0.4, 30000), ("kuaishou", 0.2, 12000), ("channels", 0.15, 9000), ("bilibili", 0.1, 5000),
             ("taobao", 0.15, 8000))
START = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
CHUNK = 5000
ANSWER = "本批次奶源来自黑龙江双城自有牧场，挤奶后 2 小时内进厂加工，扫罐底追溯码可查看检验报告。" * 2


def texts(rng: random.Random) -> tuple[list[str], set[str]]:
    """Realistic comment texts; some with a number or emoji tail so not every text repeats."""
    samples = [text for _, _, _, text in transcript.texts(seed=5, count=4000)]
    questions = {t for group in transcript.QUESTIONS.values() for t in group}
    return samples, questions


def events(count: int, hours: float, session_id: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    samples, questions = texts(rng)
    length = hours * 3600
    users = [(p, f"{p[:2]}-{i}") for p, share, _ in PLATFORMS for i in range(int(30000 * share))]
    viewer_rows = []
    for platform, _, base in PLATFORMS:
        for step in range(int(length // 15)):
            t = step * 15
            shape = min(1.0, 0.3 + t / 900) * (1 + 0.3 * max(0.0, 1 - abs(t / length - 0.6) * 4))
            viewer_rows.append((t, platform, int(base * shape * rng.uniform(0.97, 1.03))))
    chat = count - len(viewer_rows)
    offsets = sorted(rng.uniform(0, length) for _ in range(chat))
    viewers = iter(sorted(viewer_rows))
    pending = next(viewers, None)
    serial = 0
    for offset in offsets:
        while pending is not None and pending[0] <= offset:
            serial += 1
            yield row(session_id, serial, pending[0], pending[1], "viewers", "", "", viewers=pending[2])
            pending = next(viewers, None)
        serial += 1
        platform, user = rng.choice(users)
        roll = rng.random()
        if roll < 0.62:
            text = rng.choice(samples)
            if rng.random() < 0.15:
                text += rng.choice(("", "！", "👍", "[玫瑰]", str(rng.randrange(1, 12)) + "个月了"))
            spam = rng.random() < 0.01
            merged = not spam and rng.random() < 0.08
            yield row(session_id, serial, offset, platform, "comment", user, text, question=text in questions,
                      score=round(rng.uniform(-1, 1), 4), hidden=spam or merged,
                      flags=["ad"] if spam else (["merged"] if merged else []), merged_count=0 if merged else 1)
        elif roll < 0.85:
            yield row(session_id, serial, offset, platform, "like", user, "", count=rng.randint(1, 30))
        elif roll < 0.88:
            yield row(session_id, serial, offset, platform, "gift", user, "玫瑰", count=1, value=100)
        elif roll < 0.98:
            yield row(session_id, serial, offset, platform, "enter", user, "")
        else:
            yield row(session_id, serial, offset, platform, rng.choice(("follow", "share")), user, "")
    while pending is not None:
        serial += 1
        yield row(session_id, serial, pending[0], pending[1], "viewers", "", "", viewers=pending[2])
        pending = next(viewers, None)


def row(session_id: int, serial: int, offset: float, platform: str, kind: str, user: str, text: str, *,
        question: bool = False, score: float | None = None, hidden: bool = False, flags: list[str] | None = None,
        merged_count: int = 1, count: int | None = None, value: int | None = None, viewers: int | None = None) -> dict[str, Any]:
    ts = START + timedelta(seconds=offset)
    enrichment = None
    if kind == "comment":
        label = "positive" if score is not None and score > 0.3 else "negative" if score is not None and score < -0.3 else "neutral"
        enrichment = {"is_question": question, "question_confidence": 0.9 if question else 0.1,
                      "suggestions": [{"id": "milk-source-location", "score": 0.9, "question": "奶源来自哪里？", "answer": ANSWER,
                                       "needs_human": False, "missing": []}] if question else [],
                      "sentiment": {"label": label, "score": score}, "trace_codes": [], "topic_tags": ["奶源"] if question else []}
    return {"source": "bench", "external_id": f"b-{serial}", "platform": platform, "channel": f"{platform}-room",
            "kind": kind, "ts": ts, "received_at": ts, "user_id": user, "user_name": f"观众{user[-4:]}" if user else "",
            "text": text, "count": count, "viewers": viewers, "value": value, "session_id": session_id, "site_id": None,
            "segment_id": None, "hidden": hidden, "flags": flags or [], "merged_count": merged_count,
            "is_question": question if kind == "comment" else None, "sentiment": score if kind == "comment" else None,
            "enrichment": enrichment, "raw": None}


async def make_session(db: Database, hours: float) -> int:
    async with db.sessions() as s:
        sites = [Site(slug=slug, name=name, role=role) for slug, name, role in (
            ("studio", "北京演播厅", "studio"), ("factory", "齐齐哈尔工厂", "factory"), ("farm", "双城牧场", "farm"))]
        session = LiveSession(title="北境臻护 · 基准测试场", theme="奶源", planned_start=START,
                              planned_end=START + timedelta(hours=hours), status="ended", started_at=START,
                              ended_at=START + timedelta(hours=hours))
        s.add_all([*sites, session])
        await s.flush()
        s.add_all(SessionSite(session_id=session.id, site_id=site.id) for site in sites)
        length = int(hours * 3600 / 8)
        segments = [Segment(session_id=session.id, position=i, title=f"段落 {i + 1}", offset_s=i * length, duration_s=length,
                            site_id=sites[i % 3].id, scene="lower_third", lot="", talking_points="", faq_tags=[])
                    for i in range(8)]
        s.add_all(segments)
        await s.flush()
        s.add(TimelineEntry(session_id=session.id, at=START, kind="status", by="bench", payload={"to": "live"}))
        for seg in segments:
            at = START + timedelta(seconds=seg.offset_s)
            s.add(TimelineEntry(session_id=session.id, at=at, kind="segment", segment_id=seg.id, site_id=seg.site_id,
                                by="bench", payload={}))
            s.add(TimelineEntry(session_id=session.id, at=at, kind="site", segment_id=seg.id, site_id=seg.site_id,
                                by="bench", payload={}))
        s.add(TimelineEntry(session_id=session.id, at=START + timedelta(hours=hours), kind="status", by="bench",
                            payload={"to": "ended"}))
        await s.commit()
        return session.id


async def insert_events(db: Database, session_id: int, count: int, hours: float, rng: random.Random) -> int:
    table = StoredEvent.__table__
    written = 0
    batch: list[dict[str, Any]] = []
    async with db.engine.begin() as conn:
        for item in events(count, hours, session_id, rng):
            batch.append(item)
            if len(batch) == CHUNK:
                await conn.execute(insert(table), batch)
                written += len(batch)
                batch = []
        if batch:
            await conn.execute(insert(table), batch)
            written += len(batch)
    return written


async def insert_asks(db: Database, session_id: int, rng: random.Random) -> int:
    """A card per question text and an ask per question, ~85% answered 5 s - 4 min later."""
    table = StoredEvent.__table__
    async with db.engine.connect() as conn:
        questions = (await conn.execute(select(table.c.id, table.c.ts, table.c.text, table.c.platform).where(
            table.c.session_id == session_id, table.c.is_question.is_(True), table.c.hidden.is_(False)))).all()
    cards: dict[str, int] = {}
    asks = []
    async with db.engine.begin() as conn:
        for q in questions:
            if q.text not in cards:
                cards[q.text] = (await conn.execute(insert(QuestionCard).returning(QuestionCard.id), [{
                    "session_id": session_id, "group_key": q.text, "status": "answered", "text": q.text,
                    "faq_id": "milk-source-location", "first_asked_at": q.ts, "last_asked_at": q.ts}])).scalar_one()
            answered = rng.random() < 0.85
            asks.append({"event_id": q.id, "card_id": cards[q.text], "session_id": session_id, "asked_at": q.ts,
                         "first_answer_at": q.ts + timedelta(seconds=rng.uniform(5, 240)) if answered else None,
                         "answered_by": "advisor" if answered else None, "faq_id": None,
                         "status": "answered" if answered else "open", "platform": q.platform, "site_id": None})
        for start in range(0, len(asks), CHUNK):
            await conn.execute(insert(QuestionAsk), asks[start:start + CHUNK])
    return len(asks)


async def main(count: int, hours: float) -> None:
    rng = random.Random(20261124)
    with tempfile.TemporaryDirectory(prefix="livebot-bench-report-") as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        await migrate.upgrade(url)
        db = Database.open(url)
        try:
            session_id = await make_session(db, hours)
            started = time.perf_counter()
            written = await insert_events(db, session_id, count, hours, rng)
            inserted = time.perf_counter() - started
            asks = await insert_asks(db, session_id, rng)
            print(f"inserted {written:,} events in {inserted:.1f} s ({written / inserted:,.0f}/s, Core executemany), "
                  f"{asks:,} question asks")
            started = time.perf_counter()
            result = await rebuild(db, session_id)
            print(f"rebuild: {result.events:,} events -> {result.rows:,} minute rows over {result.minutes} minutes "
                  f"in {time.perf_counter() - started:.2f} s")
            settings = EngagementSettings()
            for label in ("report (cold: loads jieba)", "report (warm)"):
                started = time.perf_counter()
                report = await build_report(db, session_id, settings)
                took = time.perf_counter() - started
                verdict = "OK" if took < 5 else "SLOW (target < 5 s)"
                print(f"{label}: {took:.2f} s  {verdict}")
            s = report["summary"]
            print(f"  comments {s['comments']:,}, chatters {s['chatters']:,}, peak viewers {s['viewers_peak']:,} at "
                  f"{s['peak_label']}, questions {s['questions']:,}, first response median {s['frt_median_s']} s, "
                  f"keywords {[k['term'] for k in report['topics']['keywords'][:5]]}")
            for fmt in exports.FORMATS:
                started = time.perf_counter()
                body = exports.render(report, fmt)
                print(f"export {fmt}: {len(body) / 1024:,.0f} KiB in {time.perf_counter() - started:.2f} s")
        finally:
            await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--hours", type=float, default=2.0)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.hours))
