"""The bus contract, on the in-process bus and on the real Redis."""

from __future__ import annotations

import asyncio
import uuid

import orjson
import pytest

from livebot.bus.base import Bus, topic_matches
from livebot.bus.memory import MemoryBus
from livebot.bus.redis import RedisBus
from livebot.errors import BusError
from tests.support import eventually

REDIS_URL = "redis://127.0.0.1:6379/0"


def new_redis_bus(prefix: str, queue_size: int = 100) -> RedisBus:
    return RedisBus(REDIS_URL, prefix=prefix, queue_size=queue_size)


@pytest.fixture(params=["memory", "redis"])
async def bus(request: pytest.FixtureRequest):
    b: Bus = MemoryBus() if request.param == "memory" else new_redis_bus(f"t-{uuid.uuid4().hex[:8]}")
    await b.start()
    yield b
    await b.close()


async def next_message(queue: asyncio.Queue, timeout: float = 5) -> dict:
    return await asyncio.wait_for(queue.get(), timeout)


async def test_subscriber_gets_published_message(bus: Bus) -> None:
    got: asyncio.Queue = asyncio.Queue()

    async def handler(message: dict) -> None:
        await got.put(message)

    bus.subscribe("chat.event", handler)
    await bus.publish("chat.event", {"text": "奶源在哪 <script>", "n": 1})
    assert await next_message(got) == {"text": "奶源在哪 <script>", "n": 1}


async def test_prefix_pattern_and_unsubscribe(bus: Bus) -> None:
    got: asyncio.Queue = asyncio.Queue()

    async def handler(message: dict) -> None:
        await got.put(message)

    stop = bus.subscribe("overlay.*", handler)
    await bus.publish("overlay.7", {"a": 1})
    await bus.publish("other.7", {"a": 2})
    assert await next_message(got) == {"a": 1}
    stop()
    await bus.publish("overlay.7", {"a": 3})
    await bus.drained()  # on Redis: until the message came back, so a handler still listening would have it
    assert got.empty()


async def test_failing_handler_does_not_stop_delivery(bus: Bus) -> None:
    got: asyncio.Queue = asyncio.Queue()

    async def handler(message: dict) -> None:
        if message["n"] == 1:
            raise RuntimeError("boom")
        await got.put(message)

    bus.subscribe("t", handler)
    await bus.publish("t", {"n": 1})
    await bus.publish("t", {"n": 2})
    assert await next_message(got) == {"n": 2}
    assert bus.metrics.topic("t").failed._value.get() == 1


async def test_full_subscriber_queue_does_not_block_publisher() -> None:
    bus = MemoryBus(queue_size=5)
    release = asyncio.Event()
    fast: list[int] = []

    async def slow(message: dict) -> None:
        await release.wait()

    async def quick(message: dict) -> None:
        fast.append(message["n"])

    bus.subscribe("t", slow, name="slow")
    bus.subscribe("t", quick, name="quick", queue_size=1000)
    await asyncio.wait_for(asyncio.gather(*(bus.publish("t", {"n": i}) for i in range(100))), timeout=1)
    await eventually(lambda: len(fast) == 100)  # not drained(): the slow one is held on purpose
    assert bus.metrics.topic("t").dropped._value.get() >= 90
    release.set()
    await bus.close()


def test_per_session_topics_share_a_metric_label() -> None:
    from livebot.bus.base import topic_label

    assert topic_label("console.17") == "console.*"
    assert topic_label("chat.stored") == "chat.stored"


async def test_subscribing_later_still_receives() -> None:
    """The per-topic route cache is refreshed when subscriptions change."""
    bus = MemoryBus()
    first: list[dict] = []
    second: list[dict] = []

    async def one(m: dict) -> None:
        first.append(m)

    async def two(m: dict) -> None:
        second.append(m)

    bus.subscribe("t", one)
    await bus.publish("t", {"n": 1})
    stop = bus.subscribe("t", two)
    await bus.publish("t", {"n": 2})
    await bus.drained()
    stop()
    await bus.publish("t", {"n": 3})
    await bus.drained()
    await bus.close()
    assert [m["n"] for m in first] == [1, 2, 3]
    assert [m["n"] for m in second] == [2]


