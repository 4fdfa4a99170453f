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
from tests.support import login


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


async def test_admin_page_disables_resets_and_revokes(client: TestClient) -> None:
    from livebot.auth import audit
    from tests.support import PASSWORD, bearer

    db = client.app[DATABASE]
    await store.add_user(db, "li", PASSWORD, "advisor", display_name="<b>李</b>")
    headers = await bearer(client, "trace")
    csrf = await login(client, "admin", username="boss")
    page = await client.get("/admin/accounts")
    html = await page.text()
    assert page.status == 200 and "&lt;b&gt;李&lt;/b&gt;" in html and "lbt_" not in html
    li = await store.user_by_name(db, "li")
    assert (await client.post(f"/admin/users/{li.id}/disable", data={"csrf_token": csrf})).status == 200
    assert (await store.user_by_name(db, "li")).disabled
    assert (await client.post(f"/admin/users/{li.id}/disable", data={})).status == 403  # CSRF
    short = await client.post(f"/admin/users/{li.id}/reset-password", data={"csrf_token": csrf, "password": "short"})
    assert short.status == 400
    done = await client.post(f"/admin/users/{li.id}/reset-password", data={"csrf_token": csrf, "password": "a new long one"})
    assert done.status == 200
    assert (await client.post("/admin/users/999999/enable", data={"csrf_token": csrf})).status == 404
    assert (await client.post(f"/admin/users/{li.id}/promote", data={"csrf_token": csrf})).status == 404
    token_id = (await store.list_tokens(db))[0].id
    assert (await client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": csrf})).status == 200
    assert (await client.get("/api/v1/me", headers=headers)).status == 401
    actions = [e.action for e in await audit.recent(db)]
    assert actions == ["token.revoke", "user.reset-password", "user.disable"]
    assert all(e.actor == "user:boss" for e in await audit.recent(db))


async def test_admin_page_is_admin_only(client: TestClient) -> None:
    await login(client, "advisor")
    assert (await client.get("/admin/accounts")).status == 403
