"""Turn untrusted JSON into checked values, one field at a time, before anything is written.

Every problem is a :class:`ValidationError` naming the field, with a message a producer can act
on (the console shows it beside the field). Nothing here touches the database: callers check all
input first and then write in one transaction, so a bad request never saves half of itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from livebot.errors import ValidationError
from livebot.formcheck import Fields
from livebot.platforms import PLATFORMS
from livebot.schedule.models import RUN_MODES, SEGMENT_SCENES, SESSION_STATUSES, SITE_ROLES

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
SOURCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
LOT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./-]{0,19}$")
"""A GS1 lot (AI 10): at most 20 characters; this is the safe subset of its character set."""
LOT_MAX = 20
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
LINE_BREAKS = re.compile(r"[\t\n\r]")
BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
ZERO_WIDTH = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")
MAX_SESSION = timedelta(hours=12)
MAX_SEGMENT_S = 6 * 3600
MIN_SEGMENT_S = 10
MAX_TAGS = 20
MAX_LOTS = 50
MAX_CHANNELS = 50
MAX_SITES = 10
MAX_ID = 2**62
"""Ids above this cannot be stored (BIGINT) and would crash the query instead of failing as input."""


def require_mapping(value: Any, field: str = "body") -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(field, "应为 JSON 对象")
    return value


def text(data: Mapping[str, Any], field: str, *, max_len: int, required: bool = False, multiline: bool = False,
         default: str = "") -> str:
    """A cleaned string: trimmed, zero-width characters removed, control and direction marks refused."""
    value = data.get(field, None)
    if value is None:
        if required:
            raise ValidationError(field, "必填")
        return default
    if not isinstance(value, str):
        raise ValidationError(field, "应为文本")
    value = ZERO_WIDTH.sub("", value).strip()
    if CONTROL.search(value) or (not multiline and LINE_BREAKS.search(value)):
        raise ValidationError(field, "不能包含控制字符或换行")
    if BIDI.search(value):
        raise ValidationError(field, "不能包含文字方向控制字符")
    if required and not value:
        raise ValidationError(field, "必填")
    if len(value) > max_len:
        raise ValidationError(field, f"最多 {max_len} 个字符")
    return value


def choice(data: Mapping[str, Any], field: str, options: Sequence[str], default: str | None = None) -> str:
    value = data.get(field, default)
    if value is None:
        raise ValidationError(field, "必填")
    if value not in options:
        raise ValidationError(field, f"应为以下之一：{'、'.join(options)}")
    return str(value)


def integer(data: Mapping[str, Any], field: str, *, low: int, high: int, default: int | None = None) -> int:
    value = whole(data.get(field, default))
    if value is None:
        raise ValidationError(field, "必填")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, "应为整数")
    if not low <= value <= high:
        shown = duration_text if field.endswith("_s") else str
        raise ValidationError(field, f"应在 {shown(low)} 到 {shown(high)} 之间")
    return value


def duration_text(seconds: int) -> str:
    """Seconds as people say them: 10 秒, 5 分钟, 6 小时, 1 小时 30 分钟."""
    if seconds % 60:
        return f"{seconds} 秒" if seconds < 60 else f"{seconds // 60} 分 {seconds % 60} 秒"
    hours, minutes = divmod(seconds // 60, 60)
    if not hours:
        return f"{minutes} 分钟"
    return f"{hours} 小时" + (f" {minutes} 分钟" if minutes else "")



def whole(value: Any) -> Any:
    """JSON's 3.0 is the integer 3 (JSON Schema says so too); other values pass through unchanged."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def optional_id(data: Mapping[str, Any], field: str) -> int | None:
    value = whole(data.get(field))
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise ValidationError(field, "应为正整数编号")
    return value


def number(data: Mapping[str, Any], field: str, low: float, high: float) -> float | None:
    value = data.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ValidationError(field, "应为数字")
    if not low <= value <= high:
        raise ValidationError(field, f"应在 {low} 到 {high} 之间")
    return float(value)


def timezone_name(data: Mapping[str, Any], field: str, default: str = "Asia/Shanghai") -> str:
    value = text(data, field, max_len=64, default=default) or default
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValidationError(field, f"未知时区 {value!r}") from err
    return value


def moment(data: Mapping[str, Any], field: str, zone: str, required: bool = True) -> datetime | None:
    """An ISO 8601 time; one without an offset is read in ``zone`` (the session's time zone)."""
    value = data.get(field)
    if value is None or value == "":
        if required:
            raise ValidationError(field, "必填")
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise ValidationError(field, "应为 ISO 8601 时间，如 2026-11-24T20:00:00+08:00")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as err:
        raise ValidationError(field, "应为 ISO 8601 时间，如 2026-11-24T20:00:00+08:00") from err
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(zone))
    try:
        return parsed.astimezone(UTC)
    except OverflowError as err:  # 9999-12-31T23:59-14:00 has no UTC equivalent
        raise ValidationError(field, "时间超出范围") from err


