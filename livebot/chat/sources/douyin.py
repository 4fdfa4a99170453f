"""``type = "douyin"``: the Douyin live open platform's data push (直播间数据开放).

Douyin POSTs each message type of a room's push task (``live_comment``, ``live_gift``,
``live_like``, ``live_fansclub``) to ``/api/v1/sources/{source_id}/douyin`` with headers
``x-nonce-str``, ``x-timestamp`` (ms), ``x-roomid``, ``x-msg-type`` and ``x-signature`` =
base64(md5(those four headers sorted by name as ``k=v&k=v`` + raw body + the type's secret)),
and a JSON **array** body. It wants a 2xx within 2 s (ten failures in a row trip its breaker),
and it may deliver a message twice, so ``msg_id`` is the dedupe key. Only the signed headers
are used for the signature: proxies add their own ``x-forwarded-*`` headers.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from livebot.auth.access import csrf_exempt
from livebot.chat.errors import PayloadTooLarge, SignatureError
from livebot.chat.event import ChatEvent, ChatUser
from livebot.chat.http import INGEST_ERRORS, error_response, read_body
from livebot.chat.normalize import KEY_MAX, check_depth
from livebot.chat.sources.base import Source
from livebot.chat.wire import INT_MAX
from livebot.config import secret
from livebot.errors import ConfigError, ValidationError
from livebot.web.openapi import error_responses

logger = logging.getLogger(__name__)

PATH = "/api/v1/sources/{source_id}/douyin"
SIGNED_HEADERS = ("x-msg-type", "x-nonce-str", "x-roomid", "x-timestamp")
MSG_TYPES = ("live_comment", "live_gift", "live_like", "live_fansclub")
KIND_OF = {"live_comment": "comment", "live_gift": "gift", "live_like": "like", "live_fansclub": "follow"}
MAX_BODY_BYTES = 1_048_576
MAX_ITEMS = 1000


def douyin_signature(headers: Mapping[str, str], body: bytes, secret_value: str) -> str:
    """base64(md5("k=v&..." of the signed x-* headers sorted by name + body + secret))."""
    signed = "&".join(f"{name}={headers.get(name, '')}" for name in sorted(SIGNED_HEADERS))
    digest = hashlib.md5(signed.encode() + body + secret_value.encode()).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class DouyinSettings:
    secret: str = secret("")
    """The app's push secret, for every message type without its own entry in ``secrets``."""
    secrets: Mapping[str, str] = field(default_factory=dict)
    """Per message type: ``secrets = {live_comment = "...", live_gift = "..."}``."""
    max_skew_seconds: int = 300
    """Refuse pushes whose ``x-timestamp`` is further than this from our clock (0: do not check)."""
    answer_within_seconds: float = 1.5
    """Wait this long for the commit, then answer 503 (Douyin gives up at 2 s; the push is still stored
    and Douyin's retry is absorbed by the dedupe)."""

    def __post_init__(self) -> None:
        for name, value in self.secrets.items():
            if name not in MSG_TYPES:
                raise ConfigError("secrets", f"{name}: unknown message type (one of {', '.join(MSG_TYPES)})")
            if not isinstance(value, str) or not value:
                raise ConfigError("secrets", f"{name}: expected a non-empty string")
        if not self.secret and not self.secrets:
            raise ConfigError("secret", "missing (set secret, or secrets per message type)")
        if self.max_skew_seconds < 0:
            raise ConfigError("max_skew_seconds", "must not be negative")
        if not 0 < self.answer_within_seconds <= 10:
            raise ConfigError("answer_within_seconds", "must be between 0 and 10")

    def secret_for(self, msg_type: str) -> str:
        return self.secrets.get(msg_type) or self.secret


OPENAPI: dict[str, Any] = {
    PATH: {
        "post": {
            "summary": "Douyin live open-platform data push (signed with x-signature)",
            "security": [],
            "parameters": [
                {"name": "source_id", "in": "path", "required": True, "schema": {"type": "string"}},
                *({"name": h, "in": "header", "required": True, "schema": {"type": "string"}}
                  for h in (*SIGNED_HEADERS, "x-signature")),
            ],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "array", "items": {
                "type": "object", "required": ["msg_id"], "properties": {
                    "msg_id": {"type": "string"}, "sec_openid": {"type": "string"}, "nickname": {"type": "string"},
                    "content": {"type": "string"}, "avatar_url": {"type": "string"}, "timestamp": {"type": "integer"},
                    "sec_gift_id": {"type": "string"}, "gift_num": {"type": "integer"},
                    "gift_value": {"type": "integer", "description": "fen"}, "like_num": {"type": "integer"},
                }}}}}},
            "responses": {
                "200": {"description": "Stored (or an ignored message type)", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"accepted": {"type": "integer"}, "duplicates": {"type": "integer"}}}}}},
                **error_responses(400, 401, 404, 413, 503),
            },
        }
    }
}


