"""The signed webhook end to end: signatures, limits, field errors, duplicates, hostile text."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from livebot.app import create_app
from livebot.appkeys import BUS
from livebot.chat import signing
from livebot.chat.keys import INGEST
from livebot.config import Config
from livebot.topics import CHAT_STORED
from tests.chat.ingest_helpers import (
    HOSTILE,
    SECRET,
    SOURCE,
    body_of,
    event,
    post_events,
    post_signed,
    stored,
)
from tests.support import eventually


async def test_accepts_and_stores_after_commit(client: TestClient) -> None:
    events = [event(), event(kind="like", text="", count=12), event(kind="viewers", text="", viewers=3021)]
    status, answer = await post_events(client, events)
    assert (status, answer) == (202, {"accepted": 3, "duplicates": 0})
    rows = await stored(client)
    assert [r.external_id for r in rows] == [e["id"] for e in events]
    first = rows[0]
    assert (first.source, first.platform, first.channel, first.kind) == (SOURCE, "douyin", "room-7731", "comment")
    assert first.ts.isoformat() == "2026-11-24T12:01:02+00:00"
    assert (first.user_id, first.user_name, first.text) == ("u-1", "小雨妈妈", "奶源是哪里的？")
    assert rows[1].count == 12 and rows[2].viewers == 3021
    assert first.raw == events[0]


async def test_epoch_milliseconds_and_defaults(client: TestClient) -> None:
    status, _ = await post_events(client, [event(ts=1795608062000, kind="gift", text="玫瑰", value=100)])
    assert status == 202
    row = (await stored(client))[0]
    assert row.ts.isoformat() == "2026-11-25T12:01:02+00:00"
    assert row.count == 1 and row.value == 100


async def test_duplicates_in_one_request_and_across_requests(client: TestClient) -> None:
    a, b = event(), event()
    status, answer = await post_events(client, [a, b, a, dict(a, text="changed")])
    assert (status, answer) == (202, {"accepted": 2, "duplicates": 2})
    status, answer = await post_events(client, [b, event(id=a["id"]), c := event()])
    assert (status, answer) == (202, {"accepted": 1, "duplicates": 2})
    rows = await stored(client)
    assert [r.external_id for r in rows] == [a["id"], b["id"], c["id"]]
    assert rows[0].text == "奶源是哪里的？"


async def test_concurrent_requests_with_the_same_ids_store_once(client: TestClient) -> None:
    shared = [event() for _ in range(20)]
    results = await asyncio.gather(*(post_events(client, shared) for _ in range(8)))
    assert all(status == 202 for status, _ in results)
    assert sum(a["accepted"] for _, a in results) == 20
    assert sum(a["duplicates"] for _, a in results) == 20 * 7
    assert len(await stored(client)) == 20


async def test_duplicates_across_an_app_restart(aiohttp_client: Any, config: Config) -> None:
    events = [event() for _ in range(5)]
    first = await aiohttp_client(create_app(config))
    assert await post_events(first, events) == (202, {"accepted": 5, "duplicates": 0})
    await first.close()
    second = await aiohttp_client(create_app(config))
    assert await post_events(second, events + [new := event()]) == (202, {"accepted": 1, "duplicates": 5})
    assert [r.external_id for r in await stored(second)] == [e["id"] for e in events] + [new["id"]]


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({signing.SIGNATURE_HEADER: "sha256=" + "0" * 64}, "signature does not match"),
        ({signing.SIGNATURE_HEADER: "sha256=abc"}, "signature does not match"),
        ({signing.SIGNATURE_HEADER: ""}, "missing"),
        ({signing.TIMESTAMP_HEADER: "12ab"}, "unix seconds"),
        ({signing.TIMESTAMP_HEADER: "１２３"}, "unix seconds"),
    ],
)
async def test_bad_signatures_are_401(client: TestClient, headers: dict[str, str], message: str) -> None:
    status, answer = await post_signed(client, body_of([event()]), headers=headers)
    assert status == 401
    assert message in answer["error"]
    assert await stored(client) == []


async def test_wrong_secret_and_tampered_body_are_401(client: TestClient) -> None:
    body = body_of([event()])
    assert (await post_signed(client, body, secret="not-the-secret"))[0] == 401
    signed = signing.signed_headers(SECRET, body)
    resp = await client.post(f"/api/v1/ingest/{SOURCE}", data=body.replace(b"douyin", b"kuaishou"), headers=signed)
    assert resp.status == 401
    assert await stored(client) == []


@pytest.mark.parametrize("skew", [-301, 301, -3600])
async def test_stale_or_future_timestamps_are_401(client: TestClient, skew: int) -> None:
    status, answer = await post_signed(client, body_of([event()]), now=time.time() + skew)
    assert status == 401
    assert "300 s" in answer["error"]


async def test_timestamp_inside_window_is_accepted(client: TestClient) -> None:
    assert (await post_signed(client, body_of([event()]), now=time.time() - 290))[0] == 202


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        (b"not json", "body", "not valid JSON"),
        (b"\xff\xfe{}", "body", "not valid JSON"),
        (b'[{"id": "x"}]', "body", "expected an object"),
        (b'{"evts": []}', "events", "expected an array"),
        (b'{"events": {"id": 1}}', "events", "expected an array"),
        (b'{"events": [1]}', "events[0]", "expected an object"),
        (body_of([{"platform": "douyin", "kind": "comment", "ts": 1795608062000, "text": "x"}]), "events[0].id", "missing"),
        (body_of([event(), event(id="")]), "events[1].id", "must not be empty"),
        (body_of([event(id="x" * 129)]), "events[0].id", "at most 128"),
        (body_of([event(id="a\u202eb")]), "events[0].id", "control"),
        (body_of([event(), event(), event(), event(platform="weibo")]), "events[3].platform", "must be one of douyin"),
        (body_of([event(kind="danmaku")]), "events[0].kind", "must be one of comment"),
        (body_of([event(ts="yesterday")]), "events[0].ts", "not an ISO 8601 time"),
        (body_of([event(ts="2026-11-24T20:01:02")]), "events[0].ts", "needs a UTC offset"),
        (body_of([event(ts=1795608062)]), "events[0].ts", "epoch seconds?"),
        (body_of([event(ts=True)]), "events[0].ts", "expected an ISO 8601 time"),
        (body_of([event(text=None)]), "events[0].text", "expected a string"),
        (body_of([event(text="")]), "events[0].text", "a comment needs text"),
        (body_of([event(text=["x"])]), "events[0].text", "expected a string"),
        (body_of([event(user="小雨")]), "events[0].user", "expected an object"),
        (body_of([event(user={"id": {"x": 1}})]), "events[0].user.id", "expected a string"),
        (body_of([event(user={"id": "u", "name": 5})]), "events[0].user.name", "expected a string"),
        (body_of([event(kind="like", count=-1)]), "events[0].count", "between 0 and"),
        (body_of([event(kind="like", count=2**31)]), "events[0].count", "between 0 and"),
        (body_of([event(kind="like", count="3")]), "events[0].count", "expected an integer"),
        (body_of([event(kind="viewers", text="")]), "events[0].viewers", "needs the viewer count"),
        (body_of([event(channel="c" * 200)]), "events[0].channel", "at most 128"),
    ],
)
async def test_malformed_bodies_are_400_naming_the_field(client: TestClient, body: bytes, field: str, problem: str) -> None:
    status, answer = await post_signed(client, body)
    assert status == 400, answer
    assert answer["field"] == field
    assert problem in answer["error"]
    assert await stored(client) == []


async def test_one_bad_event_rejects_the_whole_request(client: TestClient) -> None:
    status, _ = await post_events(client, [event(), event(platform="myspace")])
    assert status == 400
    assert await stored(client) == []


async def test_more_than_1000_events_is_413(client: TestClient) -> None:
    status, answer = await post_events(client, [event(text="好") for _ in range(1001)])
    assert status == 413
    assert answer["field"] == "events"
    assert (await post_events(client, [event(text="好") for _ in range(1000)]))[0] == 202


async def test_body_over_1_mib_is_413_before_the_signature(client: TestClient) -> None:
    big = body_of([event(text="奶" * 400_000)])
    assert len(big) > 1_048_576
    resp = await client.post(f"/api/v1/ingest/{SOURCE}", data=io.BytesIO(big),
                             headers={"Content-Type": "application/json", "Content-Length": str(len(big))})
    assert resp.status == 413
    assert (await resp.json())["field"] == "body"


async def test_chunked_body_over_1_mib_is_413(client: TestClient) -> None:
    async def chunks() -> Any:
        for _ in range(20):
            yield b"x" * 65_536

    resp = await client.post(f"/api/v1/ingest/{SOURCE}", data=chunks(), headers=signing.signed_headers(SECRET, b""))
    assert resp.status == 413


async def test_unknown_source_is_404(client: TestClient) -> None:
    status, answer = await post_signed(client, body_of([event()]), source="nobody")
    assert status == 404
    assert answer["field"] == "source_id"


async def test_hostile_text_is_stored_verbatim_and_published(client: TestClient) -> None:
    seen: list[dict[str, Any]] = []

    async def collect(message: dict[str, Any]) -> None:
        seen.append(message)

    client.app[BUS].subscribe(CHAT_STORED, collect, name="test")
    long_text = "长" * 10_000
    events = [event(text=t, user={"id": "u-" + str(i), "name": t[:30]}) for i, t in enumerate(HOSTILE)]
    events.append(event(text=long_text))
    status, answer = await post_events(client, events)
    assert (status, answer["accepted"]) == (202, len(events))
    rows = await stored(client)
    assert [r.text for r in rows] == [*HOSTILE, "长" * 2000]
    assert rows[0].user_name == HOSTILE[0][:30]
    await eventually(lambda: len(seen) >= len(events))
    assert [m["text"] for m in seen] == [*HOSTILE, "长" * 2000]
    assert set(seen[0]) >= {"pk", "source", "id", "platform", "channel", "kind", "ts", "user", "text", "count", "viewers",
                            "value", "session_id", "site_id", "segment_id", "hidden", "flags", "merged_count"}
    orjson.dumps(seen)


async def test_control_and_bidi_characters_are_stripped(client: TestClient) -> None:
    text = "奶源\u202e是哪里\u2066的\u2069\x00\x07？\r\n第二行\tend\u200d👨\u200d👩"
    await post_events(client, [event(text=text, user={"id": "u", "name": "名\n字\u202e"})])
    row = (await stored(client))[0]
    assert row.text == "奶源是哪里的？\n第二行 end\u200d👨\u200d👩"
    assert row.user_name == "名 字"
    assert row.raw["text"] == text


async def test_text_is_nfc_normalised(client: TestClient) -> None:
    await post_events(client, [event(text="cafe\u0301 奶粉")])
    assert (await stored(client))[0].text == "café 奶粉"


async def test_full_queue_answers_503_with_retry_after(aiohttp_client: Any, make_config: Callable[..., Config]) -> None:
    app = create_app(make_config(chat={"queue_max_events": 5, "retry_after_seconds": 2}))
    client = await aiohttp_client(app)
    writer = app[INGEST].writer
    assert writer is not None
    gate = asyncio.Event()
    real_insert = writer.insert

    async def held_insert(items: Any) -> Any:
        await gate.wait()
        return await real_insert(items)

    writer.insert = held_insert  # type: ignore[method-assign]
    first = asyncio.create_task(post_events(client, [event() for _ in range(4)]))
    await eventually(lambda: writer.pending_events >= 4, interval=0)
    body = body_of([event(), event()])
    resp = await client.post(f"/api/v1/ingest/{SOURCE}", data=body, headers=signing.signed_headers(SECRET, body))
    assert resp.status == 503
    assert resp.headers["Retry-After"] == "2"
    gate.set()
    assert (await first)[0] == 202
    assert (await post_signed(client, body))[0] == 202
    metrics = await (await client.get("/metrics")).text()
    assert 'livebot_chat_events_rejected_total{reason="overloaded",source="test-hook"} 1.0' in metrics


async def test_storage_failure_is_503_and_nothing_is_acknowledged(client: TestClient) -> None:
    writer = client.app[INGEST].writer
    assert writer is not None

    async def broken_insert(items: Any) -> Any:
        raise OSError("disk gone")

    real_insert = writer.insert
    writer.insert = broken_insert  # type: ignore[method-assign]
    status, answer = await post_events(client, events := [event(), event()])
    assert status == 503
    assert "storage failed" in answer["error"]
    writer.insert = real_insert  # type: ignore[method-assign]
    assert await post_events(client, events) == (202, {"accepted": 2, "duplicates": 0})


async def test_metrics_count_accepted_duplicates_rejected_and_batches(client: TestClient) -> None:
    a = event()
    await post_events(client, [a, a, event()])
    await post_signed(client, body_of([event()]), secret="wrong")
    await post_events(client, [event(platform="x")])
    text = await (await client.get("/metrics")).text()
    assert 'livebot_chat_events_accepted_total{source="test-hook"} 2.0' in text
    assert 'livebot_chat_events_duplicates_total{source="test-hook"} 1.0' in text
    assert 'livebot_chat_events_rejected_total{reason="signature",source="test-hook"} 1.0' in text
    assert 'livebot_chat_events_rejected_total{reason="invalid",source="test-hook"} 1.0' in text
    assert "livebot_chat_writer_batch_events_count 1.0" in text
    assert "livebot_chat_writer_queue_events 0.0" in text


async def test_openapi_documents_the_ingest(client: TestClient) -> None:
    doc = await (await client.get("/api/v1/openapi.json")).json()
    operation = doc["paths"]["/api/v1/ingest/{source_id}"]["post"]
    assert set(operation["responses"]) >= {"202", "400", "401", "413", "503"}
