"""The Origin check for websocket upgrades: browsers send Origin on them, so a page of another
site riding the login cookie (cross-site websocket hijacking) is refused."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web


def same_origin(request: web.Request) -> bool:
    """True when the request has no Origin (not a browser) or one naming this host."""
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == request.host