class DouyinSource(Source):
    type_name = "douyin"
    Settings = DouyinSettings
    openapi = OPENAPI
    options: DouyinSettings

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.post(PATH, self.push)]

    @csrf_exempt
    async def push(self, request: web.Request) -> web.Response:
        """Verify the signature, convert the array, store it, answer within Douyin's 2 s."""
        msg_type = request.headers.get("x-msg-type", "")
        try:
            body = await read_body(request, MAX_BODY_BYTES)
            self.verify(request.headers, body)
            if msg_type not in KIND_OF:
                logger.info("douyin source=%s ignoring msg_type=%s", self.id, msg_type[:40])
                return web.json_response({"accepted": 0, "duplicates": 0, "ignored": msg_type})
            events = self.events(msg_type, request.headers.get("x-roomid", ""), body)
            result = await asyncio.wait_for(self.sink.submit(events), self.options.answer_within_seconds)
        except INGEST_ERRORS as err:
            return error_response(request, self.id, err)
        return web.json_response({"accepted": result.accepted, "duplicates": result.duplicates})

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        msg_type = headers.get("x-msg-type", "")
        secret_value = self.options.secret_for(msg_type)
        if not secret_value:
            raise SignatureError(f"no secret configured for msg_type {msg_type[:40]!r}")
        given = headers.get("x-signature", "")
        if not hmac.compare_digest(douyin_signature(headers, body, secret_value).encode(), given.encode("utf-8", "replace")):
            raise SignatureError("x-signature does not match")
        skew = self.options.max_skew_seconds
        if skew:
            stamp = headers.get("x-timestamp", "")
            if not stamp.isdigit() or abs(time.time() - int(stamp) / 1000) > skew:
                raise SignatureError(f"x-timestamp is more than {skew} s away from server time")

    def events(self, msg_type: str, room: str, body: bytes) -> list[ChatEvent]:
        """The pushed array as chat events (the item itself kept as ``raw``)."""
        try:
            items = orjson.loads(body)
        except orjson.JSONDecodeError as err:
            raise ValidationError("body", f"not valid JSON: {err}") from None
        if not isinstance(items, list):
            raise ValidationError("body", "expected a JSON array")
        if len(items) > MAX_ITEMS:
            raise PayloadTooLarge("body", f"at most {MAX_ITEMS} messages per push")
        if len(room) > KEY_MAX or not room.isprintable():
            raise ValidationError("x-roomid", "must be at most 128 printable characters")
        return [self.event(msg_type, room, item, f"[{index}]") for index, item in enumerate(items)]

    def event(self, msg_type: str, room: str, item: Any, field: str) -> ChatEvent:
        if not isinstance(item, dict):
            raise ValidationError(field, "expected an object")
        check_depth(item, field)
        kind = KIND_OF[msg_type]
        count: int | None = None
        value: int | None = None
        text = ""
        if kind == "comment":
            text = string(item, "content", field, required=True)
        elif kind == "gift":
            count = integer(item, "gift_num", field, default=1)
            value = integer(item, "gift_value", field, default=None)
        elif kind == "like":
            count = integer(item, "like_num", field, default=1)
        return ChatEvent(
            source=self.id,
            id=string(item, "msg_id", field, required=True, limit=KEY_MAX),
            platform="douyin",
            channel=room,
            kind=kind,
            ts=timestamp(item.get("timestamp"), f"{field}.timestamp"),
            user=ChatUser(id=string(item, "sec_openid", field, limit=KEY_MAX), name=string(item, "nickname", field)),
            text=text,
            count=count,
            value=value,
            raw=item,
        )


def string(item: dict[str, Any], name: str, field: str, required: bool = False, limit: int | None = None) -> str:
    value = item.get(name)
    if value is None or value == "":
        if required:
            raise ValidationError(f"{field}.{name}", "missing")
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValidationError(f"{field}.{name}", "expected a string")
    if limit is not None and (len(value) > limit or not value.isprintable()):
        raise ValidationError(f"{field}.{name}", f"must be at most {limit} printable characters")
    return value


def integer(item: dict[str, Any], name: str, field: str, default: int | None) -> int | None:
    value = item.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT_MAX:
        raise ValidationError(f"{field}.{name}", f"expected an integer 0..{INT_MAX}")
    return value


def timestamp(value: Any, field: str) -> datetime:
    """Douyin's ``timestamp``: seconds or milliseconds since the epoch; now when absent."""
    if value is None:
        return datetime.now(UTC)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValidationError(field, "expected epoch seconds or milliseconds")
    seconds = value / 1000 if value > 100_000_000_000 else value
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValidationError(field, "out of range") from None
