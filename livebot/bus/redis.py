"""The Redis bus: every instance publishes to Redis and hears every instance (itself included).

Local subscribers are fed only from Redis so that all instances see one order per channel.
Pub/sub is fire-and-forget by design: durability lives in the database, the bus carries news.
Publishes are pipelined: while one round trip is in flight, later messages queue up and go
together in the next, so a burst costs a few round trips instead of one each. A
:meth:`~RedisBus.publish_many` goes as JSON arrays of at most ``WIRE_BATCH`` messages (one
Redis message each; a single message is a JSON object), so 5,000 events/s cost a few dozen
Redis messages a second to send, receive and parse instead of thousands.

Topics named in ``streams`` also go, in the same pipeline, to a Redis stream for
:meth:`~RedisBus.subscribe_group` (durable, acknowledged, once per message across processes:
:mod:`livebot.bus.streams`); their pub/sub copy still feeds every instance's plain subscribers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections.abc import Iterable, Sequence

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from livebot.bus.base import DEFAULT_MAX_BATCH, BatchHandler, Bus, BusMetrics, DropHandler, Outgoing, Unsubscribe
from livebot.bus.streams import FIELD, GroupConsumer, SharedDecodes, group_backlog, stream_key
from livebot.errors import BusError
from livebot.retry import Backoff, RetryPolicy

logger = logging.getLogger(__name__)

WIRE_BATCH = 500
"""Messages per Redis message of a ``publish_many``: keeps each well under Redis's pub/sub output buffer limits."""

ECHO_TOPIC = "_bus.echo"
"""A token an instance publishes to itself: when it comes back, everything it published before has too."""

ECHO_TIMEOUT = 10.0

LEAD = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
"""Take or renew a lease in one round trip: renew when it is mine, take it when nobody holds it."""

