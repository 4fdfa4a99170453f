"""OpenAPI fragment for the compliance guard's JSON routes (added to the document in ``setup``)."""

from __future__ import annotations

from typing import Any

from livebot.compliance.api import CATEGORIES
from livebot.compliance.engine import SEVERITIES
from livebot.web.openapi import error_responses, id_schema, text_schema

OBJ: dict[str, Any] = {"type": "object"}
FINDING = {"type": "object", "properties": {
    "rule": {"type": "string"}, "severity": {"type": "string", "enum": list(SEVERITIES)}, "category": {"type": "string"},
    "span": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2}, "excerpt": {"type": "string"},
    "explanation": {"type": "string"}, "rewording": {"type": "string"}}}
RESULT = {"type": "object", "properties": {"verdict": {"type": "string", "enum": ["ok", "warn", "block"]},
                                           "findings": {"type": "array", "items": FINDING}}}
REFUSED = r"\x00-\x08\x0b-\x1f"
"""Control characters a brand rule's texts refuse (tab and newline are kept)."""
TERM = {"type": "string", "maxLength": 40, "pattern": r"^(?:[^\p{C}\p{Z}]| )*[^\p{C}\p{Z}](?:[^\p{C}\p{Z}]| )*$",
        "description": "1–40 printable characters"}
BRAND_RULE_BODY = {"type": "object", "required": ["category", "severity", "terms", "explanation"], "properties": {
    "rule_id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{1,60}$"}, "category": {"type": "string", "enum": list(CATEGORIES)},
    "severity": {"type": "string", "enum": list(SEVERITIES)}, "active": {"type": "boolean"},
    "terms": {"type": "array", "items": TERM, "minItems": 1, "maxItems": 50}, "exceptions": {"type": "array", "items": TERM, "maxItems": 50},
    "explanation": text_schema(500, required=True, refuse=REFUSED), "rewording": text_schema(500, refuse=REFUSED)}}
NEW_RULE_BODY = {**BRAND_RULE_BODY, "required": ["rule_id", *BRAND_RULE_BODY["required"]]}
TAG = ["compliance"]


def ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def path_param(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


PATHS: dict[str, Any] = {
    "/api/v1/compliance/check": {"post": {
        "summary": "Verdict and findings for a text (not logged)", "tags": TAG,
        "requestBody": body({"type": "object", "required": ["text"], "properties": {"text": text_schema(20000, required=True, refuse=REFUSED)}}),
        "responses": {"200": ok("The verdict", RESULT), **error_responses(400, 401, 403)}}},
    "/api/v1/sessions/{session_id}/compliance": {"get": {
        "summary": "The session's compliance log (blocked, warned, held, approved, overridden, by whom)", "tags": TAG,
        "parameters": [path_param("session_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1})],
        "responses": {"200": ok("The log", {"type": "object", "properties": {"events": {"type": "array", "items": OBJ}}}),
                      **error_responses(400, 401, 403, 404)}}},
    "/api/v1/compliance/approvals": {"get": {
        "summary": "Warned answers waiting for (or decided by) a senior advisor", "tags": TAG,
        "parameters": [{"name": "status", "in": "query", "schema": {"type": "string", "enum": ["pending", "approved", "rejected", "all"]}}],
        "responses": {"200": ok("Approvals", {"type": "object", "properties": {"approvals": {"type": "array", "items": OBJ}}}),
                      **error_responses(400, 401, 403)}}},
    "/api/v1/compliance/approvals/{approval_id}/{decision}": {"post": {
        "summary": "A senior advisor approves or rejects a warned answer (with a reason)", "tags": TAG,
        "parameters": [path_param("approval_id", id_schema()),
                       path_param("decision", {"type": "string", "enum": ["approve", "reject"]})],
        "requestBody": body({"type": "object", "required": ["reason"], "properties": {"reason": text_schema(500, required=True, refuse=REFUSED)}}),
        "responses": {"200": ok("The decided approval", {"type": "object", "properties": {"approval": OBJ}}),
                      **error_responses(400, 401, 403, 404, 409)}}},
    "/api/v1/compliance/brand-rules": {
        "get": {"summary": "The brand's own rules (admins)", "tags": TAG,
                "responses": {"200": ok("Rules", {"type": "object", "properties": {"rules": {"type": "array", "items": OBJ},
                                                                                  "file_version": {"type": "string"}}}),
                              **error_responses(401, 403)}},
        "post": {"summary": "Add a brand rule (admins)", "tags": TAG, "requestBody": body(NEW_RULE_BODY),
                 "responses": {"201": ok("The rule", {"type": "object", "properties": {"rule": OBJ}}),
                               **error_responses(400, 401, 403, 409)}}},
    "/api/v1/compliance/brand-rules/{rule_id}": {"put": {
        "summary": "Change a brand rule (admins; every version is kept)", "tags": TAG,
        "parameters": [path_param("rule_id", {"type": "string"})], "requestBody": body(BRAND_RULE_BODY),
        "responses": {"200": ok("The rule", {"type": "object", "properties": {"rule": OBJ}}), **error_responses(400, 401, 403, 404)}}},
    "/api/v1/compliance/brand-rules/{rule_id}/history": {"get": {
        "summary": "Every version of a brand rule (admins)", "tags": TAG, "parameters": [path_param("rule_id", {"type": "string"})],
        "responses": {"200": ok("History", {"type": "object", "properties": {"history": {"type": "array", "items": OBJ}}}),
                      **error_responses(401, 403, 404)}}},
}
