"""A short-lived cache of batch summaries for the public Digital Link resolver.

A can's code is scanned by many viewers at once when the stream shows it, so the answer is
computed once, reused for ``ttl`` seconds and dropped the moment its trace data changes
(``trace.updated`` names every batch whose summary changed). Concurrent misses for one lot share a single database lookup.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson

Loader = Callable[[str], Awaitable[dict[str, Any] | None]]


class CachedSummary:
    """A summary kept as JSON bytes: thousands of cached lots add no objects for the cyclic GC to walk
    (a cache of nested dicts made full collections take most of a second under load)."""

    __slots__ = ("gtin", "json", "expires")

    def __init__(self, summary: dict[str, Any] | None, expires: float) -> None:
        self.gtin: str | None = summary.get("gtin") if summary is not None else None
        self.json = orjson.dumps(summary) if summary is not None else b""
        self.expires = expires

    @property
    def found(self) -> bool:
        return bool(self.json)

    @property
    def summary(self) -> dict[str, Any] | None:
        """A fresh copy of the summary (for pages); None when the lot is unknown."""
        return orjson.loads(self.json) if self.json else None


class SummaryCache:
    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.entries: dict[str, CachedSummary] = {}
        self.pending: dict[str, asyncio.Future[CachedSummary]] = {}
        self.generation = 0

    async def get(self, lot: str, load: Loader) -> CachedSummary:
        """The cached summary of ``lot`` (summary None when unknown), loading it on a miss."""
        entry = self.entries.get(lot)
        if entry is not None and entry.expires > time.monotonic():
            return entry
        waiting = self.pending.get(lot)
        if waiting is not None:
            return await asyncio.shield(waiting)
        future: asyncio.Future[CachedSummary] = asyncio.get_running_loop().create_future()
        self.pending[lot] = future
        generation = self.generation
        try:
            entry = CachedSummary(await load(lot), time.monotonic() + self.ttl)
        except BaseException as err:
            future.set_exception(err)
            future.exception()  # retrieved here so an unawaited failure is not reported twice
            raise
        finally:
            self.pending.pop(lot, None)
        if generation == self.generation and self.ttl > 0:
            if len(self.entries) >= self.max_entries:
                self.entries.clear()
            self.entries[lot] = entry
        future.set_result(entry)
        return entry

    def clear(self) -> None:
        """Forget everything; loads already running are not kept."""
        self.entries.clear()
        self.generation += 1

    def discard(self, lots: Iterable[str]) -> None:
        """Forget these lots (their trace data changed); loads already running are not kept."""
        for lot in lots:
            self.entries.pop(lot, None)
        self.generation += 1
