"""Default-deny access control: a handler is reachable only if it says who may call it.

Handlers are marked ``@public``, ``@anonymous`` (public and blind to who asks),
``@csrf_exempt`` (signed machine endpoints) or ``@roles("advisor", ...)``. An unmarked
handler answers 403 to everyone, so a forgotten decorator fails closed rather than open.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp_jinja2
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp_session import get_session

from livebot.appkeys import DATABASE
from livebot.auth import store
from livebot.auth.identity import IDENTITY_KEY, Identity, identity_of

F = TypeVar("F", bound=Callable[..., Any])
ACCESS_ATTR = "__livebot_access__"
CSRF_EXEMPT_ATTR = "__livebot_csrf_exempt__"
ANONYMOUS_ATTR = "__livebot_anonymous__"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LANDING = {"admin": "/admin", "producer": "/producer", "advisor": "/console", "marketing": "/reports"}


def public(handler: F) -> F:
    setattr(handler, ACCESS_ATTR, "public")
    return handler


def anonymous(handler: F) -> F:
    """Public, and the answer never depends on who asks: for safe methods the caller's session
    and token are not read at all (no cookie decryption, no Set-Cookie, no token lookup in the
    database) and no identity is set on the request. For hot public endpoints such as the
    Digital Link resolver; unsafe methods still get the full checks."""
    setattr(handler, ACCESS_ATTR, "public")
    setattr(handler, ANONYMOUS_ATTR, True)
    return handler


def csrf_exempt(handler: F) -> F:
    """For endpoints that authenticate each request themselves (signed webhooks, callbacks)."""
    setattr(handler, CSRF_EXEMPT_ATTR, True)
    if not hasattr(handler, ACCESS_ATTR):
        setattr(handler, ACCESS_ATTR, "public")
    return handler


def roles(*names: str) -> Callable[[F], F]:
    def mark(handler: F) -> F:
        setattr(handler, ACCESS_ATTR, frozenset(names))
        return handler

    return mark


def is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


async def csrf_token(request: web.Request) -> str:
    """The session's CSRF token, created on first use."""
    session = await get_session(request)
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        session["csrf"] = token
    return token


async def resolve_identity(request: web.Request) -> Identity | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        found = await store.token_role(request.app[DATABASE], header[7:].strip())
        return Identity(kind="token", name=found[1], role=found[0]) if found else None
    session = await get_session(request)
    user_id = session.get("user_id")
    if user_id is None:
        return None
    user = await store.get_user(request.app[DATABASE], int(user_id))
    if user is None or user.disabled:
        session.invalidate()
        return None
    return Identity(kind="user", name=user.username, role=user.role, user_id=user.id, display_name=user.display_name)


async def csrf_ok(request: web.Request) -> bool:
    session = await get_session(request)
    expected = session.get("csrf")
    if not expected:
        return False
    given = request.headers.get("X-CSRF-Token", "")
    if not given and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            given = str((await request.post()).get("csrf_token", ""))
        except (ValueError, HttpProcessingError):  # not a form (bad encoding, broken multipart): no token
            return False
    return hmac.compare_digest(given.encode(), expected.encode())


async def denied(request: web.Request, status: int, message: str) -> web.StreamResponse:
    if is_api(request) or request.headers.get("Accept", "").startswith("application/json"):
        return web.json_response({"error": message}, status=status)
    if status == 401:
        raise web.HTTPFound(f"/login?next={request.path_qs}" if request.method == "GET" else "/login")
    if aiohttp_jinja2.APP_KEY in request.app:  # a page with navigation and logout, not bare text
        identity = identity_of(request)
        context = {"status": status, "message": message, "identity": identity,
                   "csrf": await csrf_token(request) if identity else ""}
        return aiohttp_jinja2.render_template("error.html", request, context, status=status)
    return web.Response(status=status, text=f"{status} {message}", content_type="text/plain", charset="utf-8")


@web.middleware
async def access_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    route = request.match_info.route
    if isinstance(route.resource, web.StaticResource) or request.match_info.http_exception is not None:
        return await handler(request)
    target = request.match_info.handler
    access = getattr(target, ACCESS_ATTR, None)
    if access == "public" and request.method not in UNSAFE and getattr(target, ANONYMOUS_ATTR, False):
        return await handler(request)
    identity = await resolve_identity(request)
    if identity is not None:
        request[IDENTITY_KEY] = identity
    if access is None:
        return await denied(request, 403, "此接口未声明访问权限")
    if access != "public":
        if identity is None:
            return await denied(request, 401, "请先登录")
        if not identity.has_role(*access):
            return await denied(request, 403, "没有权限访问此页面")
    exempt = getattr(target, CSRF_EXEMPT_ATTR, False)
    if request.method in UNSAFE and not exempt and (identity is None or identity.kind == "user"):
        if not await csrf_ok(request):
            return await denied(request, 403, "表单已过期或来源不可信（CSRF 校验失败），请刷新页面后重试")
    return await handler(request)
