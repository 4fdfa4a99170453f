"""Deeply nested events: refused at parse time with a 400 naming the field, the same on every
backend; they never poison other requests' commits, and ``export events --raw`` exports anything stored."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import insert

from livebot.appkeys import DATABASE
from livebot.chat.event import ChatEvent
from livebot.chat.models import StoredEvent
from livebot.chat.normalize import MAX_DEPTH
from livebot.chat.writer import encode_raw
from livebot.cli import main
from livebot.errors import ValidationError
from tests.chat.ingest_helpers import HOSTILE, event, post_events, post_signed, stored


def post_deep(client: TestClient, events: list[dict[str, Any]]) -> Any:
    """Signed, encoded with the stdlib (orjson itself refuses to write past 254 levels)."""
    return post_signed(client, json.dumps({"events": events}).encode())


def nested(levels: int, leaf: Any = "底") -> Any:
    """An object ``levels`` deep ({"a": {"a": ... leaf}})."""
    value = leaf
    for _ in range(levels):
        value = {"a": value}
    return value


@pytest.mark.parametrize("levels", [MAX_DEPTH, 260, 900])
async def test_a_deep_event_is_400_naming_its_field(client: TestClient, levels: int) -> None:
    status, answer = await post_deep(client, [event(), event(extra=nested(levels))])
    assert (status, answer["field"]) == (400, "events[1].extra")
    assert "nested deeper than" in answer["error"]
    assert await stored(client) == []


async def test_deep_arrays_in_the_user_are_refused_too(client: TestClient) -> None:
    deep_list: Any = ["x"]
    for _ in range(MAX_DEPTH):
        deep_list = [deep_list]
    status, answer = await post_events(client, [event(user={"id": "u", "name": "名", "tags": deep_list})])
    assert (status, answer["field"]) == (400, "events[0].user")


async def test_nesting_up_to_the_limit_is_stored_and_exported(client: TestClient) -> None:
    ok = event(extra=nested(MAX_DEPTH - 1), text=HOSTILE[0])
    assert (await post_events(client, [ok]))[1] == {"accepted": 1, "duplicates": 0}
    [row] = await stored(client)
    assert row.raw["extra"] == ok["extra"]


async def test_concurrent_good_requests_are_all_acknowledged_beside_a_deep_one(client: TestClient) -> None:
    """On the old code the deep event passed parsing and failed the whole group commit on SQLite (503 for all)."""
    good = [[event(text=f"好{r}-{i}", user={"id": f"u{r}", "name": "名"}) for i in range(50)] for r in range(20)]
    deep = [event(extra=nested(300))]
    results = await asyncio.gather(*(post_events(client, batch) for batch in good[:10]), post_deep(client, deep),
                                   *(post_events(client, batch) for batch in good[10:]))
    assert [status for status, _ in results] == [202] * 10 + [400] + [202] * 10
    assert all(answer == {"accepted": 50, "duplicates": 0} for status, answer in results if status == 202)
    assert len(await stored(client)) == 1000


def test_an_unencodable_payload_is_refused_on_its_own() -> None:
    """The writer's last line of defence, for any source: an error for that request, before queueing."""
    ts = datetime(2026, 11, 24, 12, tzinfo=UTC)
    deep = ChatEvent(source="s", id="e1", platform="douyin", channel="c", kind="comment", ts=ts, raw=nested(2000))
    with pytest.raises(ValidationError) as info:
        encode_raw(deep)
    assert info.value.field == "raw" and "e1" in info.value.problem
    big = ChatEvent(source="s", id="e2", platform="douyin", channel="c", kind="comment", ts=ts, raw={"n": 2**70})
    assert encode_raw(big) == '{"n": 1180591620717411303424}'


async def test_export_raw_passes_any_stored_payload_through(client: TestClient, tmp_path: Path, database_url: str) -> None:
    """A payload stored before the limit existed (PostgreSQL took 1,000 levels): exported whole, never parsed."""
    assert (await post_events(client, [event(text="普通")]))[0] == 202
    deep_text = json.dumps(nested(900))
    async with client.app[DATABASE].engine.begin() as conn:
        await conn.execute(insert(StoredEvent.__table__).values(
            source="old", external_id="deep", platform="douyin", channel="c", kind="comment",
            ts=datetime(2026, 11, 24, 12, tzinfo=UTC), received_at=datetime(2026, 11, 24, 12, tzinfo=UTC),
            user_id="", user_name="", text="旧", hidden=False, flags=[], merged_count=1, raw=None))
        await conn.exec_driver_sql(f"UPDATE chat_events SET raw = '{deep_text}' WHERE external_id = 'deep'")
    config = tmp_path / "livebot.toml"
    config.write_text(f'[database]\nurl = "{database_url}"\n', encoding="utf-8")
    out = tmp_path / "events.jsonl"
    args = ["export", "events", "--raw", "--output", str(out), "--config", str(config)]
    assert await asyncio.to_thread(main, args) == 0
    lines = out.read_bytes().splitlines()
    assert len(lines) == 2
    assert orjson.loads(lines[0])["raw"]["text"] == "普通"
    assert json.loads(lines[1])["raw"] == nested(900)
