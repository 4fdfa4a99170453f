"""Live values for answer placeholders: ``{batch.*}`` from trace data, ``{session.*}`` from the schedule.

The enrichment stage fills every suggestion of every question, so lookups are cached: a
session's values and its current lot for ``ttl`` seconds, each lot's batch summary likewise
(and cleared at once on ``trace.updated``). A batch named in the message wins over the
session's batch; a named batch that is unknown gives an empty ``batch`` scope, so answers show
a gap rather than another batch's numbers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from livebot.schedule import api_internal as schedule
from livebot.storage.engine import Database

logger = logging.getLogger(__name__)

DEFAULT_TTL = 5.0
MAX_CACHED = 2048
NO_DATA = "暂无数据"
"""What a herd-to-shipment placeholder says when the batch is known but that part of its chain is not:
a stated gap, never a guess (an unknown batch leaves the usual gap marker instead)."""
TIME_KEYS = frozenset({"milking_start", "milking_end", "cooled_at", "departed_at", "arrived_at", "processing_start"})
STATUS_LABELS = {"draft": "草稿", "scheduled": "未开始", "live": "直播中", "ended": "已结束", "cancelled": "已取消"}

Values = dict[str, Any]


class TraceFacts(Protocol):
    """What the trace area answers: the app's ``livebot.trace.api_internal.TraceFacts`` (or a test's fake)."""

    async def batch_summary(self, db: Database, lot: str) -> Values | None: ...

    async def session_lots(self, db: Database, session_id: int) -> list[str]: ...

    async def find_lot(self, db: Database, code: str) -> str | None: ...

    async def trace_reply(self, db: Database, code: str) -> str | None: ...


def readable_time(raw: Any) -> str | None:
    """An ISO time as viewers read it (11月24日 06:10, in the display zone the summary uses); None if unreadable."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return f"{moment.month}月{moment.day}日 {moment:%H:%M}"


def joined(items: Iterable[str | None]) -> str:
    return "、".join(item for item in items if item) or NO_DATA


def lot_text(item: Mapping[str, Any]) -> str:
    """``乳铁蛋白（批次 LF…，示例供应商，产地 新西兰）``: only the parts that are stored."""
    parts = [f"批次 {item.get('lot')}", item.get("supplier"), f"产地 {item['origin']}" if item.get("origin") else None]
    return f"{item.get('name') or '未命名'}（{'，'.join(p for p in parts if p)}）"


def tests_text(items: Iterable[Mapping[str, Any]]) -> str:
    """``乳铁蛋白：乳铁蛋白纯度 95.1 % 合格`` per tested lot."""
    found = []
    for item in items:
        for check in item.get("inspections") or ():
            value = " ".join(v for v in (check.get("value"), check.get("unit")) if v)
            result = "合格" if check.get("result") == "pass" else "不合格"
            found.append(f"{item.get('name') or item.get('lot')}：{check.get('item')} {value} {result}".replace("  ", " "))
    return "；".join(found) or NO_DATA


def withheld_text(herd: Mapping[str, Any]) -> str:
    if herd.get("withheld_ok") is True:
        count = herd.get("treated_count") or 0
        return f"挤奶时治疗期牛只 {count} 头，均已隔离，奶未混入本批" if count else "挤奶时无治疗期牛只"
    if herd.get("withheld_ok") is False:
        return f"挤奶时治疗期牛只 {herd.get('treated_count')} 头，其中有未列入隔离名单的牛只"
    return NO_DATA


