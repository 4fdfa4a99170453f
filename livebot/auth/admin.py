"""The admin page for accounts: disable, enable, reset passwords, revoke tokens, read the audit log."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from livebot.appkeys import DATABASE
from livebot.auth import audit, store
from livebot.auth.access import roles
from livebot.auth.identity import identity_of
from livebot.auth.models import User
from livebot.auth.operations import apply_change, revoke_and_record
from livebot.errors import NotFoundError, ValidationError

routes = web.RouteTableDef()
ACTIONS = ("disable", "enable", "reset-password")


async def render(request: web.Request, notice: str = "", status: int = 200) -> web.Response:
    db = request.app[DATABASE]
    context = {"users": await store.list_users(db), "tokens": await store.list_tokens(db),
               "entries": await audit.recent(db), "notice": notice}
    return aiohttp_jinja2.render_template("auth/accounts.html", request, context, status=status)


@routes.get("/admin/accounts")
@roles("admin")
async def accounts(request: web.Request) -> web.Response:
    return await render(request)


def actor(request: web.Request) -> str:
    identity = identity_of(request)
    return f"user:{identity.name}" if identity else "unknown"


async def user_for(request: web.Request) -> User:
    try:
        user = await store.get_user(request.app[DATABASE], int(request.match_info["user_id"]))
    except ValueError:
        user = None
    if user is None:
        raise NotFoundError("没有这个用户")
    return user


@routes.post("/admin/users/{user_id}/{action}")
@roles("admin")
async def change_user(request: web.Request) -> web.Response:
    action = request.match_info["action"]
    if action not in ACTIONS:
        raise NotFoundError("没有这个操作")
    user = await user_for(request)
    try:
        password = str((await request.post()).get("password", "")) if action == "reset-password" else ""
    except (ValueError, HttpProcessingError):
        password = ""
    try:
        await apply_change(request.app[DATABASE], action, user.username, password, actor(request))
    except ValidationError:
        return await render(request, "密码至少 8 个字符，最多 1024 个字符", status=400)
    return await render(request, {"disable": "已停用并退出其全部登录", "enable": "已启用",
                                  "reset-password": "密码已重置，其全部登录已退出"}[action] + f"：{user.username}")


@routes.post("/admin/tokens/{token_id}/revoke")
@roles("admin")
async def revoke_token(request: web.Request) -> web.Response:
    try:
        token_id = int(request.match_info["token_id"])
    except ValueError as err:
        raise NotFoundError("没有这个令牌") from err
    await revoke_and_record(request.app[DATABASE], token_id, actor(request))
    return await render(request, f"令牌 {token_id} 已吊销")
