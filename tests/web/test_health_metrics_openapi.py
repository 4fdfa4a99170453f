"""Health, metrics and the OpenAPI document."""

from __future__ import annotations

import io

from aiohttp import web
from aiohttp.test_utils import TestClient

from livebot.appkeys import API_DOC
from livebot.auth.access import ACCESS_ATTR

PUBLIC_OUTSIDE_API = {"/healthz", "/metrics", "/login", "/logout", "/"}


async def test_healthz_ok(client: TestClient) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    body = await resp.json()
    assert body["status"] == "ok"
    assert body["checks"]["storage"] == "ok"


async def test_healthz_503_when_storage_is_gone(aiohttp_client) -> None:
    """A database that refuses connections (nothing listens on port 1) makes health 503."""
    from livebot.appkeys import BUS, DATABASE
    from livebot.bus.memory import MemoryBus
    from livebot.storage.engine import Database
    from livebot.web import health

    app = web.Application()
    app[DATABASE] = Database.open("postgresql://postgres@127.0.0.1:1/none")
    app[BUS] = MemoryBus()
    app.add_routes(health.routes)
    client = await aiohttp_client(app)
    resp = await client.get("/healthz")
    await app[DATABASE].close()
    assert resp.status == 503
    body = await resp.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["storage"] == "unavailable"
    assert "127.0.0.1" not in await resp.text() and ":1" not in await resp.text()
    assert body["checks"]["bus"] == "ok"


async def test_metrics_prometheus_text(client: TestClient) -> None:
    await client.get("/healthz")
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.content_type == "text/plain"
    text = await resp.text()
    assert 'livebot_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert "livebot_bus_published_total" in text or "livebot_bus_published" in text


def api_routes(app: web.Application) -> set[tuple[str, str]]:
    found = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if path and path.startswith("/api/") and route.method not in ("HEAD", "OPTIONS"):
            found.add((path, route.method.lower()))
    return found


async def test_openapi_documents_every_api_route(client: TestClient) -> None:
    resp = await client.get("/api/v1/openapi.json")
    assert resp.status == 200
    doc = await resp.json()
    assert doc["openapi"].startswith("3.1")
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    routed = api_routes(client.app)
    assert routed - documented == set(), "routes missing from the OpenAPI document"
    assert documented - routed == set(), "documented routes that do not exist"
    assert doc == client.app[API_DOC].document(doc["servers"][0]["url"])


async def test_every_route_declares_access(client: TestClient) -> None:
    for route in client.app.router.routes():
        if isinstance(route.resource, web.StaticResource) or route.method == "HEAD":
            continue
        assert getattr(route.handler, ACCESS_ATTR, None) is not None, route


async def test_errors_map_to_statuses(config) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from livebot.app import create_app
    from livebot.auth.access import csrf_exempt, public
    from livebot.errors import ConflictError, NotFoundError, ValidationError

    app = create_app(config)
    problems = {"bad": ValidationError("events[0].platform", "must be one of ..."), "gone": NotFoundError("没有这个场次"),
                "taken": ConflictError("已被认领")}

    @public
    async def fail(request: web.Request) -> web.Response:
        raise problems[request.match_info["kind"]]

    @csrf_exempt
    async def upload(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="ok")

    app.router.add_get("/fail/{kind}", fail)
    app.router.add_post("/upload", upload)
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/fail/bad")
        assert resp.status == 400
        assert await resp.json() == {"error": "events[0].platform: must be one of ...", "field": "events[0].platform"}
        assert (await client.get("/fail/gone")).status == 404
        resp = await client.get("/fail/taken")
        assert resp.status == 409
        assert "已被认领" in await resp.text()
        resp = await client.post("/upload", data=io.BytesIO(b"x" * (config.server.max_body_bytes + 1)))
        assert resp.status == 413
        assert "exceeded" in (await resp.json())["error"]
