"""The Chinese trace summary an advisor can send when a viewer types a batch or can code.

"批次 QH20261124A01：奶源 双城牧场，05:10 挤奶，06:55 进入生产，全程 105 分钟（2 小时承诺内），
质检 12/12 项合格" — every clause comes from stored facts; an unknown fact drops its clause
rather than being guessed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


def promise_label(minutes: int) -> str:
    """120 -> "2 小时", 90 -> "90 分钟"."""
    return f"{minutes // 60} 小时" if minutes % 60 == 0 else f"{minutes} 分钟"


def clock(value: str | None, since: str | None = None) -> str | None:
    """"05:10" from an ISO time; "次日 01:15" when it is the day after ``since``."""
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    text = moment.strftime("%H:%M")
    if since:
        days = (moment.date() - datetime.fromisoformat(since).date()).days
        if days == 1:
            return f"次日 {text}"
        if days > 1:
            return moment.strftime("%m-%d %H:%M")
    return text


def format_reply(summary: dict[str, Any]) -> str:
    """One line of Chinese built only from the known facts of ``summary``."""
    milked = summary.get("milking_end") or summary.get("milking_start")
    clauses = []
    if summary.get("farm"):
        clauses.append(f"奶源 {summary['farm']}")
    if milked:
        clauses.append(f"{clock(milked)} 挤奶")
    if summary.get("processing_start"):
        clauses.append(f"{clock(summary['processing_start'], milked)} 进入生产")
    minutes = summary.get("minutes_to_processing")
    if isinstance(minutes, int):
        promise = promise_label(int(summary.get("promise_minutes") or 120))
        verdict = {True: f"（{promise}承诺内）", False: f"（超出{promise}承诺）"}.get(summary.get("promise_met"), "")  # type: ignore[arg-type]
        clauses.append(f"全程 {minutes} 分钟{verdict}")
    excursions = summary.get("coldchain_excursions")
    if summary.get("readings") and isinstance(excursions, int):
        limit = format(float(summary.get("coldchain_max_c") or 4), "g")
        clauses.append(f"冷链全程 ≤{limit}°C" if excursions == 0 else f"冷链超温 {excursions} 次")
    total = summary.get("inspections_total") or 0
    if total:
        clauses.append(f"质检 {summary.get('inspections_passed', 0)}/{total} 项合格")
    clauses += journey_clauses(summary)
    head = f"批次 {summary['lot']}"
    if summary.get("product"):
        head += f"（{summary['product']}）"
    return f"{head}：{'，'.join(clauses)}" if clauses else f"{head}：已收录，溯源数据正在同步"


def journey_clauses(summary: dict[str, Any]) -> list[str]:
    """Ingredients (the first three named: "乳铁蛋白来自新西兰，批次 LF…") and the warehouse, when stored."""
    clauses = []
    ingredients = summary.get("ingredients") or []
    if ingredients:
        named = [f"{i['name']}来自{i['origin']}，批次 {i['lot']}" if i.get("origin") else f"{i['name']} 批次 {i['lot']}"
                 for i in ingredients[:3] if i.get("name")]
        more = f"等 {len(ingredients)} 种配料" if len(ingredients) > len(named) else ""
        if named:
            clauses.append("；".join(named) + more)
    warehouse = summary.get("warehouse") or {}
    if warehouse.get("name") and warehouse.get("at"):
        at = datetime.fromisoformat(warehouse["at"])
        clauses.append(f"{at.month}月{at.day}日入库（{warehouse['name']}）")
    return clauses
