"""Demo chat: a few minutes of history at start, then the looping replay source keeps it lively.

The demo config adds a ``replay`` source (``demo-replay``) that plays the generated
multi-platform transcript at about four events a second, looping with fresh ids and times,
stored as ``demo-relay`` so it lands in the demo session's channels. This seeder backfills the
last few minutes so consoles and reports are not empty on the first page load, writes the
transcript next to the demo database for ``livebot replay``, and prints how to push more.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from aiohttp import web
from sqlalchemy import func, select

from livebot.appkeys import BUS, CONFIG, DATABASE
from livebot.chat import transcript, wire
from livebot.chat.keys import INGEST
from livebot.chat.models import StoredEvent
from livebot.storage.base import utcnow
from livebot.topics import SCHEDULE_CHANGED, ScheduleChanged

RELAY_SOURCE = "demo-relay"
HISTORY_MINUTES = 5.0


async def seed(app: web.Application) -> list[str]:
    """Tell the router about the seeded session, backfill history (unless this is a restart), and say how to replay more."""
    await app[BUS].publish(SCHEDULE_CHANGED, ScheduleChanged(session_id=None, reason="demo seeded"))
    async with app[DATABASE].sessions() as session:
        kept = await session.scalar(select(func.count()).select_from(StoredEvent).where(StoredEvent.source == RELAY_SOURCE))
    if kept:
        lines = [f"  聊天 / chat: 沿用已有的 {kept} 条，演示回放约每秒 4 条（循环）"]
    else:
        start = utcnow() - timedelta(minutes=HISTORY_MINUTES)
        history = transcript.generate(seed=3, minutes=HISTORY_MINUTES, start=start)
        events = [wire.parse_event(item, "history", RELAY_SOURCE) for item in history]
        result = await app[INGEST].submit([event for event in events if event.ts <= utcnow()])
        lines = [f"  聊天 / chat: 已回填最近 {HISTORY_MINUTES:.0f} 分钟 {result.accepted} 条，演示回放约每秒 4 条（循环）"]
    config = app[CONFIG]
    url = config.database.url
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///")).parent / "demo-chat.jsonl"
        transcript.write_jsonl(path, transcript.generate(seed=11, minutes=10))
        secret = next((s.options.get("secret") for s in config.sources if s.id == RELAY_SOURCE), None)
        if secret:
            lines.append(
                f"  推送更多弹幕 / push chat: livebot replay {path} --url {config.server.base_url} "
                f"--source {RELAY_SOURCE} --secret {secret} --speed 2 --retime --fresh-ids"
            )
    return lines
