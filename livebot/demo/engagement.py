"""Demo engagement: the season's ended sessions get their chat, questions, answers and reports.

The schedule seeder made two ended sessions (with their recorded timeline) but no chat routes
to them, so here each gets a generated multi-platform transcript over its actual run time —
comments with sentiment and question marks as the enrichment would store them, spam hidden,
likes, gifts, viewer counts — and question cards with asks, most answered by the advisors after
a realistic delay. Then its figures are rebuilt and its report stored, as at a real show's end.
The live session needs nothing here: the replayed chat feeds the live figures through the bus.
Kept light: a few thousand events per session, one Core executemany per table.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import insert, select

from livebot.appkeys import CONFIG, DATABASE
from livebot.chat import transcript
from livebot.chat.models import StoredEvent
from livebot.console.models import QuestionAsk, QuestionCard
from livebot.engagement.keys import REPORTER
from livebot.schedule.models import LiveSession
from livebot.sentiment.model import SentimentModel
from livebot.storage.base import utcnow
from livebot.text.normalize import normalize

SOURCE = "demo-relay"
CHUNK = 1000
FAQ_BY_TOPIC = {"奶源": "milk-source-location", "工艺": "wet-process", "质检": "batch-testing",
                "冲泡": "water-temperature", "段位": "stage-by-age", "价格": None}
SHOWS = {
    # theme: (seed, events per second, share of questions answered)
    "奶源": (21, 2.2, 0.9),
    "工艺": (34, 1.4, 0.75),
}
ADVISORS = ("advisor", "advisor2")


async def seed(app: web.Application) -> list[str]:
    """Chat, questions and a stored report for every ended session that has no chat yet."""
    db = app[DATABASE]
    async with db.sessions() as s:
        ended = list((await s.scalars(select(LiveSession).where(LiveSession.status == "ended")
                                      .order_by(LiveSession.id))).all())
    base = app[CONFIG].server.base_url
    lines = ["  数据报表 / reports (marketing / livebot-marketing):", f"    场次列表: {base}/reports"]
    sentiment = SentimentModel()
    for session in ended:
        if session.started_at is None or session.ended_at is None or await has_chat(app, session.id):
            continue
        seed_no, rate, answered = SHOWS.get(session.theme, (55, 1.2, 0.8))
        events = show_events(session, seed_no, rate)
        pks = await store_events(app, session.id, events, sentiment)
        await store_questions(app, session.id, events, pks, random.Random(seed_no), answered)
        await app[REPORTER].generate(session.id, "demo")
        lines.append(f"    {session.title}: {base}/reports/sessions/{session.id}")
    async with db.sessions() as s:
        live = await s.scalar(select(LiveSession.id).where(LiveSession.status == "live").order_by(LiveSession.id))
    if live is not None:
        lines.append(f"    实时作战室 / war room: {base}/reports/sessions/{live}/live")
    lines.append(f"    本季对比 / season: {base}/reports/compare")
    return lines


async def has_chat(app: web.Application, session_id: int) -> bool:
    async with app[DATABASE].sessions() as s:
        return await s.scalar(select(StoredEvent.id).where(StoredEvent.session_id == session_id).limit(1)) is not None


def show_events(session: LiveSession, seed_no: int, rate: float) -> list[dict[str, Any]]:
    """A transcript over the show's actual run time, with a crowd that grows, holds and fades."""
    assert session.started_at is not None and session.ended_at is not None
    minutes = (session.ended_at - session.started_at).total_seconds() / 60
    rng = random.Random(seed_no)
    events = [tame_gift(e, rng) for e in transcript.generate(seed=seed_no, minutes=minutes, rate=rate, start=session.started_at)
              if e["kind"] != "viewers"]
    events += viewer_curve(session.started_at, session.ended_at, rng, scale=rate / 2)
    events.sort(key=lambda e: e["ts"])
    return events


