"""The platforms' own figures (观看人次, peak concurrent, likes, shares, follows) imported from their exports.

Live platforms count what a relay never sees (people who watched without chatting), and marketers quote
those figures. A platform's back office exports them as CSV or xlsx with its own column names; the
columns are mapped per platform (defaults below, ``[engagement] platform_columns`` to override) and the
file is read whole before anything is stored, so a bad row stores nothing.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from livebot.engagement import store
from livebot.engagement.settings import PLATFORM_FIELDS
from livebot.errors import ValidationError
from livebot.platforms import PLATFORM_LABELS as PLATFORM_NAMES
from livebot.storage.engine import Database

FIELDS: dict[str, str] = dict(zip(PLATFORM_FIELDS, ("观看人次", "最高在线", "点赞", "分享", "新增关注", "评论"), strict=True))
MAXED = frozenset({"peak_viewers"})
"""Fields where several rows (e.g. one per hour) give the maximum; the others add up."""
DEFAULT_HEADERS: dict[str, tuple[str, ...]] = {
    "views": ("观看人次", "累计观看人次", "观看次数", "场观", "总观看人次", "观看人数"),
    "peak_viewers": ("最高在线人数", "最高在线", "峰值在线", "在线人数峰值", "最高同时在线"),
    "likes": ("点赞数", "点赞次数", "本场点赞", "点赞"),
    "shares": ("分享次数", "分享数", "分享人数", "分享"),
    "follows": ("新增粉丝", "新增关注", "涨粉数", "新增粉丝数", "新增关注数"),
    "comments": ("评论数", "评论次数", "评论人数", "评论"),
}
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
MAX_VALUE = 10**12
NUMBER = re.compile(r"^(\d+(?:\.\d+)?)\s*(万|w|W|亿)?$")
SCALE = {"万": 10_000, "w": 10_000, "W": 10_000, "亿": 100_000_000}


@dataclass(frozen=True)
class PlatformTotals:
    platform: str
    values: dict[str, int]
    rows: int


def read_table(raw: bytes) -> list[list[str]]:
    """Rows of cells as text, from xlsx (a zip) or CSV (UTF-8 with or without BOM, else GB18030)."""
    if len(raw) > MAX_BYTES:
        raise ValidationError("file", f"文件超过 {MAX_BYTES // 1024 // 1024} MB")
    if raw[:2] == b"PK":
        try:
            sheet = load_workbook(io.BytesIO(raw), read_only=True, data_only=True).worksheets[0]
        except (zipfile.BadZipFile, KeyError, ValueError, OSError, IndexError) as err:
            raise ValidationError("file", "不是有效的 xlsx 文件") from err
        rows = []
        for index, row in enumerate(sheet.iter_rows(values_only=True)):
            if index > MAX_ROWS:
                raise ValidationError("file", f"超过 {MAX_ROWS} 行")
            rows.append(["" if cell is None else str(cell) for cell in row])
        return rows
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationError("file", "无法识别的文本编码（请另存为 UTF-8 的 CSV 或 xlsx）")
    if "\x00" in text:
        raise ValidationError("file", "文件含有空字符，不是 CSV 文本")
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as err:
        raise ValidationError("file", f"CSV 格式错误：{err}") from err
    if len(rows) > MAX_ROWS + 1:
        raise ValidationError("file", f"超过 {MAX_ROWS} 行")
    return rows


def number(cell: str, where: str) -> int | None:
    """A platform's figure: ``12,345``, ``1.2万``, ``3w``; empty cells and ``-`` mean no figure."""
    text = cell.strip().replace(",", "").replace("，", "")
    if text in ("", "-", "—", "--"):
        return None
    match = NUMBER.match(text)
    if match is None:
        raise ValidationError(where, f"不是数字：{cell[:40]!r}")
    value = float(match.group(1)) * SCALE.get(match.group(2) or "", 1)
    if value > MAX_VALUE:
        raise ValidationError(where, "数值过大")
    return round(value)


