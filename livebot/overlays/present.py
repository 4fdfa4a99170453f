"""Turn trace facts, sites and readings into the short Chinese strings a scene shows.

Formatting happens here, in Python and under test, so the browser client only places text.
Times are shown in the session's time zone (the audience's clock), dates as YYYY-MM-DD.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from livebot.overlays.text import clean_text

PASS_WORDS = frozenset({"pass", "passed", "ok", "conformant", "合格", "符合", "通过", "qualified", "true"})
METRIC_LABELS = {
    "temperature": "温度", "temp": "温度", "temp_c": "温度", "product_temp": "产品温度", "room_temp": "车间温度",
    "cold_room_temp": "冷库温度", "tank_temp": "奶仓温度", "humidity": "湿度", "pressure": "压力",
    "line_speed": "线速度", "cans_per_min": "灌装速度", "cans_per_minute": "灌装速度", "fill_rate": "灌装速度",
    "output": "产量", "cans_today": "今日产量", "oxygen": "罐内残氧", "residual_oxygen": "罐内残氧",
    "spray_inlet_temp": "喷雾进风温度", "spray_outlet_temp": "喷雾出风温度", "moisture": "水分",
    "air_particles": "洁净区粒子数", "line_status": "产线状态", "cold_room": "冷库温度", "clean_room_pressure": "洁净区压差", "pasteurization_temp": "杀菌温度",
}


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "Asia/Shanghai")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Shanghai")


def moment(value: Any) -> datetime | None:
    """A timezone-aware datetime from a datetime or an ISO string (naive ones are taken as UTC)."""
    if isinstance(value, datetime):
        found = value
    elif isinstance(value, str) and value:
        try:
            found = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return found if found.tzinfo else found.replace(tzinfo=ZoneInfo("UTC"))


def clock_text(value: Any, tz: ZoneInfo) -> str:
    found = moment(value)
    return found.astimezone(tz).strftime("%H:%M") if found else ""


def date_text(value: Any, tz: ZoneInfo) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and len(value) == 10:
        return value
    found = moment(value)
    return found.astimezone(tz).strftime("%Y-%m-%d") if found else ""


def number_text(value: Any, digits: int = 1) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else str(round(value))
    return clean_text(value, 24)


def text(value: Any, limit: int = 40) -> str:
    return clean_text(value, limit) if value is not None else ""


def passed(result: Any) -> bool:
    return str(result).strip().lower() in PASS_WORDS


def promise_text(minutes: Any, promise: Any, met: Any) -> str:
    """``105 分钟 · 2 小时承诺内`` (or ``超出 2 小时承诺``)."""
    if isinstance(minutes, bool) or not isinstance(minutes, int | float):
        return ""
    promise_minutes = promise if isinstance(promise, int | float) and not isinstance(promise, bool) and promise > 0 else 120
    span = f"{int(promise_minutes // 60)} 小时" if promise_minutes % 60 == 0 else f"{int(promise_minutes)} 分钟"
    within = met if isinstance(met, bool) else minutes <= promise_minutes
    return f"{round(minutes)} 分钟 · {span}承诺内" if within else f"{round(minutes)} 分钟 · 超出 {span}承诺"


def batch_part(lot: str | None, summary: Mapping[str, Any] | None, tz_name: str | None) -> dict[str, Any]:
    """The ``batch`` part: card, 2-hour chain and inspection checklist for one lot."""
    if not lot:
        return {"lot": None, "found": False}
    if not summary:
        return {"lot": lot, "found": False}
    tz = zone(tz_name)
    return {
        "lot": lot,
        "found": True,
        "card": card(summary, tz),
        "chain": chain(summary, tz),
        "inspections": inspections(summary.get("inspections") or []),
        "ingredients": ingredients(summary.get("ingredients") or []),
        "shipping": shipping(summary, tz),
    }


NO_DATA = "暂无数据"


def ingredients(items: Sequence[Any]) -> dict[str, Any]:
    """The lot's ingredient lots (at most 8 fit on screen): name, lot, supplier and origin, own tests."""
    rows = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        done, total = item.get("inspections_passed"), item.get("inspections_total")
        tested = isinstance(done, int) and isinstance(total, int) and total > 0
        rows.append({
            "name": text(item.get("name"), 16) or "配料",
            "lot": text(item.get("lot"), 20),
            "source": " · ".join(x for x in (text(item.get("supplier"), 20), text(item.get("origin"), 12)) if x) or NO_DATA,
            "checks": f"检验 {done}/{total} 合格" if tested else "检验 暂无数据",
            "passed": tested and done == total,
        })
    return {"items": rows[:8], "total": len(rows)}


