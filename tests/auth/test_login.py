"""Login, logout, CSRF, rate limiting, roles and bearer tokens."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from livebot.appkeys import DATABASE
from livebot.auth import store
from livebot.auth.ratelimit import MemoryLimiter
from livebot.errors import ValidationError
from tests.support import PASSWORD, bearer, csrf_from, login

LANDINGS = {"admin": "/admin", "producer": "/producer", "advisor": "/console", "marketing": "/reports"}


async def post_login(client: TestClient, username: str, password: str, csrf: str | None = None):
    if csrf is None:
        csrf = csrf_from(await (await client.get("/login")).text())
    return await client.post("/login", data={"username": username, "password": password, "csrf_token": csrf, "next": "/"},
                             allow_redirects=False)


async def test_login_page_is_chinese(client: TestClient) -> None:
    html = await (await client.get("/login")).text()
    assert "登录" in html and 'lang="zh-CN"' in html


async def test_login_redirects_to_role_landing(client: TestClient) -> None:
    await store.add_user(client.app[DATABASE], "li", PASSWORD, "advisor")
    resp = await post_login(client, "li", PASSWORD)
    assert resp.status == 302
    assert resp.headers["Location"] == "/console"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


async def test_wrong_password(client: TestClient) -> None:
    await store.add_user(client.app[DATABASE], "li", PASSWORD, "advisor")
    resp = await post_login(client, "li", "wrong password")
    assert resp.status == 401
    assert "用户名或密码错误" in await resp.text()
    assert (await client.get("/api/v1/me")).status == 401


async def test_unknown_user_same_message(client: TestClient) -> None:
    resp = await post_login(client, "nobody", PASSWORD)
    assert resp.status == 401
    assert "用户名或密码错误" in await resp.text()


async def test_login_without_csrf_is_rejected(client: TestClient) -> None:
    await store.add_user(client.app[DATABASE], "li", PASSWORD, "advisor")
    await client.get("/login")
    resp = await post_login(client, "li", PASSWORD, csrf="forged")
    assert resp.status == 403
    assert "CSRF" in await resp.text()


async def test_logged_in_post_needs_csrf(client: TestClient) -> None:
    csrf = await login(client, "advisor")
    assert (await client.post("/logout", data={}, allow_redirects=False)).status == 403
    assert (await client.get("/api/v1/me")).status == 200
    resp = await client.post("/logout", data={"csrf_token": csrf}, allow_redirects=False)
    assert resp.status == 302
    assert (await client.get("/api/v1/me")).status == 401


async def test_rate_limit_after_failures(client: TestClient) -> None:
    await store.add_user(client.app[DATABASE], "li", PASSWORD, "advisor")
    for _ in range(5):
        assert (await post_login(client, "li", "bad")).status == 401
    resp = await post_login(client, "li", PASSWORD)
    assert resp.status == 429
    assert "Retry-After" in resp.headers


def test_limiter_window_expires() -> None:
    now = [0.0]
    limiter = MemoryLimiter(60, clock=lambda: now[0])
    assert limiter.acquire_now({"k": 2}) == 0
    assert limiter.acquire_now({"k": 2}) == 0
    assert limiter.acquire_now({"k": 2}) == pytest.approx(60)
    now[0] = 61
    assert limiter.acquire_now({"k": 2}) == 0


@pytest.mark.parametrize("role", sorted(LANDINGS))
async def test_each_role_reaches_its_landing(client: TestClient, role: str) -> None:
    await login(client, role)
    resp = await client.get(LANDINGS[role])
    assert resp.status == 200


@pytest.mark.parametrize(("role", "page"), [("advisor", "/admin"), ("advisor", "/producer"), ("marketing", "/console"),
                                            ("producer", "/reports")])
async def test_wrong_role_gets_403(client: TestClient, role: str, page: str) -> None:
    await login(client, role)
    assert (await client.get(page)).status == 403


async def test_anonymous_page_redirects_to_login(client: TestClient) -> None:
    resp = await client.get("/console", allow_redirects=False)
    assert resp.status == 302
    assert resp.headers["Location"].startswith("/login?next=/console")


async def test_open_redirect_is_refused(client: TestClient) -> None:
    await store.add_user(client.app[DATABASE], "li", PASSWORD, "advisor")
    csrf = csrf_from(await (await client.get("/login")).text())
    resp = await client.post("/login", data={"username": "li", "password": PASSWORD, "csrf_token": csrf,
                                             "next": "//evil.example"}, allow_redirects=False)
    assert resp.headers["Location"] == "/console"


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\n/evil.example", "/\r/evil.example", "/\\evil.example",
                                    "\t//evil.example", "/\x00/evil.example", "https://evil.example/", "/%09/evil.example"])
async def test_open_redirect_after_normalisation_is_refused(client: TestClient, target: str) -> None:
    await store.add_user(client.app[DATABASE], "li", PASSWORD, "advisor")
    page = await client.get("/login", params={"next": target})
    assert 'value="/"' in await page.text() or target == "/%09/evil.example"
    csrf = csrf_from(await page.text())
    resp = await client.post("/login", data={"username": "li", "password": PASSWORD, "csrf_token": csrf, "next": target},
                             allow_redirects=False)
    location = resp.headers["Location"]
    assert not location.startswith("//") and "evil.example" not in location.split("?")[0].lstrip("/").split("/")[0]
    assert location in ("/console", "/%09/evil.example")


async def test_query_string_next_with_encoded_tab_is_refused(client: TestClient) -> None:
    await store.add_user(client.app[DATABASE], "li", PASSWORD, "advisor")
    page = await client.get("/login?next=%2F%09%2Fevil.example")
    html = await page.text()
    assert "evil.example" not in html


async def test_bearer_token(client: TestClient) -> None:
    headers = await bearer(client, "trace")
    resp = await client.get("/api/v1/me", headers=headers)
    assert resp.status == 200
    assert (await resp.json())["role"] == "trace"
    bad = await client.get("/api/v1/me", headers={"Authorization": "Bearer lbt_nope"})
    assert bad.status == 401


async def test_hostile_username_is_escaped(client: TestClient) -> None:
    resp = await post_login(client, "<script>alert(1)</script>", "x")
    html = await resp.text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


async def test_add_user_validation(client: TestClient) -> None:
    db = client.app[DATABASE]
    with pytest.raises(ValidationError, match="password"):
        await store.add_user(db, "a", "short", "advisor")
    with pytest.raises(ValidationError, match="role"):
        await store.add_user(db, "a", PASSWORD, "king")
    await store.add_user(db, "a", PASSWORD, "advisor")
    with pytest.raises(ValidationError, match="already exists"):
        await store.add_user(db, "a", PASSWORD, "advisor")
