"""``type = "webhook"``: livebot's signed generic ingest, for relays of any platform.

``POST /api/v1/ingest/{source_id}`` with ``X-Livebot-Timestamp`` and ``X-Livebot-Signature``
(see :mod:`livebot.chat.signing`); body ``{"events": [...]}`` in the format of
:mod:`livebot.chat.wire`, at most 1000 events and 1 MiB. ``202 {"accepted", "duplicates"}``
only after the events are committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from livebot.auth.access import csrf_exempt
from livebot.chat import signing, wire
from livebot.chat.http import INGEST_ERRORS, error_response, read_body
from livebot.chat.sources.base import Source
from livebot.config import secret
from livebot.errors import ConfigError
from livebot.web.openapi import error_responses

PATH = "/api/v1/ingest/{source_id}"


@dataclass(frozen=True)
class WebhookSettings:
    secret: str = secret()
    """HMAC-SHA256 key shared with the relay (or ``secret_env``)."""
    reply_url: str = ""
    """Where answers for this source are posted back, signed the same way (optional)."""

    def __post_init__(self) -> None:
        if not self.secret:
            raise ConfigError("secret", "must not be empty")
        if self.reply_url and not self.reply_url.startswith(("http://", "https://")):
            raise ConfigError("reply_url", "must be an http:// or https:// URL")


EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "platform", "kind", "ts"],
    "properties": {
        "id": {"type": "string", "maxLength": 128},
        "platform": {"enum": ["douyin", "kuaishou", "channels", "bilibili", "taobao", "wecom", "web", "other"]},
        "channel": {"type": "string", "maxLength": 128},
        "kind": {"enum": ["comment", "like", "gift", "follow", "share", "enter", "viewers"]},
        "ts": {"oneOf": [{"type": "string", "format": "date-time"}, {"type": "integer", "description": "epoch ms"}]},
        "user": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}},
        "text": {"type": "string"},
        "count": {"type": "integer", "minimum": 0},
        "viewers": {"type": "integer", "minimum": 0},
        "value": {"type": "integer", "minimum": 0, "description": "gift value in fen"},
    },
}

OPENAPI: dict[str, Any] = {
    PATH: {
        "post": {
            "summary": "Signed chat ingest (HMAC-SHA256 over timestamp + '.' + body)",
            "security": [],
            "parameters": [
                {"name": "source_id", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": signing.TIMESTAMP_HEADER, "in": "header", "required": True, "schema": {"type": "string"}},
                {"name": signing.SIGNATURE_HEADER, "in": "header", "required": True,
                 "schema": {"type": "string", "pattern": "^sha256=[0-9a-f]{64}$"}},
            ],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["events"],
                "properties": {"events": {"type": "array", "maxItems": wire.MAX_EVENTS, "items": EVENT_SCHEMA}},
            }}}},
            "responses": {
                "202": {"description": "Stored", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"accepted": {"type": "integer"}, "duplicates": {"type": "integer"}}}}}},
                **error_responses(400, 401, 404, 413, 503),
            },
        }
    }
}


class WebhookSource(Source):
    type_name = "webhook"
    Settings = WebhookSettings
    openapi = OPENAPI
    options: WebhookSettings

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.post(PATH, self.ingest)]

    @csrf_exempt
    async def ingest(self, request: web.Request) -> web.Response:
        """Verify, parse, store, then answer 202 with what was new and what was a repeat."""
        try:
            body = await read_body(request, wire.MAX_BODY_BYTES)
            headers = request.headers
            signing.verify(self.options.secret, headers.get(signing.TIMESTAMP_HEADER),
                           headers.get(signing.SIGNATURE_HEADER), body)
            events = wire.parse_body(body, self.id)
            result = await self.sink.submit(events)
        except INGEST_ERRORS as err:
            return error_response(request, self.id, err)
        return web.json_response({"accepted": result.accepted, "duplicates": result.duplicates}, status=202)