def tame_gift(event: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The generator's 嘉年华 (3,000 元) comes as often as a 小心心; make it the rare gift it is."""
    if event["kind"] == "gift" and (event.get("value") or 0) >= 100_000 and rng.random() > 0.05:
        return {**event, "text": "小心心", "count": 1, "value": 10}
    return event


def viewer_curve(start: datetime, end: datetime, rng: random.Random, scale: float) -> list[dict[str, Any]]:
    """Concurrent viewers per channel every 15 s: a ramp in the first ten minutes, a plateau, a fade at the end."""
    events = []
    length = (end - start).total_seconds()
    serial = 0
    for platform, channel, _, base in transcript.CHANNELS:
        if not base:
            continue
        at = start
        while at < end:
            t = (at - start).total_seconds()
            shape = min(1.0, 0.3 + 0.7 * t / 600) * (1.0 if length - t > 600 else 0.7 + 0.3 * (length - t) / 600)
            shape *= 1 + 0.25 * max(0.0, 1 - abs(t / length - 0.6) * 5)  # the mid-show peak
            serial += 1
            events.append({
                "id": f"{platform}-vc{serial}", "platform": platform, "channel": channel, "kind": "viewers",
                "ts": at.astimezone(transcript.CST).isoformat(timespec="milliseconds"), "user": {"id": "", "name": ""},
                "text": "", "viewers": int(base * scale * shape * rng.uniform(0.96, 1.04)),
            })
            at += timedelta(seconds=15)
    return events


QUESTION_TEXTS = {text: topic for topic, texts in transcript.QUESTIONS.items() for text in texts}
SPAM_TEXTS = frozenset(transcript.SPAM)


def event_row(session_id: int, index: int, event: dict[str, Any], sentiment: SentimentModel,
              cache: dict[str, Any]) -> dict[str, Any]:
    text = event.get("text") or ""
    kind = event["kind"]
    row: dict[str, Any] = {
        "source": SOURCE, "external_id": f"past-{session_id}-{index}", "platform": event["platform"],
        "channel": event["channel"], "kind": kind, "ts": datetime.fromisoformat(event["ts"]), "received_at": utcnow(),
        "user_id": event["user"]["id"], "user_name": event["user"]["name"], "text": text, "count": event.get("count"),
        "viewers": event.get("viewers"), "value": event.get("value"), "session_id": session_id, "site_id": None,
        "segment_id": None, "hidden": False, "flags": [], "merged_count": 1, "is_question": None, "sentiment": None,
        "enrichment": None, "raw": None,
    }
    if kind == "comment":
        if text in SPAM_TEXTS:
            row.update(hidden=True, flags=["ad"])
        if text not in cache:
            clean = normalize(text)
            result = sentiment.score(clean.text, clean.emojis)
            cache[text] = (result.label, round(float(result.score), 4))
        label, score = cache[text]
        question = text in QUESTION_TEXTS or text in transcript.WECOM_LINES and "？" in text
        row.update(is_question=question, sentiment=score, enrichment={
            "is_question": question, "question_confidence": 0.9 if question else 0.05, "suggestions": [],
            "sentiment": {"label": label, "score": score}, "trace_codes": [], "topic_tags": []})
    return row


async def store_events(app: web.Application, session_id: int, events: Sequence[dict[str, Any]],
                       sentiment: SentimentModel) -> list[int]:
    """Insert the transcript with Core executemany; returns the new rows' ids in order."""
    cache: dict[str, Any] = {}
    rows = [event_row(session_id, i, e, sentiment, cache) for i, e in enumerate(events)]
    table = StoredEvent.__table__
    async with app[DATABASE].engine.begin() as conn:
        for start in range(0, len(rows), CHUNK):
            await conn.execute(insert(table), rows[start:start + CHUNK])
        found = await conn.execute(select(table.c.external_id, table.c.id).where(table.c.session_id == session_id))
        ids = {r.external_id: r.id for r in found}
    return [ids[r["external_id"]] for r in rows]


async def store_questions(app: web.Application, session_id: int, events: Sequence[dict[str, Any]], pks: Sequence[int],
                          rng: random.Random, answered_share: float) -> None:
    """One card per question text; each ask answered (or not) as the advisors would have."""
    asked = [(pk, e) for pk, e in zip(pks, events, strict=True)
             if e["kind"] == "comment" and e["text"] in QUESTION_TEXTS]
    by_text: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for pk, event in asked:
        by_text.setdefault(event["text"], []).append((pk, event))
    async with app[DATABASE].engine.begin() as conn:
        for text, items in by_text.items():
            first = datetime.fromisoformat(items[0][1]["ts"])
            last = datetime.fromisoformat(items[-1][1]["ts"])
            faq_id = FAQ_BY_TOPIC.get(QUESTION_TEXTS[text])
            answer_at = first + timedelta(seconds=rng.randint(15, 240)) if faq_id and rng.random() < answered_share else None
            advisor = rng.choice(ADVISORS)
            card = {
                "session_id": session_id, "group_key": f"demo:{text}", "status": "answered" if answer_at else "open",
                "text": text, "faq_id": faq_id, "ask_count": len(items), "first_asked_at": first, "last_asked_at": last,
                "platforms": sorted({e["platform"] for _, e in items}), "answered_at": answer_at,
                "answered_by": advisor if answer_at else None, "answer_text": "（演示）已在直播中回复" if answer_at else None,
                "created_at": first, "updated_at": answer_at or last,
            }
            card_id = (await conn.execute(insert(QuestionCard).returning(QuestionCard.id), [card])).scalar_one()
            await conn.execute(insert(QuestionAsk), [{
                "event_id": pk, "card_id": card_id, "session_id": session_id,
                "asked_at": datetime.fromisoformat(e["ts"]), "platform": e["platform"], "site_id": None,
                "first_answer_at": max(answer_at, datetime.fromisoformat(e["ts"]) + timedelta(seconds=rng.randint(5, 60)))
                if answer_at else None,
                "answered_by": advisor if answer_at else None, "faq_id": faq_id if answer_at else None,
                "status": "answered" if answer_at else "open",
            } for pk, e in items])
