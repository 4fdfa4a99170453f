"""The bus interface and the local fan-out both implementations share.

Each subscription owns a bounded buffer drained by its own task, so a slow consumer (a stuck
websocket, a slow report writer) drops its own messages, counted and logged, and never blocks
the publisher or the other subscribers.

Messages travel one by one (:meth:`Bus.publish`) or as a list (:meth:`Bus.publish_many`: a
commit's worth of ``chat.stored``, a flush's worth of ``chat.enriched``). A list is handed over
as one buffer entry, so at 5,000 events/s a subscriber pays per batch, not per message, for the
queueing; a handler subscribed with :meth:`Bus.subscribe_batches` also *handles* a list at a
time (everything buffered since its last call, up to ``max_batch``), while a plain handler is
still called once per message in publish order. Both kinds hear both kinds of publish.

Work that must happen once per message across every process and instance (enrichment, console
intake, engagement figures) subscribes with :meth:`Bus.subscribe_group`: on the in-process bus
that is a batch subscription like any other; on Redis it is a consumer group on a stream
(:mod:`livebot.bus.streams`), acknowledged after the handler returns, so each message is handled
by one consumer and a dead consumer's messages are taken over by another.

Work that must happen in one process per key (a session's engagement figures) takes a lease
(:meth:`Bus.lead`), renewed while the work goes on and taken over by another process once its
holder stops renewing; the others leave what they heard for the holder (:meth:`Bus.hand_over`).
In one process the lease is always its own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from livebot.instance import instance_name

logger = logging.getLogger(__name__)

Message = dict[str, Any]
Outgoing = Mapping[str, Any]
"""What publishers hand over: a topic's typed shape (``livebot.topics``) or any JSON object; handlers get it as a ``Message``."""
Handler = Callable[[Message], Awaitable[None]]
BatchHandler = Callable[[list[Message]], Awaitable[None]]
DropHandler = Callable[[str, Sequence[Message]], None]
Unsubscribe = Callable[[], None]

DEFAULT_MAX_BATCH = 5_000
"""Messages a batch handler gets per call at most (a flood is handled in slices, not one huge list)."""
SLICE_SECONDS = 0.004
"""A plain handler working through a list yields to the event loop after this long."""


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
    """One handler's bounded buffer of (topic, messages) entries and the task draining it.

    ``limit`` counts messages, not entries: a list of 500 takes 500 places. What does not fit
    is dropped (the newest part of a list), counted, logged at most every 5 seconds, and handed
    to ``on_drop`` when the subscriber wants to fetch it back from the database later.
    """

    pattern: str
    handler: Handler | None
    batch_handler: BatchHandler | None
    limit: int
    name: str
    max_batch: int = DEFAULT_MAX_BATCH
    on_drop: DropHandler | None = None
    entries: deque[tuple[str, Sequence[Message]]] = field(default_factory=deque)
    buffered: int = 0
    unfinished: int = 0
    dropped: int = 0
    last_drop_log: float = 0.0
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.idle.set()

    def offer(self, topic: str, messages: Sequence[Message], metrics: BusMetrics) -> None:
        room = max(self.limit - self.buffered, 0)
        if room < len(messages):
            self.drop(topic, messages[room:], metrics)
            if not room:
                return
            messages = messages[:room]
        self.entries.append((topic, messages))
        self.buffered += len(messages)
        self.unfinished += len(messages)
        self.idle.clear()
        self.wakeup.set()

    def drop(self, topic: str, messages: Sequence[Message], metrics: BusMetrics) -> None:
        self.dropped += len(messages)
        metrics.topic(topic).dropped.inc(len(messages))
        if self.on_drop is not None:
            try:
                self.on_drop(topic, messages)
            except Exception:
                logger.exception("bus subscriber=%s drop handler failed", self.name)
        now = time.monotonic()
        if now - self.last_drop_log > 5:
            self.last_drop_log = now
            logger.warning("bus subscriber=%s topic=%s queue full, dropped=%d", self.name, topic, self.dropped)

    def take(self) -> tuple[str, list[Message]]:
        """The oldest entry, joined with the following ones of the same topic (batch handlers only)."""
        topic, first = self.entries.popleft()
        taken = list(first)  # a copy: the same published list is shared by every subscriber
        if self.batch_handler is not None:
            while self.entries and self.entries[0][0] == topic and len(taken) + len(self.entries[0][1]) <= self.max_batch:
                taken.extend(self.entries.popleft()[1])
        self.buffered -= len(taken)
        return topic, taken

    async def drain(self, metrics: BusMetrics) -> None:
        while True:
            if not self.entries:
                self.wakeup.clear()
                await self.wakeup.wait()
                continue
            topic, messages = self.take()
            counters = metrics.topic(topic)
            try:
                if self.batch_handler is not None:
                    await self.call_batches(messages, counters)
                else:
                    await self.call_each(messages, counters)
            finally:
                self.unfinished -= len(messages)
                if not self.unfinished:
                    self.idle.set()

    async def call_batches(self, messages: list[Message], counters: TopicCounters) -> None:
        assert self.batch_handler is not None
        for start in range(0, len(messages), self.max_batch):
            part = messages[start : start + self.max_batch]
            try:
                await self.batch_handler(part)
                counters.delivered.inc(len(part))
            except asyncio.CancelledError:
                raise
            except Exception:
                counters.failed.inc()
                logger.exception("bus subscriber=%s batch of %d handler failed", self.name, len(part))

    async def call_each(self, messages: list[Message], counters: TopicCounters) -> None:
        """One call per message; a long list gives the event loop a turn every few milliseconds."""
        assert self.handler is not None
        deadline = time.perf_counter() + SLICE_SECONDS
        for message in messages:
            try:
                await self.handler(message)
                counters.delivered.inc()
            except asyncio.CancelledError:
                raise
            except Exception:
                counters.failed.inc()
                logger.exception("bus subscriber=%s handler failed", self.name)
            if len(messages) > 1 and time.perf_counter() >= deadline:
                await asyncio.sleep(0)
                deadline = time.perf_counter() + SLICE_SECONDS


