"""``overlay.control`` commands: validated at the edge, then applied to the stored state.

Commands come from the producer API, the advisor and producer consoles and the scheduler, so the
same checks run whether a command arrived over HTTP or the bus. Applying a command is a pure
function of the previous state, so every instance that hears the same commands in the same
order ends with the same state.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from livebot.overlays.errors import BadCommand
from livebot.overlays.scenes import scene_name
from livebot.overlays.text import clean_text, mask_name
from livebot.platforms import PLATFORMS
from livebot.topics import OverlayControl, overlay_control

TYPES = ("scene", "batch", "featured", "featured_clear", "ticker", "site", "countdown", "ticker_review")
LIMITS = {"question": 120, "answer": 300, "asker": 24, "title": 40, "lot": 40, "by": 64, "ticker": 60}


def default_state() -> dict[str, Any]:
    """What a session's overlays show before anyone touches them."""
    return {"scene": "batch", "lot": None, "featured": None, "site_id": None, "countdown": None,
            "ticker_enabled": True, "ticker": [], "ticker_pending": []}


@dataclass(frozen=True)
class Command:
    session_id: int
    type: str
    by: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    id: str = ""

    def message(self) -> OverlayControl:
        """The bus message for this command (topic ``overlay.control``)."""
        return overlay_control(self.session_id, self.type, self.by, cmd_id=self.id, **self.fields)


def parse_command(raw: Mapping[str, Any], session_id: int | None = None) -> Command:
    """A checked :class:`Command` from a bus message or an API body; :class:`BadCommand` names the field."""
    if not isinstance(raw, Mapping):
        raise BadCommand("body", "应为 JSON 对象")
    sid = session_id if session_id is not None else positive_int(raw.get("session_id"), "session_id")
    kind = raw.get("type")
    if kind not in TYPES:
        raise BadCommand("type", f"应为以下之一：{'、'.join(TYPES)}")
    by = clean_text(raw.get("by") or "", LIMITS["by"])
    cmd_id = clean_text(raw.get("cmd_id") or "", 64) or uuid.uuid4().hex
    return Command(session_id=sid, type=kind, by=by, fields=PARSERS[kind](raw), id=cmd_id)


def positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadCommand(name, "应为正整数")
    try:
        number = int(value)
    except ValueError as err:
        raise BadCommand(name, "应为正整数") from err
    if number < 1 or number > 2**62:
        raise BadCommand(name, "应为正整数")
    return number


def required_text(raw: Mapping[str, Any], name: str, limit: int) -> str:
    value = raw.get(name)
    if not isinstance(value, str):
        raise BadCommand(name, "应为文本")
    text = clean_text(value, limit)
    if not text:
        raise BadCommand(name, "不能为空")
    return text


def optional_text(raw: Mapping[str, Any], name: str, limit: int) -> str:
    value = raw.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadCommand(name, "应为文本")
    return clean_text(value, limit)


def platform_of(raw: Mapping[str, Any]) -> str:
    value = raw.get("platform") or "other"
    return value if value in PLATFORMS else "other"


