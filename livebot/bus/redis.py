"""The Redis bus: every instance publishes to Redis and hears every instance (itself included).

Local subscribers are fed only from Redis so that all instances see one order per channel.
Pub/sub is fire-and-forget by design: durability lives in the database, the bus carries news.
Publishes are pipelined: while one round trip is in flight, later messages queue up and go
together in the next, so a burst costs a few round trips instead of one each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from livebot.bus.base import Bus, BusMetrics, Message
from livebot.errors import BusError

logger = logging.getLogger(__name__)


class RedisBus(Bus):
    def __init__(self, url: str, prefix: str = "livebot", queue_size: int = 10_000, metrics: BusMetrics | None = None) -> None:
        super().__init__(queue_size=queue_size, metrics=metrics)
        self.url = url
        self.prefix = prefix
        self.client: aioredis.Redis | None = None
        self.listener: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()
        self.outbox: list[tuple[str, bytes, asyncio.Future[None]]] = []
        self.flusher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.client = aioredis.from_url(self.url)
        await self.ping()
        self.listener = asyncio.get_running_loop().create_task(self.listen(), name="bus:redis-listener")
        await asyncio.wait_for(self.ready.wait(), timeout=10)

    async def close(self) -> None:
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

    async def publish(self, topic: str, message: Message) -> None:
        """Returns once Redis has taken the message (with whatever else was queued meanwhile)."""
        assert self.client is not None, "publish before start"
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.outbox.append((topic, orjson.dumps(message), done))
        if self.flusher is None or self.flusher.done():
            self.flusher = asyncio.get_running_loop().create_task(self.flush(), name="bus:redis-publisher")
        await done

    async def flush(self) -> None:
        """Send queued messages in order, one pipeline per batch."""
        assert self.client is not None
        while self.outbox:
            batch, self.outbox = self.outbox, []
            try:
                async with self.client.pipeline(transaction=False) as pipe:
                    for topic, data, _ in batch:
                        pipe.publish(f"{self.prefix}:{topic}", data)
                    await pipe.execute()
            except (RedisError, OSError) as err:
                for _, _, done in batch:
                    if not done.done():
                        done.set_exception(BusError(f"redis publish failed: {err}"))
                continue
            for topic, _, done in batch:
                self.metrics.topic(topic).published.inc()
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
                        self.dispatch(topic, orjson.loads(raw["data"]))
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as err:
                attempt += 1
                delay = min(30.0, 0.5 * 2**attempt) * random.uniform(0.5, 1.0)
                logger.warning("redis bus listener lost connection (%s); retry %d in %.1fs", err, attempt, delay)
                await asyncio.sleep(delay)