def header_map(header: Sequence[str], platform: str, overrides: Mapping[str, Any]) -> dict[str, int]:
    """Field → column index, by the configured header names or the defaults; at least one field."""
    names = [cell.strip() for cell in header]
    wanted = overrides.get(platform) or {}
    found: dict[str, int] = {}
    for field_name in FIELDS:
        choices = (wanted[field_name],) if field_name in wanted else DEFAULT_HEADERS[field_name]
        for choice in choices:
            if choice in names:
                found[field_name] = names.index(choice)
                break
    if not found:
        expected = "、".join(DEFAULT_HEADERS["views"][:3])
        raise ValidationError("第 1 行", f"找不到任何已知的列（例如 {expected}）；可在 [engagement] platform_columns 中配置列名")
    return found


def totals_of(rows: Sequence[Sequence[str]], platform: str, overrides: Mapping[str, Any]) -> PlatformTotals:
    """Add up (or take the maximum of) every data row; errors name the row and the column."""
    if not rows:
        raise ValidationError("file", "文件是空的")
    columns = header_map(rows[0], platform, overrides)
    values: dict[str, int] = {}
    counted = 0
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        counted += 1
        for field_name, index in columns.items():
            where = f"第 {line} 行「{rows[0][index].strip()}」列"
            value = number(row[index] if index < len(row) else "", where)
            if value is None:
                continue
            values[field_name] = max(values.get(field_name, 0), value) if field_name in MAXED else values.get(field_name, 0) + value
    if not counted:
        raise ValidationError("file", "只有表头，没有数据行")
    return PlatformTotals(platform, values, counted)


async def import_file(db: Database, session_id: int, platform: str, raw: bytes, source_name: str, imported_by: str,
                      overrides: Mapping[str, Any]) -> PlatformTotals:
    """Read, check and store one platform's export for a session; nothing is stored when any row is wrong."""
    if platform not in PLATFORM_NAMES:
        raise ValidationError("platform", f"应为 {', '.join(PLATFORM_NAMES)} 之一")
    found = totals_of(read_table(raw), platform, overrides)
    await store.save_platform_totals(db, session_id, [(platform, found.values, found.rows)], source_name, imported_by)
    return found


def beside_own(imported: Sequence[Any], own: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each imported platform's figures next to what livebot counted itself on that platform."""
    mine = {row["platform"]: row for row in own}
    out = []
    for row in imported:
        counted = mine.get(row.platform, {})
        out.append({
            "platform": row.platform, "name": PLATFORM_NAMES.get(row.platform, row.platform), **{k: row.figures.get(k) for k in FIELDS},
            "own_comments": counted.get("comments"), "own_peak_viewers": counted.get("viewers_peak"),
            "own_likes": counted.get("likes"), "own_shares": counted.get("shares"), "own_follows": counted.get("follows"),
            "source_name": row.source_name, "imported_at": row.imported_at.isoformat(),
        })
    return out


def season_total(imported: Sequence[Any]) -> dict[str, int]:
    """Additive platform figures summed over the given sessions (peak concurrent does not add up)."""
    total: dict[str, int] = {}
    for row in imported:
        for key in FIELDS:
            value = row.figures.get(key)
            if key not in MAXED and isinstance(value, int):
                total[key] = total.get(key, 0) + value
    return total


def quarter_of(moment: datetime, zone: ZoneInfo) -> tuple[datetime, datetime, str]:
    """The calendar quarter (in the session's time zone) holding ``moment``: start, end and a label."""
    local = moment.astimezone(zone)
    first_month = (local.month - 1) // 3 * 3 + 1
    start = datetime(local.year, first_month, 1, tzinfo=zone)
    after = first_month + 3
    end = datetime(local.year + (after > 12), (after - 1) % 12 + 1, 1, tzinfo=zone)
    return start, end, f"{local.year} 年第 {(first_month - 1) // 3 + 1} 季度"


async def report_section(db: Database, session_id: int, start: datetime | None, zone: ZoneInfo,
                         own: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The report's 平台官方数据: this session's imported figures beside livebot's, and the quarter's total."""
    imported = await store.platform_totals(db, [session_id])
    section: dict[str, Any] = {"platforms": beside_own(imported, own), "season": None}
    if start is not None:
        since, until, label = quarter_of(start, zone)
        sessions = await store.list_sessions(db, ("live", "ended"), since=since, until=until)
        season_rows = await store.platform_totals(db, [s.id for s in sessions])
        if season_rows:
            section["season"] = {"label": label, "sessions": len({r.session_id for r in season_rows}), **season_total(season_rows)}
    return section
