"""HTTP edge helpers shared by push sources: bounded body reads and error answers.

Sources raise livebot errors; this module alone decides their statuses: 400 (field named),
401 bad or stale signature, 413 too large, 503 + ``Retry-After`` when the writer is full or
storage failed (nothing was acknowledged, so the sender retries and dedupe absorbs repeats).
"""

from __future__ import annotations

import logging
import math

from aiohttp import web

from livebot.chat.errors import IngestUnavailable, Overloaded, PayloadTooLarge, SignatureError
from livebot.chat.keys import CHAT_METRICS
from livebot.errors import ValidationError

logger = logging.getLogger(__name__)

READ_CHUNK = 65_536


async def read_body(request: web.Request, limit: int) -> bytes:
    """The raw body, refusing more than ``limit`` bytes before reading it when the length is announced."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge("body", f"at most {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(READ_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge("body", f"at most {limit} bytes")
        chunks.append(chunk)


def error_response(request: web.Request, source_id: str, err: Exception) -> web.Response:
    """The JSON answer for an ingest error, counted by reason in the app's metrics."""
    reason, status, headers = "invalid", 400, {}
    body: dict[str, object] = {"error": str(err)}
    if isinstance(err, SignatureError):
        reason, status = "signature", 401
    elif isinstance(err, PayloadTooLarge):
        reason, status = "too_large", 413
        body["field"] = err.field
    elif isinstance(err, ValidationError):
        body["field"] = err.field
    elif isinstance(err, Overloaded):
        reason, status = "overloaded", 503
        headers["Retry-After"] = str(max(1, math.ceil(err.retry_after)))
    elif isinstance(err, (IngestUnavailable, TimeoutError)):
        reason, status = "unavailable", 503
        headers["Retry-After"] = "1"
        body["error"] = str(err) or "ingest timed out"
    else:
        raise err
    request.app[CHAT_METRICS].rejected.labels(source_id, reason).inc()
    if status != 503:
        logger.info("ingest source=%s refused %d: %s", source_id, status, err)
    return web.json_response(body, status=status, headers=headers)


INGEST_ERRORS = (SignatureError, ValidationError, PayloadTooLarge, Overloaded, IngestUnavailable, TimeoutError)
"""What a push handler catches and hands to :func:`error_response`."""
