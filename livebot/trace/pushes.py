"""Plain JSON pushes for plants without EPCIS: batches (with their raw milk) and inspections.

Validation errors name the field (``batches[2].gtin``) and become 400 answers.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from livebot.errors import ValidationError
from livebot.trace.digitallink import gtin14, valid_lot
from livebot.trace.errors import BadCode

MAX_ITEMS = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CAN_CODE = re.compile(r"[0-9A-Za-z]{4,32}")


@dataclass(frozen=True)
class RawMilkPush:
    lot: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class BatchPush:
    lot: str
    gtin: str
    fields: dict[str, Any]
    product: dict[str, str]
    raw_milk: tuple[RawMilkPush, ...] = ()


@dataclass(frozen=True)
class InspectionPush:
    key: str
    lot: str
    fields: dict[str, Any] = field(default_factory=dict)


def items(body: Any, name: str) -> list[Any]:
    """``{"<name>": [...]}`` or a single object; at most ``MAX_ITEMS``."""
    if isinstance(body, Mapping) and name in body:
        found = body[name]
        if not isinstance(found, list):
            raise ValidationError(name, "must be an array")
    elif isinstance(body, Mapping):
        found = [body]
    else:
        raise ValidationError("body", "must be a JSON object")
    if not found:
        raise ValidationError(name, "must not be empty")
    if len(found) > MAX_ITEMS:
        raise ValidationError(name, f"at most {MAX_ITEMS} items per request")
    return found


def text(obj: Mapping[str, Any], key: str, where: str, limit: int = 128, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise ValidationError(f"{where}.{key}", "missing")
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{where}.{key}", "must be a string")
    value = unicodedata.normalize("NFC", value).strip()
    if _CONTROL.search(value):
        raise ValidationError(f"{where}.{key}", "must not contain control characters")
    if len(value) > limit or (required and not value):
        raise ValidationError(f"{where}.{key}", f"must be 1..{limit} characters")
    return value


def moment(obj: Mapping[str, Any], key: str, where: str) -> datetime | None:
    value = obj.get(key)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) and len(value) <= 40 else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ValidationError(f"{where}.{key}", "must be an ISO 8601 date-time with a UTC offset")
    try:
        parsed.astimezone(UTC)  # 9999-12-31T23:59-14:00 has no UTC equivalent and cannot be stored
    except OverflowError as err:
        raise ValidationError(f"{where}.{key}", "date-time out of range") from err
    return parsed


def day(obj: Mapping[str, Any], key: str, where: str) -> date | None:
    value = obj.get(key)
    if value is None:
        return None
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else _bad_date(where, key)
    except ValueError:
        return _bad_date(where, key)


def _bad_date(where: str, key: str) -> date:
    raise ValidationError(f"{where}.{key}", "must be a date YYYY-MM-DD")


def number(obj: Mapping[str, Any], key: str, where: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(f"{where}.{key}", "must be a number")
    return float(value)


def lot_of(obj: Mapping[str, Any], where: str) -> str:
    value = text(obj, "lot", where, 20, required=True)
    try:
        return valid_lot(value or "", f"{where}.lot")
    except BadCode as err:
        raise ValidationError(err.field, err.problem) from err


def parse_batches(body: Any) -> list[BatchPush]:
    """``{"batches": [{gtin, lot, product_name, stage, production_date, ..., raw_milk: {...}}]}``."""
    result = []
    for i, item in enumerate(items(body, "batches")):
        where = f"batches[{i}]"
        if not isinstance(item, Mapping):
            raise ValidationError(where, "must be an object")
        lot = lot_of(item, where)
        try:
            gtin = gtin14(item.get("gtin"), f"{where}.gtin")  # type: ignore[arg-type]
        except BadCode as err:
            raise ValidationError(err.field, err.problem) from err
        can_code = text(item, "can_code", where, 32)
        if can_code is not None and not _CAN_CODE.fullmatch(can_code):
            raise ValidationError(f"{where}.can_code", "must be 4..32 letters or digits")
        fields = {
            "production_date": day(item, "production_date", where), "expiry_date": day(item, "expiry_date", where),
            "plant": text(item, "plant", where), "line": text(item, "line", where, 64),
            "can_code": can_code.upper() if can_code else None,
            "processing_start": moment(item, "processing_start", where),
        }
        product = {k: v for k, v in (("name", text(item, "product_name", where)), ("stage", text(item, "stage", where, 32))) if v}
        raw = item.get("raw_milk", [])
        raw_items = [raw] if isinstance(raw, Mapping) else raw
        if not isinstance(raw_items, list):
            raise ValidationError(f"{where}.raw_milk", "must be an object or an array")
        raws = tuple(parse_raw(r, f"{where}.raw_milk[{j}]") for j, r in enumerate(raw_items))
        result.append(BatchPush(lot=lot, gtin=gtin, fields=fields, product=product, raw_milk=raws))
    return result


def parse_raw(item: Any, where: str) -> RawMilkPush:
    if not isinstance(item, Mapping):
        raise ValidationError(where, "must be an object")
    fields: dict[str, Any] = {"farm": text(item, "farm", where), "tank": text(item, "tank", where, 64),
                              "truck": text(item, "truck", where, 64), "plant": text(item, "plant", where),
                              "cooling_temp_c": number(item, "cooling_temp_c", where)}
    for key in ("milking_start", "milking_end", "cooled_at", "departed_at", "arrived_at", "processing_start"):
        fields[key] = moment(item, key, where)
    return RawMilkPush(lot=lot_of(item, where), fields=fields)


def parse_inspections(body: Any) -> list[InspectionPush]:
    """``{"inspections": [{id?, lot, item, value, unit, limit, result: pass|fail, lab, at}]}``."""
    result = []
    for i, item in enumerate(items(body, "inspections")):
        where = f"inspections[{i}]"
        if not isinstance(item, Mapping):
            raise ValidationError(where, "must be an object")
        lot = lot_of(item, where)
        if item.get("result") not in ("pass", "fail"):
            raise ValidationError(f"{where}.result", "must be pass or fail")
        fields: dict[str, Any] = {"item": text(item, "item", where, required=True), "result": item["result"],
                                  "unit": text(item, "unit", where, 32) or "", "lab": text(item, "lab", where) or "",
                                  "at": moment(item, "at", where)}
        for key, column in (("value", "value"), ("limit", "limit_value")):
            raw = item.get(key)
            if isinstance(raw, int | float) and not isinstance(raw, bool):
                fields[column] = format(number(item, key, where), "g")
            else:
                fields[column] = text(item, key, where, 64) or ""
        ident = text(item, "id", where, 96)
        digest_source = ident or repr(sorted((k, str(v)) for k, v in fields.items())) + lot
        key = "push:" + hashlib.sha256(digest_source.encode()).hexdigest()
        result.append(InspectionPush(key=key, lot=lot, fields=fields))
    return result
