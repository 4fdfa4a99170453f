"""What a `livebot worker` process listens to: the group work, not what feeds websockets."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from livebot.app import create_app
from livebot.appkeys import BUS
from livebot.bus.base import Message
from livebot.config import Config
from tests.bus.test_streams import REDIS_URL, drop_keys, redis_bus

WEBSOCKET_FEEDS = {"console-hub", "overlays:chat", "overlays:viewers", "cases-conversations", "cases-auto-open"}


@pytest.mark.parametrize("role", ["all", "worker"])
async def test_a_worker_leaves_websocket_feeds_to_the_web_processes(
    make_config: Callable[..., Config], aiohttp_client: Any, role: str,
) -> None:
    app = create_app(make_config(schedule={"scheduler_enabled": False}), role=role)
    client = await aiohttp_client(app)
    names = {sub.name for sub in client.app[BUS].subscriptions}
    if role == "worker":
        assert not names & WEBSOCKET_FEEDS, names
    else:
        assert WEBSOCKET_FEEDS <= names


async def test_a_topic_nobody_here_hears_is_not_parsed(caplog: pytest.LogCaptureFixture) -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    bus = redis_bus(prefix)
    await bus.start()
    raw = aioredis.from_url(REDIS_URL)
    got: list[Message] = []

    async def handler(message: Message) -> None:
        got.append(message)

    try:
        bus.subscribe("heard", handler)
        with caplog.at_level(logging.WARNING, logger="livebot.bus.redis"):
            await raw.publish(f"{prefix}:unheard", b"not json")
            await raw.publish(f"{prefix}:heard", b"not json either")
            await raw.publish(f"{prefix}:heard", b'{"n": 1}')
            await bus.drained()
        assert got == [{"n": 1}]
        assert [r.getMessage() for r in caplog.records if "not JSON" in r.getMessage()] == [
            "redis bus topic=heard: message is not JSON, ignored"]
    finally:
        await raw.aclose()
        await bus.close()
        await drop_keys(prefix)