def journey_values(summary: Mapping[str, Any]) -> Values:
    """Herd, feed, ingredients, packing, warehouse and shipments as answer text; missing parts say 暂无数据."""
    herds = list(summary.get("herds") or [])
    herd = herds[0] if herds else {}
    feed = list(summary.get("feed") or [])
    ingredients = list(summary.get("ingredients") or [])
    packing = summary.get("packing") or {}
    warehouse = summary.get("warehouse") or {}
    shipments = list(summary.get("shipments") or [])
    storage = []
    if warehouse.get("temperature_min") is not None:
        storage.append(f"温度 {warehouse['temperature_min']:g}–{warehouse['temperature_max']:g} °C")
    if warehouse.get("humidity_min") is not None:
        storage.append(f"相对湿度 {warehouse['humidity_min']:g}–{warehouse['humidity_max']:g}%")
    herd_parts = [herd.get("name") or herd.get("herd"), f"{herd['size']} 头" if herd.get("size") is not None else None, herd.get("breed")]
    return {
        "herd": "，".join(p for p in herd_parts if p) or NO_DATA,
        "herd_size": str(herd["size"]) if herd.get("size") is not None else NO_DATA,
        "breed": herd.get("breed") or NO_DATA,
        "feed_plan": herd.get("feed_plan") or NO_DATA,
        "milking_group": herd.get("milking_group") or NO_DATA,
        "withheld": withheld_text(herd) if herd else NO_DATA,
        "feed": joined(lot_text(f) for f in feed),
        "feed_tests": tests_text(feed),
        "ingredients": joined(lot_text(i) for i in ingredients),
        "ingredient_names": joined(i.get("name") for i in ingredients),
        "ingredient_tests": tests_text(ingredients),
        "packed_at": readable_time(packing.get("at")) or NO_DATA,
        "packing_line": packing.get("line") or NO_DATA,
        "warehouse": warehouse.get("name") or NO_DATA,
        "stored_at": readable_time(warehouse.get("at")) or NO_DATA,
        "storage": "，".join(storage) or NO_DATA,
        "shipments": joined(f"{readable_time(x.get('at')) or '时间未知'} 发往{x.get('region') or '（区域暂无数据）'}" for x in shipments),
        "shipped_at": readable_time(shipments[-1].get("at")) if shipments else NO_DATA,
        "regions": joined(dict.fromkeys(x.get("region") for x in shipments)),
    }


def readable_batch(summary: Mapping[str, Any]) -> Values:
    """The summary with ISO times as viewers read them (11月24日 06:10); the ISO text stays as ``<key>_iso``;
    plus the herd-to-shipment texts (:func:`journey_values`)."""
    values = dict(summary)
    values.update(journey_values(summary))
    for key in TIME_KEYS:
        raw = values.get(key)
        if isinstance(raw, str) and raw:
            try:
                moment = datetime.fromisoformat(raw)
            except ValueError:
                values[key] = None  # not a time we understand: leave a gap rather than garbage
                continue
            values[f"{key}_iso"] = raw
            values[key] = f"{moment.month}月{moment.day}日 {moment:%H:%M}"
    return values


@dataclass
class Cached:
    value: Any
    expires: float


@dataclass
class TtlCache:
    """A small expiring map; old entries are dropped when it grows past ``limit``."""

    ttl: float
    clock: Callable[[], float]
    limit: int = MAX_CACHED
    items: dict[Any, Cached] = field(default_factory=dict)

    def get(self, key: Any) -> Cached | None:
        hit = self.items.get(key)
        if hit is None or hit.expires <= self.clock():
            return None
        return hit

    def put(self, key: Any, value: Any) -> None:
        if len(self.items) >= self.limit:
            now = self.clock()
            self.items = {k: v for k, v in self.items.items() if v.expires > now}
            if len(self.items) >= self.limit:
                self.items.clear()
        self.items[key] = Cached(value, self.clock() + self.ttl)

    def drop(self, keys: Iterable[Any] | None = None) -> None:
        if keys is None:
            self.items.clear()
            return
        for key in keys:
            self.items.pop(key, None)


@dataclass(frozen=True, slots=True)
class MessageContext:
    """The placeholder values for one message and the lot they describe (None: no batch)."""

    values: Mapping[str, Mapping[str, Any]]
    lot: str | None


