"""The bus interface and the local fan-out both implementations share.

Each subscription owns a bounded queue drained by its own task, so a slow consumer (a stuck
websocket, a slow report writer) drops its own messages, counted and logged, and never blocks
the publisher or the other subscribers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter

logger = logging.getLogger(__name__)

Message = dict[str, Any]
Handler = Callable[[Message], Awaitable[None]]
Unsubscribe = Callable[[], None]


@dataclass(frozen=True, slots=True)
class TopicCounters:
    published: Any
    delivered: Any
    dropped: Any
    failed: Any


def topic_label(topic: str) -> str:
    """Per-session topics share one label (``console.*``) so metrics do not grow per session."""
    head, _, tail = topic.rpartition(".")
    return f"{head}.*" if head and tail.isdigit() else topic


class BusMetrics:
    """Counters for published, delivered and dropped messages, by topic family."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.children: dict[str, TopicCounters] = {}
        self.published = Counter("livebot_bus_published", "Messages published on the bus", ["topic"], registry=registry)
        self.delivered = Counter("livebot_bus_delivered", "Messages handed to subscribers", ["topic"], registry=registry)
        self.dropped = Counter(
            "livebot_bus_dropped", "Messages dropped because a subscriber queue was full", ["topic"], registry=registry
        )
        self.failed = Counter("livebot_bus_handler_errors", "Subscriber handlers that raised", ["topic"], registry=registry)

    def topic(self, topic: str) -> TopicCounters:
        """The counters for ``topic``, looked up once (label lookups cost more than the increment)."""
        found = self.children.get(topic)
        if found is None:
            label = topic_label(topic)
            found = TopicCounters(
                self.published.labels(label), self.delivered.labels(label), self.dropped.labels(label), self.failed.labels(label)
            )
            self.children[topic] = found
        return found


def topic_matches(pattern: str, topic: str) -> bool:
    """Exact topics, or a trailing ``*`` for a prefix (``overlay.*``)."""
    if pattern.endswith("*"):
        return topic.startswith(pattern[:-1])
    return pattern == topic


@dataclass(eq=False)
class Subscription:
    pattern: str
    handler: Handler
    queue: asyncio.Queue[tuple[str, Message]]
    name: str
    dropped: int = 0
    last_drop_log: float = 0.0
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def offer(self, topic: str, message: Message, metrics: BusMetrics) -> None:
        try:
            self.queue.put_nowait((topic, message))
        except asyncio.QueueFull:
            self.dropped += 1
            metrics.topic(topic).dropped.inc()
            now = time.monotonic()
            if now - self.last_drop_log > 5:
                self.last_drop_log = now
                logger.warning("bus subscriber=%s topic=%s queue full, dropped=%d", self.name, topic, self.dropped)

    async def drain(self, metrics: BusMetrics) -> None:
        while True:
            topic, message = await self.queue.get()
            try:
                await self.handler(message)
                metrics.topic(topic).delivered.inc()
            except asyncio.CancelledError:
                raise
            except Exception:
                metrics.topic(topic).failed.inc()
                logger.exception("bus subscriber=%s topic=%s handler failed", self.name, topic)
            finally:
                self.queue.task_done()


class Bus:
    """Base class: local subscriptions; subclasses decide how a publish reaches :meth:`dispatch`."""

    def __init__(self, queue_size: int = 10_000, metrics: BusMetrics | None = None) -> None:
        self.queue_size = queue_size
        self.metrics = metrics or BusMetrics(CollectorRegistry())
        self.subscriptions: set[Subscription] = set()
        self.routes: dict[str, tuple[Subscription, ...]] = {}

    async def start(self) -> None:
        """Connect; the in-process bus has nothing to do."""

    async def close(self) -> None:
        for sub in list(self.subscriptions):
            self._remove(sub)

    async def ping(self) -> None:
        """Raise :class:`livebot.errors.BusError` when a remote bus does not answer."""

    async def publish(self, topic: str, message: Message) -> None:
        raise NotImplementedError

    def subscribe(self, pattern: str, handler: Handler, *, queue_size: int | None = None, name: str = "") -> Unsubscribe:
        """Call ``handler`` for every message on a matching topic; returns the way to stop."""
        sub = Subscription(
            pattern=pattern,
            handler=handler,
            queue=asyncio.Queue(maxsize=queue_size or self.queue_size),
            name=name or getattr(handler, "__qualname__", "handler"),
        )
        sub.task = asyncio.get_running_loop().create_task(sub.drain(self.metrics), name=f"bus:{sub.name}")
        self.subscriptions.add(sub)
        self.routes.clear()
        return lambda: self._remove(sub)

    def _remove(self, sub: Subscription) -> None:
        if sub in self.subscriptions:
            self.subscriptions.discard(sub)
            self.routes.clear()
            if sub.task is not None:
                sub.task.cancel()

    def dispatch(self, topic: str, message: Message) -> None:
        """Hand a message to every local subscription whose pattern matches."""
        subs = self.routes.get(topic)
        if subs is None:
            subs = self.routes[topic] = tuple(s for s in self.subscriptions if topic_matches(s.pattern, topic))
        for sub in subs:
            sub.offer(topic, message, self.metrics)

    async def drained(self) -> None:
        """Wait until every local subscriber has handled what it was given (tests, shutdown)."""
        for sub in list(self.subscriptions):
            await sub.queue.join()
