"""Bad input on the login form and bearer tokens: the same refusal for everything, never a crash.

Complements test_login.py (CSRF, rate limit, escaping of a script user name): NUL and other
control characters (PostgreSQL cannot compare NUL), oversized fields, bodies that are not a
form, SQL-looking and emoji user names, and a repeated login.
"""

from __future__ import annotations

import io

import pytest
from aiohttp.test_utils import TestClient

from livebot.appkeys import DATABASE
from livebot.auth import store
from livebot.errors import ValidationError
from tests.auth.test_login import post_login
from tests.support import PASSWORD, csrf_from

HOSTILE_NAMES = ["li\x00", "\x00", "li\u202e", "li\x07", "'; DROP TABLE users;--", "' OR '1'='1", "😀𠮷",
                 "<img src=x onerror=alert(1)>", "li\r\nSet-Cookie: x=1"]


@pytest.mark.parametrize("username", HOSTILE_NAMES)
async def test_hostile_user_names_get_the_usual_refusal(client: TestClient, username: str) -> None:
    await store.add_user(client.app[DATABASE], "li", PASSWORD, "advisor")
    resp = await post_login(client, username, PASSWORD)
    assert resp.status == 401
    html = await resp.text()
    assert "用户名或密码错误" in html
    assert "<img src=x" not in html
    assert (await post_login(client, "li", PASSWORD)).status == 302


@pytest.mark.parametrize("password", ["\x00" + PASSWORD, PASSWORD + "\u202e", "x" * 100_000, "'; DROP TABLE users;--"])
async def test_hostile_or_huge_passwords_are_refused(client: TestClient, password: str) -> None:
    await store.add_user(client.app[DATABASE], "li", PASSWORD, "advisor")
    assert (await post_login(client, "li", password)).status == 401
    assert (await post_login(client, "li", PASSWORD)).status == 302


async def test_oversized_user_name_is_cut_and_shown_escaped(client: TestClient) -> None:
    resp = await post_login(client, "<b>" * 10_000, PASSWORD)
    assert resp.status == 401
    html = await resp.text()
    assert "<b><b>" not in html and "&lt;b&gt;" in html
    assert html.count("&lt;b&gt;") <= 64


async def test_body_over_the_server_limit_is_413(client: TestClient) -> None:
    csrf = csrf_from(await (await client.get("/login")).text())
    body = f"csrf_token={csrf}&username=li&password={'x' * 1_100_000}".encode()
    resp = await client.post("/login", data=io.BytesIO(body), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 413
    assert (await client.get("/login")).status == 200


@pytest.mark.parametrize(("content_type", "body"), [
    ("application/json", b'{"username": "li", "password": "correct horse battery"}'),
    ("application/x-www-form-urlencoded", b"%%%&&&===\xff\xfe"),
    ("application/x-www-form-urlencoded", b"username=%ED%A0%80&password=%FF"),
    ("multipart/form-data; boundary=x", b"--x\r\ngarbage"),
    ("text/plain", b"username=li"),
])
async def test_bodies_that_are_not_a_login_form_are_refused(client: TestClient, content_type: str, body: bytes) -> None:
    await store.add_user(client.app[DATABASE], "li", PASSWORD, "advisor")
    await client.get("/login")
    resp = await client.post("/login", data=io.BytesIO(body), headers={"Content-Type": content_type},
                             allow_redirects=False)
    assert resp.status == 403 and "CSRF" in await resp.text()
    assert (await client.get("/api/v1/me")).status == 401
    assert (await post_login(client, "li", PASSWORD)).status == 302


async def test_garbage_form_with_a_valid_csrf_header_is_400(client: TestClient) -> None:
    csrf = csrf_from(await (await client.get("/login")).text())
    resp = await client.post("/login", data=io.BytesIO(b"username=%ED%A0%80&password=%FF\xff"),
                             headers={"Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": csrf})
    assert resp.status == 400
    assert "表单无法解析" in await resp.text()


async def test_logging_in_twice_gives_one_working_session(client: TestClient) -> None:
    await store.add_user(client.app[DATABASE], "li", PASSWORD, "advisor")
    first = await post_login(client, "li", PASSWORD)
    second = await post_login(client, "li", PASSWORD)
    assert (first.status, second.status) == (302, 302)
    me = await client.get("/api/v1/me")
    assert me.status == 200 and (await me.json())["name"] == "li"


@pytest.mark.parametrize("header", ["Bearer ", "Bearer " + "x" * 8000, "Bearer lbt_'; DROP TABLE api_tokens;--",
                                    "Bearer lbt_😀", "Basic bGk6eA==", "bearer lbt_x"])
async def test_malformed_bearer_tokens_are_401(client: TestClient, header: str) -> None:
    resp = await client.get("/api/v1/me", headers={"Authorization": header.encode().decode("latin-1")})
    assert resp.status == 401
    assert (await resp.json())["error"]


async def test_header_beyond_the_http_limit_is_400(client: TestClient) -> None:
    resp = await client.get("/api/v1/me", headers={"Authorization": "Bearer " + "x" * 10_000})
    assert resp.status == 400
    assert (await client.get("/healthz")).status == 200


@pytest.mark.parametrize("target", ['"><script>alert(1)</script>', "javascript:alert(1)", "//evil.example/x",
                                    "/\\evil.example", "/console\r\nSet-Cookie: x=1", "/" + "长" * 500])
async def test_hostile_next_targets_are_escaped_and_never_followed(client: TestClient, target: str) -> None:
    page = await client.get("/login", params={"next": target})
    assert page.status == 200
    html = await page.text()
    assert "<script>alert(1)</script>" not in html and "javascript:" not in html
    await store.add_user(client.app[DATABASE], "li", PASSWORD, "advisor")
    csrf = csrf_from(html)
    resp = await client.post("/login", data={"username": "li", "password": PASSWORD, "csrf_token": csrf, "next": target},
                             allow_redirects=False)
    assert resp.status == 302
    location = resp.headers["Location"]
    assert location.startswith("/") and not location.startswith("//") and "\\" not in location and "\n" not in location


@pytest.mark.parametrize(("username", "display", "field"), [
    ("li\u202e", "", "username"), ("li\x07", "", "username"), ("li\x00", "", "username"),
    ("li", "李\u202e营养师", "display_name"), ("li", "李\n营养师", "display_name"),
])
async def test_user_names_with_control_or_direction_characters_are_refused(client: TestClient, username: str,
                                                                           display: str, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        await store.add_user(client.app[DATABASE], username, PASSWORD, "advisor", display)
    assert info.value.field == field
    user = await store.add_user(client.app[DATABASE], "李营养师 😀", PASSWORD, "advisor", "<b>李</b>'; --")
    assert user.display_name == "<b>李</b>'; --"
