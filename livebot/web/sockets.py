"""Every open websocket of the app, closed with "going away" when the server shuts down.

aiohttp waits up to ``shutdown_timeout`` for request handlers before it cancels them; a
websocket handler only returns when its socket closes, so without this a stop with consoles
and overlays connected takes the whole timeout (more than once) and the pages keep saying
"已连接". Closing them in ``on_shutdown`` ends the handlers at once and tells the pages to
reconnect (close code 1001).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref

from aiohttp import WSCloseCode, web

logger = logging.getLogger(__name__)

OPEN_SOCKETS = web.AppKey("web.open_sockets", weakref.WeakSet[web.WebSocketResponse])
CLOSE_TIMEOUT = 1.0
GOING_AWAY = "服务器重启中，请稍候".encode()


def setup(app: web.Application) -> None:
    app[OPEN_SOCKETS] = weakref.WeakSet()
    app.on_shutdown.append(close_all)


def track(request: web.Request, ws: web.WebSocketResponse) -> None:
    """Remember a prepared websocket so shutdown can close it."""
    sockets = request.app.get(OPEN_SOCKETS)
    if sockets is not None:
        sockets.add(ws)


async def close_all(app: web.Application) -> None:
    open_now = [ws for ws in app.get(OPEN_SOCKETS, ()) if not ws.closed]
    if not open_now:
        return
    logger.info("shutdown: closing %d websockets (going away)", len(open_now))
    results = await asyncio.gather(*(close_one(ws) for ws in open_now), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            logger.debug("shutdown: a websocket failed to close cleanly: %r", result)


async def close_one(ws: web.WebSocketResponse) -> None:
    """Send "going away" and wait briefly for the page's answer (a gone page must not hold the stop)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(ws.close(code=WSCloseCode.GOING_AWAY, message=GOING_AWAY), CLOSE_TIMEOUT)
