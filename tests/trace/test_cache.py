"""The resolver cache: one load per lot at a time, exact invalidation, no stale fill after a change."""

from __future__ import annotations

import asyncio
from typing import Any

from livebot.trace.cache import SummaryCache


async def test_concurrent_misses_share_one_load() -> None:
    cache = SummaryCache(ttl=30)
    calls = 0
    gate = asyncio.Event()

    async def load(lot: str) -> dict[str, Any] | None:
        nonlocal calls
        calls += 1
        await gate.wait()
        return {"lot": lot, "gtin": "06901234543216"}

    waiting = [asyncio.create_task(cache.get("A1", load)) for _ in range(50)]
    await asyncio.sleep(0)
    gate.set()
    entries = await asyncio.gather(*waiting)
    assert calls == 1
    assert all(e.json == entries[0].json and e.gtin == "06901234543216" for e in entries)
    assert (await cache.get("A1", load)) is entries[0] and calls == 1


async def test_discard_and_unknown_lots() -> None:
    cache = SummaryCache(ttl=30)
    version = {"A1": 1}

    async def load(lot: str) -> dict[str, Any] | None:
        return {"lot": lot, "v": version[lot]} if lot in version else None

    assert (await cache.get("A1", load)).summary == {"lot": "A1", "v": 1}
    assert not (await cache.get("B2", load)).found
    version["A1"] = 2
    version["B2"] = 1
    assert (await cache.get("A1", load)).summary == {"lot": "A1", "v": 1}  # still cached
    cache.discard(["A1", "B2"])
    assert (await cache.get("A1", load)).summary == {"lot": "A1", "v": 2}
    assert (await cache.get("B2", load)).found


async def test_a_load_racing_a_change_is_not_kept() -> None:
    cache = SummaryCache(ttl=30)
    gate = asyncio.Event()

    async def slow(lot: str) -> dict[str, Any] | None:
        await gate.wait()
        return {"lot": lot, "v": "old"}

    task = asyncio.create_task(cache.get("A1", slow))
    await asyncio.sleep(0)
    cache.discard(["A1"])
    gate.set()
    assert (await task).summary == {"lot": "A1", "v": "old"}

    async def fresh(lot: str) -> dict[str, Any] | None:
        return {"lot": lot, "v": "new"}

    assert (await cache.get("A1", fresh)).summary == {"lot": "A1", "v": "new"}


async def test_failed_load_reaches_every_waiter_and_is_not_cached() -> None:
    cache = SummaryCache(ttl=30)

    async def broken(lot: str) -> dict[str, Any] | None:
        await asyncio.sleep(0)
        raise OSError("database gone")

    results = await asyncio.gather(*(cache.get("A1", broken) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, OSError) for r in results)
    assert "A1" not in cache.entries
