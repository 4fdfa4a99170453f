"""OpenAPI 3.1 description of the engagement API (merged into /api/v1/openapi.json by setup)."""

from __future__ import annotations

from typing import Any

from livebot.engagement.corrections import LABELS
from livebot.engagement.exports import CSV_TABLES, FORMATS
from livebot.platforms import PLATFORM_LABELS as PLATFORM_NAMES
from livebot.web.openapi import FLAG_SCHEMA, error_responses

P = "/api/v1/engagement"
TAG = ["engagement"]
SESSION = {"name": "session_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
DAY = {"anyOf": [{"type": "string", "format": "date", "maxLength": 10}, {"type": "string", "pattern": "^\\s*$"}],
       "description": "YYYY-MM-DD (Beijing time), or empty for no bound"}
ID = r"0*[1-9]\d{0,17}"
FRESH = {"name": "fresh", "in": "query", "required": False, "schema": FLAG_SCHEMA,
         "description": "Build from the minute rows now instead of the report stored when the session ended"}
OBJ = {"type": "object"}
NUM = {"type": ["number", "null"]}


def ok(description: str, schema: dict[str, Any] | None = None, media: str = "application/json") -> dict[str, Any]:
    out: dict[str, Any] = {"description": description}
    if schema is not None:
        out["content"] = {media: {"schema": schema}}
    return out


def op(summary: str, response: dict[str, Any], params: list[dict[str, Any]], errors: tuple[int, ...] = (400, 401, 403, 404),
       body: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"summary": summary, "tags": TAG, "parameters": params,
                           "responses": {"200": response, **error_responses(*errors)}}
    if body is not None:
        out["requestBody"] = {"required": False, "content": {"application/json": {"schema": body}}}
    return out


SCHEMAS: dict[str, Any] = {
    "EngagementReport": {"type": "object", "description": "A session report; figure names are defined in the report page's help",
                         "properties": {
                             "version": {"type": "integer"}, "generated_at": {"type": "string", "format": "date-time"},
                             "session": OBJ, "summary": OBJ, "minutes": {"type": "array", "items": OBJ},
                             "detail": {"type": "array", "items": OBJ}, "platforms": {"type": "array", "items": OBJ},
                             "segments": {"type": "array", "items": OBJ}, "sites": {"type": "array", "items": OBJ},
                             "bands": {"type": "array", "items": OBJ}, "switches": {"type": "array", "items": OBJ},
                             "topics": OBJ, "viewers_by_platform": OBJ}},
    "SentimentCorrectionInput": {"type": "object", "required": ["message_id", "label"], "properties": {
        "message_id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
        "label": {"type": "string", "enum": list(LABELS)}}},
    "SentimentCorrection": {"type": "object", "required": ["message_id", "session_id", "text", "model_label", "label",
                                                           "corrected_by", "corrected_at"], "properties": {
        "message_id": {"type": "integer"}, "session_id": {"type": "integer"}, "text": {"type": "string"},
        "model_label": {"type": "string", "description": "What the model said (empty if the message was never labelled)"},
        "label": {"type": "string", "enum": list(LABELS)}, "corrected_by": {"type": "string"},
        "corrected_at": {"type": "string", "format": "date-time"}}},
    "EngagementLive": {"type": "object", "properties": {
        "session_id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
        "viewers": {"type": ["integer", "null"]}, "comments_per_min": {"type": "integer"},
        "sentiment": {"type": "object", "properties": {"positive": {"type": "number"}, "neutral": {"type": "number"},
                                                       "negative": {"type": "number"}, "mean": NUM}},
        "comments": {"type": "integer"}, "questions": {"type": "integer"}, "answered": {"type": "integer"}}},
}

PATHS: dict[str, Any] = {
    f"{P}/sessions/{{session_id}}/report": {
        "get": op("A session's report (stored when it ended, else built now)",
                  ok("Report", {"$ref": "#/components/schemas/EngagementReport"}), [SESSION, FRESH]),
        "post": op("Rebuild the figures from stored events and store the report now",
                   ok("Stored", {"type": "object", "properties": {
                       "session_id": {"type": "integer"}, "generated_at": {"type": "string"},
                       "robot_failures": {"type": "array", "items": {"type": "string"}}}}),
                   [SESSION], body={"type": "object", "properties": {"send": {"type": "boolean"}}}),
    },
    f"{P}/sessions/{{session_id}}/live": {
        "get": op("Headline figures right now (also published on the bus topic engagement.{session_id})",
                  ok("Live figures", {"$ref": "#/components/schemas/EngagementLive"}), [SESSION]),
    },
    f"{P}/sessions/{{session_id}}/minutes": {
        "get": op("Stored per-minute rows: minute (UTC) × platform × on-air site × segment",
                  ok("Rows", {"type": "object", "properties": {"session_id": {"type": "integer"},
                                                                "minutes": {"type": "array", "items": OBJ}}}), [SESSION]),
    },
    f"{P}/sessions/{{session_id}}/export": {
        "get": op("Download the report as an Excel workbook, CSV (UTF-8 with BOM), JSON or a standalone HTML file",
                  {"description": "The file", "content": {
                      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "format": "binary"}},
                      "text/csv": {"schema": {"type": "string"}}, "application/json": {"schema": OBJ},
                      "text/html": {"schema": {"type": "string"}}}},
                  [SESSION, FRESH,
                   {"name": "format", "in": "query", "required": False, "schema": {"type": "string", "enum": list(FORMATS), "default": "xlsx"}},
                   {"name": "table", "in": "query", "required": False,
                    "description": "CSV only: which table (minutes = per minute × platform × site × segment)",
                    "schema": {"type": "string", "enum": list(CSV_TABLES), "default": "minutes"}}]),
    },
    f"{P}/sessions/{{session_id}}/rebuild": {
        "post": op("Recompute every minute row of the session from its stored events",
                   ok("Rebuilt", {"type": "object", "properties": {
                       "session_id": {"type": "integer"}, "events": {"type": "integer"}, "rows": {"type": "integer"},
                       "minutes": {"type": "integer"}}}), [SESSION]),
    },
    f"{P}/sessions/{{session_id}}/platform-totals": {
        "post": {
            **op("Import a platform's own figures for the session from its exported CSV or xlsx file (replaces that platform's)",
                 ok("Imported", {"type": "object", "properties": {
                     "session_id": {"type": "integer"}, "platform": {"type": "string"}, "rows": {"type": "integer"},
                     "figures": {"type": "object", "additionalProperties": {"type": "integer"}}}}),
                 [SESSION, {"name": "platform", "in": "query", "required": True, "schema": {"type": "string", "enum": list(PLATFORM_NAMES)}},
                  {"name": "filename", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 255}}],
                 (400, 401, 403, 404, 413)),
            "requestBody": {"required": True, "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "format": "binary"}}}},
        },
    },
    f"{P}/sessions/{{session_id}}/sentiment/corrections": {
        "get": op("The session's sentiment corrections (one per message, the latest wins)",
                  ok("Corrections", {"type": "object", "required": ["session_id", "corrections"], "properties": {
                      "session_id": {"type": "integer"},
                      "corrections": {"type": "array", "items": {"$ref": "#/components/schemas/SentimentCorrection"}}}}),
                  [SESSION]),
        "post": {**op("Correct the sentiment label of one of the session's comments (replaces an earlier correction)",
                      ok("Stored", {"$ref": "#/components/schemas/SentimentCorrection"}), [SESSION]),
                 "requestBody": {"required": True, "content": {"application/json": {
                     "schema": {"$ref": "#/components/schemas/SentimentCorrectionInput"}}}}},
    },
    f"{P}/sessions/{{session_id}}/sentiment/corrections.jsonl": {
        "get": op("The corrections as JSON lines {text, label}: training input of python -m livebot.sentiment.learned",
                  ok("JSON lines", {"type": "string"}, "application/x-ndjson"), [SESSION]),
    },
    f"{P}/season": {
        "get": op("Sessions' headline figures and per-theme averages (which theme works best)",
                  ok("Season", {"type": "object", "properties": {
                      "sessions": {"type": "array", "items": OBJ}, "themes": {"type": "array", "items": OBJ},
                      "best": OBJ, "metrics": OBJ}}),
                  [{"name": "theme", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 64}},
                   {"name": "since", "in": "query", "required": False, "schema": DAY},
                   {"name": "until", "in": "query", "required": False, "schema": DAY},
                   {"name": "ids", "in": "query", "required": False, "description": "Comma-separated session ids (at most 50)",
                    "schema": {"type": "string", "pattern": rf"^\s*(?:{ID}\s*)?(?:,\s*(?:{ID}\s*)?)*$"}}]),
    },
}
