"""livebot's webhook signature: HMAC-SHA256 over ``timestamp.body`` within 300 s."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from livebot.chat import signing
from livebot.chat.errors import SignatureError

BODY = '{"events": [{"text": "奶源是哪里的？"}]}'.encode()


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(b"k", b"1795608062." + BODY, hashlib.sha256).hexdigest()
    assert signing.signature("k", "1795608062", BODY) == "sha256=" + expected


def test_signed_headers_verify() -> None:
    headers = signing.signed_headers("k", BODY, now=1795608062)
    assert headers[signing.TIMESTAMP_HEADER] == "1795608062"
    signing.verify("k", headers[signing.TIMESTAMP_HEADER], headers[signing.SIGNATURE_HEADER], BODY, now=1795608062 + 300)


@pytest.mark.parametrize(
    ("secret", "timestamp", "body", "now", "problem"),
    [
        ("other", "1795608062", BODY, 1795608062, "does not match"),
        ("k", "1795608063", BODY, 1795608062, "does not match"),
        ("k", "1795608062", BODY + b" ", 1795608062, "does not match"),
        ("k", "1795608062", BODY, 1795608362.5, "300 s"),
        ("k", "1795608062", BODY, 1795607761, "300 s"),
        ("k", "", BODY, 1795608062, "missing"),
        ("k", "-1", BODY, 1795608062, "unix seconds"),
        ("k", "1795608062.0", BODY, 1795608062, "unix seconds"),
    ],
)
def test_refusals(secret: str, timestamp: str, body: bytes, now: float, problem: str) -> None:
    given = signing.signature("k", "1795608062", BODY)
    with pytest.raises(SignatureError, match=problem):
        signing.verify(secret, timestamp, given, body, now=now)


def test_uppercase_or_garbage_signatures_do_not_match() -> None:
    given = signing.signature("k", "1795608062", BODY)
    for bad in (given.upper(), given[:-1], "sha1=" + given[7:], given + "00", "sha256=奶"):
        with pytest.raises(SignatureError):
            signing.verify("k", "1795608062", bad, BODY, now=1795608062)
