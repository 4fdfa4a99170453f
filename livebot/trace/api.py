"""The trace JSON API: EPCIS import, JSON pushes, telemetry, and read access for staff."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from aiohttp import web

from livebot.appkeys import CONFIG, DATABASE
from livebot.auth.access import roles
from livebot.errors import ValidationError
from livebot.storage.base import utcnow
from livebot.trace import apidoc, facts, query, service, store
from livebot.trace.chainpush import parse_chain
from livebot.trace.epcis import load_json
from livebot.trace.errors import DocumentTooLarge, EventConflict, InvalidEvent, UnknownLot
from livebot.trace.keys import TRACE_SETTINGS
from livebot.trace.pushes import parse_batches, parse_inspections
from livebot.trace.telemetry import parse_telemetry
from livebot.web.openapi import error_responses

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()
WRITERS = ("trace", "admin")
READERS = ("trace", "producer", "advisor", "marketing", "admin")


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


async def read_limited(request: web.Request, limit: int) -> bytes:
    """The body, refusing anything over ``limit`` bytes without reading it all first."""
    if request.content_length is not None and request.content_length > limit:
        raise DocumentTooLarge(limit)
    parts, size = [], 0
    async for chunk in request.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > limit:
            raise DocumentTooLarge(limit)
        parts.append(chunk)
    return b"".join(parts)


def is_xml(content_type: str) -> bool:
    """``application/xml``, ``text/xml`` or any ``+xml`` type is parsed as EPCIS XML; anything else as JSON-LD."""
    return content_type in ("application/xml", "text/xml") or content_type.endswith("+xml")


@routes.post("/api/v1/trace/epcis")
@roles(*WRITERS)
async def post_epcis(request: web.Request) -> web.Response:
    raw = await read_limited(request, request.app[TRACE_SETTINGS].max_document_bytes)
    try:
        result = await service.import_epcis_app(request.app, raw, xml=is_xml(request.content_type))
    except InvalidEvent as err:
        logger.info("trace epcis rejected event_index=%s field=%s: %s", err.event_index, err.field, err.problem)
        return json_response(err.as_dict(), status=422)
    except EventConflict as err:
        logger.info("trace epcis conflict event_index=%s: %s", err.event_index, err)
        return json_response(err.as_dict(), status=409)
    return json_response(result.as_dict(), status=201 if result.stored else 200)


@routes.get("/api/v1/trace/events")
@roles(*WRITERS)
async def get_events(request: web.Request) -> web.Response:
    """EPCIS 2.0 event query (livebot.trace.query): one page, the next one linked."""
    wanted = query.parse_query(request.query)
    events, following = await query.find_events(request.app[DATABASE], wanted)
    document = query.query_document(events)
    headers = {"GS1-EPCIS-Version": "2.0.0"}
    if following is not None:
        link = request.rel_url.update_query(nextPageToken=str(following))
        headers["Link"] = f'<{link}>; rel="next"'
        document["nextPageToken"] = str(following)
    return web.Response(body=orjson.dumps(document), content_type="application/json", headers=headers)


async def json_body(request: web.Request) -> Any:
    """The JSON body within the app's ``server.max_body_bytes`` (413 above it)."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as err:
        raise DocumentTooLarge(request.app[CONFIG].server.max_body_bytes) from err
    return load_json(raw)


@routes.post("/api/v1/trace/batches")
@roles(*WRITERS)
async def post_batches(request: web.Request) -> web.Response:
    pushes = parse_batches(await json_body(request))
    lots, gtins = await store.save_batches(request.app[DATABASE], pushes, request.app[TRACE_SETTINGS])
    await service.trace_changed(request.app, lots, gtins)
    return json_response({"stored": len(pushes), "lots": lots}, status=201)


@routes.post("/api/v1/trace/chain")
@roles(*WRITERS)
async def post_chain(request: web.Request) -> web.Response:
    """Herds, health, feed and ingredient lots, packing, storage and shipments as plain JSON (livebot.trace.chainpush)."""
    document = parse_chain(await json_body(request), utcnow())
    try:
        result = await service.import_epcis_app(request.app, orjson.dumps(document), xml=False)
    except InvalidEvent as err:
        logger.info("trace chain push rejected event_index=%s field=%s: %s", err.event_index, err.field, err.problem)
        return json_response(err.as_dict(), status=422)
    except EventConflict as err:
        return json_response(err.as_dict(), status=409)
    return json_response(result.as_dict(), status=201 if result.stored else 200)


