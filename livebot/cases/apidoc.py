"""OpenAPI fragment for the cases JSON routes (added to the document in ``setup``)."""

from __future__ import annotations

from typing import Any

from livebot.cases.categories import BY_KEY, STATUS_LABELS
from livebot.web.openapi import FLAG_SCHEMA, error_responses, id_param, text_schema

CASE_DETAIL = {"$ref": "#/components/schemas/FollowupCaseDetail"}
DETAIL_ANSWER = {"description": "The case with its history", "content": {"application/json": {"schema": CASE_DETAIL}}}
CASE_ID = [id_param("case_id")]


def body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required}
    return {"required": bool(required), "content": {"application/json": {"schema": schema}}}


def action(summary: str, request: dict[str, Any]) -> dict[str, Any]:
    return {"post": {"summary": summary, "tags": ["cases"], "parameters": CASE_ID, "requestBody": request,
                     "responses": {"200": DETAIL_ANSWER, **error_responses(400, 401, 403, 404, 409)}}}


SCHEMAS: dict[str, Any] = {
    "FollowupCase": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"}, "session_id": {"type": ["integer", "null"]}, "card_id": {"type": ["integer", "null"]},
            "category": {"type": "string", "enum": list(BY_KEY)}, "category_label": {"type": "string"},
            "status": {"type": "string", "enum": list(STATUS_LABELS)}, "status_label": {"type": "string"},
            "title": {"type": "string"}, "lot": {"type": ["string", "null"]}, "can_code": {"type": ["string", "null"]},
            "owner": {"type": ["string", "null"]}, "owner_name": {"type": "string"}, "due_at": {"type": "string"},
            "overdue": {"type": "boolean"}, "version": {"type": "integer"},
        },
    },
    "FollowupCaseDetail": {
        "type": "object",
        "properties": {
            "case": {"$ref": "#/components/schemas/FollowupCase"},
            "history": {"type": "array", "items": {"type": "object"}},
            "next": {"type": "array", "items": {"type": "string"}},
            "batch": {"type": ["object", "null"]},
            "same_lot_cases": {"type": "integer"},
            "conversation": {"type": "object", "properties": {
                "can_send": {"type": "boolean"}, "window_ends": {"type": ["string", "null"]}, "reason": {"type": "string"}}},
        },
    },
}

PATHS: dict[str, Any] = {
    "/api/v1/cases": {
        "get": {"summary": "List follow-up cases", "tags": ["cases"],
                "parameters": [{"name": "status", "in": "query", "schema": {"type": "string", "enum": list(STATUS_LABELS)}},
                               {"name": "lot", "in": "query", "schema": {"type": "string", "maxLength": 64}},
                               {"name": "overdue", "in": "query", "schema": FLAG_SCHEMA}],
                "responses": {"200": {"description": "Cases, soonest due first", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"cases": {"type": "array", "items": {"$ref": "#/components/schemas/FollowupCase"}}}}}}},
                    **error_responses(400, 401, 403)}},
        "post": {"summary": "Open a follow-up case from a question card (the card's existing case when it has one)",
                 "tags": ["cases"],
                 "requestBody": body({"card_id": {"type": "integer", "minimum": 1},
                                      "category": {"type": "string", "enum": list(BY_KEY)},
                                      "lot": text_schema(64, nullable=True),
                                      "can_code": text_schema(128, nullable=True)}, ["card_id"]),
                 "responses": {"201": DETAIL_ANSWER, "200": DETAIL_ANSWER, **error_responses(400, 401, 403, 404)}},
    },
    "/api/v1/cases/alerts": {
        "get": {"summary": "Lots named by several adverse-reaction cases", "tags": ["cases"],
                "responses": {"200": {"description": "Alerts", "content": {"application/json": {"schema": {"type": "object"}}}},
                              **error_responses(401, 403)}},
    },
    "/api/v1/cases/{case_id}": {
        "get": {"summary": "One case with its history and its batch's trace facts", "tags": ["cases"], "parameters": CASE_ID,
                "responses": {"200": DETAIL_ANSWER, **error_responses(400, 401, 403, 404)}},
    },
    "/api/v1/cases/{case_id}/status": action("Move a case (open → contacted → resolved / escalated)", body(
        {"status": {"type": "string", "enum": list(STATUS_LABELS)}, "note": text_schema(2000, nullable=True),
         "version": {"type": "integer", "minimum": 1}}, ["status"])),
    "/api/v1/cases/{case_id}/notes": action("Add a note", body({"note": text_schema(2000, required=True)}, ["note"])),
    "/api/v1/cases/{case_id}/batch": action("Record the batch the parent named (lot, can code or Digital Link)", body(
        {"code": text_schema(128, required=True)}, ["code"])),
    "/api/v1/cases/{case_id}/messages": action("Write to the case's viewer on 微信客服 (409 outside the 48-hour window)", body(
        {"text": text_schema(600, required=True)}, ["text"])),
    "/api/v1/cases/{case_id}/assign": action("Take a case, or hand it to another advisor", body(
        {"owner": text_schema(64, nullable=True), "owner_name": text_schema(128, nullable=True)}, [])),
}
