"""``@anonymous`` handlers skip the session for safe methods only; default-deny is untouched."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp_session import get_session
from aiohttp_session import setup as setup_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from livebot.auth.access import access_middleware, anonymous, public
from livebot.auth.identity import IDENTITY_KEY

SEEN: web.AppKey[list[Any]] = web.AppKey("seen", list)


def small_app() -> web.Application:
    app = web.Application()
    setup_session(app, EncryptedCookieStorage(b"k" * 32, cookie_name="livebot_session"))
    app.middlewares.append(access_middleware)
    seen: list[Any] = []
    app[SEEN] = seen

    @anonymous
    async def blind(request: web.Request) -> web.Response:
        seen.append(request.get(IDENTITY_KEY))
        return web.Response(text="ok")

    @public
    async def login(request: web.Request) -> web.Response:
        (await get_session(request))["csrf"] = "t"
        return web.Response(text="in")

    async def forgotten(request: web.Request) -> web.Response:
        return web.Response(text="should never answer")

    app.router.add_get("/blind", blind)
    app.router.add_post("/blind", blind)
    app.router.add_get("/login", login)
    app.router.add_get("/forgotten", forgotten)
    return app


async def test_anonymous_get_reads_no_session_and_sets_no_cookie(aiohttp_client: Any) -> None:
    client = await aiohttp_client(small_app())
    resp = await client.get("/blind", headers={"Authorization": "Bearer whatever"})
    assert resp.status == 200 and "Set-Cookie" not in resp.headers
    assert client.app[SEEN] == [None]


async def test_anonymous_post_still_needs_the_csrf_token(aiohttp_client: Any) -> None:
    client = await aiohttp_client(small_app())
    await client.get("/login")  # a session with a CSRF token
    assert (await client.post("/blind")).status == 403
    assert (await client.post("/blind", headers={"X-CSRF-Token": "t"})).status == 200


async def test_unmarked_handler_is_still_denied(aiohttp_client: Any) -> None:
    client = await aiohttp_client(small_app())
    resp = await client.get("/forgotten")
    assert resp.status == 403 and "should never" not in await resp.text()
