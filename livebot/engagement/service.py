"""What pages and the API share: which report to show, parameters, the war room's cache."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any

from aiohttp import web

from livebot.appkeys import DATABASE
from livebot.engagement import store
from livebot.engagement.keys import ENGAGEMENT_SETTINGS
from livebot.engagement.report import build_report, zone_of
from livebot.errors import ValidationError
from livebot.formcheck import query_flag
from livebot.schedule import api_internal as schedule
from livebot.storage.base import utcnow

MAX_ID = 2**63 - 1
MAX_IDS = 50
PANEL_TTL = 2.0


def session_param(request: web.Request) -> int:
    raw = request.match_info.get("session_id", "")
    if not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        raise ValidationError("session_id", "应为正整数")
    return int(raw)


def ids_param(raw: str) -> list[int]:
    """``ids=1,2,3`` (at most 50)."""
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if len(parts) > MAX_IDS:
        raise ValidationError("ids", f"最多 {MAX_IDS} 个场次")
    if any(not p.isdigit() or not 0 < int(p) <= MAX_ID for p in parts):
        raise ValidationError("ids", "应为逗号分隔的场次编号")
    return [int(p) for p in parts]


def date_param(request: web.Request, name: str, end: bool = False) -> datetime | None:
    """``YYYY-MM-DD`` in Beijing time (the start of that day, or of the next for ``end``)."""
    raw = request.query.get(name, "").strip()
    if not raw:
        return None
    if len(raw) > 10:
        raise ValidationError(name, "日期格式应为 YYYY-MM-DD")
    try:
        day = date.fromisoformat(raw)
    except ValueError as err:
        raise ValidationError(name, "日期格式应为 YYYY-MM-DD") from err
    moment = datetime.combine(day, dtime(), tzinfo=zone_of(None))
    if end and day == date.max:
        return None  # the end of time: no upper bound (the next day cannot be represented)
    return moment + timedelta(days=1) if end else moment


def bool_param(request: web.Request, name: str) -> bool:
    return query_flag(request.query, name)


async def report_for(app: web.Application, session_id: int, fresh: bool = False) -> tuple[dict[str, Any], datetime | None]:
    """An ended session's stored report (unless ``fresh``), else one built now; with its storing time."""
    db = app[DATABASE]
    session = await schedule.get_session(db, session_id)
    if not fresh and session.status == "ended":
        stored = await store.get_report(db, session_id)
        if stored is not None and stored.data:
            return stored.data, stored.generated_at
    return await build_report(db, session_id, app[ENGAGEMENT_SETTINGS]), None


class PanelCache:
    """The war room polls every few seconds per viewer: compose once per session per ``PANEL_TTL``."""

    def __init__(self) -> None:
        self.items: dict[int, tuple[float, dict[str, Any]]] = {}

    async def get(self, app: web.Application, session_id: int) -> dict[str, Any]:
        hit = self.items.get(session_id)
        if hit is not None and time.monotonic() - hit[0] < PANEL_TTL:
            return hit[1]
        report = await build_report(app[DATABASE], session_id, app[ENGAGEMENT_SETTINGS], topics=False, now=utcnow())
        self.items[session_id] = (time.monotonic(), report)
        return report


PANELS: web.AppKey[PanelCache] = web.AppKey("engagement.panels")
