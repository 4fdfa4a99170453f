"""Douyin data push: the published signature vector, conversion of each message type, refusals."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from livebot.app import create_app
from livebot.chat.sources.douyin import douyin_signature
from livebot.chat.sources.registry import build_source
from livebot.config import Config, SourceSettings
from livebot.errors import ConfigError
from tests.chat.ingest_helpers import HOSTILE, stored
from tests.fakes.sink import RecordingSink
from tests.support import eventually

SOURCE = "dy-main"
SECRETS = {"live_comment": "comment-secret", "live_gift": "gift-secret"}
FALLBACK = "app-secret"


def test_published_signature_vector() -> None:
    """The open platform's Go example: the signed string is the headers, then ``abc123你好123abc``.

    The published result only holds when that tail is body ``abc123你好`` + secret ``123abc``
    (``x-msg-type=user_group&x-nonce-str=123456&x-roomid=268&x-timestamp=456789abc123你好123abc``);
    with body ``abc123你好123abc`` and secret ``123`` it would be ``bECutK7SP5Ao1f/QSVkM7g==``.
    """
    headers = {"x-msg-type": "user_group", "x-nonce-str": "123456", "x-roomid": "268", "x-timestamp": "456789"}
    assert douyin_signature(headers, "abc123你好".encode(), "123abc") == "GAkalGmhzqlUGQO/TgvMug=="
    assert douyin_signature(headers, "abc123你好123abc".encode(), "") == "GAkalGmhzqlUGQO/TgvMug=="
    assert douyin_signature(headers, "abc123你好123abc".encode(), "123") == "bECutK7SP5Ao1f/QSVkM7g=="


def test_signature_ignores_other_x_headers() -> None:
    headers = {"x-msg-type": "user_group", "x-nonce-str": "123456", "x-roomid": "268", "x-timestamp": "456789",
               "x-forwarded-for": "10.0.0.1", "x-request-id": "abc"}
    assert douyin_signature(headers, "abc123你好".encode(), "123abc") == "GAkalGmhzqlUGQO/TgvMug=="


@pytest.fixture
async def dy(make_config: Callable[..., Config], aiohttp_client: Any) -> TestClient:
    """The app with a Douyin source; the database (from make_config) outlives it.

    The answer window is the longest allowed (10 s): these tests are about conversion and refusals, and a loaded CI
    box can take longer than Douyin's 1.5 s to commit (the window itself is tested below).
    """
    config = make_config(
        sources=[{"id": SOURCE, "type": "douyin", "secret": FALLBACK, "secrets": SECRETS, "answer_within_seconds": 10.0}]
    )
    return await aiohttp_client(create_app(config))


def push_headers(msg_type: str, body: bytes, secret: str, room: str = "7731", ms: int | None = None) -> dict[str, str]:
    """Headers exactly as Douyin sends them, signed with ``secret``."""
    headers = {
        "x-msg-type": msg_type, "x-nonce-str": secrets.token_hex(8), "x-roomid": room,
        "x-timestamp": str(ms if ms is not None else int(time.time() * 1000)), "Content-Type": "application/json",
    }
    headers["x-signature"] = douyin_signature(headers, body, secret)
    return headers


async def push(client: TestClient, msg_type: str, items: Any, secret: str | None = None, **kw: Any) -> web.Response:
    body = items if isinstance(items, bytes) else orjson.dumps(items)
    secret = secret if secret is not None else SECRETS.get(msg_type, FALLBACK)
    return await client.post(f"/api/v1/sources/{SOURCE}/douyin", data=body, headers=push_headers(msg_type, body, secret, **kw))


def comment(msg_id: str, content: str = "奶源是哪里的？", **extra: Any) -> dict[str, Any]:
    return {"msg_id": msg_id, "sec_openid": "open-" + msg_id, "content": content, "avatar_url": "https://p3.douyinpic.com/a.jpg",
            "nickname": "小雨妈妈", "timestamp": 1795608062123, **extra}


async def test_comments_are_stored_with_raw_payload(dy: TestClient) -> None:
    resp = await push(dy, "live_comment", [comment("7012345678901234567"), comment("7012345678901234568", "666")])
    assert resp.status == 200
    assert await resp.json() == {"accepted": 2, "duplicates": 0}
    rows = await stored(dy)
    assert [(r.external_id, r.platform, r.channel, r.kind, r.text) for r in rows] == [
        ("7012345678901234567", "douyin", "7731", "comment", "奶源是哪里的？"),
        ("7012345678901234568", "douyin", "7731", "comment", "666"),
    ]
    assert rows[0].user_id == "open-7012345678901234567" and rows[0].user_name == "小雨妈妈"
    assert rows[0].ts.isoformat() == "2026-11-25T12:01:02.123000+00:00"
    assert rows[0].raw["avatar_url"] == "https://p3.douyinpic.com/a.jpg"


async def test_gift_like_and_fansclub(dy: TestClient) -> None:
    gift = {"msg_id": "g1", "sec_openid": "o1", "sec_gift_id": "n1/Dg1905sj1FyoBlQBvmbaDZFBNaKuKZH6zxHkv8Lg5x2cRfrKUTb8gzMs=",
            "gift_num": 3, "gift_value": 300, "avatar_url": "", "nickname": "乐乐爸爸", "timestamp": 1795608062}
    assert (await push(dy, "live_gift", [gift])).status == 200
    assert (await push(dy, "live_like", [{"msg_id": "l1", "sec_openid": "o2", "like_num": 17, "nickname": "糖糖",
                                          "timestamp": 1795608063000}])).status == 200
    assert (await push(dy, "live_fansclub", [{"msg_id": "f1", "sec_openid": "o3", "fansclub_reason_type": 1,
                                              "fansclub_level": 1, "nickname": "豆豆", "timestamp": 1795608064000}])).status == 200
    rows = {r.external_id: r for r in await stored(dy)}
    assert (rows["g1"].kind, rows["g1"].count, rows["g1"].value) == ("gift", 3, 300)
    assert rows["g1"].ts.isoformat() == "2026-11-25T12:01:02+00:00"
    assert (rows["l1"].kind, rows["l1"].count) == ("like", 17)
    assert rows["f1"].kind == "follow"


async def test_repeated_msg_id_is_stored_once(dy: TestClient) -> None:
    first = await push(dy, "live_comment", [comment("m1"), comment("m1"), comment("m2")])
    assert await first.json() == {"accepted": 2, "duplicates": 1}
    again = await push(dy, "live_comment", [comment("m2"), comment("m3")])
    assert await again.json() == {"accepted": 1, "duplicates": 1}
    assert [r.external_id for r in await stored(dy)] == ["m1", "m2", "m3"]


async def test_per_type_secret_and_fallback(dy: TestClient) -> None:
    assert (await push(dy, "live_comment", [comment("a")], secret=FALLBACK)).status == 401
    assert (await push(dy, "live_like", [{"msg_id": "b", "like_num": 1}], secret=FALLBACK)).status == 200


@pytest.mark.parametrize("tamper", ["signature", "body", "room", "stale", "future"])
async def test_bad_or_stale_signatures_are_401(dy: TestClient, tamper: str) -> None:
    body = orjson.dumps([comment("x")])
    headers = push_headers("live_comment", body, SECRETS["live_comment"])
    if tamper == "signature":
        headers["x-signature"] = "GAkalGmhzqlUGQO/TgvMug=="
    elif tamper == "body":
        body = body.replace(b"\\u5976", b"x")
        body = orjson.dumps([comment("x", "改过的")])
    elif tamper == "room":
        headers["x-roomid"] = "9999"
    else:
        skew = -301_000 if tamper == "stale" else 301_000
        headers = push_headers("live_comment", body, SECRETS["live_comment"], ms=int(time.time() * 1000) + skew)
    resp = await dy.post(f"/api/v1/sources/{SOURCE}/douyin", data=body, headers=headers)
    assert resp.status == 401
    assert await stored(dy) == []


async def test_missing_signature_is_401(dy: TestClient) -> None:
    resp = await dy.post(f"/api/v1/sources/{SOURCE}/douyin", data=b"[]", headers={"x-msg-type": "live_comment"})
    assert resp.status == 401


@pytest.mark.parametrize(
    ("items", "field"),
    [
        (b"{not json", "body"),
        ({"msg_id": "1"}, "body"),
        ([1], "[0]"),
        ([comment("ok"), {"content": "no id"}], "[1].msg_id"),
        ([comment("x", None)], "[0].content"),
        ([comment("x", {"t": 1})], "[0].content"),
        ([comment("x" * 129)], "[0].msg_id"),
        ([comment("x", timestamp="yesterday")], "[0].timestamp"),
        ([comment("x", nickname=["a"])], "[0].nickname"),
    ],
)
async def test_malformed_pushes_are_400(dy: TestClient, items: Any, field: str) -> None:
    resp = await push(dy, "live_comment", items)
    assert resp.status == 400
    assert (await resp.json())["field"] == field
    assert await stored(dy) == []


async def test_bad_gift_numbers_are_400(dy: TestClient) -> None:
    resp = await push(dy, "live_gift", [{"msg_id": "g", "gift_num": -1}])
    assert resp.status == 400
    assert (await resp.json())["field"] == "[0].gift_num"


async def test_oversize_pushes_are_413(dy: TestClient) -> None:
    resp = await push(dy, "live_like", [{"msg_id": str(i), "like_num": 1} for i in range(1001)])
    assert resp.status == 413
    big = orjson.dumps([comment("big", "奶" * 400_000)])
    resp = await dy.post(f"/api/v1/sources/{SOURCE}/douyin", data=big[:100],
                         headers={**push_headers("live_comment", big, SECRETS["live_comment"]), "Content-Length": str(len(big))})
    assert resp.status == 413


async def test_unknown_message_type_is_acknowledged_and_ignored(dy: TestClient) -> None:
    resp = await push(dy, "user_group", [{"msg_id": "u1"}])
    assert resp.status == 200
    assert (await resp.json())["ignored"] == "user_group"
    assert await stored(dy) == []


async def test_hostile_comment_text_is_kept(dy: TestClient) -> None:
    await push(dy, "live_comment", [comment(f"h{i}", text) for i, text in enumerate(HOSTILE)])
    assert [r.text for r in await stored(dy)] == list(HOSTILE)


async def test_another_sources_id_is_404(dy: TestClient) -> None:
    body = orjson.dumps([comment("x")])
    resp = await dy.post("/api/v1/sources/test-hook/douyin", data=body,
                         headers=push_headers("live_comment", body, SECRETS["live_comment"]))
    assert resp.status == 404


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "sources[0].secret: missing"),
        ({"secrets": {"live_chat": "x"}}, "sources[0].secrets: live_chat: unknown message type"),
        ({"secrets": {"live_gift": ""}}, "sources[0].secrets: live_gift: expected a non-empty string"),
        ({"secret": "x", "max_skew_seconds": -1}, "sources[0].max_skew_seconds"),
        ({"secret": "x", "room": 1}, "sources[0].room: unknown key"),
    ],
)
def test_settings_errors_name_the_key(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_source(SourceSettings(id="d", type="douyin", options=options), 0, RecordingSink())
    assert str(info.value).startswith(message), str(info.value)


async def test_slow_storage_is_answered_503_in_time_and_still_stored(aiohttp_client: Any,
                                                                     make_config: Callable[..., Config]) -> None:
    import asyncio

    from livebot.chat.keys import INGEST

    config = make_config(sources=[{"id": SOURCE, "type": "douyin", "secret": FALLBACK, "answer_within_seconds": 0.05}])
    client = await aiohttp_client(create_app(config))
    writer = client.app[INGEST].writer
    gate = asyncio.Event()
    real_insert = writer.insert

    async def held_insert(items: Any) -> Any:
        await gate.wait()
        return await real_insert(items)

    writer.insert = held_insert
    resp = await push(client, "live_comment", [comment("slow")], secret=FALLBACK)
    assert resp.status == 503
    gate.set()  # the answer went out in time; the write it was waiting for still lands
    rows = await eventually(lambda: stored(client), timeout=10)
    assert [r.external_id for r in rows] == ["slow"]
