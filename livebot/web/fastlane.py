"""A hot anonymous endpoint's ready answers, given before the app's inner middlewares run.

The Digital Link resolver answers a crowd scanning one can: on a small box each request's trip
through the session, error, access and template-context middlewares cost as much CPU as the
answer itself, and none of them applies to an anonymous answer of bytes already built (no
session, no identity, no CSRF, no template, no exception to map). A handler marked
:func:`fast_answer` names a synchronous function that returns such an answer or None; the fast
lane (placed right after the metrics middleware, so every request is still counted) tries it
first and otherwise hands the request to the full chain.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

FAST_ATTR = "__livebot_fast_answer__"
SAFE_METHODS = frozenset({"GET", "HEAD"})
F = TypeVar("F", bound=Callable[..., Awaitable[web.StreamResponse]])
Answer = Callable[[web.Request], web.StreamResponse | None]


def fast_answer(answer: Answer) -> Callable[[F], F]:
    """Mark an ``@anonymous`` handler: ``answer(request)`` (no await) gives the response for the
    cases it can answer alone, None for the rest (the handler then runs with every middleware)."""
    def mark(handler: F) -> F:
        setattr(handler, FAST_ATTR, answer)
        return handler

    return mark


@web.middleware
async def fast_lane_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    answer: Answer | None = getattr(request.match_info.handler, FAST_ATTR, None)
    if answer is not None and request.method in SAFE_METHODS:
        response = answer(request)
        if response is not None:
            return response
    return await handler(request)
