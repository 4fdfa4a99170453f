"""Pick the bus implementation from ``[bus] url``."""

from __future__ import annotations

from livebot.bus.base import Bus, BusMetrics
from livebot.bus.memory import MemoryBus
from livebot.config import BusSettings


def open_bus(settings: BusSettings, metrics: BusMetrics | None = None) -> Bus:
    """A not-yet-started bus for the configured URL."""
    if settings.url.startswith("memory://"):
        return MemoryBus(queue_size=settings.queue_size, metrics=metrics)
    from livebot.bus.redis import RedisBus

    return RedisBus(settings.url, prefix=settings.channel_prefix, queue_size=settings.queue_size, metrics=metrics,
                    streams=settings.streams, claim_idle_ms=settings.claim_idle_ms,
                    stream_retention_seconds=settings.stream_retention_seconds)
