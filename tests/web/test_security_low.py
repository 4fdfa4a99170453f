"""Low-severity findings: JSON errors on API paths, /metrics access, /healthz without addresses."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from livebot.app import create_app
from tests.support import bearer, login


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/api/v1/no-such-thing", 404), ("GET", "/api/v1/me/<script>", 404), ("DELETE", "/api/v1/me", 405),
    ("PUT", "/api/v1/openapi.json", 405), ("GET", "/api/v1/" + "x" * 4000, 404), ("GET", "/api/v1/奶粉😀%00", 404),
])
async def test_api_404_and_405_are_json_errors(client: TestClient, method: str, path: str, status: int) -> None:
    resp = await client.request(method, path)
    assert resp.status == status
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert isinstance(body["error"], str) and body["error"]
    if status == 405:
        assert "GET" in resp.headers["Allow"]


async def test_pages_keep_their_html_404(client: TestClient) -> None:
    resp = await client.get("/no-such-page")
    assert resp.status == 404 and resp.content_type != "application/json"


@pytest.fixture
async def guarded(aiohttp_client: Any, make_config: Any) -> TestClient:
    config = make_config(auth={"session_secret": "s", "metrics_token_required": True})
    return await aiohttp_client(create_app(config))


async def test_metrics_needs_a_metrics_token_when_configured(guarded: TestClient) -> None:
    assert (await guarded.get("/metrics")).status == 401
    assert (await guarded.get("/metrics", headers={"Authorization": "Bearer lbt_forged"})).status == 401
    assert (await guarded.get("/metrics", headers=await bearer(guarded, "trace"))).status == 401
    resp = await guarded.get("/metrics", headers=await bearer(guarded, "metrics"))
    assert resp.status == 200 and "livebot_http_requests" in await resp.text()


async def test_metrics_open_to_admins_when_configured(guarded: TestClient) -> None:
    await login(guarded, "admin")
    assert (await guarded.get("/metrics")).status == 200


async def test_metrics_allow_list(aiohttp_client: Any, make_config: Any) -> None:
    listed = await aiohttp_client(create_app(make_config(auth={"session_secret": "s", "metrics_allow": ["127.0.0.1"]})))
    assert (await listed.get("/metrics")).status == 200
    other = await aiohttp_client(create_app(make_config(auth={"session_secret": "s", "metrics_allow": ["10.9.9.9"]})))
    assert (await other.get("/metrics")).status == 401


async def test_metrics_role_cannot_be_given_to_people(client: TestClient) -> None:
    from livebot.appkeys import DATABASE
    from livebot.auth import store
    from livebot.errors import ValidationError

    with pytest.raises(ValidationError, match="role"):
        await store.add_user(client.app[DATABASE], "scraper", "long enough pw", "metrics")


async def test_metrics_token_may_ask_who_it_is(client: TestClient) -> None:
    resp = await client.get("/api/v1/me", headers=await bearer(client, "metrics"))
    assert resp.status == 200 and (await resp.json())["role"] == "metrics"
