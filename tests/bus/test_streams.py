"""Group subscriptions: once per message across consumers, taken over when a consumer dies."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry
from redis.exceptions import ConnectionError as RedisConnectionError

from livebot.bus.base import BusMetrics, Message, Progress
from livebot.bus.memory import MemoryBus
from livebot.bus.redis import RedisBus
from livebot.bus.streams import GroupConsumer, group_backlog, stream_key
from tests.support import eventually

REDIS_URL = "redis://127.0.0.1:6379/0"
TOPIC = "chat.stored"


def redis_bus(prefix: str, claim_idle_ms: int = 300) -> RedisBus:
    return RedisBus(REDIS_URL, prefix=prefix, streams=(TOPIC,), claim_idle_ms=claim_idle_ms)


async def drop_keys(prefix: str) -> None:
    client = aioredis.from_url(REDIS_URL)
    keys = [key async for key in client.scan_iter(f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_memory_bus_group_is_a_batch_subscription() -> None:
    bus = MemoryBus()
    got: list[Message] = []

    async def handler(messages: list[Message]) -> None:
        got.extend(messages)

    bus.subscribe_group(TOPIC, "g", handler)
    await bus.publish_many(TOPIC, [{"n": i} for i in range(10)])
    await bus.drained()
    assert [m["n"] for m in got] == list(range(10))
    assert not bus.durable
    bus.consume_groups = False
    assert bus.subscribe_group(TOPIC, "other", handler)() is None
    assert bus.subscriptions and all(sub.name == "g" for sub in bus.subscriptions)


async def test_two_consumers_of_one_group_share_the_messages_once() -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    first, second = redis_bus(prefix), redis_bus(prefix)
    await first.start()
    await second.start()
    seen: dict[str, list[int]] = {"first": [], "second": [], "other-group": []}

    def collector(name: str):  # type: ignore[no-untyped-def]
        async def handler(messages: list[Message]) -> None:
            seen[name].extend(m["n"] for m in messages)
            await asyncio.sleep(0.01)  # give the other consumer a turn at the stream
        return handler

    try:
        first.subscribe_group(TOPIC, "work", collector("first"))
        second.subscribe_group(TOPIC, "work", collector("second"))
        first.subscribe_group(TOPIC, "figures", collector("other-group"))
        for start in range(0, 2000, 100):
            await first.publish_many(TOPIC, [{"n": i} for i in range(start, start + 100)])
        await first.drained()
        await second.drained()
        assert sorted(seen["first"] + seen["second"]) == list(range(2000))
        assert seen["first"] and seen["second"]  # both took a share
        assert sorted(seen["other-group"]) == list(range(2000))  # every group gets everything once
    finally:
        await first.close()
        await second.close()
        await drop_keys(prefix)


async def test_a_dead_consumers_pending_messages_are_taken_over() -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    raw = aioredis.from_url(REDIS_URL)
    bus = redis_bus(prefix)
    await bus.start()
    got: list[int] = []

    async def handler(messages: list[Message]) -> None:
        got.extend(m["n"] for m in messages)

    try:
        stream = stream_key(prefix, TOPIC)
        await raw.xgroup_create(stream, "work", id="0", mkstream=True)
        await bus.publish_many(TOPIC, [{"n": i} for i in range(5)])
        # A consumer that read the entry and died before acknowledging it.
        taken = await raw.xreadgroup("work", "dead-worker", {stream: ">"}, count=10)
        assert taken and len(taken[0][1]) == 1
        assert await group_backlog(raw, stream, "work") == 1
        bus.subscribe_group(TOPIC, "work", handler)
        await eventually(lambda: sorted(got) == list(range(5)), timeout=10)

        async def settled() -> bool:
            return await group_backlog(raw, stream, "work") == 0

        await eventually(settled, timeout=10)
    finally:
        await bus.close()
        await drop_keys(prefix)
        await raw.aclose()


async def test_a_failing_handler_is_retried_then_given_up() -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    bus = redis_bus(prefix, claim_idle_ms=100)
    await bus.start()
    calls: list[int] = []

    async def handler(messages: list[Message]) -> None:
        calls.append(len(messages))
        raise RuntimeError("poison")

    try:
        bus.subscribe_group(TOPIC, "work", handler)
        await bus.publish(TOPIC, {"n": 1})
        await bus.drained()  # ends: after three tries the entry is acknowledged and logged
        assert calls == [1, 1, 1]
    finally:
        await bus.close()
        await drop_keys(prefix)


async def test_group_subscription_needs_a_stream_topic() -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    bus = redis_bus(prefix)
    await bus.start()
    try:
        async def handler(messages: list[Message]) -> None:
            return None

        with pytest.raises(ValueError, match="bus.streams"):
            bus.subscribe_group("console.1", "g", handler)
    finally:
        await bus.close()


async def test_malformed_and_hostile_stream_entries_are_skipped() -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    raw = aioredis.from_url(REDIS_URL)
    bus = redis_bus(prefix)
    await bus.start()
    got: list[Message] = []

    async def handler(messages: list[Message]) -> None:
        got.extend(messages)

    try:
        stream = stream_key(prefix, TOPIC)
        await raw.xadd(stream, {"d": b"not json"})
        await raw.xadd(stream, {"other": b"{}"})
        await raw.xadd(stream, {"d": b"[1, \"x\", null, {\"t\": \"<script>\\u0000\\ud83d\\ude00\"}]"})
        await raw.xadd(stream, {"d": b"[" * 100_000 + b"]" * 100_000})
        bus.subscribe_group(TOPIC, "work", handler)
        await bus.publish(TOPIC, {"n": 1})
        await bus.drained()
        assert got == [{"t": "<script>\x00\U0001f600"}, {"n": 1}]
    finally:
        await bus.close()
        await drop_keys(prefix)
        await raw.aclose()


async def test_progress_waits_for_the_mark() -> None:
    progress = Progress()
    mark = progress.take(3)
    waiter = asyncio.create_task(progress.wait(mark))
    progress.finish(2)
    await asyncio.sleep(0)
    assert not waiter.done()
    progress.finish(1)
    await asyncio.wait_for(waiter, 1)


async def test_redis_bus_without_streams_keeps_plain_subscriptions() -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    bus = RedisBus(REDIS_URL, prefix=prefix, streams=())
    await bus.start()
    got: list[Message] = []

    async def handler(messages: list[Message]) -> None:
        got.extend(messages)

    try:
        assert not bus.durable
        bus.subscribe_group(TOPIC, "work", handler)
        await bus.publish_many(TOPIC, [{"n": 1}, {"n": 2}])
        await bus.drained()
        assert got == [{"n": 1}, {"n": 2}] and not bus.groups
    finally:
        await bus.close()


class FlakyRedis:
    """A stand-in for the Redis client: each read or ack takes the next scripted outcome (an exception
    is raised, anything else returned); once the script is over, reads block until cancelled."""

    def __init__(self, reads: list[object], acks: list[object] | None = None) -> None:
        self.reads, self.acks = list(reads), list(acks or [])
        self.acked: list[tuple[bytes, ...]] = []
        self.idle = asyncio.Event()

    async def xgroup_create(self, *args: object, **kwargs: object) -> None:
        return None

    async def xgroup_createconsumer(self, *args: object) -> None:
        return None

    async def xautoclaim(self, *args: object, **kwargs: object) -> list[object]:
        return [b"0-0", []]

    async def xreadgroup(self, *args: object, **kwargs: object) -> object:
        if not self.reads:
            self.idle.set()
            await asyncio.Event().wait()
        outcome = self.reads.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def xack(self, stream: str, group: str, *ids: bytes) -> int:
        outcome = self.acks.pop(0) if self.acks else 1
        if isinstance(outcome, BaseException):
            raise outcome
        self.acked.append(ids)
        return len(ids)


def consumer_on(client: FlakyRedis) -> tuple[GroupConsumer, list[int], list[int]]:
    """A group consumer on ``client`` whose retry policies record the retry numbers asked for (and never wait)."""
    async def handler(messages: list[Message]) -> None:
        return None

    consumer = GroupConsumer(client, "t", TOPIC, "work", "c1", handler, BusMetrics(CollectorRegistry()),  # type: ignore[arg-type]
                             max_batch=10, concurrency=1, claim_idle_ms=60_000)
    retries: list[int] = []
    acks: list[int] = []
    consumer.retry_delay = lambda n: retries.append(n) or 0.0  # type: ignore[func-returns-value]
    consumer.ack_delay = lambda n: acks.append(n) or 0.0  # type: ignore[func-returns-value]
    return consumer, retries, acks


async def test_a_successful_read_starts_the_reconnect_count_over() -> None:
    lost = RedisConnectionError("gone")
    client = FlakyRedis([lost, lost, [], lost, lost, lost, []])
    consumer, retries, _ = consumer_on(client)
    task = asyncio.create_task(consumer.run())
    try:
        await asyncio.wait_for(client.idle.wait(), 5)
        assert retries == [1, 2, 1, 2, 3] and consumer.failures == 0
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_acknowledge_retries_with_the_backoff_policy_then_leaves_the_entry_pending() -> None:
    lost = RedisConnectionError("gone")
    client = FlakyRedis([], acks=[lost, lost])
    consumer, _, acks = consumer_on(client)
    await consumer.acknowledge([b"1-0"])
    assert acks == [1, 2] and client.acked == [(b"1-0",)]
    client.acks = [lost, lost, lost]
    await consumer.acknowledge([b"2-0"])
    assert acks == [1, 2, 1, 2] and client.acked == [(b"1-0",)]  # the third failure waits for nothing: pending


async def test_acknowledgements_ride_with_the_next_read_and_a_closing_bus_sends_the_last() -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    raw = aioredis.from_url(REDIS_URL)
    bus = redis_bus(prefix, claim_idle_ms=60_000)  # nothing reclaimed: every entry must be acknowledged by its reader
    await bus.start()
    release = asyncio.Event()
    got: list[int] = []

    async def handler(messages: list[Message]) -> None:
        if any(m["n"] == 99 for m in messages):
            await release.wait()  # still working when the bus is told to close
        got.extend(m["n"] for m in messages)

    stream = stream_key(prefix, TOPIC)

    async def backlog() -> int:
        return await group_backlog(raw, stream, "work")

    async def settled() -> bool:
        return await backlog() == 0

    try:
        bus.subscribe_group(TOPIC, "work", handler)
        for n in range(5):  # one list at a time: each XACK goes with the following read
            await bus.publish(TOPIC, {"n": n})
            await eventually(lambda n=n: n in got, timeout=10)  # type: ignore[misc]
            assert await backlog() <= 1  # at most the list just handled waits for the next read
        await eventually(settled, timeout=10)
        await bus.publish(TOPIC, {"n": 99})
        await eventually(lambda: bool(next(iter(bus.groups)).in_hand), timeout=10)
        closing = asyncio.create_task(bus.close())
        await asyncio.sleep(0.2)
        release.set()
        await closing
        assert 99 in got and await backlog() == 0
    finally:
        await drop_keys(prefix)
        await raw.aclose()


def test_an_entry_is_decoded_once_for_the_groups_of_a_process(monkeypatch: pytest.MonkeyPatch) -> None:
    from livebot.bus import streams

    decoded: list[bytes] = []
    original = streams.decode

    def counting(fields: dict[bytes, bytes]) -> list[Message]:
        decoded.append(fields[streams.FIELD])
        return original(fields)

    monkeypatch.setattr(streams, "decode", counting)
    shared = streams.SharedDecodes(limit=2)
    shared.readers["s"] = 2  # two groups of this process read stream s
    entry = {streams.FIELD: b'[{"n": 1}, {"n": 2}]'}
    first = shared.messages("s", b"1-0", entry)
    assert shared.messages("s", b"1-0", entry) is first and decoded == [entry[streams.FIELD]]
    assert not shared.kept  # both groups have it: nothing kept
    for n in range(3):  # entries the other group never reads here (another process took them) are not kept forever
        shared.messages("s", f"{n + 2}-0".encode(), {streams.FIELD: b'{"n": 3}'})
    assert list(shared.kept) == [("s", b"3-0"), ("s", b"4-0")]
    assert shared.messages("t", b"1-0", entry) == [{"n": 1}, {"n": 2}] and ("t", b"1-0") not in shared.kept  # one reader