class LiveContext:
    """Cached placeholder values per session and per lot."""

    def __init__(self, db: Database, facts: TraceFacts, *, ttl: float = DEFAULT_TTL,
                 zone: str = "Asia/Shanghai", clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.facts = facts
        self.zone = ZoneInfo(zone)
        self.sessions = TtlCache(ttl, clock)
        self.lots = TtlCache(ttl, clock)
        self.codes = TtlCache(ttl, clock)
        self.replies = TtlCache(ttl, clock)
        self.queries = 0

    def invalidate(self, lots: Iterable[str] | None = None) -> None:
        """Forget cached batches (all, or the named lots) and every code and session lot lookup."""
        self.lots.drop(lots)
        self.replies.drop(lots)
        self.codes.drop()
        self.sessions.drop()

    async def for_message(self, session_id: int | None, codes: Iterable[str] = ()) -> MessageContext:
        """Values for a message of ``session_id`` naming ``codes`` (lots typed in chat)."""
        session_values, session_lot = await self.session_values(session_id)
        codes = [code for code in codes if code]
        lot = session_lot
        if codes:
            lot = None
            for code in codes:
                lot = await self.resolve(code)
                if lot:
                    break
        batch = await self.batch(lot) if lot else None
        return MessageContext({"batch": batch or {}, "session": session_values}, lot if batch else None)

    async def resolve(self, code: str) -> str | None:
        """The stored lot a typed code refers to (None when unknown)."""
        hit = self.codes.get(code)
        if hit is not None:
            return hit.value
        self.queries += 1
        try:
            lot = await self.facts.find_lot(self.db, code)
        except Exception:  # trace lookups must never stop enrichment
            logger.exception("faq context: find_lot failed code=%s", code[:40])
            lot = None
        self.codes.put(code, lot)
        return lot

    async def batch(self, lot: str) -> Values | None:
        """The trace area's summary of ``lot``, cached."""
        hit = self.lots.get(lot)
        if hit is not None:
            return hit.value
        self.queries += 1
        try:
            summary = await self.facts.batch_summary(self.db, lot)
        except Exception:
            logger.exception("faq context: batch_summary failed lot=%s", lot)
            summary = None
        values = readable_batch(summary) if summary else None
        self.lots.put(lot, values)
        return values

    async def trace_reply(self, lot: str) -> str | None:
        """The trace area's chat reply for a stored lot, cached like the batch summary."""
        hit = self.replies.get(lot)
        if hit is not None:
            return hit.value
        self.queries += 1
        try:
            reply = await self.facts.trace_reply(self.db, lot)
        except Exception:
            logger.exception("faq context: trace_reply failed lot=%s", lot)
            reply = None
        self.replies.put(lot, reply)
        return reply

    async def session_values(self, session_id: int | None) -> tuple[Values, str | None]:
        """``{session.*}`` values and the session's current lot, cached per session."""
        if session_id is None:
            return {}, None
        hit = self.sessions.get(session_id)
        if hit is not None:
            return hit.value
        self.queries += 1
        values = await self.load_session(session_id)
        try:
            lots = await self.facts.session_lots(self.db, session_id)
        except Exception:
            logger.exception("faq context: session_lots failed session=%s", session_id)
            lots = []
        result = (values, lots[0] if lots else None)
        self.sessions.put(session_id, result)
        return result

    async def load_session(self, session_id: int) -> Values:
        live = await schedule.find_session(self.db, session_id)
        if live is None:
            return {}
        site_names = [site.name for site in await schedule.session_sites(self.db, session_id)]
        zone = zone_of(live.timezone, self.zone)
        start = live.started_at or live.planned_start
        return {
            "title": live.title,
            "theme": live.theme or None,
            "status": STATUS_LABELS.get(live.status, live.status),
            "date": local(start, zone).strftime("%Y年%m月%d日") if start else None,
            "start": local(start, zone).strftime("%H:%M") if start else None,
            "end": local(live.planned_end, zone).strftime("%H:%M") if live.planned_end else None,
            "sites": "、".join(site_names) or None,
        }


def zone_of(name: str, default: ZoneInfo) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else default
    except (ValueError, KeyError):
        return default


def local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone)
