"""Typed keys for the objects one app instance shares (``app[DATABASE]``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from livebot.bus.base import Bus
    from livebot.config import Config
    from livebot.storage.engine import Database
    from livebot.web.openapi import ApiDoc

CONFIG: web.AppKey[Config] = web.AppKey("config")
DATABASE: web.AppKey[Database] = web.AppKey("database")
BUS: web.AppKey[Bus] = web.AppKey("bus")
REGISTRY: web.AppKey[CollectorRegistry] = web.AppKey("metrics.registry")
API_DOC: web.AppKey[ApiDoc] = web.AppKey("web.api_doc")
ROLE: web.AppKey[str] = web.AppKey("role", str)
"""What this process does: "all" (web and every stage), "web" (stages left to workers) or "worker"."""
