"""OpenAPI fragment for the console's JSON routes (added to the document in ``setup``)."""

from __future__ import annotations

from typing import Any

from livebot.web.openapi import PRINTABLE, error_responses, id_param, text_schema

CARD_REF = {"$ref": "#/components/schemas/QuestionCard"}
CARD_ANSWER = {"description": "The card after the change", "content": {"application/json": {"schema": {
    "type": "object", "properties": {"card": CARD_REF, "seq": {"type": "integer"}}}}}}


def card_id_param() -> list[dict[str, Any]]:
    return [id_param("card_id", minimum=0)]


def session_id_param() -> list[dict[str, Any]]:
    return [{**id_param("session_id", minimum=0), "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}}]


def card_action(summary: str, body: dict[str, Any] | None = None, errors: tuple[int, ...] = (400, 401, 403, 404, 409)) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary, "tags": ["console"], "parameters": card_id_param(),
        "responses": {"200": CARD_ANSWER, **error_responses(*errors)},
    }
    if body is not None:
        operation["requestBody"] = {"required": False, "content": {"application/json": {"schema": body}}}
    return {"post": operation}


SCHEMAS: dict[str, Any] = {
    "QuestionCard": {
        "type": "object",
        "description": "One question (possibly asked by many viewers) as consoles show it.",
        "properties": {
            "id": {"type": "integer"}, "session_id": {"type": "integer"}, "version": {"type": "integer"},
            "status": {"type": "string", "enum": ["open", "claimed", "answered", "dismissed", "escalated"]},
            "group_key": {"type": "string"}, "group_reason": {"type": "string"}, "text": {"type": "string"},
            "faq_id": {"type": ["string", "null"]},
            "suggestions": {"type": "array", "maxItems": 3, "items": {"type": "object", "properties": {
                "id": {"type": "string"}, "score": {"type": "number"}, "question": {"type": "string"},
                "answer": {"type": "string"}, "needs_human": {"type": "boolean"}}}},
            "needs_human": {"type": "boolean"}, "complaint": {"type": "boolean"}, "escalated": {"type": "boolean"},
            "ask_count": {"type": "integer"}, "askers": {"type": "array", "items": {"type": "object"}},
            "platforms": {"type": "array", "items": {"type": "string"}}, "sites": {"type": "array", "items": {"type": "string"}},
            "claimed_by": {"type": ["string", "null"]}, "claimed_by_name": {"type": "string"},
            "answered_by": {"type": ["string", "null"]}, "answer_text": {"type": ["string", "null"]},
            "answer_mode": {"type": "string", "enum": ["", "sent", "on_air", "mixed"]},
            "reply_status": {"type": "string", "enum": ["", "on_air", "pending", "retrying", "sent", "failed"]},
            "reply_error": {"type": "string"}, "featured": {"type": "boolean"},
        },
    },
}

PATHS: dict[str, Any] = {
    "/api/v1/console/sessions/{session_id}/queue": {"get": {
        "summary": "A session's question queue snapshot (active cards and recently closed ones)", "tags": ["console"],
        "parameters": session_id_param(),
        "responses": {"200": {"description": "Snapshot", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"seq": {"type": "integer"}, "cards": {"type": "array", "items": CARD_REF}}}}}},
            **error_responses(400, 401, 403)},
    }},
    "/api/v1/console/cards/{card_id}/claim": card_action("Claim a card (409 names whoever holds it)"),
    "/api/v1/console/cards/{card_id}/release": card_action("Give a claim back (holder, or an admin)"),
    "/api/v1/console/cards/{card_id}/answer": card_action(
        "Answer every asker of a card: replies go out where the source takes them, else on air",
        {"type": "object", "required": ["text"], "properties": {
            "text": text_schema(2000, required=True), "suggestion": {"type": "integer", "minimum": 1, "maximum": 3},
            "faq_id": {"type": "string", "maxLength": 100, "pattern": PRINTABLE}}},
    ),
    "/api/v1/console/cards/{card_id}/dismiss": card_action("Take chatter out of the queue (teaches the FAQ stage)"),
    "/api/v1/console/cards/{card_id}/escalate": card_action(
        "Hand a card to the senior advisors", {"type": "object", "properties": {"note": {"type": "string", "maxLength": 200}}}),
    "/api/v1/console/cards/{card_id}/feature": card_action(
        "Put the question and its answer on the featured Q&A overlay",
        {"type": "object", "properties": {"answer": {"type": "string", "maxLength": 2000}}}),
    "/api/v1/console/cards/{card_id}/retry": card_action("Send a card's failed replies again"),
    "/api/v1/console/cards/{card_id}/audit": {"get": {
        "summary": "Audit trail, asks with first-response times, and reply attempts of a card", "tags": ["console"],
        "parameters": card_id_param(),
        "responses": {"200": {"description": "Audit", "content": {"application/json": {"schema": {"type": "object"}}}},
                      **error_responses(400, 401, 403, 404)},
    }},
    "/api/v1/sessions/{session_id}/featured": {"get": {
        "summary": "The card on the featured Q&A overlay, if any", "tags": ["console"], "parameters": session_id_param(),
        "responses": {"200": {"description": "Featured card or null", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"card": {"oneOf": [CARD_REF, {"type": "null"}]}}}}}},
            **error_responses(400, 401, 403)},
    }},
    "/api/v1/sessions/{session_id}/featured/clear": {"post": {
        "summary": "Take the featured Q&A off screen (producer or advisor)", "tags": ["console"],
        "parameters": session_id_param(),
        "responses": {"200": {"description": "Cleared card ids", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"cleared": {"type": "array", "items": {"type": "integer"}}}}}}},
            **error_responses(400, 401, 403)},
    }},
}
