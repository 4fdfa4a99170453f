"""Which live session (and site) owns an event: by its (source, channel) at its time.

The ``channels`` table binds a (source, channel) pair to a session. An event belongs to the
session that is ``live`` on its channel; failing that, to a session whose window (actual
start/end, else planned start/end) contains the event's time, so late or replayed events of
a session that has just ended still land in it; failing that, to none (stored and counted
anyway). The table is cached in memory and reloaded every ``routing_refresh_seconds`` or at
once when the schedule announces a change on ``schedule.changed``: no query per event.
A channel bound as ``"*"`` catches every channel of its source. While a session is live its
events also carry the segment on air and the site on air (``session_controls``), falling back
to the channel's own site, so engagement can be split per segment and per site.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from livebot.chat.event import ChatEvent
from livebot.schedule import api_internal as schedule
from livebot.storage.base import utcnow
from livebot.storage.engine import Database

logger = logging.getLogger(__name__)

ROUTED_STATUSES = ("scheduled", "live", "ended")
KEEP_ENDED = timedelta(days=7)
RETRY_SECONDS = 2.0
ANY_CHANNEL = "*"


@dataclass(frozen=True, slots=True)
class Route:
    session_id: int | None = None
    site_id: int | None = None
    segment_id: int | None = None


NO_ROUTE = Route()


@dataclass(frozen=True, slots=True)
class Binding:
    route: Route
    live: bool
    start: datetime
    end: datetime


RoutingTable = dict[tuple[str, str], list[Binding]]


async def load_table(db: Database) -> RoutingTable:
    """Every channel binding of a session that is scheduled, live, or ended in the last week."""
    cutoff = utcnow() - KEEP_ENDED
    table: RoutingTable = {}
    for row in await schedule.channel_bindings(db, ROUTED_STATUSES):
        start, end = row.started_at or row.planned_start, row.ended_at or row.planned_end
        if row.status != "live" and end < cutoff:
            continue
        live = row.status == "live"
        if live:
            route = Route(row.session_id, row.on_air_site_id or row.site_id, row.current_segment_id)
        else:
            route = Route(row.session_id, row.site_id)
        binding = Binding(route, live, start, end)
        table.setdefault((row.source_id, row.channel), []).append(binding)
    for bindings in table.values():
        bindings.sort(key=lambda b: (b.live, b.start), reverse=True)
    return table


def pick(bindings: list[Binding], ts: datetime) -> Route:
    """The live binding, else the one whose window holds ``ts`` (latest start first)."""
    for binding in bindings:
        if binding.live:
            return binding.route
    for binding in bindings:
        if binding.start <= ts <= binding.end:
            return binding.route
    return NO_ROUTE


class Router:
    """The cached routing table; :meth:`ensure_fresh` once per batch, :meth:`route` per event."""

    def __init__(self, db: Database, refresh_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self.table: RoutingTable = {}
        self.next_refresh = 0.0
        self.lock = asyncio.Lock()

    def invalidate(self) -> None:
        """Reload before the next batch (the schedule changed)."""
        self.next_refresh = 0.0

    async def on_schedule_changed(self, _message: dict[str, object]) -> None:
        self.invalidate()

    async def ensure_fresh(self) -> None:
        """Reload the table if it is older than the refresh period; keep the old one on errors."""
        if self.clock() < self.next_refresh:
            return
        async with self.lock:
            if self.clock() < self.next_refresh:
                return
            try:
                self.table = await load_table(self.db)
                self.next_refresh = self.clock() + self.refresh_seconds
            except (SQLAlchemyError, OSError) as err:
                self.next_refresh = self.clock() + RETRY_SECONDS
                logger.warning("routing table reload failed, keeping %d bindings: %s", len(self.table), err)

    def route(self, event: ChatEvent) -> Route:
        """The session, site and segment that own ``event`` (``NO_ROUTE`` when none does)."""
        bindings = self.table.get((event.source, event.channel)) or self.table.get((event.source, ANY_CHANNEL))
        return pick(bindings, event.ts) if bindings else NO_ROUTE
