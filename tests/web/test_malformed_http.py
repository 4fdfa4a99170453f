"""Malformed HTTP that anyone can send is refused with 400 and at most one warning line, never an
ERROR with a traceback per request (log flooding)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from livebot.web.protocol_log import MalformedRequestFilter

MALFORMED = {
    "nul_in_header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Relay: a\x00b\r\n\r\n",
    "request_line_8k": b"GET /" + b"a" * 8300 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "header_line_9k": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: " + b"b" * 9000 + b"\r\n\r\n",
    "control_in_header_name": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-\x01Bad: 1\r\n\r\n",
    "emoji_and_html_in_method": "G😀T /<script> HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
}


async def raw_request(client: TestClient, data: bytes) -> bytes:
    """Send bytes as they are (no client library would) and read the whole answer."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()


@pytest.mark.parametrize("name", list(MALFORMED))
async def test_malformed_request_is_400_and_one_warning_line(
    client: TestClient, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    caplog.set_level(logging.DEBUG, logger="aiohttp")
    for _ in range(3):  # the same again and again: the log grows by a line each time, no more
        answer = await raw_request(client, MALFORMED[name])
        assert answer.split(b" ", 2)[1] == b"400", answer[:80]
    server = [r for r in caplog.records if r.levelno >= logging.WARNING]  # (the test server's access log is INFO)
    assert len(server) <= 3, [r.getMessage() for r in server]
    assert all(r.levelno == logging.WARNING and r.exc_info is None and r.exc_text is None for r in server)
    assert all("\n" not in r.getMessage() and len(r.getMessage()) < 400 for r in server)
    assert (await client.get("/healthz")).status in (200, 503), "the server still answers"


def test_other_server_errors_keep_their_traceback() -> None:
    """A handler's real failure still logs at ERROR with its traceback: only malformed input is quietened."""
    try:
        raise RuntimeError("a real bug")
    except RuntimeError as err:
        record = logging.LogRecord("aiohttp.server", logging.ERROR, __file__, 1, "Error handling request", (),
                                   (type(err), err, err.__traceback__))
    assert MalformedRequestFilter().filter(record) is True
    assert record.levelno == logging.ERROR and record.exc_info is not None


def test_installed_once(client: Any) -> None:
    filters = logging.getLogger("aiohttp.server").filters
    assert sum(isinstance(f, MalformedRequestFilter) for f in filters) == 1
