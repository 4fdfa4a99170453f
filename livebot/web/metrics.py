"""``GET /metrics`` in Prometheus text format, and the HTTP request counters behind it."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from livebot.appkeys import CONFIG, REGISTRY
from livebot.auth.access import public
from livebot.auth.identity import identity_of
from livebot.auth.ratelimit import client_address

routes = web.RouteTableDef()


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "livebot_http_requests", "HTTP requests handled", ["method", "route", "status"], registry=registry
        )
        self.latency = Histogram(
            "livebot_http_request_seconds", "HTTP request latency", ["route"], registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one request; the labelled children are looked up once per (method, route, status)."""
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            if len(self._children) >= 4096:  # methods come from clients: stay bounded
                self._children.clear()
            children = self._children[key] = (self.requests.labels(method, route, str(status)), self.latency.labels(route))
        children[0].inc()
        children[1].observe(seconds)


def route_name(request: web.Request) -> str:
    """The route pattern, not the raw path, so metrics do not grow per id."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def metrics_middleware(metrics: HttpMetrics) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        start = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            metrics.observe(request.method, route_name(request), status, time.perf_counter() - start)

    return middleware


@routes.get("/metrics")
@public
async def metrics_view(request: web.Request) -> web.Response:
    if not metrics_allowed(request):
        return web.json_response({"error": "需要 metrics 角色的令牌"}, status=401, headers={"WWW-Authenticate": "Bearer"})
    body = generate_latest(request.app[REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def metrics_allowed(request: web.Request) -> bool:
    """Public unless ``auth.metrics_token_required`` or ``auth.metrics_allow`` is set; then a token of
    role ``metrics`` (or an admin) or a listed client address."""
    settings = request.app[CONFIG].auth
    if not settings.metrics_token_required and not settings.metrics_allow:
        return True
    identity = identity_of(request)
    if identity is not None and identity.has_role("metrics"):
        return True
    return bool(settings.metrics_allow) and client_address(request, settings) in settings.metrics_allow