RESIGN = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisBus(Bus):
    def __init__(self, url: str, prefix: str = "livebot", queue_size: int = 10_000, metrics: BusMetrics | None = None,
                 streams: Sequence[str] = (), claim_idle_ms: int = 5_000, stream_retention_seconds: int = 600) -> None:
        super().__init__(queue_size=queue_size, metrics=metrics)
        self.url = url
        self.prefix = prefix
        self.streams = frozenset(streams)
        self.claim_idle_ms = claim_idle_ms
        self.retention_ms = stream_retention_seconds * 1000
        self.groups: dict[GroupConsumer, asyncio.Task[None]] = {}
        self.decodes = SharedDecodes()
        self.stopping: set[GroupConsumer] = set()
        self.retry_delay: RetryPolicy = Backoff(1.0, 30.0)
        self.client: aioredis.Redis | None = None
        self.listener: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()
        self.outbox: list[tuple[str, bytes, int, asyncio.Future[None]]] = []
        self.flusher: asyncio.Task[None] | None = None
        self.echoes: dict[str, asyncio.Future[None]] = {}
        self.queued = 0

    async def start(self) -> None:
        self.client = aioredis.from_url(self.url)
        await self.ping()
        self.listener = asyncio.get_running_loop().create_task(self.listen(), name="bus:redis-listener")
        await asyncio.wait_for(self.ready.wait(), timeout=10)

    @property
    def durable(self) -> bool:
        """True when ``[bus] streams`` names topics (the default); ``streams = []`` is the old
        pub/sub-only bus, where each instance's stages take their own instance's messages."""
        return bool(self.streams)

    async def lead(self, name: str, seconds: float) -> bool:
        """The lease ``{prefix}:lease:{name}``, held by this process's name; a Redis error means not held."""
        assert self.client is not None, "lead before start"
        try:
            return bool(await self.client.eval(LEAD, 1, f"{self.prefix}:lease:{name}", self.origin,  # type: ignore[misc]
                                               str(max(1, int(seconds * 1000)))))
        except (RedisError, OSError) as err:
            logger.warning("redis bus: lease %s not renewed (%s)", name, err)
            return False

    async def resign(self, name: str) -> None:
        assert self.client is not None, "resign before start"
        with contextlib.suppress(RedisError, OSError):
            await self.client.eval(RESIGN, 1, f"{self.prefix}:lease:{name}", self.origin)  # type: ignore[misc]

    async def hand_over(self, name: str, items: Iterable[str], seconds: float) -> None:
        """A set ``{prefix}:handed:{name}``; raises :class:`BusError` when Redis does not take it."""
        assert self.client is not None, "hand_over before start"
        members = list(items)
        if not members:
            return
        key = f"{self.prefix}:handed:{name}"
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.sadd(key, *members)
                pipe.pexpire(key, max(1, int(seconds * 1000)))
                await pipe.execute()
        except (RedisError, OSError) as err:
            raise BusError(f"redis hand-over failed: {err}") from err

    async def handed_over(self, name: str) -> set[str]:
        assert self.client is not None, "handed_over before start"
        key = f"{self.prefix}:handed:{name}"
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.smembers(key)
                pipe.delete(key)
                members, _ = await pipe.execute()
        except (RedisError, OSError) as err:
            raise BusError(f"redis hand-over read failed: {err}") from err
        return {m.decode() if isinstance(m, bytes) else str(m) for m in members}

    def subscribe_group(self, topic: str, group: str, handler: BatchHandler, *, queue_size: int | None = None,
                        max_batch: int = DEFAULT_MAX_BATCH, on_drop: DropHandler | None = None,
                        concurrency: int = 1) -> Unsubscribe:
        """A consumer of ``group`` on ``topic``'s stream (``topic`` must be one of ``streams``);
        nothing is dropped, so ``queue_size`` and ``on_drop`` do not apply."""
        if not self.streams:
            return super().subscribe_group(topic, group, handler, queue_size=queue_size, max_batch=max_batch,
                                           on_drop=on_drop, concurrency=concurrency)
        if topic not in self.streams:
            raise ValueError(f"bus.streams does not list {topic!r}: a group subscription needs its stream")
        if not self.consume_groups:
            return lambda: None
        assert self.client is not None, "subscribe_group before start"
        consumer = GroupConsumer(self.client, self.prefix, topic, group, f"{self.origin}-{os.getpid()}-{uuid.uuid4().hex[:4]}",
                                 handler, self.metrics, max_batch=max_batch, concurrency=concurrency,
                                 claim_idle_ms=self.claim_idle_ms, decodes=self.decodes)
        self.decodes.readers[consumer.stream] = self.decodes.readers.get(consumer.stream, 0) + 1
        self.groups[consumer] = asyncio.get_running_loop().create_task(consumer.run(), name=f"bus:group:{group}")
        return lambda: self._stop_group(consumer)

    def _stop_group(self, consumer: GroupConsumer) -> None:
        task = self.groups.pop(consumer, None)
        if task is not None:
            self.decodes.readers[consumer.stream] -= 1
            task.cancel()
            self.stopping.add(consumer)

    def busy(self, name: str) -> bool:
        return super().busy(name) or any(c.busy() for c in self.groups if c.name == name)

    async def close(self) -> None:
        for consumer in list(self.groups):
            self._stop_group(consumer)
        for consumer in list(self.stopping):
            await consumer.stop()
        self.stopping.clear()
        if self.flusher is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self.flusher
        await super().close()
        if self.listener is not None:
            self.listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.listener
        if self.client is not None:
            await self.client.aclose()

    async def ping(self) -> None:
        if self.client is None:
            raise BusError("redis bus not started")
        try:
            await self.client.ping()
        except (RedisError, OSError) as err:
            raise BusError(f"redis not answering: {err}") from err

    async def publish(self, topic: str, message: Outgoing) -> None:
        """Returns once Redis has taken the message (with whatever else was queued meanwhile)."""
        await self.queue(topic, orjson.dumps(message), 1)

    async def publish_many(self, topic: str, messages: Sequence[Outgoing]) -> None:
        """Like :meth:`publish` for each message, in order, as JSON arrays of up to ``WIRE_BATCH``."""
        parts = [messages[start : start + WIRE_BATCH] for start in range(0, len(messages), WIRE_BATCH)]
        sent = [self.queue(topic, orjson.dumps(list(part)), len(part)) for part in parts]
        for outcome in await asyncio.gather(*sent, return_exceptions=True):
            if isinstance(outcome, BaseException):
                raise outcome

    def queue(self, topic: str, data: bytes, count: int) -> asyncio.Future[None]:
        """Queue one Redis message for the pipelined flusher; the future is done once Redis took it."""
        assert self.client is not None, "publish before start"
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if count:
            self.queued += 1
        self.outbox.append((topic, data, count, done))
        if self.flusher is None or self.flusher.done():
            self.flusher = asyncio.get_running_loop().create_task(self.flush(), name="bus:redis-publisher")
        return done

    async def flush(self) -> None:
        """Send queued messages in order, one pipeline per batch."""
        assert self.client is not None
        while self.outbox:
            batch, self.outbox = self.outbox, []
            try:
                async with self.client.pipeline(transaction=False) as pipe:
                    oldest = f"{int(time.time() * 1000) - self.retention_ms}-0"
                    for topic, data, _, _ in batch:
                        pipe.publish(f"{self.prefix}:{topic}", data)
                        if topic in self.streams:
                            pipe.xadd(stream_key(self.prefix, topic), {FIELD: data}, minid=oldest, approximate=True)
                    await pipe.execute()
            except (RedisError, OSError) as err:
                for _, _, _, done in batch:
                    if not done.done():
                        done.set_exception(BusError(f"redis publish failed: {err}"))
                continue
            for topic, _, count, done in batch:
                if count:
                    self.metrics.topic(topic).published.inc(count)
                if not done.done():
                    done.set_result(None)

    async def listen(self) -> None:
        """Pattern-subscribe to the prefix and dispatch locally; resubscribe after a Redis outage."""
        attempt = 0
        while True:
            try:
                assert self.client is not None
                async with self.client.pubsub() as pubsub:
                    await pubsub.psubscribe(f"{self.prefix}:*")
                    self.ready.set()
                    attempt = 0
                    async for raw in pubsub.listen():
                        if raw.get("type") != "pmessage":
                            continue
                        topic = raw["channel"].decode()[len(self.prefix) + 1 :]
                        if topic != ECHO_TOPIC and not self.matching(topic):
                            continue  # e.g. chat in a worker, which takes it from the streams: not parsed for nothing
                        try:
                            payload = orjson.loads(raw["data"])
                        except orjson.JSONDecodeError:
                            logger.warning("redis bus topic=%s: message is not JSON, ignored", topic)
                            continue
                        if topic == ECHO_TOPIC:
                            self.echoed(payload)
                        elif isinstance(payload, list):
                            self.dispatch_many(topic, payload)
                        else:
                            self.dispatch(topic, payload)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as err:
                attempt += 1
                delay = self.retry_delay(attempt)
                logger.warning("redis bus listener lost connection (%s); retry %d in %.1fs", err, attempt, delay)
                await asyncio.sleep(delay)

    def echoed(self, payload: object) -> None:
        token = payload.get("token") if isinstance(payload, dict) else None
        waiter = self.echoes.pop(token, None) if isinstance(token, str) else None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def echo(self) -> None:
        """Return once a token published now has come back from Redis: Redis delivers one
        connection's messages in order, and this instance's publishes go one pipeline at a time."""
        token = uuid.uuid4().hex
        waiter = self.echoes[token] = asyncio.get_running_loop().create_future()
        try:
            await self.queue(ECHO_TOPIC, orjson.dumps({"token": token}), 0)
            async with asyncio.timeout(ECHO_TIMEOUT):
                await waiter
        except TimeoutError as err:
            raise BusError(f"redis bus: own message not back within {ECHO_TIMEOUT:.0f}s") from err
        finally:
            self.echoes.pop(token, None)

    async def drained(self) -> None:
        """Wait until what this instance published has come back from Redis and every local
        subscriber has handled it, including what those handlers published in turn."""
        for _ in range(100):
            queued = self.queued
            await self.echo()
            await super().drained()
            await self.groups_drained()
            if self.queued == queued:
                return

    async def groups_drained(self, timeout: float = 60.0) -> None:
        """Wait until the groups this process consumes have acknowledged everything in their streams."""
        assert self.client is not None
        async with asyncio.timeout(timeout):
            for consumer in list(self.groups):
                await consumer.ready.wait()
                while True:  # another process's progress has no local event to wait on: poll
                    if not consumer.busy() and not await group_backlog(self.client, consumer.stream, consumer.group):
                        break
                    await asyncio.sleep(0.02)
