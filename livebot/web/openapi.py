"""The OpenAPI 3.1 description of the JSON API, assembled from each area's fragment.

Each area documents its own routes next to them (a ``paths`` mapping) and adds it during
setup; a test compares the result with the router so the document cannot drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from livebot import __version__
from livebot.appkeys import API_DOC
from livebot.auth.access import public

routes = web.RouteTableDef()

ERROR_SCHEMA = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}


class ApiDoc:
    def __init__(self) -> None:
        self.paths: dict[str, dict[str, Any]] = {}
        self.schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}

    def add(self, paths: Mapping[str, Mapping[str, Any]], schemas: Mapping[str, Any] | None = None) -> None:
        for path, operations in paths.items():
            self.paths.setdefault(path, {}).update(operations)
        self.schemas.update(schemas or {})

    def document(self, server_url: str) -> dict[str, Any]:
        return {
            "openapi": "3.1.0",
            "info": {"title": "livebot API", "version": __version__},
            "servers": [{"url": server_url}],
            "paths": dict(sorted(self.paths.items())),
            "components": {
                "schemas": self.schemas,
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer"},
                    "cookie": {"type": "apiKey", "in": "cookie", "name": "livebot_session"},
                },
            },
            "security": [{"bearer": []}, {"cookie": []}],
        }


VISIBLE = r"[^\s\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]"
"""At least one character that survives trimming and the removal of control and invisible marks."""
CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
"""Control characters every cleaned text field refuses (tab, newline and carriage return are the callers' call)."""
MAX_ID = 2**62 - 1


def text_schema(max_len: int, *, required: bool = False, refuse: str = "", nullable: bool = False) -> dict[str, Any]:
    """A text field as the handlers check it: ``required`` means something visible is left after
    trimming; ``refuse`` is a regex character-class body of characters answered with 400;
    ``nullable`` when the handler reads null as "not given"."""
    schema: dict[str, Any] = {"type": ["string", "null"] if nullable else "string", "maxLength": max_len}
    patterns = ([{"pattern": VISIBLE}] if required else []) + ([{"pattern": f"^[^{refuse}]*$"}] if refuse else [])
    if len(patterns) == 1:
        schema.update(patterns[0])
    elif patterns:
        schema["allOf"] = patterns
    return schema


def id_schema(minimum: int = 1) -> dict[str, Any]:
    """A stored row id (BIGINT): larger values are refused as input, not left to crash a query."""
    return {"type": "integer", "minimum": minimum, "maximum": MAX_ID}


def id_param(name: str, minimum: int = 1) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": id_schema(minimum)}


PRINTABLE = r"^(?:[^\p{C}\p{Z}]| )*$"
"""What Python's ``str.isprintable`` accepts: no control, format or separator characters but space."""
FLAG_SCHEMA: dict[str, Any] = {"type": "string", "pattern": "^(?:[01]|[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|[Yy][Ee][Ss]|[Nn][Oo])?$",
                               "description": "1/true/yes or 0/false/no (any case); empty is no"}
"""A yes/no query flag as :func:`livebot.formcheck.query_flag` reads it."""


def error_responses(*statuses: int) -> dict[str, Any]:
    """Standard error response objects, for fragments to spread into ``responses``."""
    text = {400: "Invalid input (the message names the field)", 401: "Not authenticated", 403: "Wrong role",
            404: "Not found", 409: "Conflict", 413: "Body too large", 422: "Invalid document", 429: "Too many requests",
            503: "Temporarily unavailable"}
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return {str(s): {"description": text.get(s, "Error"), "content": ref} for s in statuses}


CORE_PATHS: dict[str, Any] = {
    "/api/v1/openapi.json": {"get": {"summary": "This document", "security": [], "responses": {"200": {"description": "OpenAPI 3.1"}}}},
    "/api/v1/me": {
        "get": {
            "summary": "Who the caller is",
            "responses": {
                "200": {"description": "Identity", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"name": {"type": "string"}, "role": {"type": "string"}, "kind": {"type": "string"}}}}}},
                **error_responses(401, 403),
            },
        }
    },
}


@routes.get("/api/v1/openapi.json")
@public
async def openapi_json(request: web.Request) -> web.Response:
    from livebot.appkeys import CONFIG

    return web.json_response(request.app[API_DOC].document(request.app[CONFIG].server.base_url))