def shipping(s: Mapping[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    """Production → packing → warehouse → shipments to regions; a step without data says so."""
    def when(value: Any) -> str:
        found = moment(value)
        return found.astimezone(tz).strftime("%m-%d %H:%M") if found else ""

    packing = s.get("packing") if isinstance(s.get("packing"), Mapping) else None
    warehouse = s.get("warehouse") if isinstance(s.get("warehouse"), Mapping) else None
    shipments = [x for x in s.get("shipments") or [] if isinstance(x, Mapping)]
    stored = ""
    if warehouse is not None and warehouse.get("temperature_min") is not None:
        low, high = number_text(warehouse.get("temperature_min")), number_text(warehouse.get("temperature_max"))
        stored = f"{low} °C" if low == high or not high else f"{low}–{high} °C"
    steps = [
        step("production", "生产", when(s.get("processing_start")), text(s.get("plant"), 20) or NO_DATA),
        step("packing", "包装", when(packing.get("at")) if packing else "",
             text(packing.get("line") or packing.get("place"), 20) if packing else NO_DATA),
        step("warehouse", "入库", when(warehouse.get("at")) if warehouse else "",
             " · ".join(x for x in (text(warehouse.get("name"), 20), stored) if x) if warehouse else NO_DATA),
    ]
    steps += [step("shipment", "发货", when(x.get("at")), f"发往{text(x.get('region'), 12)}" if x.get("region") else "区域 暂无数据")
              for x in shipments[:3]] or [step("shipment", "发货", "", NO_DATA)]
    return {"steps": steps, "shipped": bool(shipments)}


def card(s: Mapping[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    done, total = s.get("inspections_passed"), s.get("inspections_total")
    return {
        "product": text(s.get("product")),
        "gtin": text(s.get("gtin"), 14),
        "lot": text(s.get("lot")),
        "farm": text(s.get("farm")),
        "plant": text(s.get("plant")),
        "line": text(s.get("line")),
        "milking_date": date_text(s.get("milking_start"), tz),
        "production_date": date_text(s.get("production_date"), tz),
        "expiry_date": date_text(s.get("expiry_date"), tz),
        "inspections": f"{done}/{total} 项合格" if isinstance(done, int) and isinstance(total, int) and total else "",
        "all_passed": isinstance(done, int) and isinstance(total, int) and total > 0 and done == total,
    }


def chain(s: Mapping[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    """Milking → cooling → transport → processing, with times and temperatures."""
    cooling_temp = number_text(s.get("cooling_temp_c"))
    excursions = s.get("coldchain_excursions")
    transport_detail = ""
    if isinstance(excursions, int) and not isinstance(excursions, bool):
        transport_detail = "全程冷链无异常" if excursions == 0 else f"冷链异常 {excursions} 次"
    steps = [
        # the headline counts from the end of milking (the trace rule), so the first step shows that moment
        step("milking", "挤奶完成", clock_text(s.get("milking_end") or s.get("milking_start"), tz),
             milking_span(s, tz)),
        step("cooling", "冷却", clock_text(s.get("cooled_at"), tz), f"{cooling_temp} °C" if cooling_temp else ""),
        step("transport", "运输", clock_text(s.get("departed_at"), tz),
             " ".join(x for x in (f"{clock_text(s.get('arrived_at'), tz)} 到厂" if s.get("arrived_at") else "", transport_detail) if x)),
        step("processing", "加工", clock_text(s.get("processing_start"), tz), "入罐加工"),
    ]
    met = s.get("promise_met")
    return {
        "steps": steps,
        "headline": promise_text(s.get("minutes_to_processing"), s.get("promise_minutes"), met),
        "met": bool(met) if isinstance(met, bool) else None,
    }


def step(key: str, label: str, time: str, detail: str) -> dict[str, Any]:
    return {"key": key, "label": label, "time": time, "detail": detail, "done": bool(time)}


def milking_span(s: Mapping[str, Any], tz: ZoneInfo) -> str:
    shown = span(s.get("milking_start"), s.get("milking_end"), tz)
    return f"挤奶 {shown}" if shown else ""


def span(start: Any, end: Any, tz: ZoneInfo) -> str:
    a, b = clock_text(start, tz), clock_text(end, tz)
    return f"{a}–{b}" if a and b else a


def inspections(items: Sequence[Any]) -> dict[str, Any]:
    """The checklist rows (at most 12 fit on screen) and the pass count."""
    rows = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        unit = text(item.get("unit"), 12)
        value = number_text(item.get("value"), 3)
        rows.append({
            "item": text(item.get("item"), 20),
            "value": f"{value} {unit}".strip() if value else "",
            "limit": text(item.get("limit"), 24),
            "passed": passed(item.get("result")),
            "lab": text(item.get("lab"), 24),
        })
    return {"items": rows[:12], "passed": sum(r["passed"] for r in rows), "total": len(rows)}


def telemetry_part(plant: str | None, readings: Sequence[Mapping[str, Any]], tz_name: str | None) -> dict[str, Any]:
    """Factory readings; stale ones keep their last value but are marked, never shown as current."""
    tz = zone(tz_name)
    rows = []
    metrics = [text(r.get("metric"), 40) for r in readings]
    for r in readings[:8]:
        metric = text(r.get("metric"), 40)
        line = text(r.get("line"), 16) if metrics.count(metric) > 1 else ""
        found = moment(r.get("at"))
        rows.append({
            "metric": metric,
            "label": " · ".join(x for x in (METRIC_LABELS.get(metric.lower(), metric.replace("_", " ")), line) if x),
            "value": number_text(r.get("value")),
            "unit": text(r.get("unit"), 12).replace("CEL", "°C"),
            "at": found.astimezone(tz).strftime("%H:%M:%S") if found else "",
            "stale": bool(r.get("stale", True)),
        })
    return {"plant": text(plant), "readings": rows}


def site_part(site: Any | None) -> dict[str, Any] | None:
    """The lower third: name, line under it, time zone for the ticking clock, coordinates."""
    if site is None:
        return None
    return {
        "id": site.id,
        "name": text(site.name),
        "location": text(site.location, 60),
        "lower_third": text(site.lower_third or site.name, 60),
        "timezone": site.timezone or "Asia/Shanghai",
        "coords": coords_text(site.latitude, site.longitude),
    }


def coords_text(latitude: float | None, longitude: float | None) -> str:
    """``北纬 39.92° · 东经 116.46°``."""
    if latitude is None or longitude is None:
        return ""
    ns = "北纬" if latitude >= 0 else "南纬"
    ew = "东经" if longitude >= 0 else "西经"
    return f"{ns} {abs(latitude):.2f}° · {ew} {abs(longitude):.2f}°"
