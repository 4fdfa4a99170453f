"""Comments that were stored but never enriched, fetched back from the database.

Each instance enriches the comments it stored itself (the ``origin`` of ``chat.stored``), so the
work spreads over the instances. The database is the record, and three looks make sure every
stored comment is enriched once however the news of it was lost: the stage notes the ids of
``chat.stored`` messages the bus dropped while it was behind and enriches them once the drops
have stopped; at start it looks over the newest stored events for comments nobody enriched (a
crash between the chat writer's commit and the stage's flush); and while its own queue is empty
it looks every few seconds at comments stored since its previous look that are still not
enriched a few seconds after they arrived (an instance that died with comments in hand).
Enriching a row twice is harmless (the stage only writes rows nobody enriched yet), so none of
the looks needs coordination between instances.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import cast

from livebot.bus.base import Message
from livebot.chat import api_internal as chat
from livebot.chat.api_internal import StoredEvent
from livebot.storage.base import utcnow
from livebot.storage.engine import Database
from livebot.topics import read_chat_stored

logger = logging.getLogger(__name__)

START_ROWS = 50_000
"""At start, how many of the newest stored events are looked over (a range of the primary key)."""
START_WINDOW = timedelta(hours=2)
"""At start, how far back a comment still deserves enrichment (a show's length)."""
MAX_MISSED = 1_000_000
"""Ids noted at most; past that the oldest are forgotten (and logged): memory stays bounded."""
QUIET_SECONDS = 1.0
"""Fetch back only after this long without a new drop: while drops go on, the stage is still behind."""
FEED_CHUNK = 1_000
SWEEP_SECONDS = 5.0
"""How often an idle stage looks for comments another instance stored but never enriched."""
SETTLED = timedelta(seconds=5)
"""How long after arriving a comment counts as forgotten rather than still on its way."""
SWEEP_SPAN = 50_000
"""Stored events one look reads at most (ten seconds at 5,000 events/s); the next look goes on from there."""
SWEEP_ROWS = 10_000


class CatchUp:
    """Notes dropped ``chat.stored`` messages and feeds their rows back to the stage."""

    def __init__(self, db: Database, feed: Callable[[list[Message]], Awaitable[None]], origin: str) -> None:
        self.db = db
        self.feed = feed
        self.origin = origin
        self.missed: set[int] = set()
        self.forgotten = 0
        self.recovered = 0
        self.noted = asyncio.Event()
        self.swept_to: int | None = None
        """The key up to which stored comments were looked over; None until the look at start."""
        self.started = asyncio.Event()
        """Set once the look at start is over."""

    def note(self, topic: str, messages: Sequence[Message]) -> None:
        """The bus's drop handler: remember which of this instance's rows still need enrichment."""
        for raw in messages:
            message = read_chat_stored(raw)
            if message is not None and message["kind"] == "comment" and message.get("origin", self.origin) == self.origin:
                self.missed.add(message["pk"])
        while len(self.missed) > MAX_MISSED:
            self.missed.discard(min(self.missed))
            self.forgotten += 1
        self.noted.set()

    async def run(self) -> None:
        """Look over the newest rows once, then fetch back dropped ones whenever drops stop."""
        await self.recover_recent()
        self.started.set()
        while True:
            await self.noted.wait()
            while self.noted.is_set():  # wait for a quiet second: the stage has caught up
                self.noted.clear()
                await asyncio.sleep(QUIET_SECONDS)
            pks, self.missed = self.missed, set()
            try:
                await self.recover(pks)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("faq catch-up of %d dropped comments failed; retrying", len(pks))
                self.missed |= pks
                self.noted.set()
                await asyncio.sleep(QUIET_SECONDS)

    async def sweep(self, idle: Callable[[], bool]) -> None:
        """Every ``SWEEP_SECONDS``, while ``idle()`` holds, enrich what was forgotten since the last look."""
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            if not idle():
                continue  # a busy stage would only enrich twice what is still in its own queue
            try:
                await self.recover_settled()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("faq catch-up: looking for forgotten comments failed; trying again later")

    async def recover_settled(self) -> None:
        if self.swept_to is None:  # the look at start failed: begin from here
            self.swept_to = await chat.newest_id(self.db)
            return
        rows, self.swept_to = await chat.settled_unenriched(self.db, self.swept_to, utcnow() - SETTLED,
                                                                SWEEP_SPAN, SWEEP_ROWS)
        if rows:
            logger.warning("faq catch-up: enriching %d comments stored elsewhere and never enriched", len(rows))
            await self.feed_rows(rows)

    async def recover_recent(self) -> None:
        try:
            self.swept_to = await chat.newest_id(self.db)
            rows = await chat.recent_unenriched(self.db, START_ROWS, utcnow() - START_WINDOW, START_ROWS)
        except Exception:
            logger.exception("faq catch-up: looking for comments stored while no stage ran failed")
            return
        if rows:
            logger.info("faq catch-up: enriching %d comments stored while no stage ran", len(rows))
            await self.feed_rows(rows)

    async def recover(self, pks: set[int]) -> None:
        rows = await chat.unenriched_among(self.db, pks)
        if self.forgotten:
            logger.warning("faq catch-up: %d dropped comments were too many to remember", self.forgotten)
            self.forgotten = 0
        logger.info("faq catch-up: %d of %d dropped comments still needed enrichment", len(rows), len(pks))
        await self.feed_rows(rows)

    async def feed_rows(self, rows: Sequence[StoredEvent]) -> None:
        for start in range(0, len(rows), FEED_CHUNK):
            await self.feed([cast(Message, chat.stored_message(row)) for row in rows[start : start + FEED_CHUNK]])
        self.recovered += len(rows)