def test_topic_matching() -> None:
    assert topic_matches("a.*", "a.b")
    assert not topic_matches("a.*", "b.a")
    assert topic_matches("a", "a")
    assert not topic_matches("a", "ab")


async def test_two_instances_share_events_over_redis() -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    first, second = new_redis_bus(prefix), new_redis_bus(prefix)
    await first.start()
    await second.start()
    seen_first: asyncio.Queue = asyncio.Queue()
    seen_second: asyncio.Queue = asyncio.Queue()

    async def on_first(m: dict) -> None:
        await seen_first.put(m)

    async def on_second(m: dict) -> None:
        await seen_second.put(m)

    first.subscribe("chat.event", on_first)
    second.subscribe("chat.event", on_second)
    await first.publish("chat.event", {"from": "first"})
    await second.publish("chat.event", {"from": "second"})
    got_first = {(await next_message(seen_first))["from"] for _ in range(2)}
    got_second = {(await next_message(seen_second))["from"] for _ in range(2)}
    await first.close()
    await second.close()
    assert got_first == got_second == {"first", "second"}


async def test_redis_ping_fails_clearly_when_unreachable() -> None:
    bus = RedisBus("redis://127.0.0.1:1/0", prefix="x")
    with pytest.raises(BusError, match="redis not answering"):
        await bus.start()
    await bus.client.aclose()


async def test_redis_burst_is_delivered_in_order() -> None:
    bus = new_redis_bus(f"t-{uuid.uuid4().hex[:8]}", queue_size=5000)
    await bus.start()
    got: list[int] = []
    done = asyncio.Event()

    async def handler(message: dict) -> None:
        got.append(message["n"])
        if len(got) == 2000:
            done.set()

    bus.subscribe("burst", handler)
    await asyncio.gather(*(bus.publish("burst", {"n": i}) for i in range(2000)))
    await asyncio.wait_for(done.wait(), 10)
    await bus.close()
    assert got == list(range(2000))
    assert bus.metrics.topic("burst").published._value.get() == 2000


async def test_drained_waits_for_own_messages_and_what_their_handlers_publish(bus: Bus) -> None:
    seen: list[tuple[str, int]] = []

    async def first(message: dict) -> None:
        seen.append(("first", message["n"]))
        await bus.publish("second", {"n": message["n"]})

    async def second(message: dict) -> None:
        await asyncio.sleep(0.01)
        seen.append(("second", message["n"]))

    bus.subscribe("first", first)
    bus.subscribe("second", second)
    for n in range(20):
        await bus.publish("first", {"n": n})
    await bus.drained()
    assert sorted(seen) == sorted([("first", n) for n in range(20)] + [("second", n) for n in range(20)])


async def test_redis_echo_of_another_instance_does_not_end_drained() -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    first, second = new_redis_bus(prefix), new_redis_bus(prefix)
    await first.start()
    await second.start()
    waiter = first.echoes["mine"] = asyncio.get_running_loop().create_future()
    await second.echo()
    for hostile in (["<script>"], {"token": 7}, {"token": "' OR 1=1 --"}, "\x00"):
        first.echoed(hostile)
    await first.echo()  # Redis delivers in order: by now the first instance has heard the second's echo too
    pending = not waiter.done()
    first.echoed({"token": "mine"})
    await first.close()
    await second.close()
    assert pending and waiter.done()
    assert "_bus.echo" not in set(first.metrics.children) | set(second.metrics.children)


@pytest.mark.parametrize("call", ["publish", "drained"])
async def test_redis_publish_and_drained_fail_clearly_when_redis_goes_away(call: str) -> None:
    bus = new_redis_bus(f"t-{uuid.uuid4().hex[:8]}")
    await bus.start()
    await bus.client.connection_pool.disconnect()
    bus.client.connection_pool.connection_kwargs["port"] = 1
    with pytest.raises(BusError, match="redis publish failed"):
        await (bus.publish("t", {"n": 1}) if call == "publish" else bus.drained())
    await bus.close()


