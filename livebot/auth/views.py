"""Login, logout and the role landing pages."""

from __future__ import annotations

import math
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp_session import get_session, new_session

from livebot.appkeys import CONFIG, DATABASE
from livebot.auth import sessions, store
from livebot.auth.access import LANDING, csrf_token, public, roles
from livebot.auth.identity import identity_of
from livebot.auth.ratelimit import LoginLimiter, client_address, limits_for
from livebot.errors import AuthError

routes = web.RouteTableDef()
LIMITER: web.AppKey[LoginLimiter] = web.AppKey("auth.login_limiter")


def safe_next(target: str) -> str:
    """Only same-site paths, so the login form cannot redirect people elsewhere. Checked on what a
    browser would follow: any control character or backslash refuses the target outright, since
    browsers strip tabs and newlines and read ``\\`` as ``/`` (``/\t/evil`` becomes ``//evil``)."""
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in target):
        return "/"
    parsed = urlsplit(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@routes.get("/login", name="login")
@public
async def login_page(request: web.Request) -> web.Response:
    context = {"next": safe_next(request.query.get("next", "/")), "error": "", "username": "", "csrf": await csrf_token(request)}
    return aiohttp_jinja2.render_template("auth/login.html", request, context)


@routes.post("/login")
@public
async def login_submit(request: web.Request) -> web.StreamResponse:
    try:
        form = await request.post()
    except (ValueError, HttpProcessingError):  # not a form (bad encoding, broken multipart)
        return await render_login_error(request, "", "/", "表单无法解析，请刷新页面后重试", 400)
    username = str(form.get("username", ""))[:64]
    password = str(form.get("password", ""))[:1024]
    target = safe_next(str(form.get("next", "/")))
    settings = request.app[CONFIG].auth
    limits = limits_for(settings, client_address(request, settings), username)
    limiter = request.app[LIMITER]
    wait = await limiter.acquire(limits)  # counted before the password is checked: a burst cannot all pass
    if wait > 0:
        return await render_login_error(request, username, target, f"尝试次数过多，请 {math.ceil(wait)} 秒后再试", 429, wait)
    try:
        user = await store.authenticate(request.app[DATABASE], username, password)
    except AuthError as err:
        return await render_login_error(request, username, target, str(err), 401)
    await limiter.succeed(limits)
    before = (await get_session(request)).identity
    if before is not None:  # a fresh id at login: a session id planted before it is worth nothing
        await sessions.revoke(request.app[DATABASE], str(before))
    session = await new_session(request)
    session["user_id"] = user.id
    raise web.HTTPFound(target if target != "/" else LANDING.get(user.role, "/"))


async def render_login_error(request: web.Request, username: str, target: str, message: str, status: int,
                             retry_after: float = 0.0) -> web.Response:
    context = {"next": target, "error": message, "username": username, "csrf": await csrf_token(request)}
    response = aiohttp_jinja2.render_template("auth/login.html", request, context, status=status)
    if retry_after > 0:
        response.headers["Retry-After"] = str(math.ceil(retry_after))  # the lock's remaining time, not a guess
    return response


@routes.post("/logout")
@public
async def logout(request: web.Request) -> web.StreamResponse:
    session = await get_session(request)
    session.invalidate()
    raise web.HTTPFound("/login")


@routes.get("/")
@public
async def home(request: web.Request) -> web.StreamResponse:
    identity = identity_of(request)
    raise web.HTTPFound(LANDING.get(identity.role, "/login") if identity else "/login")


@routes.get("/admin", name="admin_home")
@roles("admin")
async def admin_home(request: web.Request) -> web.Response:
    return aiohttp_jinja2.render_template("auth/admin.html", request, {})


@routes.get("/api/v1/me")
@roles("admin", "producer", "advisor", "marketing", "trace", "metrics")
async def me(request: web.Request) -> web.Response:
    identity = identity_of(request)
    assert identity is not None
    return web.json_response({"name": identity.name, "role": identity.role, "kind": identity.kind})