def string_list(data: Mapping[str, Any], field: str, *, max_items: int, max_len: int,
                pattern: re.Pattern[str] | None = None) -> list[str]:
    """A list of distinct cleaned strings, order kept, duplicates dropped."""
    value = data.get(field, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError(field, "应为列表")
    if len(value) > max_items:
        raise ValidationError(field, f"最多 {max_items} 项")
    result: list[str] = []
    for index, item in enumerate(value):
        cleaned = text({"v": item}, "v", max_len=max_len, required=True) if isinstance(item, str) else None
        if cleaned is None:
            raise ValidationError(f"{field}[{index}]", "应为非空文本")
        if pattern is not None and not pattern.match(cleaned):
            raise ValidationError(f"{field}[{index}]", "格式不正确")
        if cleaned not in result:
            result.append(cleaned)
    return result


def id_list(data: Mapping[str, Any], field: str, max_items: int) -> list[int]:
    value = data.get(field, [])
    if not isinstance(value, list):
        raise ValidationError(field, "应为编号列表")
    if len(value) > max_items:
        raise ValidationError(field, f"最多 {max_items} 项")
    result: list[int] = []
    for index, item in enumerate(map(whole, value)):
        if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= MAX_ID:
            raise ValidationError(f"{field}[{index}]", "应为正整数编号")
        if item not in result:
            result.append(item)
    return result


def robot_url(data: Mapping[str, Any], field: str = "robot_url") -> str:
    value = text(data, field, max_len=512)
    if value and not value.startswith(("https://", "http://")):
        raise ValidationError(field, "应为 http(s) 地址（企业微信群机器人 Webhook）")
    return value


@dataclass(frozen=True)
class SiteInput:
    slug: str
    name: str
    role: str
    location: str
    latitude: float | None
    longitude: float | None
    timezone: str
    contact: str
    lower_third: str


def site_input(raw: Any, current: Mapping[str, Any] | None = None) -> SiteInput:
    """A whole site; for an update, ``current`` fills the fields the request leaves out."""
    data = {**(current or {}), **require_mapping(raw)}
    slug = text(data, "slug", max_len=64, required=True)
    if not SLUG.match(slug):
        raise ValidationError("slug", "只能用小写字母、数字和连字符，如 qiqihar-factory")
    return SiteInput(
        slug=slug,
        name=text(data, "name", max_len=128, required=True),
        role=choice(data, "role", SITE_ROLES),
        location=text(data, "location", max_len=255),
        latitude=number(data, "latitude", -90, 90),
        longitude=number(data, "longitude", -180, 180),
        timezone=timezone_name(data, "timezone"),
        contact=text(data, "contact", max_len=255),
        lower_third=text(data, "lower_third", max_len=255),
    )


@dataclass(frozen=True)
class ChannelInput:
    source_id: str
    channel: str
    platform: str
    site_id: int | None
    label: str


def channel_input(raw: Any, field: str = "channel") -> ChannelInput:
    data = require_mapping(raw, field)
    try:
        source_id = text(data, "source_id", max_len=64, required=True)
        if not SOURCE_ID.match(source_id):
            raise ValidationError("source_id", "只能用字母、数字和 _ . : -")
        return ChannelInput(
            source_id=source_id,
            channel=text(data, "channel", max_len=128, required=True),
            platform=choice(data, "platform", PLATFORMS, default="other"),
            site_id=optional_id(data, "site_id"),
            label=text(data, "label", max_len=128),
        )
    except ValidationError as err:
        if field == "channel":
            raise
        raise ValidationError(f"{field}.{err.field}", err.problem) from err


@dataclass(frozen=True)
class SessionInput:
    title: str
    theme: str
    description: str
    planned_start: datetime
    planned_end: datetime
    timezone: str
    status: str
    site_ids: list[int] | None
    channels: list[ChannelInput] | None
    lots: list[str] | None
    robot_url: str
    mode: str


def session_input(raw: Any, now: datetime, current: Mapping[str, Any] | None = None) -> SessionInput:
    """A whole session; a new or moved start must lie in the future, the end after the start, a site at least.

    Every field is checked and all problems are reported together (:class:`FieldErrors`).
    """
    given = require_mapping(raw)
    data = {**(current or {}), **given}
    f = Fields()
    zone = f.take(lambda: timezone_name(data, "timezone"), "Asia/Shanghai")
    start = f.take(lambda: moment(data, "planned_start", zone), None)
    end = f.take(lambda: moment(data, "planned_end", zone), None)
    moved = current is None or "planned_start" in given and start != current.get("_planned_start")
    if start is not None and moved and start < now - timedelta(seconds=60):
        f.errors["planned_start"] = "开始时间已过，请选择将来的时间"
    if start is not None and end is not None:
        if end <= start:
            f.errors["planned_end"] = "结束时间必须晚于开始时间"
        elif end - start > MAX_SESSION:
            f.errors["planned_end"] = "一场直播最长 12 小时"
    status = f.take(lambda: choice(data, "status", ("draft", "scheduled"), default="draft"), "draft") if current is None \
        else str(data["status"])
    channels = f.take(lambda: channel_inputs(given), None) if "channels" in given else None
    no_ids: list[int] = []
    site_ids = f.take(lambda: id_list(given, "site_ids", MAX_SITES), no_ids) if "site_ids" in given else None
    if "site_ids" not in f.errors and (site_ids == [] or (current is None and site_ids is None)):
        f.errors["site_ids"] = "至少选择一个站点"
    result = SessionInput(
        title=f.take(lambda: text(data, "title", max_len=255, required=True), ""),
        theme=f.take(lambda: text(data, "theme", max_len=64), ""),
        description=f.take(lambda: text(data, "description", max_len=4000, multiline=True), ""),
        planned_start=start or now,
        planned_end=end or now,
        timezone=zone,
        status=status if status in SESSION_STATUSES else "draft",
        site_ids=site_ids,
        channels=channels,
        lots=f.take(lambda: string_list(given, "lots", max_items=MAX_LOTS, max_len=LOT_MAX, pattern=LOT), None) if "lots" in given else None,
        robot_url=f.take(lambda: robot_url(data), ""),
        mode=f.take(lambda: choice(data, "mode", RUN_MODES, default="auto"), "auto"),
    )
    f.done()
    return result


def channel_inputs(given: Mapping[str, Any]) -> list[ChannelInput]:
    items = given["channels"]
    if not isinstance(items, list) or len(items) > MAX_CHANNELS:
        raise ValidationError("channels", f"应为最多 {MAX_CHANNELS} 项的列表")
    channels = [channel_input(item, f"channels[{i}]") for i, item in enumerate(items)]
    seen = set()
    for i, ch in enumerate(channels):
        if (ch.source_id, ch.channel) in seen:
            raise ValidationError(f"channels[{i}].channel", "同一来源的频道重复")
        seen.add((ch.source_id, ch.channel))
    return channels


@dataclass(frozen=True)
class SegmentInput:
    title: str
    offset_s: int | None
    duration_s: int
    site_id: int | None
    pip_site_id: int | None
    scene: str
    lot: str
    talking_points: str
    faq_tags: list[str]


def segment_input(raw: Any, current: Mapping[str, Any] | None = None) -> SegmentInput:
    given = require_mapping(raw)
    data = {**(current or {}), **given}
    offset = data.get("offset_s")
    f = Fields()
    site_id = f.take(lambda: optional_id(data, "site_id"), None)
    pip = f.take(lambda: optional_id(data, "pip_site_id"), None)
    if pip is not None and pip == site_id:
        f.errors["pip_site_id"] = "画中画站点不能与主画面站点相同"
    lot = f.take(lambda: text(data, "lot", max_len=LOT_MAX), "")
    if lot and not LOT.match(lot):
        f.errors["lot"] = "批次号最多 20 位，只能用字母、数字和 _ . / -"
    result = SegmentInput(
        title=f.take(lambda: text(data, "title", max_len=128, required=True), ""),
        offset_s=None if offset is None else f.take(lambda: integer(data, "offset_s", low=0, high=int(MAX_SESSION.total_seconds())), 0),
        duration_s=f.take(lambda: integer(data, "duration_s", low=MIN_SEGMENT_S, high=MAX_SEGMENT_S), 0),
        site_id=site_id,
        pip_site_id=pip,
        scene=f.take(lambda: choice(data, "scene", SEGMENT_SCENES, default="lower_third"), ""),
        lot=lot,
        talking_points=f.take(lambda: text(data, "talking_points", max_len=4000, multiline=True), ""),
        faq_tags=f.take(lambda: string_list(data, "faq_tags", max_items=MAX_TAGS, max_len=32), []),
    )
    f.done()
    return result


def check_run_of_show(items: Sequence[tuple[int, int]], session_seconds: int, field_prefix: str = "offset_s") -> None:
    """Segments as (offset, duration) in order: none may overlap the previous or run past the session's end."""
    previous_end = 0
    for index, (offset, duration) in enumerate(items):
        if offset < previous_end:
            raise ValidationError(field_prefix, f"与前一段重叠（第 {index + 1} 段开始于 {clock_text(offset)}，前一段到 {clock_text(previous_end)} 才结束）")
        previous_end = offset + duration
        if previous_end > session_seconds:
            raise ValidationError("duration_s", f"第 {index + 1} 段结束于 {clock_text(previous_end)}，超出场次时长 {clock_text(session_seconds)}")


def clock_text(seconds: int) -> str:
    """Seconds as h:mm:ss or m:ss, as producers read a rundown."""
    h, rest = divmod(int(seconds), 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
