"""App keys of the chat area (``app[INGEST]`` is the sink every source and test can submit to)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from livebot.chat.ingest import Ingest
    from livebot.chat.metrics import IngestMetrics
    from livebot.chat.sources.base import Source

INGEST: web.AppKey[Ingest] = web.AppKey("chat.ingest")
CHAT_METRICS: web.AppKey[IngestMetrics] = web.AppKey("chat.metrics")
SOURCES: web.AppKey[dict[str, Source]] = web.AppKey("chat.sources")
