"""Several processes: each session's figures are computed and published by one of them; a web
process beside workers computes none."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from livebot.app import create_app
from livebot.appkeys import BUS, DATABASE
from livebot.bus.memory import MemoryBus
from livebot.config import Config
from livebot.engagement.keys import ENGAGEMENT_SETTINGS, LIVE
from livebot.engagement.live import LiveFigures
from livebot.engagement.metrics import EngagementMetrics
from livebot.engagement.rebuild import rebuild
from livebot.engagement.store import minute_rows
from livebot.topics import engagement_topic
from tests.engagement.support import T0, TRANSCRIPT, insert_events, make_show
from tests.engagement.test_live import stored_message, strip
from tests.support import eventually


class Leases:
    """What Redis keeps for every process: who holds each lease, what was handed over."""

    def __init__(self) -> None:
        self.holders: dict[str, str] = {}
        self.handed: dict[str, set[str]] = {}


class LeasingBus(MemoryBus):
    """One process's bus over shared leases (the contract ``RedisBus`` keeps in Redis)."""

    def __init__(self, leases: Leases, name: str) -> None:
        super().__init__()
        self.leases, self.name = leases, name
        self.published: list[dict[str, Any]] = []

    @property
    def durable(self) -> bool:
        return True

    async def lead(self, name: str, seconds: float) -> bool:
        return self.leases.holders.setdefault(name, self.name) == self.name

    async def resign(self, name: str) -> None:
        if self.leases.holders.get(name) == self.name:
            del self.leases.holders[name]

    async def hand_over(self, name: str, items: Iterable[str], seconds: float) -> None:
        self.leases.handed.setdefault(name, set()).update(items)

    async def handed_over(self, name: str) -> set[str]:
        return self.leases.handed.pop(name, set())

    async def publish(self, topic: str, message: Any) -> None:
        self.published.append(message)


def process(app: web.Application, leases: Leases, name: str) -> LiveFigures:
    return LiveFigures(app[DATABASE], LeasingBus(leases, name), app[ENGAGEMENT_SETTINGS],
                       EngagementMetrics(CollectorRegistry()), clock=lambda: T0 + timedelta(minutes=17))


async def test_each_sessions_figures_are_computed_by_one_process(client: Any) -> None:
    app = client.app
    db = app[DATABASE]
    show = await make_show(db, status="live")
    leases = Leases()
    first, second = process(app, leases, "first"), process(app, leases, "second")
    early, late = TRANSCRIPT[:7], TRANSCRIPT[7:]
    for event, pk in zip(early, await insert_events(db, show.session_id, early), strict=True):
        first.mark(stored_message(show.session_id, event, pk))  # the group gave these to the first process
    assert show.session_id in await first.flush()
    for event, pk in zip(late, await insert_events(db, show.session_id, late), strict=True):
        second.mark(stored_message(show.session_id, event, pk))  # and these to the second
    assert await second.flush() == {}, "the second process hands its minutes over instead of computing them"
    assert not second.dirty
    assert sum(r["comments"] for r in await minute_rows(db, show.session_id)) < 11
    written = await first.flush()
    assert written[show.session_id] > 0
    live_rows = strip(await minute_rows(db, show.session_id))
    assert sum(r["comments"] for r in live_rows) == 11
    await rebuild(db, show.session_id)
    assert strip(await minute_rows(db, show.session_id)) == live_rows
    assert isinstance(first.bus, LeasingBus) and isinstance(second.bus, LeasingBus)
    assert first.bus.published and not second.bus.published, "one process publishes the session's figures"
    await first.resign()  # the first stops: the second takes the session over and starts it over from storage
    assert show.session_id in await second.flush()
    assert second.bus.published and second.leading == {show.session_id}
    assert not await first.flush() and not first.leading


async def run_role(make_config: Callable[..., Config], aiohttp_client: Any, role: str) -> tuple[Any, LiveFigures, list[Any]]:
    app = create_app(make_config(schedule={"scheduler_enabled": False}, engagement={"flush_seconds": 0.05}), role=role)
    client = await aiohttp_client(app)
    show = await make_show(client.app[DATABASE], status="live")
    heard: list[Any] = []

    async def capture(message: dict[str, Any]) -> None:
        heard.append(message)

    client.app[BUS].subscribe(engagement_topic(show.session_id), capture, name="test-capture")
    return client, client.app[LIVE], heard


async def test_a_web_process_beside_workers_leaves_the_figures_to_them(
    make_config: Callable[..., Config], aiohttp_client: Any,
) -> None:
    client, live, heard = await run_role(make_config, aiohttp_client, "all")
    await eventually(lambda: live.flushes > 0 and bool(heard))  # one process: it flushes and publishes
    await client.close()  # (on Redis it would be heard by the next app)
    _, live, heard = await run_role(make_config, aiohttp_client, "web")
    await asyncio.sleep(0.5)  # ten flush intervals
    assert live.flushes == 0 and not heard