async def test_publish_many_reaches_batch_and_plain_subscribers_in_order(bus: Bus) -> None:
    batches: list[list[dict]] = []
    singles: list[dict] = []
    done = asyncio.Event()

    async def on_batch(messages: list[dict]) -> None:
        batches.append(messages)
        if sum(len(b) for b in batches) == 1203:
            done.set()

    async def on_one(message: dict) -> None:
        singles.append(message)

    bus.subscribe_batches("chat.stored", on_batch, queue_size=5000)
    bus.subscribe("chat.stored", on_one, queue_size=5000)
    await bus.publish_many("chat.stored", [{"n": i, "text": "奶源在哪 <b>😀"} for i in range(1200)])
    await bus.publish_many("chat.stored", [])
    await bus.publish("chat.stored", {"n": 1200})
    await bus.publish_many("chat.stored", [{"n": 1201}, {"n": 1202}])
    await asyncio.wait_for(done.wait(), 10)
    await bus.drained()
    assert [m["n"] for b in batches for m in b] == list(range(1203))
    assert [m["n"] for m in singles] == list(range(1203))
    assert len(batches) < 1203  # lists arrive as lists, not one call per message
    assert bus.metrics.topic("chat.stored").published._value.get() == 1203
    assert bus.metrics.topic("chat.stored").delivered._value.get() == 2 * 1203


async def test_batch_handler_gets_what_piled_up_while_it_worked() -> None:
    bus = MemoryBus()
    release = asyncio.Event()
    calls: list[list[int]] = []

    async def slow(messages: list[dict]) -> None:
        calls.append([m["n"] for m in messages])
        await release.wait()

    bus.subscribe_batches("t", slow, max_batch=4)
    await bus.publish("t", {"n": 0})
    await asyncio.sleep(0)
    for n in range(1, 7):
        await bus.publish("t", {"n": n})
    release.set()
    await bus.drained()
    await bus.close()
    assert calls == [[0], [1, 2, 3, 4], [5, 6]]


async def test_a_full_batch_subscriber_drops_the_overflow_and_counts_it() -> None:
    bus = MemoryBus()
    release = asyncio.Event()
    got: list[int] = []

    async def slow(messages: list[dict]) -> None:
        await release.wait()
        got.extend(m["n"] for m in messages)

    bus.subscribe_batches("t", slow, queue_size=10)
    await bus.publish("t", {"n": -1})
    await asyncio.sleep(0)
    await bus.publish_many("t", [{"n": n} for n in range(25)])
    release.set()
    await bus.drained()
    await bus.close()
    assert got == [-1, *range(10)]
    assert bus.metrics.topic("t").dropped._value.get() == 15


async def test_a_failing_batch_handler_is_counted_and_the_next_batch_still_arrives(bus: Bus) -> None:
    got: asyncio.Queue = asyncio.Queue()

    async def handler(messages: list[dict]) -> None:
        if messages[0]["n"] == 1:
            raise RuntimeError("boom")
        await got.put(messages)

    bus.subscribe_batches("t", handler)
    await bus.publish_many("t", [{"n": 1}, {"n": 2}])
    await bus.drained()
    await bus.publish("t", {"n": 3})
    assert await next_message(got) == [{"n": 3}]
    assert bus.metrics.topic("t").failed._value.get() == 1


async def test_redis_publish_many_splits_into_bounded_wire_messages() -> None:
    from livebot.bus import redis as redis_bus

    prefix = f"t-{uuid.uuid4().hex[:8]}"
    bus = new_redis_bus(prefix, queue_size=5000)
    await bus.start()
    import redis.asyncio as aioredis

    raw = aioredis.from_url(REDIS_URL)
    sizes: list[int] = []
    async with raw.pubsub() as pubsub:
        await pubsub.subscribe(f"{prefix}:chat.enriched")
        await bus.publish_many("chat.enriched", [{"n": i} for i in range(redis_bus.WIRE_BATCH * 2 + 1)])
        while len(sizes) < 3:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
            if message is not None:
                sizes.append(len(orjson.loads(message["data"])))
    await raw.aclose()
    await bus.close()
    assert sizes == [redis_bus.WIRE_BATCH, redis_bus.WIRE_BATCH, 1]


async def test_redis_listener_ignores_garbage_and_keeps_listening() -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    bus = new_redis_bus(prefix)
    await bus.start()
    got: asyncio.Queue = asyncio.Queue()

    async def handler(message: dict) -> None:
        await got.put(message)

    bus.subscribe("t", handler)
    assert bus.client is not None
    await bus.client.publish(f"{prefix}:t", b"\xff not json")
    await bus.publish("t", {"n": 1})
    assert await next_message(got) == {"n": 1}
    await bus.close()
