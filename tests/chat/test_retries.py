"""A relay's retry changes nothing in moderation: duplicates are never judged again, a refused
request leaves no trace, and a commit that fails after judging is forgotten."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from livebot.app import create_app
from livebot.chat import writer as writer_module
from livebot.chat.keys import INGEST
from livebot.chat.moderation import Moderator
from livebot.config import Config
from tests.chat.ingest_helpers import event, post_events, stored
from tests.support import eventually

T0 = 1795608062000
"""Epoch milliseconds of the first comment."""


def comment(user: str, at: float, text: str, ident: str | None = None) -> dict[str, Any]:
    extra = {"id": ident} if ident else {}
    return event(user={"id": user, "name": "名"}, ts=T0 + int(at * 1000), text=text, **extra)


def memory(moderator: Moderator) -> tuple[object, ...]:
    """What moderation remembers (caches aside)."""
    return (dict(moderator.heads), dict(moderator.user_heads), {k: list(v) for k, v in moderator.recent.items()},
            moderator.latest)


async def test_a_steady_viewer_with_a_resent_batch_is_never_rate_limited(client: TestClient) -> None:
    posts = [comment("steady", i * 4, f"第{i}句话") for i in range(30)]
    batches = [posts[i : i + 10] for i in range(0, 30, 10)]
    assert (await post_events(client, batches[0]))[1] == {"accepted": 10, "duplicates": 0}
    assert (await post_events(client, batches[1]))[1] == {"accepted": 10, "duplicates": 0}
    assert (await post_events(client, batches[0]))[1] == {"accepted": 0, "duplicates": 10}  # the relay's retry
    assert (await post_events(client, batches[2]))[1] == {"accepted": 10, "duplicates": 0}
    rows = await stored(client)
    assert len(rows) == 30 and [r.flags for r in rows] == [[]] * 30 and not any(r.hidden for r in rows)


async def test_a_request_mixing_a_resent_batch_with_new_comments(client: TestClient) -> None:
    """Judged as if all were new, then again for the new ones only: the rows are rewritten."""
    posts = [comment("steady", i * 0.9, f"第{i}句话") for i in range(8)]  # 8 comments in 6.3 s: under the limit
    posts += [comment("other", 7, "666"), comment("third", 30, "666")]
    assert (await post_events(client, posts[:8]))[1] == {"accepted": 8, "duplicates": 0}
    again = posts[:8] + [comment("steady", 7.2, "新的一句"), comment("steady", 7.4, "又一句")] + posts[8:]
    assert (await post_events(client, again))[1] == {"accepted": 4, "duplicates": 8}
    rows = await stored(client)
    assert [r.flags for r in rows] == [[]] * 12 and all(r.merged_count == 1 for r in rows)
    assert (await post_events(client, [comment("fourth", 31, "666")]))[1]["accepted"] == 1
    assert (await stored(client))[-1].flags == ["merged"]


async def test_late_interleaved_batches_of_a_steady_viewer_are_not_rate_limited(client: TestClient) -> None:
    posts = [comment("steady", i * 4, f"第{i}句话") for i in range(20)]
    assert (await post_events(client, posts[10:]))[0] == 202
    assert (await post_events(client, posts[:10]))[0] == 202  # delivered late, after newer ones
    assert [r.flags for r in await stored(client)] == [[]] * 20


async def test_a_resent_flood_comment_does_not_reset_the_merge_head(client: TestClient) -> None:
    first = [comment("a", 0, "666"), comment("b", 2, "666")]
    second = [comment("c", 20, "666"), comment("d", 21, "666")]
    await post_events(client, first)
    await post_events(client, second)
    assert (await post_events(client, first[:1]))[1] == {"accepted": 0, "duplicates": 1}
    await post_events(client, [comment("e", 25, "666")])
    rows = {r.user_id: r for r in await stored(client)}
    assert (rows["a"].merged_count, rows["c"].merged_count) == (2, 3)
    assert rows["e"].flags == ["merged"] and rows["e"].hidden and rows["e"].merged_count == 0


async def test_a_refused_request_leaves_moderation_unchanged(aiohttp_client: Any, make_config: Callable[..., Config]) -> None:
    client = await aiohttp_client(create_app(make_config(chat={"queue_max_events": 10})))
    ingest = client.app[INGEST]
    writer = ingest.writer
    assert writer is not None
    real, gate = writer.insert, asyncio.Event()

    async def held(items: Any) -> Any:
        await gate.wait()
        return await real(items)

    writer.insert = held  # type: ignore[method-assign]
    holding = asyncio.create_task(post_events(client, [comment("x", 0, f"先到的{i}") for i in range(5)]))
    await eventually(lambda: writer.pending_events)
    before = memory(ingest.moderator)
    refused = [comment("fast", 1 + i * 0.1, f"刷屏{i}") for i in range(8)] + [comment("h", 1, "主播好美")]
    status, answer = await post_events(client, refused)
    assert status == 503 and "error" in answer
    assert memory(ingest.moderator) == before
    gate.set()
    assert (await holding)[0] == 202
    writer.insert = real  # type: ignore[method-assign]
    later = [comment("fast", 2 + i * 0.1, f"再说{i}") for i in range(5)] + [comment("k", 2, "主播好美")]
    assert (await post_events(client, later))[1] == {"accepted": 6, "duplicates": 0}
    rows = {r.external_id: r for r in await stored(client)}
    assert all(rows[e["id"]].flags == [] for e in later), "nothing of the refused request counted or headed a flood"


async def test_a_commit_failing_after_moderation_is_forgotten(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    moderator = client.app[INGEST].moderator
    failures = []

    def fail_once(real: Callable[..., Any]) -> Callable[..., Any]:
        def insert(*args: Any) -> Any:
            if not failures:
                failures.append(1)
                raise OSError("disk full")  # inside the transaction, after the batch was judged
            return real(*args)
        return insert

    for name in ("insert_sqlite", "insert_postgresql"):
        monkeypatch.setattr(writer_module, name, fail_once(getattr(writer_module, name)))
    burst = [comment("fast", i * 0.1, f"刷屏{i}") for i in range(12)] + [comment("h", 0, "主播好美")]
    before = memory(moderator)
    assert (await post_events(client, burst))[0] == 503
    assert memory(moderator) == before and await stored(client) == []
    assert (await post_events(client, burst))[1] == {"accepted": 13, "duplicates": 0}  # the sender's retry
    rows = await stored(client)
    assert [r.flags for r in rows] == [[]] * 10 + [["rate_limited"]] * 2 + [[]]


async def test_one_bad_request_does_not_fail_the_others_in_its_commit(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever makes a request's rows fail, the writer retries each request of the batch alone."""
    real = writer_module.insert_rows

    def poisoned(backend: str, statement: Any, items: list[Any], *args: Any) -> Any:
        if any(item.event.text == "毒" for item in items):
            raise ValueError("this row cannot be stored")
        return real(backend, statement, items, *args)

    monkeypatch.setattr(writer_module, "insert_rows", poisoned)
    good = [[comment(f"g{r}", r, f"好消息{r}-{i}") for i in range(20)] for r in range(12)]
    results = await asyncio.gather(*(post_events(client, batch) for batch in good[:6]),
                                   post_events(client, [comment("bad", 0, "毒")]),
                                   *(post_events(client, batch) for batch in good[6:]))
    assert [status for status, _ in results] == [202] * 6 + [503] + [202] * 6
    assert len(await stored(client)) == 240
