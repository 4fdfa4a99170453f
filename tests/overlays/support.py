"""Helpers for overlay tests: a live session with sites, overlay tokens, realistic trace facts."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from livebot.overlays import store
from livebot.overlays.keys import OVERLAY_SERVICE
from livebot.schedule.models import LiveSession, SessionSite, Site
from livebot.storage.base import utcnow
from livebot.storage.engine import Database
from livebot.topics import EngagementLive, SentimentMix, engagement_live


def engagement_figures(session_id: int, viewers: int | None, comments_per_min: int, positive: float, neutral: float,
                       negative: float) -> EngagementLive:
    """An ``engagement.{id}`` message as the engagement area builds it, with the figures the stats scene shows."""
    mix = SentimentMix(positive=positive, neutral=neutral, negative=negative, mean=None, comments=100)
    return engagement_live(session_id=session_id, at=utcnow(), minute=utcnow().replace(second=0, microsecond=0),
                           viewers=viewers, comments_per_min=comments_per_min, chatters_last_minute=0, sentiment=mix,
                           comments=1000, questions=10, answered=5, likes=0, gift_value=0)


SUMMARY: dict[str, Any] = {
    "product": "北境臻护 婴儿配方奶粉 1段", "gtin": "06901234543216", "lot": "NB20261120A", "can_code": "A1B2C3D4",
    "stage": "1段", "production_date": "2026-11-20", "expiry_date": "2028-05-19", "plant": "齐齐哈尔工厂",
    "line": "湿法一线", "farm": "双城牧场", "milking_start": "2026-11-20T05:10:00+08:00",
    "milking_end": "2026-11-20T05:40:00+08:00", "cooled_at": "2026-11-20T05:52:00+08:00", "cooling_temp_c": 3.6,
    "departed_at": "2026-11-20T06:05:00+08:00", "arrived_at": "2026-11-20T07:10:00+08:00",
    "processing_start": "2026-11-20T07:25:00+08:00", "minutes_to_processing": 105, "promise_minutes": 120,
    "promise_met": True, "coldchain_excursions": 0, "inspections_passed": 3, "inspections_total": 3,
    "inspections": [
        {"item": "蛋白质", "value": 3.1, "unit": "g/100g", "limit": "≥ 2.8", "result": "pass", "lab": "厂内化验室", "at": None},
        {"item": "三聚氰胺", "value": "未检出", "unit": None, "limit": "≤ 1 mg/kg", "result": "pass", "lab": "第三方检测", "at": None},
        {"item": "菌落总数", "value": 12000, "unit": "CFU/mL", "limit": "≤ 2×10⁶", "result": "pass", "lab": "厂内化验室", "at": None},
    ],
    "readings": [],
    "ingredients": [
        {"lot": "LF20261120A", "name": "乳铁蛋白", "supplier": "示例乳铁蛋白供应商", "origin": "新西兰", "received_at": None,
         "inspections": [], "inspections_passed": 1, "inspections_total": 1},
        {"lot": "OP20261120A", "name": "OPO 结构脂", "supplier": "示例油脂供应商", "origin": "中国江苏", "received_at": None,
         "inspections": [], "inspections_passed": 0, "inspections_total": 0},
    ],
    "packing": {"at": "2026-11-20T13:25:00+08:00", "line": "湿法一线", "place": "齐齐哈尔工厂"},
    "warehouse": {"name": "哈尔滨成品仓", "at": "2026-11-20T16:25:00+08:00", "temperature_min": 17.5, "temperature_max": 18.2,
                  "humidity_min": 44.0, "humidity_max": 46.0},
    "shipments": [{"at": "2026-11-21T16:25:00+08:00", "from": "哈尔滨成品仓", "region": "华东", "quantity": 4800.0, "uom": "H87"}],
}
TELEMETRY: list[dict[str, Any]] = [
    {"plant": "齐齐哈尔工厂", "line": "湿法一线", "metric": "tank_temp", "value": 3.8, "unit": "°C",
     "at": "2026-11-24T20:01:00+08:00", "stale": False},
    {"plant": "齐齐哈尔工厂", "line": "湿法一线", "metric": "cans_per_min", "value": 118, "unit": "罐/分",
     "at": "2026-11-24T20:01:00+08:00", "stale": False},
    {"plant": "齐齐哈尔工厂", "line": "湿法一线", "metric": "residual_oxygen", "value": 1.2, "unit": "%",
     "at": "2026-11-24T19:31:00+08:00", "stale": True},
]


async def make_session(db: Database, title: str = "北境臻护 · 从牧场到罐的 2 小时") -> tuple[int, list[int]]:
    """A live session with a studio and a farm site; returns (session id, site ids)."""
    now = utcnow()
    async with db.sessions() as session:
        sites = [
            Site(slug=f"studio-{now.timestamp()}", name="北京演播厅", role="studio", location="北京市朝阳区",
                 latitude=39.92, longitude=116.46, lower_third="北京演播厅 · 主会场"),
            Site(slug=f"farm-{now.timestamp()}", name="双城牧场", role="farm", location="黑龙江省哈尔滨市双城区",
                 latitude=45.38, longitude=126.31, lower_third="双城牧场 · 自有牧场", timezone="Asia/Harbin"),
        ]
        session.add_all(sites)
        live = LiveSession(title=title, planned_start=now - timedelta(minutes=5), planned_end=now + timedelta(hours=2),
                           status="live")
        session.add(live)
        await session.flush()
        session.add_all(SessionSite(session_id=live.id, site_id=s.id) for s in sites)
        await session.commit()
        return live.id, [s.id for s in sites]


async def new_token(db: Database, session_id: int) -> str:
    return await store.rotate_token(db, session_id, "test")




def ticker_unreviewed(app: Any) -> None:
    """Viewer comments straight onto the ticker (``ticker_review = "off"``) for tests of the ticker itself."""
    service = app[OVERLAY_SERVICE]
    service.settings = replace(service.settings, ticker_review="off")
