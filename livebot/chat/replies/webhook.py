"""Webhook reply sender: POST the answer as JSON to a ``webhook`` source's ``reply_url``.

Signed exactly like livebot's inbound webhook (``X-Livebot-Timestamp``, ``X-Livebot-Signature:
sha256=hex(HMAC(secret, ts + "." + body))``) with the source's secret, so the relay verifies
answers with the code it already has. Body::

    {"type": "reply", "reply_id": "...", "source": "relay-main", "platform": "wecom",
     "channel": "group-a", "in_reply_to": "<question id>", "user": {"id": "...", "name": "..."},
     "text": "...", "ts": "2026-11-24T12:01:02+00:00"}

2xx is delivered (a JSON ``{"id": ...}`` answer becomes the message id); 408, 429 and 5xx
are retryable, other statuses are not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

import aiohttp
import orjson

from livebot.chat import signing
from livebot.chat.replies.base import ReplyResult, ReplyTarget, checked_text
from livebot.chat.replies.errors import ReplyRejected, ReplyUnavailable

logger = logging.getLogger(__name__)

MAX_WEBHOOK_TEXT_BYTES = 16_384
RETRYABLE_STATUSES = frozenset({408, 425, 429})


class WebhookReplySender:
    """Posts signed answers to one relay."""

    name = "webhook"

    def __init__(self, session: aiohttp.ClientSession, url: str, secret: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.session = session
        self.url = url
        self.secret = secret
        self.clock = clock

    def body(self, target: ReplyTarget, text: str) -> bytes:
        return orjson.dumps({
            "type": "reply", "reply_id": target.reply_id, "source": target.source, "platform": target.platform,
            "channel": target.channel, "in_reply_to": target.event_id,
            "user": {"id": target.user_id, "name": target.user_name}, "text": text,
            "ts": datetime.fromtimestamp(self.clock(), UTC).isoformat(),
        })

    async def send(self, target: ReplyTarget, text: str) -> ReplyResult:
        body = self.body(target, checked_text(text, self.name, MAX_WEBHOOK_TEXT_BYTES))
        headers = signing.signed_headers(self.secret, body, now=self.clock())
        try:
            async with self.session.post(self.url, data=body, headers=headers) as resp:
                raw = await resp.read()
                status = resp.status
        except (TimeoutError, aiohttp.ClientError) as err:
            raise ReplyUnavailable(f"reply_url unreachable: {type(err).__name__}", sender=self.name) from err
        if status >= 500 or status in RETRYABLE_STATUSES:
            raise ReplyUnavailable(f"reply_url answered HTTP {status}", sender=self.name, code=status)
        if not 200 <= status < 300:
            raise ReplyRejected(f"reply_url answered HTTP {status}", sender=self.name, code=status)
        message_id = ""
        try:
            answer = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            answer = None
        if isinstance(answer, dict) and isinstance(answer.get("id"), str | int):
            message_id = str(answer["id"])
        logger.info("reply via=%s source=%s channel=%s event=%s sent", self.name, target.source, target.channel,
                    target.event_id)
        return ReplyResult(sender=self.name, message_id=message_id)