class Bus:
    """Base class: local subscriptions; subclasses decide how a publish reaches :meth:`dispatch`."""

    def __init__(self, queue_size: int = 10_000, metrics: BusMetrics | None = None) -> None:
        self.queue_size = queue_size
        self.metrics = metrics or BusMetrics(CollectorRegistry())
        self.subscriptions: set[Subscription] = set()
        self.routes: dict[str, tuple[Subscription, ...]] = {}
        self.origin = instance_name()
        """Names this instance in what it publishes, for consumers that act only on their own instance's news."""
        self.consume_groups = True
        """False in a web process that leaves the group work to ``livebot worker`` processes."""
        self.handed: dict[str, set[str]] = {}

    @property
    def durable(self) -> bool:
        """Whether group subscriptions survive this process (Redis streams): then a handler must
        return only once its work is stored, because returning acknowledges the messages."""
        return False

    async def lead(self, name: str, seconds: float) -> bool:
        """Hold the lease ``name`` for ``seconds`` from now, taking it if nobody holds it; False while
        another process holds it. Here one process is the whole deployment: always True."""
        return True

    async def resign(self, name: str) -> None:
        """Give the lease ``name`` up at once if this process holds it (another may take it)."""

    async def hand_over(self, name: str, items: Iterable[str], seconds: float) -> None:
        """Leave ``items`` for the holder of lease ``name`` (kept ``seconds`` if nobody collects them)."""
        self.handed.setdefault(name, set()).update(items)

    async def handed_over(self, name: str) -> set[str]:
        """What other processes left for the holder of lease ``name`` since the last call (then gone)."""
        return self.handed.pop(name, set())

    async def start(self) -> None:
        """Connect; the in-process bus has nothing to do."""

    async def close(self) -> None:
        for sub in list(self.subscriptions):
            self._remove(sub)

    async def ping(self) -> None:
        """Raise :class:`livebot.errors.BusError` when a remote bus does not answer."""

    async def publish(self, topic: str, message: Outgoing) -> None:
        raise NotImplementedError

    async def publish_many(self, topic: str, messages: Sequence[Outgoing]) -> None:
        """Publish ``messages`` on ``topic`` in order, as one unit where the transport allows."""
        for message in messages:
            await self.publish(topic, message)

    def subscribe(self, pattern: str, handler: Handler, *, queue_size: int | None = None, name: str = "") -> Unsubscribe:
        """Call ``handler`` for every message on a matching topic; returns the way to stop."""
        return self._add(Subscription(pattern, handler, None, queue_size or self.queue_size,
                                      name or getattr(handler, "__qualname__", "handler")))

    def subscribe_batches(self, pattern: str, handler: BatchHandler, *, queue_size: int | None = None, name: str = "",
                          max_batch: int = DEFAULT_MAX_BATCH, on_drop: DropHandler | None = None) -> Unsubscribe:
        """Call ``handler`` with lists of messages (of one topic, in publish order): everything
        buffered since the previous call, up to ``max_batch``; returns the way to stop.

        ``on_drop(topic, messages)`` is called (synchronously, in the publisher's turn) with
        what did not fit in the buffer: a consumer whose messages are also rows in the database
        can note their keys and catch up from there once it has room."""
        return self._add(Subscription(pattern, None, handler, queue_size or self.queue_size,
                                      name or getattr(handler, "__qualname__", "handler"), max(1, max_batch), on_drop))

    def subscribe_group(self, topic: str, group: str, handler: BatchHandler, *, queue_size: int | None = None,
                        max_batch: int = DEFAULT_MAX_BATCH, on_drop: DropHandler | None = None,
                        concurrency: int = 1) -> Unsubscribe:
        """Call ``handler`` with lists of ``topic`` messages that no other member of ``group``
        (in any process or instance) gets; a no-op where this process leaves groups to workers.

        On this in-process bus it is :meth:`subscribe_batches` named ``group`` (one process is the
        whole group); ``concurrency`` (lists handled at once) matters only on a durable bus."""
        if not self.consume_groups:
            return lambda: None
        return self.subscribe_batches(topic, handler, queue_size=queue_size, name=group, max_batch=max_batch,
                                      on_drop=on_drop)

    def _add(self, sub: Subscription) -> Unsubscribe:
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
            sub.entries.clear()
            sub.buffered = sub.unfinished = 0
            sub.idle.set()

    def matching(self, topic: str) -> tuple[Subscription, ...]:
        subs = self.routes.get(topic)
        if subs is None:
            subs = self.routes[topic] = tuple(s for s in self.subscriptions if topic_matches(s.pattern, topic))
        return subs

    def dispatch(self, topic: str, message: Message) -> None:
        """Hand a message to every local subscription whose pattern matches."""
        for sub in self.matching(topic):
            sub.offer(topic, (message,), self.metrics)

    def dispatch_many(self, topic: str, messages: Sequence[Message]) -> None:
        """Hand a list of messages to every matching local subscription, as one entry each."""
        if not messages:
            return
        for sub in self.matching(topic):
            sub.offer(topic, messages, self.metrics)

    def busy(self, name: str) -> bool:
        """Whether a subscription called ``name`` has messages buffered or in its handler."""
        return any(not sub.idle.is_set() for sub in self.subscriptions if sub.name == name)

    async def drained(self) -> None:
        """Wait until every local subscriber has handled what it was given, including what
        handlers published to each other meanwhile (tests, shutdown)."""
        while busy := [sub for sub in self.subscriptions if not sub.idle.is_set()]:
            for sub in busy:
                await sub.idle.wait()


class Progress:
    """Counts work taken in and work done, in order, so a durable group handler can wait until
    what it handed over is stored before it returns (and so acknowledges it)."""

    def __init__(self) -> None:
        self.taken = 0
        self.done = 0
        self.changed = asyncio.Event()

    def take(self, count: int) -> int:
        """Note ``count`` items queued; returns the mark to wait for."""
        self.taken += count
        return self.taken

    def finish(self, count: int) -> None:
        """Note the oldest ``count`` queued items done (stored, or given up on and logged)."""
        self.done += count
        self.changed.set()

    async def wait(self, mark: int) -> None:
        """Return once everything up to ``mark`` is done."""
        while self.done < mark:
            self.changed.clear()
            await self.changed.wait()