def parse_scene(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {"scene": scene_name(raw.get("scene"))}


def parse_batch(raw: Mapping[str, Any]) -> dict[str, Any]:
    lot = raw.get("lot")
    if lot is None or lot == "":
        return {"lot": None}
    if not isinstance(lot, str):
        raise BadCommand("lot", "应为文本")
    text = clean_text(lot, 200)
    if len(text) > LIMITS["lot"] or not text.isprintable() or " " in text:
        raise BadCommand("lot", f"批次号最多 {LIMITS['lot']} 个字符，不能有空格")
    return {"lot": text}


ASKED_BY_MANY = re.compile(r"^(.*?)\s*等\s*(\d{1,6})\s*位观众$")
"""The advisor console names merged questions "小雨妈妈 等 3 位观众"; keep the count, mask the name."""


def asker_text(value: Any) -> str:
    if not value:
        return ""
    text = clean_text(value, 64)
    many = ASKED_BY_MANY.match(text)
    if many:
        return f"{mask_name(many.group(1))} 等 {many.group(2)} 位观众"
    return mask_name(text)


def parse_featured(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "question": required_text(raw, "question", LIMITS["question"]),
        "answer": optional_text(raw, "answer", LIMITS["answer"]),
        "asker": asker_text(raw.get("asker")),
        "platform": platform_of(raw),
    }


def parse_nothing(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {}


def parse_ticker(raw: Mapping[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "enabled" in raw:
        if not isinstance(raw["enabled"], bool):
            raise BadCommand("enabled", "应为 true 或 false")
        fields["enabled"] = raw["enabled"]
    if raw.get("clear"):
        fields["clear"] = True
    if raw.get("text") is not None:
        fields["text"] = required_text(raw, "text", LIMITS["ticker"])
        fields["user"] = mask_name(raw.get("user")) if raw.get("user") else ""
        fields["platform"] = platform_of(raw)
    if not fields:
        raise BadCommand("enabled", "请给出 enabled、clear 或 text 之一")
    return fields


def parse_ticker_review(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A producer's decision on a held viewer comment: ``approve`` puts it on, ``drop`` discards it."""
    if raw.get("action") not in ("approve", "drop"):
        raise BadCommand("action", "expected approve or drop")
    item_id = raw.get("item_id")
    if not isinstance(item_id, str) or not item_id or len(item_id) > 140:
        raise BadCommand("item_id", "expected the held comment's id")
    return {"action": raw["action"], "item_id": item_id}


def parse_site(raw: Mapping[str, Any]) -> dict[str, Any]:
    value = raw.get("site_id")
    return {"site_id": None if value is None else positive_int(value, "site_id")}


def parse_countdown(raw: Mapping[str, Any]) -> dict[str, Any]:
    ends_at = raw.get("ends_at")
    if ends_at is None:
        return {"title": "", "ends_at": None}
    if not isinstance(ends_at, str) or len(ends_at) > 40:
        raise BadCommand("ends_at", "应为带时区的时间（ISO 8601）")
    try:
        moment = datetime.fromisoformat(ends_at.replace("Z", "+00:00"))
    except ValueError as err:
        raise BadCommand("ends_at", "应为带时区的时间（ISO 8601）") from err
    if moment.tzinfo is None:
        raise BadCommand("ends_at", "时间需要带时区")
    try:
        ends_utc = moment.astimezone(UTC)
    except OverflowError as err:  # 9999-12-31T23:59-14:00 has no UTC equivalent
        raise BadCommand("ends_at", "时间超出范围") from err
    title_raw = {"title": raw.get("title", raw.get("segment_title", raw.get("segment")))}
    return {"title": optional_text(title_raw, "title", LIMITS["title"]), "ends_at": ends_utc.isoformat()}


PARSERS = {
    "scene": parse_scene, "batch": parse_batch, "featured": parse_featured, "featured_clear": parse_nothing,
    "ticker_review": parse_ticker_review,
    "ticker": parse_ticker, "site": parse_site, "countdown": parse_countdown,
}


def apply_command(state: dict[str, Any], command: Command, ticker_size: int) -> set[str]:
    """Change ``state`` in place; returns the parts that changed (``scene``, ``batch`` ...)."""
    f = command.fields
    if command.type == "scene":
        return set_value(state, "scene", f["scene"], "scene")
    if command.type == "batch":
        return set_value(state, "lot", f["lot"], "batch")
    if command.type == "featured":
        state["featured"] = {**f, "id": command.id}
        return {"featured"}
    if command.type == "featured_clear":
        return set_value(state, "featured", None, "featured")
    if command.type == "site":
        return set_value(state, "site_id", f["site_id"], "site")
    if command.type == "countdown":
        value = None if f["ends_at"] is None else {"title": f["title"], "ends_at": f["ends_at"]}
        return set_value(state, "countdown", value, "countdown")
    if command.type == "ticker_review":
        return review_ticker(state, f["item_id"], f["action"] == "approve", ticker_size)
    return apply_ticker(state, f, command.id, ticker_size)


def review_ticker(state: dict[str, Any], item_id: str, approve: bool, size: int) -> set[str]:
    """Take a held comment out of the queue; on approval it goes to the head of the ticker."""
    pending = list(state.get("ticker_pending") or [])
    found = next((item for item in pending if item.get("id") == item_id), None)
    if found is None:
        return set()
    state["ticker_pending"] = [item for item in pending if item.get("id") != item_id]
    if approve:
        add_ticker_item(state, {key: found[key] for key in ("id", "text", "user", "platform")}, size)
    return {"ticker", "ticker_pending"}


def set_value(state: dict[str, Any], key: str, value: Any, part: str) -> set[str]:
    if state.get(key) == value:
        return set()
    state[key] = value
    return {part}


def apply_ticker(state: dict[str, Any], f: Mapping[str, Any], item_id: str, size: int) -> set[str]:
    before = (state.get("ticker_enabled"), list(state.get("ticker") or []))
    if "enabled" in f:
        state["ticker_enabled"] = f["enabled"]
    if f.get("clear"):
        state["ticker"] = []
    if "text" in f:
        add_ticker_item(state, {"id": item_id, "text": f["text"], "user": f["user"], "platform": f["platform"]}, size)
    return {"ticker"} if (state.get("ticker_enabled"), state.get("ticker")) != before else set()


def add_ticker_item(state: dict[str, Any], item: dict[str, Any], size: int) -> bool:
    """Put a comment at the head of the ticker (once per id); False when it was already there."""
    items = list(state.get("ticker") or [])
    if any(existing.get("id") == item["id"] for existing in items):
        return False
    state["ticker"] = [item, *items][:size]
    return True
