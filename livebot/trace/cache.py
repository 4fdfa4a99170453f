"""A short-lived cache of batch summaries for the public Digital Link resolver.

A can's code is scanned by many viewers at once when the stream shows it, so the answer is
computed once, reused for ``ttl`` seconds and dropped the moment its trace data changes
(``trace.updated`` names every batch whose summary changed). Concurrent misses for one lot share a single database lookup.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, NamedTuple

import orjson

from livebot.background import TaskSet


class Ready(NamedTuple):
    """A summary already serialised (stored at write time): kept as is, never parsed on a miss."""

    gtin: str | None
    json: bytes


Loaded = dict[str, Any] | Ready | None
Loader = Callable[[str], Awaitable[Loaded]]
ManyLoader = Callable[[list[str]], Awaitable[Mapping[str, Loaded]]]


class CachedSummary:
    """A summary kept as JSON bytes: thousands of cached lots add no objects for the cyclic GC to walk
    (a cache of nested dicts made full collections take most of a second under load)."""

    __slots__ = ("gtin", "json", "expires", "page")

    def __init__(self, summary: Loaded, expires: float) -> None:
        if isinstance(summary, Ready):
            self.gtin: str | None = summary.gtin
            self.json: bytes = summary.json
        else:
            self.gtin = summary.get("gtin") if summary is not None else None
            self.json = orjson.dumps(summary) if summary is not None else b""
        self.expires = expires
        self.page: bytes | None = None
        """The lot's public page, rendered on its first request (it depends on nothing else)."""

    @property
    def found(self) -> bool:
        return bool(self.json)

    @property
    def summary(self) -> dict[str, Any] | None:
        """A fresh copy of the summary (for pages); None when the lot is unknown."""
        return orjson.loads(self.json) if self.json else None


class SummaryCache:
    """Summaries by lot for ``ttl`` seconds (0: not kept, concurrent misses still share a load).

    A hit is a dictionary read (:meth:`peek`, no await). Misses are loaded either by the
    caller's own ``load`` or, without one, together: every lot missed while the event loop
    handles one burst of requests goes to ``load_many`` in a single call on the next turn of
    the loop (one database round trip for a crowd scanning different cans).
    """

    def __init__(self, ttl: float, max_entries: int = 10_000, load_many: ManyLoader | None = None) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.load_many = load_many
        self.entries: dict[str, CachedSummary] = {}
        self.pending: dict[str, asyncio.Future[CachedSummary]] = {}
        self.queued: list[tuple[str, asyncio.Future[CachedSummary]]] = []
        self.tasks = TaskSet("trace")
        self.generation = 0

    def peek(self, lot: str) -> CachedSummary | None:
        """The fresh cached entry of ``lot``, or None (nothing is loaded)."""
        entry = self.entries.get(lot)
        if entry is not None and entry.expires > time.monotonic():
            return entry
        return None

    async def get(self, lot: str, load: Loader | None = None) -> CachedSummary:
        """The cached summary of ``lot`` (summary None when unknown), loading it on a miss."""
        entry = self.peek(lot)
        if entry is not None:
            return entry
        waiting = self.pending.get(lot)
        if waiting is not None:
            return await asyncio.shield(waiting)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[CachedSummary] = loop.create_future()
        self.pending[lot] = future
        if load is None:
            if self.load_many is None:
                del self.pending[lot]
                raise RuntimeError("SummaryCache.get without a loader and no load_many set")
            if not self.queued:
                loop.call_soon(self._start_batch)
            self.queued.append((lot, future))
            return await asyncio.shield(future)
        generation = self.generation
        try:
            entry = CachedSummary(await load(lot), time.monotonic() + self.ttl)
        except BaseException as err:
            future.set_exception(err)
            future.exception()  # retrieved here so an unawaited failure is not reported twice
            raise
        finally:
            self._forget(lot, future)
        self._keep(lot, entry, generation)
        future.set_result(entry)
        return entry

    def _start_batch(self) -> None:
        queued, self.queued = self.queued, []
        self.tasks.spawn(self._load_batch(queued, self.generation), "resolver-load")

    async def _load_batch(self, futures: list[tuple[str, asyncio.Future[CachedSummary]]], generation: int) -> None:
        try:
            assert self.load_many is not None
            found = await self.load_many([lot for lot, _ in futures])
        except asyncio.CancelledError:
            for lot, future in futures:
                self._forget(lot, future)
                if not future.done():
                    future.cancel()
            raise
        except Exception as err:
            for lot, future in futures:
                self._forget(lot, future)
                if not future.done():
                    future.set_exception(err)
                    future.exception()
            return
        expires = time.monotonic() + self.ttl
        for lot, future in futures:
            entry = CachedSummary(found.get(lot), expires)
            self._keep(lot, entry, generation)
            self._forget(lot, future)
            if not future.done():
                future.set_result(entry)

    def _keep(self, lot: str, entry: CachedSummary, generation: int) -> None:
        """Store a loaded entry unless the trace data changed since its load began."""
        if generation == self.generation and self.ttl > 0:
            if len(self.entries) >= self.max_entries:
                self.entries.clear()
            self.entries[lot] = entry

    def _forget(self, lot: str, future: asyncio.Future[CachedSummary] | None) -> None:
        if future is not None and self.pending.get(lot) is future:
            del self.pending[lot]

    def clear(self) -> None:
        """Forget everything; loads already running are not kept, and later requests do not wait for them."""
        self.entries.clear()
        self.pending.clear()
        self.generation += 1

    def discard(self, lots: Iterable[str]) -> None:
        """Forget these lots (their trace data changed); loads already running are not kept,
        and later requests for these lots start a fresh load instead of waiting for them."""
        for lot in lots:
            self.entries.pop(lot, None)
            self.pending.pop(lot, None)
        self.generation += 1
