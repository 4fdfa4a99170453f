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


def counting_loader(known: dict[str, Any], gate: asyncio.Event | None = None) -> tuple[list[list[str]], Any]:
    calls: list[list[str]] = []

    async def load_many(lots: list[str]) -> dict[str, Any]:
        calls.append(sorted(lots))
        if gate is not None:
            await gate.wait()
        return {lot: known[lot] for lot in lots if lot in known}

    return calls, load_many


async def test_misses_of_one_burst_load_together_and_hits_need_no_await() -> None:
    known = {f"L{n}": {"lot": f"L{n}", "gtin": "06901234543216"} for n in range(40)}
    calls, load_many = counting_loader(known)
    cache = SummaryCache(ttl=30, load_many=load_many)
    wanted = [f"L{n % 40}" for n in range(200)] + ["NOPE"]
    entries = await asyncio.gather(*(cache.get(lot) for lot in wanted))
    assert calls == [sorted({*known, "NOPE"})]  # one load for 41 distinct lots asked 201 times
    assert [e.summary["lot"] if e.found else None for e in entries] == [lot if lot != "NOPE" else None for lot in wanted]
    hit = cache.peek("L7")
    assert hit is not None and hit is entries[7] and cache.peek("L99") is None
    assert (await cache.get("L7")) is hit and len(calls) == 1


async def test_batched_load_racing_a_change_is_not_kept_and_later_requests_load_afresh() -> None:
    gate = asyncio.Event()
    version = {"A1": {"lot": "A1", "v": "old"}}
    calls, load_many = counting_loader(version, gate)
    cache = SummaryCache(ttl=30, load_many=load_many)
    first = asyncio.create_task(cache.get("A1"))
    for _ in range(3):
        await asyncio.sleep(0)
    assert calls == [["A1"]]
    cache.discard(["A1"])  # the data changed while the first load ran
    version["A1"] = {"lot": "A1", "v": "new"}
    second = asyncio.create_task(cache.get("A1"))  # must not wait for the outdated load
    for _ in range(3):
        await asyncio.sleep(0)
    assert calls == [["A1"], ["A1"]]
    gate.set()
    assert (await second).summary == {"lot": "A1", "v": "new"}
    await first
    assert cache.peek("A1") is not None and cache.peek("A1").summary == {"lot": "A1", "v": "new"}


async def test_batched_load_failure_reaches_every_waiter_and_nothing_is_kept() -> None:
    async def broken(lots: list[str]) -> dict[str, Any]:
        raise OSError("database gone")

    cache = SummaryCache(ttl=30, load_many=broken)
    results = await asyncio.gather(*(cache.get(lot) for lot in ("A1", "A1", "B2")), return_exceptions=True)
    assert all(isinstance(r, OSError) for r in results)
    assert not cache.entries and not cache.pending


async def test_ttl_zero_keeps_nothing_but_shares_concurrent_loads() -> None:
    calls, load_many = counting_loader({"A1": {"lot": "A1"}})
    cache = SummaryCache(ttl=0, load_many=load_many)
    await asyncio.gather(*(cache.get("A1") for _ in range(20)))
    assert len(calls) == 1 and cache.peek("A1") is None
    await cache.get("A1")
    assert len(calls) == 2
