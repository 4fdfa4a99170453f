"""Server-side sessions: logout, a password change and disabling a user end a session at once."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from livebot.appkeys import DATABASE
from livebot.auth import store
from livebot.auth.models import AuthSession
from livebot.auth.sessions import COOKIE, digest
from tests.conftest import login


def session_cookie(client: TestClient) -> str:
    return next(c.value for c in client.session.cookie_jar if c.key == COOKIE)


async def me_with(client: TestClient, cookie: str) -> int:
    """GET /api/v1/me with only this cookie, as a thief replaying it would."""
    client.session.cookie_jar.clear()
    resp = await client.get("/api/v1/me", headers={"Cookie": f"{COOKIE}={cookie}"})
    return resp.status


async def test_logout_ends_a_copied_cookie(client: TestClient) -> None:
    csrf = await login(client, "advisor")
    stolen = session_cookie(client)
    assert (await client.post("/logout", data={"csrf_token": csrf}, allow_redirects=False)).status == 302
    assert await me_with(client, stolen) == 401


async def test_password_change_ends_every_session(client: TestClient) -> None:
    await login(client, "advisor", username="li")
    stolen = session_cookie(client)
    await store.set_password(client.app[DATABASE], "li", "a brand new password")
    assert await me_with(client, stolen) == 401


async def test_disabling_a_user_ends_every_session(client: TestClient) -> None:
    await login(client, "advisor", username="li")
    stolen = session_cookie(client)
    await store.set_disabled(client.app[DATABASE], "li", True)
    await store.set_disabled(client.app[DATABASE], "li", False)
    assert await me_with(client, stolen) == 401


async def test_cookie_holds_only_a_random_id_stored_as_a_digest(client: TestClient) -> None:
    await login(client, "advisor")
    cookie = session_cookie(client)
    assert 40 <= len(cookie) <= 64 and "user_id" not in cookie
    async with client.app[DATABASE].sessions() as session:
        ids = set(await session.scalars(select(AuthSession.id)))
    assert digest(cookie) in ids and cookie not in ids


async def test_login_replaces_the_session_id(client: TestClient) -> None:
    await client.get("/login")
    before = session_cookie(client)
    await login(client, "advisor")
    assert session_cookie(client) != before
    async with client.app[DATABASE].sessions() as session:
        assert await session.scalar(select(func.count()).where(AuthSession.id == digest(before))) == 0


@pytest.mark.parametrize("cookie", ["x" * 5000, "<script>alert(1)</script>", "\u202eabc\u200f", "奶粉😀", "a; b=c", "''"])
async def test_hostile_cookies_are_just_no_session(client: TestClient, cookie: Any) -> None:
    client.session.cookie_jar.clear()
    resp = await client.get("/api/v1/me", headers={"Cookie": f"{COOKIE}={cookie}"})
    assert resp.status == 401
    assert (await client.get("/login", headers={"Cookie": f"{COOKIE}={cookie}"})).status == 200
