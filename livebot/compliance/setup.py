"""Wire the compliance guard into the app: the shared ``Guard``, its API and page."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from livebot.appkeys import API_DOC, CONFIG, DATABASE
from livebot.compliance import apidoc
from livebot.compliance.api import routes
from livebot.compliance.service import GUARD, ComplianceSettings, Guard


class _LazyDatabase:
    """The database opens in a cleanup context after setup; the guard reaches it through the app."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app[DATABASE], name)


async def guard_ctx(app: web.Application) -> AsyncIterator[None]:
    await app[GUARD].reload_brand_rules()
    await asyncio.to_thread(app[GUARD].warm_up)
    yield


def setup(app: web.Application) -> None:
    settings = app[CONFIG].section("compliance", ComplianceSettings)
    app[GUARD] = Guard(_LazyDatabase(app), settings)  # type: ignore[arg-type]
    app.add_routes(routes)
    app[API_DOC].add(apidoc.PATHS)
    app.cleanup_ctx.append(guard_ctx)