@routes.post("/api/v1/trace/inspections")
@roles(*WRITERS)
async def post_inspections(request: web.Request) -> web.Response:
    pushes = parse_inspections(await json_body(request))
    stored, duplicates, lots = await store.save_inspections(request.app[DATABASE], pushes, request.app[TRACE_SETTINGS])
    if stored:
        await service.trace_changed(request.app, lots, [])
    return json_response({"stored": stored, "duplicates": duplicates}, status=201 if stored else 200)


@routes.post("/api/v1/telemetry")
@roles(*WRITERS)
async def post_telemetry(request: web.Request) -> web.Response:
    readings = parse_telemetry(await json_body(request), request.app[TRACE_SETTINGS].telemetry_interval_s)
    await service.record_telemetry(request.app, readings)
    return json_response({"stored": len(readings)}, status=201)


@routes.get("/api/v1/telemetry")
@roles(*READERS)
async def get_telemetry(request: web.Request) -> web.Response:
    plant = request.query.get("plant") or None
    return json_response({"readings": await facts.telemetry_snapshot(request.app[DATABASE], request.app[TRACE_SETTINGS], plant)})


@routes.get("/api/v1/trace/batches/{lot}")
@roles(*READERS)
async def get_batch(request: web.Request) -> web.Response:
    summary = await facts.batch_summary(request.app[DATABASE], request.match_info["lot"], request.app[TRACE_SETTINGS])
    if summary is None:
        raise UnknownLot("未找到该批次")
    return json_response(summary)


@routes.get("/api/v1/trace/lookup")
@roles(*READERS)
async def lookup(request: web.Request) -> web.Response:
    code = request.query.get("code", "")
    if not code.strip() or len(code) > 2048:
        raise ValidationError("code", "give a lot number, can code or Digital Link (at most 2048 characters)")
    db, settings = request.app[DATABASE], request.app[TRACE_SETTINGS]
    lot = await facts.find_lot(db, code)
    if lot is None:
        raise UnknownLot("未找到该批次")
    return json_response({"lot": lot, "reply": await facts.trace_reply(db, code, settings),
                          "summary": await facts.batch_summary(db, lot, settings)})


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


