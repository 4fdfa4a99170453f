"""End to end: signed webhook -> ingest -> enrichment -> console asks -> live figures == rebuilt figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from livebot.appkeys import DATABASE
from livebot.chat.keys import INGEST
from livebot.chat.models import StoredEvent
from livebot.console.models import QuestionAsk
from livebot.engagement.keys import LIVE
from livebot.engagement.rebuild import rebuild
from livebot.engagement.store import minute_rows
from livebot.schedule.models import Channel
from tests.chat.ingest_helpers import event, post_events
from tests.engagement.support import make_show
from tests.support import bearer, eventually


async def test_webhook_chat_reaches_the_live_figures_exactly(client: Any) -> None:
    app = client.app
    db = app[DATABASE]
    now = datetime.now(UTC).replace(microsecond=0)
    show = await make_show(db, status="live", start=now - timedelta(minutes=5))
    async with db.sessions() as s:
        s.add(Channel(session_id=show.session_id, source_id="test-hook", channel="room-7731", platform="douyin"))
        await s.commit()
    app[INGEST].router.invalidate()  # type: ignore[union-attr]  # as on schedule.changed: reload before the next batch
    ts = lambda seconds: (now - timedelta(seconds=seconds)).isoformat()  # noqa: E731
    sent = [
        event(ts=ts(50), user={"id": "u1", "name": "小雨妈妈"}, text="奶源是哪里的？"),
        event(ts=ts(45), user={"id": "u2", "name": "乐乐"}, text="主播好美"),
        event(ts=ts(40), user={"id": "u3", "name": "糖糖"}, text="666"),
        event(ts=ts(39), user={"id": "u4", "name": "豆豆"}, text="666"),
        event(ts=ts(30), user={"id": "u5", "name": "果果"}, text="加V：abc12345 低价代购正品奶粉"),
        event(ts=ts(20), user={"id": "u1", "name": "小雨妈妈"}, text="工厂好干净"),
        event(ts=ts(10), user={"id": "k1", "name": "安安"}, platform="kuaishou", text="冲泡水温多少度合适？"),
        event(ts=ts(8), user={"id": "k2", "name": "可可"}, platform="kuaishou", text="一段适合几个月？"),
        event(ts=ts(5), kind="like", user={"id": "u6", "name": "朵朵"}, text="", count=12),
        event(ts=ts(4), kind="viewers", user={"id": "", "name": ""}, text="", viewers=3456),
    ]
    status, answer = await post_events(client, sent)
    assert (status, answer["accepted"]) == (202, 10)

    async def settled() -> bool:
        """Every comment enriched, and every visible question queued by the console."""
        async with db.sessions() as s:
            pending = await s.scalar(select(func.count()).select_from(StoredEvent).where(
                StoredEvent.kind == "comment", StoredEvent.is_question.is_(None)))
            questions = await s.scalar(select(func.count()).select_from(StoredEvent).where(
                StoredEvent.is_question.is_(True), StoredEvent.hidden.is_(False)))
            asks = await s.scalar(select(func.count()).select_from(QuestionAsk))
        return pending == 0 and bool(questions) and asks == questions

    await eventually(settled, timeout=15)
    await eventually(lambda: show.session_id in app[LIVE].dirty, timeout=15)
    await app[LIVE].flush()
    live_rows = [{k: v for k, v in r.items() if k != "updated_at"} for r in await minute_rows(db, show.session_id)]
    assert sum(r["comments"] for r in live_rows) == 7 and sum(r["hidden"] for r in live_rows) == 1
    assert sum(r["chatters"] for r in live_rows) >= 5 and sum(r["likes"] for r in live_rows) == 12
    assert sum(r["positive"] + r["neutral"] + r["negative"] for r in live_rows) == 7
    assert max(r["viewers_peak"] or 0 for r in live_rows) == 3456
    questions = sum(r["questions"] for r in live_rows)
    async with db.sessions() as s:
        assert questions == await s.scalar(select(func.count()).select_from(QuestionAsk)) >= 1
    await rebuild(db, show.session_id)
    assert [{k: v for k, v in r.items() if k != "updated_at"} for r in await minute_rows(db, show.session_id)] == live_rows
    headers = await bearer(client, "marketing")
    report = await (await client.get(f"/api/v1/engagement/sessions/{show.session_id}/report", headers=headers)).json()
    assert report["summary"]["comments"] == 7 and report["platforms"][0]["platform"] == "douyin"
    metrics = await (await client.get("/metrics")).text()
    assert 'livebot_engagement_events_total{kind="comment",platform="douyin"} 6.0' in metrics
    assert 'livebot_engagement_likes_total{platform="douyin"} 12.0' in metrics
    assert 'livebot_engagement_viewers{platform="douyin"} 3456.0' in metrics
    assert "u1" not in metrics and "小雨妈妈" not in metrics
    # Stop the app while its database still exists: on PostgreSQL the shared fixtures drop the
    # database before aiohttp_client closes the app, and other areas write state when they stop.
    await client.close()
