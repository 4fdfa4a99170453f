"""Live factory telemetry: line status, tank and cold-chain temperatures, output counts.

Each reading says how often it is expected (``interval_s``); a reading older than that is
stale and is shown as stale, never as the current value.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from livebot.errors import ValidationError
from livebot.storage.base import utcnow
from livebot.topics import TelemetryReading

MAX_READINGS = 1000
MAX_FUTURE = timedelta(minutes=5)
METRIC = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
KNOWN_UNITS = {"line_status": "", "tank_temp_c": "°C", "coldchain_temp_c": "°C", "output_count": "罐"}


@dataclass(frozen=True, slots=True)
class Telemetry:
    plant: str
    line: str
    metric: str
    value: float | str
    unit: str
    at: datetime
    interval_s: int

    def message(self) -> TelemetryReading:
        """The ``trace.telemetry`` bus message."""
        return TelemetryReading(plant=self.plant, line=self.line, metric=self.metric, value=self.value, unit=self.unit,
                                at=self.at.isoformat(), stale_after_s=self.interval_s)


def is_stale(at: datetime, interval_s: int, now: datetime) -> bool:
    """Older than its expected interval: the value may no longer be true."""
    return (now - at).total_seconds() > interval_s


def label(value: Any, where: str, limit: int, required: bool) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise ValidationError(where, "must be a string")
    value = unicodedata.normalize("NFC", value).strip()
    if _CONTROL.search(value) or (required and not value) or len(value) > limit:
        raise ValidationError(where, f"must be 1..{limit} characters without control characters")
    return value


def parse_telemetry(body: Any, default_interval_s: int, now: datetime | None = None) -> list[Telemetry]:
    """``{"plant", "line", "readings": [{metric, value, unit, at, interval_s}]}`` or one reading at top level."""
    now = now or utcnow()
    if not isinstance(body, Mapping):
        raise ValidationError("body", "must be a JSON object")
    plant = label(body.get("plant"), "plant", 64, True)
    line = label(body.get("line"), "line", 64, False)
    readings = body.get("readings", [body] if "metric" in body else None)
    if not isinstance(readings, list) or not readings:
        raise ValidationError("readings", "must be a non-empty array")
    if len(readings) > MAX_READINGS:
        raise ValidationError("readings", f"at most {MAX_READINGS} readings per request")
    return [reading(item, f"readings[{i}]", plant, line, default_interval_s, now) for i, item in enumerate(readings)]


def reading(item: Any, where: str, plant: str, line: str, default_interval_s: int, now: datetime) -> Telemetry:
    if not isinstance(item, Mapping):
        raise ValidationError(where, "must be an object")
    metric = item.get("metric")
    if not isinstance(metric, str) or not METRIC.fullmatch(metric):
        raise ValidationError(f"{where}.metric", "must be lower-case letters, digits and _ . - (1..64)")
    value = item.get("value")
    if isinstance(value, bool) or value is None:
        raise ValidationError(f"{where}.value", "must be a number or a short text")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValidationError(f"{where}.value", "must be a finite number")
        value = float(value)
    else:
        value = label(value, f"{where}.value", 64, True)
    unit = label(item.get("unit"), f"{where}.unit", 16, False) or KNOWN_UNITS.get(metric, "")
    at = now
    if item.get("at") is not None:
        try:
            at = datetime.fromisoformat(item["at"]) if isinstance(item["at"], str) and len(item["at"]) <= 40 else None  # type: ignore[assignment]
        except ValueError:
            at = None  # type: ignore[assignment]
        if at is None or at.tzinfo is None:
            raise ValidationError(f"{where}.at", "must be an ISO 8601 date-time with a UTC offset")
        try:
            at.astimezone(UTC)  # 0001-01-01T00:00+14:00 has no UTC equivalent and cannot be stored
        except OverflowError as err:
            raise ValidationError(f"{where}.at", "date-time out of range") from err
        if at - now > MAX_FUTURE:
            raise ValidationError(f"{where}.at", "is in the future (check the sender's clock)")
    interval = item.get("interval_s", default_interval_s)
    if isinstance(interval, bool) or not isinstance(interval, int) or not 1 <= interval <= 86400:
        raise ValidationError(f"{where}.interval_s", "must be an integer 1..86400")
    return Telemetry(plant=plant, line=line, metric=metric, value=value, unit=unit, at=at, interval_s=interval)
