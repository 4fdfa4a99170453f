"""The sink every source submits to: normalise, dedupe within the request, route, then group-commit.

Per event this is a handful of dictionary lookups and string operations (no query, no
commit); the routing table is refreshed at most once per batch and the database is touched
once per group commit by :mod:`livebot.chat.writer`, which also moderates: only there is it
known which events are new, so a relay's re-sent batch and a refused request leave no trace
in moderation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from livebot.chat.errors import IngestUnavailable
from livebot.chat.event import ChatEvent
from livebot.chat.metrics import IngestMetrics
from livebot.chat.moderation import Moderator
from livebot.chat.normalize import normalize_event
from livebot.chat.routing import Router
from livebot.chat.settings import ChatSettings
from livebot.chat.sources.base import IngestResult
from livebot.chat.writer import Pending, Writer


class Ingest:
    """Implements :class:`livebot.chat.sources.base.EventSink` for every source of the app."""

    def __init__(self, settings: ChatSettings, moderator: Moderator, metrics: IngestMetrics) -> None:
        self.settings = settings
        self.moderator = moderator
        self.metrics = metrics
        self.writer: Writer | None = None
        self.router: Router | None = None

    def bind(self, writer: Writer, router: Router) -> None:
        """Attach the running writer and router (done when the app starts)."""
        self.writer = writer
        self.router = router

    async def submit(self, events: Sequence[ChatEvent]) -> IngestResult:
        """Store ``events``; returns once they are committed (see EventSink)."""
        if not events:
            return IngestResult(0, 0)
        if self.writer is None or self.router is None:
            raise IngestUnavailable("the chat ingest is not started")
        await self.router.ensure_fresh()
        max_chars = self.settings.max_text_chars
        route = self.router.route
        seen: set[tuple[str, str]] = set()
        items: list[Pending] = []
        repeated: Counter[str] = Counter()
        for raw_event in events:
            event = normalize_event(raw_event, max_chars)
            key = (event.source, event.id)
            if key in seen:
                repeated[event.source] += 1
                continue
            seen.add(key)
            items.append(Pending(event, route(event)))
        for source, n in repeated.items():
            self.metrics.duplicates.labels(source).inc(n)
        accepted, duplicates = await self.writer.write(items)
        return IngestResult(accepted, duplicates + sum(repeated.values()))
