"""Leases: one process per key does the work; the others hand what they heard to the holder."""

from __future__ import annotations

import asyncio
import uuid

from livebot.bus.memory import MemoryBus
from tests.bus.test_streams import drop_keys, redis_bus


async def test_one_process_holds_a_lease_until_it_resigns_or_stops_renewing() -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    first, second = redis_bus(prefix), redis_bus(prefix)
    await first.start()
    await second.start()
    try:
        assert await first.lead("engagement.7", 5)
        assert await first.lead("engagement.7", 5), "the holder renews"
        assert not await second.lead("engagement.7", 5)
        assert await second.lead("engagement.8", 5), "another key is free"
        await second.resign("engagement.7")  # not the holder: nothing happens
        assert not await second.lead("engagement.7", 5)
        await first.resign("engagement.7")
        assert await second.lead("engagement.7", 0.2)
        await asyncio.sleep(0.4)  # not renewed: it runs out
        assert await first.lead("engagement.7", 5)
    finally:
        await first.close()
        await second.close()
        await drop_keys(prefix)


async def test_what_is_handed_over_reaches_the_holder_once() -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    first, second = redis_bus(prefix), redis_bus(prefix)
    await first.start()
    await second.start()
    try:
        await second.hand_over("engagement.7", ["2026-12-07T18:01:00+00:00", "2026-12-07T18:02:00+00:00"], 60)
        await second.hand_over("engagement.7", ["2026-12-07T18:02:00+00:00"], 60)
        await second.hand_over("engagement.7", [], 60)
        assert await first.handed_over("engagement.7") == {"2026-12-07T18:01:00+00:00", "2026-12-07T18:02:00+00:00"}
        assert await first.handed_over("engagement.7") == set()
    finally:
        await first.close()
        await second.close()
        await drop_keys(prefix)


async def test_in_one_process_the_lease_is_always_its_own() -> None:
    bus = MemoryBus()
    assert await bus.lead("engagement.7", 1) and await bus.lead("engagement.7", 1)
    await bus.hand_over("engagement.7", ["a"], 1)
    assert await bus.handed_over("engagement.7") == {"a"}
    assert await bus.handed_over("engagement.7") == set()
