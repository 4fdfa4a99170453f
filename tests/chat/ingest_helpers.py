"""Helpers for the ingest tests: signed posts, event builders, and reading rows back."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from livebot.appkeys import DATABASE
from livebot.chat import signing
from livebot.chat.models import StoredEvent

SECRET = "test-webhook-secret"
SOURCE = "test-hook"
HOSTILE = (
    "<script>alert('x')</script>",
    '<img src=x onerror="alert(1)">',
    "'; DROP TABLE chat_events;--",
    "Robert'); DELETE FROM sessions WHERE ('1'='1",
    "奶粉😀👍🏻👨‍👩‍👧 4-byte emoji 𠮷",
    '"quoted" \\ back\\slash and %s %d {0}',
)
_ids = itertools.count(1)


def event(**fields: Any) -> dict[str, Any]:
    """A valid webhook event; keyword arguments override fields."""
    base: dict[str, Any] = {
        "id": f"dy-{next(_ids)}", "platform": "douyin", "channel": "room-7731", "kind": "comment",
        "ts": "2026-11-24T20:01:02+08:00", "user": {"id": "u-1", "name": "小雨妈妈"}, "text": "奶源是哪里的？",
    }
    base.update(fields)
    return base


def body_of(events: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"events": events})


async def post_signed(
    client: TestClient, body: bytes, source: str = SOURCE, secret: str = SECRET, now: float | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    """POST a signed body to the ingest; returns (status, JSON answer)."""
    signed = signing.signed_headers(secret, body, now=now)
    signed.update(headers or {})
    resp = await client.post(f"/api/v1/ingest/{source}", data=body, headers=signed)
    return resp.status, await resp.json()


async def post_events(client: TestClient, events: list[dict[str, Any]], **kwargs: Any) -> tuple[int, dict[str, Any]]:
    return await post_signed(client, body_of(events), **kwargs)


async def stored(client: TestClient, source: str | None = None) -> list[StoredEvent]:
    """Every stored row, in insert order."""
    query = select(StoredEvent).order_by(StoredEvent.id)
    if source is not None:
        query = query.where(StoredEvent.source == source)
    async with client.app[DATABASE].sessions() as session:
        return list((await session.scalars(query)).all())