OBJECT = {"type": "object"}
WRITE_ERRORS = error_responses(400, 401, 403, 413)
PATHS: dict[str, Any] = {
    "/api/v1/trace/epcis": {"post": {
        "summary": "Import a GS1 EPCIS 2.0 document, JSON-LD or XML (EPCIS 2.0/1.2), all or nothing, idempotent",
        "description": "Role trace (or admin). The content type decides the parser: application/xml or text/xml for EPCIS XML, "
                       "anything else JSON-LD. See docs/trace-mapping.md for how events map onto the milk chain.",
        "requestBody": {"required": True, "content": {"application/ld+json": {"schema": OBJECT}, "application/json": {"schema": OBJECT},
                                                      "application/xml": {"schema": {"type": "string"}},
                                                      "text/xml": {"schema": {"type": "string"}}}},
        "responses": {
            "201": {"description": "Stored", "content": _json({"$ref": "#/components/schemas/TraceImport"})},
            "200": {"description": "Every event was already stored", "content": _json({"$ref": "#/components/schemas/TraceImport"})},
            "422": {"description": "An event breaks a GS1 rule (or an eventID repeats in the document); nothing stored",
                    "content": _json({"$ref": "#/components/schemas/EpcisError"})},
            "409": {"description": "A stored eventID arrived with different content (not an errorDeclaration); nothing stored",
                    "content": _json({"$ref": "#/components/schemas/EpcisError"})},
            **WRITE_ERRORS,
        },
    }},
    "/api/v1/trace/events": {"get": {
        "summary": "Query stored EPCIS events (EPCIS 2.0 REST query shape), one page at a time",
        "description": "Role trace (or admin). Answers an EPCISQueryDocument; a further page is linked in the Link header "
                       "(rel=next) and given as nextPageToken. Error declarations and the events they retract are included.",
        "parameters": apidoc.EVENT_QUERY,
        "responses": {"200": {"description": "EPCISQueryDocument", "content": _json({"$ref": "#/components/schemas/EpcisQueryDocument"})},
                      **error_responses(400, 401, 403)},
    }},
    "/api/v1/trace/batches": {"post": {
        "summary": "Push batches and their raw milk as plain JSON",
        "requestBody": {"required": True, "content": _json(apidoc.BATCHES_BODY)},
        "responses": {"201": {"description": "Stored", "content": _json(OBJECT)}, **WRITE_ERRORS},
    }},
    "/api/v1/trace/chain": {"post": {
        "summary": "Push herds, health records, feed and ingredient lots, ingredient use, packing, storage and shipments as plain JSON",
        "description": "Role trace (or admin). Each item becomes the EPCIS event docs/trace-mapping.md describes and is imported "
                       "all or nothing; resending is idempotent. 400 names the push field, 422 an EPCIS rule.",
        "requestBody": {"required": True, "content": _json(apidoc.CHAIN_BODY)},
        "responses": {"201": {"description": "Stored", "content": _json({"$ref": "#/components/schemas/TraceImport"})},
                      "200": {"description": "Everything was already stored", "content": _json({"$ref": "#/components/schemas/TraceImport"})},
                      "422": {"description": "An event breaks an EPCIS rule; nothing stored", "content": _json({"$ref": "#/components/schemas/EpcisError"})},
                      **WRITE_ERRORS},
    }},
    "/api/v1/trace/batches/{lot}": {"get": {
        "summary": "The trace summary of one batch (batch_summary)",
        "parameters": [{"name": "lot", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "Summary", "content": _json(OBJECT)}, **error_responses(401, 403, 404)},
    }},
    "/api/v1/trace/inspections": {"post": {
        "summary": "Push inspection results for known lots",
        "requestBody": {"required": True, "content": _json(apidoc.INSPECTIONS_BODY)},
        "responses": {"201": {"description": "Stored", "content": _json(OBJECT)},
                      "200": {"description": "All were duplicates", "content": _json(OBJECT)},
                      **error_responses(409), **WRITE_ERRORS},
    }},
    "/api/v1/trace/lookup": {"get": {
        "summary": "Resolve a lot, can code or Digital Link typed by a viewer; includes the chat reply text",
        "parameters": [{"name": "code", "in": "query", "required": True, "schema": apidoc.LOOKUP_CODE}],
        "responses": {"200": {"description": "Found", "content": _json(OBJECT)}, **error_responses(400, 401, 403, 404)},
    }},
    "/api/v1/telemetry": {
        "post": {
            "summary": "Push live factory readings (line status, temperatures, output)",
            "requestBody": {"required": True, "content": _json(apidoc.TELEMETRY_BODY)},
            "responses": {"201": {"description": "Stored", "content": _json(OBJECT)}, **WRITE_ERRORS},
        },
        "get": {
            "summary": "The newest reading of each metric, with stale flags",
            "parameters": [{"name": "plant", "in": "query", "required": False, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "Readings", "content": _json(OBJECT)}, **error_responses(401, 403)},
        },
    },
}
SCHEMAS: dict[str, Any] = {
    "EpcisQueryDocument": {"type": "object", "required": ["type", "schemaVersion", "epcisBody"], "properties": {
        "type": {"const": "EPCISQueryDocument"}, "schemaVersion": {"type": "string"}, "creationDate": {"type": "string"},
        "nextPageToken": {"type": "string"},
        "epcisBody": {"type": "object", "properties": {"queryResults": {"type": "object", "properties": {
            "queryName": {"type": "string"},
            "resultsBody": {"type": "object", "properties": {"eventList": {"type": "array", "items": {"type": "object"}}}}}}}}}},
    "TraceImport": {"type": "object", "properties": {
        "stored": {"type": "integer"}, "duplicates": {"type": "integer"},
        "lots": {"type": "array", "items": {"type": "string"}}, "gtins": {"type": "array", "items": {"type": "string"}}}},
    "EpcisError": {"type": "object", "required": ["error", "event_index", "field"], "properties": {
        "error": {"type": "string"}, "event_index": {"type": ["integer", "null"]}, "field": {"type": "string"}}},
}
