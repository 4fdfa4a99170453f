"""An in-memory :class:`EventSink` for source tests: records every submitted batch, dedupes like ingest."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from livebot.chat.event import ChatEvent
from livebot.chat.sources.base import IngestResult
from livebot.errors import StorageError


class RecordingSink:
    """Keeps every batch as submitted (to catch a source re-emitting) and the unique events."""

    def __init__(self) -> None:
        self.batches: list[list[ChatEvent]] = []
        self.seen: dict[tuple[str, str], ChatEvent] = {}
        self.fail_next = 0
        """Number of upcoming submits that raise StorageError (storage outage)."""
        self.raise_next: list[Exception] = []
        """Exceptions the next submits raise, in order (e.g. ``Overloaded(0)``, ``IngestUnavailable()``)."""
        self._changed = asyncio.Event()

    @property
    def submitted(self) -> list[ChatEvent]:
        """Every event handed over, duplicates included, in order."""
        return [event for batch in self.batches for event in batch]

    @property
    def events(self) -> list[ChatEvent]:
        """Unique events in arrival order."""
        return list(self.seen.values())

    async def submit(self, events: Sequence[ChatEvent]) -> IngestResult:
        if self.raise_next:
            raise self.raise_next.pop(0)
        if self.fail_next:
            self.fail_next -= 1
            raise StorageError("database unavailable (test)")
        self.batches.append(list(events))
        accepted = 0
        for event in events:
            key = (event.source, event.id)
            if key not in self.seen:
                self.seen[key] = event
                accepted += 1
        self._changed.set()
        return IngestResult(accepted=accepted, duplicates=len(events) - accepted)

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[ChatEvent]:
        """Until at least ``count`` events were submitted (duplicates included); returns them."""
        async with asyncio.timeout(timeout):
            while len(self.submitted) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.submitted
