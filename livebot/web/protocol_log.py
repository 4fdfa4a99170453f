"""Malformed HTTP (a NUL in a header, an over-long request line) logged as one warning line, not an
ERROR with a traceback per request: anyone can send it, so tracebacks would flood the log."""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import HttpProcessingError

SERVER_LOGGER = "aiohttp.server"
MAX_PROBLEM_CHARS = 200


class MalformedRequestFilter(logging.Filter):
    """Turns aiohttp's "Error handling request" record for a refused malformed request (4xx) into
    a one-line WARNING; every other record (a handler's real failure, a 500) passes unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if record.levelno >= logging.ERROR and isinstance(exc, HttpProcessingError) and 400 <= (exc.code or 400) < 500:
            problem = " ".join(str(exc.message or type(exc).__name__).split())[:MAX_PROBLEM_CHARS]
            record.args = (record.getMessage(), exc.code or 400, type(exc).__name__, problem)
            record.msg = "%s; refused malformed HTTP (%s %s): %s"
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        return True


def install() -> None:
    """Add the filter to aiohttp's server logger once (idempotent: apps and tests create many)."""
    server = logging.getLogger(SERVER_LOGGER)
    if not any(isinstance(f, MalformedRequestFilter) for f in server.filters):
        server.addFilter(MalformedRequestFilter())
