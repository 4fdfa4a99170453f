"""livebot's webhook signature: ``sha256=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>``.

Like Slack's and Stripe's schemes: the timestamp is inside the signed string, so a captured
request cannot be replayed after the 300 s window, and comparison is constant-time. The same
helpers sign outgoing posts (``livebot replay``, answers sent to a source's ``reply_url``).
"""

from __future__ import annotations

import hashlib
import hmac
import time

from livebot.chat.errors import SignatureError

TIMESTAMP_HEADER = "X-Livebot-Timestamp"
SIGNATURE_HEADER = "X-Livebot-Signature"
WINDOW_SECONDS = 300
PREFIX = "sha256="


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The header value for ``body`` sent at ``timestamp`` (unix seconds as text)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return PREFIX + digest


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """Headers for a signed JSON post of ``body``."""
    timestamp = str(int(time.time() if now is None else now))
    return {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        "Content-Type": "application/json",
    }


def verify(secret: str, timestamp: str | None, given: str | None, body: bytes, now: float | None = None) -> None:
    """Raise :class:`SignatureError` unless ``given`` signs ``body`` within the time window."""
    if not timestamp or not given:
        raise SignatureError(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER}")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise SignatureError(f"{TIMESTAMP_HEADER} must be unix seconds")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > WINDOW_SECONDS:
        raise SignatureError(f"{TIMESTAMP_HEADER} is more than {WINDOW_SECONDS} s away from server time")
    expected = signature(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), given.strip().encode("utf-8", "replace")):
        raise SignatureError("signature does not match")
