"""OpenAPI schemas of the trace pushes and the event query, written from the parsers' own rules (pushes, telemetry, query)."""

from __future__ import annotations

from typing import Any

from livebot.trace.cbv import BIZ_STEPS
from livebot.trace.chainpush import SECTIONS
from livebot.trace.epcis import EVENT_TYPES
from livebot.trace.pushes import MAX_ITEMS
from livebot.trace.query import PER_PAGE_MAX
from livebot.trace.telemetry import MAX_READINGS
from livebot.web.openapi import text_schema

CONTROL = r"\x00-\x1f\x7f-\x9f"
LOT_CHARS = r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}"
LOT = {"type": "string", "pattern": rf"^\s*{LOT_CHARS}\s*$", "description": "a GS1 lot: 1..20 characters of set 82"}
GTIN = {"type": "string", "pattern": r"^(?:\d{8}|\d{12,14})$", "description": "GTIN-8/12/13/14 with a correct check digit"}
DAY = {"type": ["string", "null"], "format": "date", "maxLength": 10}
MOMENT = {"type": ["string", "null"], "format": "date-time", "maxLength": 40, "description": "ISO 8601 with a UTC offset"}
NUMBER = {"type": ["number", "null"]}


def text(limit: int = 128, required: bool = False) -> dict[str, Any]:
    """pushes.text: trimmed, no control characters, within ``limit``; null when not required."""
    return text_schema(limit, required=required, refuse=CONTROL, nullable=not required)


def one_or_many(name: str, item: dict[str, Any], most: int) -> dict[str, Any]:
    """``{name: [item, ...]}``, or a single item at the top level (pushes.items)."""
    return {"type": "object", "anyOf": [
        {"required": [name], "properties": {name: {"type": "array", "items": item, "minItems": 1, "maxItems": most}}},
        {"allOf": [item, {"not": {"required": [name]}}]}]}


RAW_MILK = {"type": "object", "required": ["lot"], "properties": {
    "lot": LOT, "farm": text(), "tank": text(64), "truck": text(64), "plant": text(), "cooling_temp_c": NUMBER,
    **{key: MOMENT for key in ("milking_start", "milking_end", "cooled_at", "departed_at", "arrived_at", "processing_start")}}}
BATCH = {"type": "object", "required": ["lot", "gtin"], "properties": {
    "lot": LOT, "gtin": GTIN, "can_code": {"type": ["string", "null"], "pattern": r"^\s*[0-9A-Za-z]{4,32}\s*$"},
    "production_date": DAY, "expiry_date": DAY, "plant": text(), "line": text(64), "processing_start": MOMENT,
    "product_name": text(), "stage": text(32),
    "raw_milk": {"anyOf": [RAW_MILK, {"type": "array", "items": RAW_MILK}]}}}
INSPECTION = {"type": "object", "required": ["lot", "item", "result"], "properties": {
    "id": text(96), "lot": LOT, "item": text(required=True), "result": {"enum": ["pass", "fail"]},
    "value": {"anyOf": [{"type": "number"}, text(64)]}, "limit": {"anyOf": [{"type": "number"}, text(64)]},
    "unit": text(32), "lab": text(), "at": MOMENT}}
READING = {"type": "object", "required": ["metric", "value"], "properties": {
    "metric": {"type": "string", "pattern": "^[a-z][a-z0-9_.-]{0,63}$"},
    "value": {"anyOf": [{"type": "number"}, text_schema(64, required=True, refuse=CONTROL)]},
    "unit": text(16), "at": {**MOMENT, "description": "ISO 8601 with a UTC offset, at most 5 minutes ahead"},
    "interval_s": {"type": "integer", "minimum": 1, "maximum": 86400}}}
BATCHES_BODY = one_or_many("batches", BATCH, MAX_ITEMS)
INSPECTIONS_BODY = one_or_many("inspections", INSPECTION, MAX_ITEMS)
_SECTION = {"type": "array", "maxItems": MAX_ITEMS, "items": {"type": "object"}}
CHAIN_BODY = {"type": "object", "additionalProperties": False, "properties": {name: _SECTION for name in SECTIONS},
              "anyOf": [{"required": [name], "properties": {name: {"minItems": 1}}} for name in SECTIONS],
              "description": f"at least one item in all; at most {MAX_ITEMS} items per request; each item's fields as "
                             "docs/trace-mapping.md lists them (a field's own rules answer 400 naming it, e.g. packing[2].at)"}
TELEMETRY_BODY = {"type": "object", "required": ["plant"],
                  "properties": {"plant": text_schema(64, required=True, refuse=CONTROL), "line": text(64)},
                  "anyOf": [{"required": ["readings"], "properties": {
                      "readings": {"type": "array", "items": READING, "minItems": 1, "maxItems": MAX_READINGS}}},
                      {"allOf": [READING, {"not": {"required": ["readings"]}}]}]}

_STEPS = "|".join(sorted(BIZ_STEPS))
BIZ_STEP = {"anyOf": [
    {"enum": sorted(BIZ_STEPS)},
    {"type": "string", "pattern": rf"^(?:urn:epcglobal:cbv:bizstep:|https?://ref\.gs1\.org/cbv/BizStep-|cbv:BizStep-)(?:{_STEPS})$"},
    {"type": "string", "maxLength": 255,
     "pattern": r"^(?![Uu][Rr][Nn]:[Ee][Pp][Cc][Gg][Ll][Oo][Bb][Aa][Ll]:|https?://ref\.gs1\.org/|https://gs1\.org/|[Cc][Bb][Vv]:|gs1:)[^:]+:"}],
    "description": "a CBV business step (short name, URN or GS1 Web URI), or a user-vocabulary URI"}
EVENT_QUERY = [
    {"name": "lot", "in": "query", "required": False, "schema": {"type": "string", "pattern": f"^{LOT_CHARS}$"},
     "description": "events naming this lot (object, input, output, parent or child)"},
    {"name": "eventType", "in": "query", "required": False, "style": "form", "explode": True,
     "schema": {"type": "array", "items": {"type": "string", "enum": sorted(EVENT_TYPES)}}},
    {"name": "GE_eventTime", "in": "query", "required": False, "schema": {"type": "string", "format": "date-time", "maxLength": 40}},
    {"name": "LT_eventTime", "in": "query", "required": False, "schema": {"type": "string", "format": "date-time", "maxLength": 40}},
    {"name": "EQ_bizStep", "in": "query", "required": False, "schema": BIZ_STEP},
    {"name": "perPage", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": PER_PAGE_MAX}},
    {"name": "nextPageToken", "in": "query", "required": False, "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"}},
]
LOOKUP_CODE = {"type": "string", "maxLength": 2048, "pattern": r"\S"}
