"""JSON API for editing the knowledge base and reviewing proposed phrasings (role advisor).

Errors travel as ``{"error", "field"}`` (400 naming the field, 404, 409 for a stale version or
a taken id); every successful change publishes ``faq.changed`` so all instances rebuild.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from livebot.appkeys import BUS, CONFIG, DATABASE
from livebot.auth.access import roles
from livebot.auth.identity import identity_of
from livebot.errors import PayloadTooLarge, ValidationError
from livebot.faq import learning, store
from livebot.faq.editing import MAX_ALIAS, MAX_ALIASES, MAX_ANSWER, MAX_QUESTION, MAX_TAG, MAX_TAGS, entry_from_input, kb_answer_gate
from livebot.faq.placeholders import placeholder_warnings
from livebot.formcheck import query_flag
from livebot.web.errors import json_dumps
from livebot.web.openapi import FLAG_SCHEMA, error_responses, text_schema

routes = web.RouteTableDef()

PROPOSAL_STATUSES = ("pending", "approved", "rejected", "all")


def who(request: web.Request) -> str:
    """The name recorded in versions: the user name, or the token's name."""
    identity = identity_of(request)
    return identity.name if identity else ""


def reply(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=json_dumps)


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 naming ``body``."""
    try:
        body = await request.json(loads=json.loads)
    except web.HTTPRequestEntityTooLarge as err:
        raise PayloadTooLarge(f"请求体过大（上限 {request.app[CONFIG].server.max_body_bytes} 字节）") from err
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:  # RecursionError: nested thousands deep
        raise ValidationError("body", "不是有效的 JSON") from err
    if not isinstance(body, dict):
        raise ValidationError("body", "应为 JSON 对象")
    return body


def version_of(value: Any, field: str = "version") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(field, "必填，应为正整数（编辑开始时条目的版本号）")
    return value


def proposal_id(request: web.Request) -> int:
    raw = request.match_info["proposal_id"]
    if not raw.isdigit() or len(raw) > 18:
        raise learning.ProposalNotFoundError(0)
    return int(raw)


# ───────────── entries ─────────────


@routes.get("/api/v1/faq/entries")
@roles("advisor")
async def list_entries(request: web.Request) -> web.Response:
    query = request.query.get("q", "")
    tag = request.query.get("tag", "")
    include_deleted = query_flag(request.query, "include_deleted")
    entries = await store.list_entries(request.app[DATABASE], query, tag=tag, include_deleted=include_deleted)
    return reply({"entries": [stored.to_json() for stored in entries], "count": len(entries)})


@routes.post("/api/v1/faq/entries")
@roles("advisor")
async def create_entry(request: web.Request) -> web.Response:
    entry = entry_from_input(await json_body(request))
    compliance = kb_answer_gate(request.app, entry.answer)
    stored = await store.create_entry(request.app[DATABASE], entry, who(request))
    await store.announce_change(request.app[BUS], [entry.id], "create", who(request))
    return reply({**stored.to_json(), "compliance": compliance.as_dict(), "warnings": placeholder_warnings(entry.answer)},
                 status=201)


@routes.get("/api/v1/faq/entries/{entry_id}")
@roles("advisor")
async def get_entry(request: web.Request) -> web.Response:
    stored = await store.get_entry(request.app[DATABASE], request.match_info["entry_id"])
    return reply(stored.to_json())


@routes.put("/api/v1/faq/entries/{entry_id}")
@roles("advisor")
async def update_entry(request: web.Request) -> web.Response:
    entry_id = request.match_info["entry_id"]
    body = await json_body(request)
    if "id" in body and body["id"] != entry_id:
        raise ValidationError("id", "编号创建后不能修改")
    version = version_of(body.get("version"))
    await store.get_entry(request.app[DATABASE], entry_id)  # 404 before field errors about a missing entry
    entry = entry_from_input(body, entry_id=entry_id)
    compliance = kb_answer_gate(request.app, entry.answer)
    stored = await store.update_entry(request.app[DATABASE], entry, who(request), version)
    await store.announce_change(request.app[BUS], [entry_id], "update", who(request))
    return reply({**stored.to_json(), "compliance": compliance.as_dict(), "warnings": placeholder_warnings(entry.answer)})


@routes.delete("/api/v1/faq/entries/{entry_id}")
@roles("advisor")
async def delete_entry(request: web.Request) -> web.Response:
    entry_id = request.match_info["entry_id"]
    raw = request.query.get("version")
    version = None
    if raw is not None:
        version = version_of(int(raw) if raw.isdigit() and len(raw) < 10 else None)
    stored = await store.delete_entry(request.app[DATABASE], entry_id, who(request), version)
    await store.announce_change(request.app[BUS], [entry_id], "delete", who(request))
    return reply(stored.to_json())


@routes.get("/api/v1/faq/entries/{entry_id}/history")
@roles("advisor")
async def entry_history(request: web.Request) -> web.Response:
    versions = await store.history(request.app[DATABASE], request.match_info["entry_id"])
    return reply({"entry_id": request.match_info["entry_id"], "versions": [v.to_json() for v in versions]})


# ───────────── proposals ─────────────


@routes.get("/api/v1/faq/proposals")
@roles("advisor")
async def list_proposals(request: web.Request) -> web.Response:
    status = request.query.get("status", "pending")
    if status not in PROPOSAL_STATUSES:
        raise ValidationError("status", f"应为 {' / '.join(PROPOSAL_STATUSES)} 之一")
    proposals = await learning.list_proposals(request.app[DATABASE], status)
    return reply({"proposals": [p.to_json() for p in proposals], "count": len(proposals)})


@routes.post("/api/v1/faq/proposals/{proposal_id}/approve")
@roles("advisor")
async def approve_proposal(request: web.Request) -> web.Response:
    proposal, stored = await learning.approve(request.app[DATABASE], proposal_id(request), who(request))
    await store.announce_change(request.app[BUS], [stored.id], "alias", who(request))
    return reply({"proposal": proposal.to_json(), "entry": stored.to_json()})


@routes.post("/api/v1/faq/proposals/{proposal_id}/reject")
@roles("advisor")
async def reject_proposal(request: web.Request) -> web.Response:
    proposal = await learning.reject(request.app[DATABASE], proposal_id(request), who(request))
    return reply({"proposal": proposal.to_json()})


# ───────────── OpenAPI ─────────────

FAQ_REFUSED = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
"""Control and direction characters an entry's texts refuse (tab and line breaks are the field's call)."""

SCHEMAS: dict[str, Any] = {
    "FaqEntryInput": {
        "type": "object",
        "required": ["id", "question", "answer"],
        "properties": {
            "id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$", "not": {"pattern": "^(?:[Nn][Ee][Ww]|[Rr][Ee][Vv][Ii][Ee][Ww])$"},
                   "description": "`new` and `review` are reserved (page paths)"},
            "question": text_schema(MAX_QUESTION, required=True, refuse=FAQ_REFUSED),
            "aliases": {"type": "array", "items": text_schema(MAX_ALIAS, refuse=FAQ_REFUSED), "maxItems": MAX_ALIASES},
            "answer": {**text_schema(MAX_ANSWER, required=True, refuse=FAQ_REFUSED),
                       "not": {"pattern": r"\{(?!(?:batch|session)\.)[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*\}"},
                       "description": "May use {batch.*} and {session.*} placeholders filled from live data; "
                                      "an answer the compliance guard blocks is refused (400 naming `answer`)"},
            "tags": {"type": "array", "items": text_schema(MAX_TAG, refuse=FAQ_REFUSED), "maxItems": MAX_TAGS},
            "needs_human": {"type": "boolean", "description": "Suggest with a warning, never send automatically"},
        },
    },
    "FaqEntryUpdate": {
        "allOf": [{"$ref": "#/components/schemas/FaqEntryInput"}],
        "type": "object",
        "required": ["question", "answer", "version"],
        "properties": {"version": {"type": "integer", "minimum": 1,
                                   "description": "The version the edit started from; a newer stored version answers 409"}},
    },
    "FaqEntry": {
        "allOf": [{"$ref": "#/components/schemas/FaqEntryInput"}],
        "type": "object",
        "properties": {
            "version": {"type": "integer"},
            "updated_at": {"type": "string", "format": "date-time"},
            "updated_by": {"type": "string"},
            "deleted": {"type": "boolean"},
        },
    },
    "FaqEntryVersion": {
        "type": "object",
        "properties": {
            "entry_id": {"type": "string"}, "version": {"type": "integer"},
            "action": {"type": "string", "enum": ["create", "update", "delete", "restore", "import", "alias"]},
            "snapshot": {"type": "object"}, "changed_by": {"type": "string"},
            "changed_at": {"type": "string", "format": "date-time"}, "note": {"type": "string"},
        },
    },
    "FaqProposal": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"}, "entry_id": {"type": "string"}, "question": {"type": "string"},
            "phrasing": {"type": "string"}, "status": {"type": "string", "enum": ["pending", "approved", "rejected"]},
            "times": {"type": "integer", "description": "How often advisors answered this wording with the entry"},
            "proposed_by": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"},
            "reviewed_by": {"type": "string"}, "reviewed_at": {"type": ["string", "null"], "format": "date-time"},
        },
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


ENTRY_ID = {"name": "entry_id", "in": "path", "required": True, "schema": {"type": "string"}}
PROPOSAL_ID = {"name": "proposal_id", "in": "path", "required": True, "schema": {"type": "integer"}}

PATHS: dict[str, Any] = {
    "/api/v1/faq/entries": {
        "get": {
            "summary": "List knowledge-base entries (search in id, question, aliases, answer, tags)",
            "tags": ["faq"],
            "parameters": [
                {"name": "q", "in": "query", "schema": {"type": "string"}},
                {"name": "tag", "in": "query", "schema": {"type": "string"}},
                {"name": "include_deleted", "in": "query", "schema": FLAG_SCHEMA},
            ],
            "responses": {
                "200": _json({"type": "object", "properties": {
                    "entries": {"type": "array", "items": _ref("FaqEntry")}, "count": {"type": "integer"}}}, "Entries"),
                **error_responses(400, 401, 403),
            },
        },
        "post": {
            "summary": "Create an entry (version 1)",
            "tags": ["faq"],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("FaqEntryInput")}}},
            "responses": {"201": _json(_ref("FaqEntry"), "Created"), **error_responses(400, 401, 403, 409, 413)},
        },
    },
    "/api/v1/faq/entries/{entry_id}": {
        "get": {
            "summary": "One entry",
            "tags": ["faq"],
            "parameters": [ENTRY_ID],
            "responses": {"200": _json(_ref("FaqEntry"), "Entry"), **error_responses(401, 403, 404)},
        },
        "put": {
            "summary": "Replace an entry's content; 409 when it changed since `version`",
            "tags": ["faq"],
            "parameters": [ENTRY_ID],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("FaqEntryUpdate")}}},
            "responses": {"200": _json(_ref("FaqEntry"), "Saved"), **error_responses(400, 401, 403, 404, 409, 413)},
        },
        "delete": {
            "summary": "Soft-delete an entry (history kept); optional `version` guards against stale deletes",
            "tags": ["faq"],
            "parameters": [ENTRY_ID, {"name": "version", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 999_999_999}}],
            "responses": {"200": _json(_ref("FaqEntry"), "Deleted"), **error_responses(400, 401, 403, 404, 409)},
        },
    },
    "/api/v1/faq/entries/{entry_id}/history": {
        "get": {
            "summary": "Every version of an entry, newest first (who, when, full snapshot)",
            "tags": ["faq"],
            "parameters": [ENTRY_ID],
            "responses": {
                "200": _json({"type": "object", "properties": {
                    "entry_id": {"type": "string"}, "versions": {"type": "array", "items": _ref("FaqEntryVersion")}}},
                    "History"),
                **error_responses(401, 403, 404),
            },
        },
    },
    "/api/v1/faq/proposals": {
        "get": {
            "summary": "Phrasings proposed as aliases from advisors' answers",
            "tags": ["faq"],
            "parameters": [{"name": "status", "in": "query",
                            "schema": {"type": "string", "enum": list(PROPOSAL_STATUSES), "default": "pending"}}],
            "responses": {
                "200": _json({"type": "object", "properties": {
                    "proposals": {"type": "array", "items": _ref("FaqProposal")}, "count": {"type": "integer"}}},
                    "Proposals"),
                **error_responses(400, 401, 403),
            },
        },
    },
    "/api/v1/faq/proposals/{proposal_id}/approve": {
        "post": {
            "summary": "Make the phrasing an alias of its entry (new version; indexes rebuild)",
            "tags": ["faq"],
            "parameters": [PROPOSAL_ID],
            "responses": {
                "200": _json({"type": "object", "properties": {"proposal": _ref("FaqProposal"), "entry": _ref("FaqEntry")}},
                             "Approved"),
                **error_responses(401, 403, 404, 409),
            },
        },
    },
    "/api/v1/faq/proposals/{proposal_id}/reject": {
        "post": {
            "summary": "Reject the phrasing; it will not be proposed for that entry again",
            "tags": ["faq"],
            "parameters": [PROPOSAL_ID],
            "responses": {
                "200": _json({"type": "object", "properties": {"proposal": _ref("FaqProposal")}}, "Rejected"),
                **error_responses(401, 403, 404, 409),
            },
        },
    },
}
