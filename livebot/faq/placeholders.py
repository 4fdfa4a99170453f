"""Fill ``{scope.key}`` placeholders in FAQ answers with live data (batch, session, site ...).

An advisor must never send a wrong number: a value that is missing, empty or not a plain
scalar leaves a visible gap marker (``【待补充：batch.farm】``) and is reported in ``missing``.
The placeholder table (``PLACEHOLDER_KEYS``) is the one list of names an answer may use: the
editor's help, the unknown-scope check and the unknown-name warning all read it.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)\}")
GAP_MARKER = "【待补充：{name}】"

SESSION_KEYS = {
    "title": "场次标题",
    "theme": "场次主题",
    "status": "场次状态",
    "date": "直播日期",
    "start": "开播时间",
    "end": "计划结束时间",
    "sites": "连线站点",
}
BATCH_KEYS = {
    "product": "产品名称",
    "stage": "段位",
    "lot": "批号",
    "can_code": "罐码",
    "gtin": "商品条码 (GTIN)",
    "production_date": "生产日期",
    "expiry_date": "保质期至",
    "plant": "生产工厂",
    "line": "生产线",
    "farm": "牧场",
    "raw_lot": "生牛乳批次",
    "tank": "奶仓/奶罐",
    "truck": "奶罐车",
    "milking_start": "开始挤奶时间",
    "milking_end": "挤奶完成时间",
    "cooled_at": "冷却到位时间",
    "cooling_temp_c": "冷却温度（°C）",
    "cooling_minutes": "挤奶到冷却（分钟）",
    "departed_at": "奶罐车发车时间",
    "arrived_at": "到厂时间",
    "processing_start": "开始加工时间",
    "minutes_to_processing": "挤奶到加工（分钟）",
    "promise_minutes": "承诺时限（分钟）",
    "coldchain_max_c": "冷链温度上限（°C）",
    "coldchain_excursions": "冷链超温次数",
    "inspections_passed": "检验合格项数",
    "inspections_total": "检验项目数",
    "digital_link": "溯源链接",
    "herd": "牛群（名称、头数、品种）",
    "herd_size": "牛群头数",
    "breed": "奶牛品种",
    "feed_plan": "饲喂方案",
    "milking_group": "挤奶组",
    "withheld": "治疗期牛只隔离情况",
    "feed": "饲料批次（供应商、产地）",
    "feed_tests": "饲料检验（如黄曲霉毒素）",
    "ingredients": "配料批次（名称、批次、供应商、产地）",
    "ingredient_names": "配料名称",
    "ingredient_tests": "配料检验",
    "packed_at": "包装时间",
    "packing_line": "包装线",
    "warehouse": "入库仓库",
    "stored_at": "入库时间",
    "storage": "储存条件",
    "shipments": "发货记录（时间、区域）",
    "shipped_at": "最近发货时间",
    "regions": "发往区域",
}
"""The ``{batch.*}`` keys of ``livebot.trace.facts.batch_summary`` worth quoting, with what they mean
(the herd-to-shipment ones are texts built by ``livebot.faq.context.journey_values``)."""
PLACEHOLDER_KEYS: Mapping[str, Mapping[str, str]] = {"batch": BATCH_KEYS, "session": SESSION_KEYS}
"""Every placeholder an answer may use, by scope, with what it means (shown in the editor)."""


@dataclass(frozen=True, slots=True)
class FilledAnswer:
    """An answer with its placeholders replaced; ``complete`` only when nothing is missing."""

    text: str
    missing: tuple[str, ...]
    used: tuple[str, ...]

    @property
    def complete(self) -> bool:
        """True when every placeholder had a value (safe to send without editing)."""
        return not self.missing


def placeholders(answer: str) -> tuple[str, ...]:
    """The dotted placeholder names an answer uses, in order, without repeats."""
    names: list[str] = []
    for match in PLACEHOLDER.finditer(answer):
        name = f"{match.group(1)}.{match.group(2)}"
        if name not in names:
            names.append(name)
    return tuple(names)


def fill(answer: str, context: Mapping[str, Mapping[str, Any]]) -> FilledAnswer:
    """Replace each ``{scope.key}`` with ``context[scope][key]``, or a gap marker when absent."""
    missing: list[str] = []
    used: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        scope, key = match.group(1), match.group(2)
        name = f"{scope}.{key}"
        rendered = render_value(_lookup(context, scope, key))
        if rendered is None:
            if name not in missing:
                missing.append(name)
            return GAP_MARKER.format(name=name)
        if name not in used:
            used.append(name)
        return rendered

    text = PLACEHOLDER.sub(substitute, answer)
    return FilledAnswer(text=text, missing=tuple(missing), used=tuple(used))


def _lookup(context: Mapping[str, Mapping[str, Any]], scope: str, key: str) -> Any:
    values = context.get(scope)
    if not isinstance(values, Mapping):
        return None
    return values.get(key)


def render_value(value: Any) -> str | None:
    """Text for a scalar value, or None when it must not be shown (missing or ambiguous)."""
    if value is None or isinstance(value, bool):
        # A bare True/False would read as a wrong fact in Chinese copy; make the advisor decide.
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return format(value, "g") if abs(value) < 1e15 else None
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return None


def unknown_placeholders(answer: str) -> tuple[str, ...]:
    """Placeholders of a known scope whose name is not in the table: they would always show a gap."""
    unknown: list[str] = []
    for name in placeholders(answer):
        scope, key = name.split(".", 1)
        if scope in PLACEHOLDER_KEYS and key not in PLACEHOLDER_KEYS[scope]:
            unknown.append(name)
    return tuple(unknown)


MAX_WARNINGS = 10
"""Warnings listed one by one; beyond this the rest are counted in one line."""


def placeholder_warnings(answer: str) -> list[dict[str, str]]:
    """One Chinese warning per unknown placeholder, with the closest known name when there is one."""
    warnings: list[dict[str, str]] = []
    unknown = unknown_placeholders(answer)
    for name in unknown[:MAX_WARNINGS]:
        scope, key = name.split(".", 1)
        close = difflib.get_close_matches(key, list(PLACEHOLDER_KEYS[scope]), n=1, cutoff=0.6)
        hint = f"，是否想写 {{{scope}.{close[0]}}}？" if close else "，请从右侧列表选择可用的占位符。"
        message = f"未知的占位符 {{{name}}}：回答时会显示为“{GAP_MARKER.format(name=name)}”，需要顾问手动补上{hint}"
        warnings.append({"field": "answer", "placeholder": name, "message": message})
    if len(unknown) > MAX_WARNINGS:
        rest = len(unknown) - MAX_WARNINGS
        warnings.append({"field": "answer", "placeholder": "", "message": f"另有 {rest} 个未知的占位符，请对照右侧列表修改"})
    return warnings
