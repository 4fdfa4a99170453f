"""App keys of the trace area."""

from __future__ import annotations

from aiohttp import web

from livebot.background import TaskSet
from livebot.trace.cache import SummaryCache
from livebot.trace.facts import TraceFacts
from livebot.trace.scans import ScanCounter
from livebot.trace.settings import TraceSettings

TRACE_SETTINGS: web.AppKey[TraceSettings] = web.AppKey("trace.settings", TraceSettings)
TRACE_FACTS: web.AppKey[TraceFacts] = web.AppKey("trace.facts", TraceFacts)
"""What other areas ask trace for (summaries, telemetry, code lookup), with the app's ``[trace]`` settings."""
SUMMARY_CACHE: web.AppKey[SummaryCache] = web.AppKey("trace.summary_cache", SummaryCache)
TRACE_TASKS: web.AppKey[TaskSet] = web.AppKey("trace.tasks", TaskSet)
"""Background tasks tied to the app (the demo's telemetry feed); cancelled at cleanup."""
SCANS: web.AppKey[ScanCounter] = web.AppKey("trace.scans", ScanCounter)
"""Digital Link lookups counted in memory until ``scans.flush_loop`` writes them."""
