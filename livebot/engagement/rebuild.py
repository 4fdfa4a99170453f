"""Recompute minute rows from stored events: a whole session, or just some minutes of it.

``livebot engagement rebuild`` and the post-session report call :func:`rebuild`; the live
figures call :func:`recompute` for the minutes new chat touched. Both run the same
:class:`Folder` over the same stored facts, so their rows agree exactly.

A minute still filling up at 5,000 events/s holds up to 300,000 events: reading all of them
again on every live flush (every few seconds) cost more than the ingest itself. So the live
figures keep such a minute as an :class:`OpenMinute`, the same Folder fed only with the rows it
has not seen (by id); comments whose enrichment had not landed are folded at once and get their
sentiment added when it lands. The fold does not depend on order or batching (counts, sets,
latest viewers by time, exactly summed scores), so the rows equal a recompute. Once the minute
has closed it is written one last time; it gets a full :func:`recompute` instead when a row
could have been missed (a comment whose enrichment never came in time; PostgreSQL, where ids
may become visible out of order).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from livebot.engagement import store
from livebot.engagement.attribution import Attributor
from livebot.engagement.figures import MINUTE, AskFacts, Bucket, EventFacts, Key, fold, fold_sentiment, minute_of, row_of
from livebot.schedule import api_internal as schedule
from livebot.storage.base import utcnow
from livebot.storage.engine import Database

logger = logging.getLogger(__name__)

OPEN_GRACE = timedelta(seconds=15)
"""A minute is open (folded incrementally) until this long after its end; then it gets a full recompute."""
SENTIMENT_WAIT = 10.0
"""Seconds an open minute waits for a comment's enrichment before leaving it to the final recompute."""
SLICE_ROWS = 1000
"""Events read and folded per turn of the event loop (a few milliseconds)."""
POSTGRES_LOOKBACK = 5.0
"""Seconds after which a row id is taken as committed for good on PostgreSQL (see :class:`OpenMinute`)."""


@dataclass
class Folder:
    """Incremental :func:`fold`: time-ordered event batches into the same buckets, then the asks."""

    attributor: Attributor
    buckets: dict[Key, Bucket] = field(default_factory=dict)
    digests: dict[tuple[str, str], str] = field(default_factory=dict)
    events: int = 0

    def add_events(self, batch: Sequence[EventFacts]) -> None:
        self.events += len(batch)
        fold(batch, (), self.attributor, self.buckets, self.digests)

    def add_rows(self, rows: Sequence[Any]) -> None:
        """Raw rows of :func:`livebot.engagement.store.stream_events`, read and folded."""
        self.add_events([store.event_facts(row) for row in rows])

    async def add_rows_sliced(self, rows: Sequence[Any]) -> None:
        """:meth:`add_rows` in slices of a few milliseconds, giving the event loop a turn between them."""
        for start in range(0, len(rows), SLICE_ROWS):
            self.add_rows(rows[start : start + SLICE_ROWS])
            await asyncio.sleep(0)

    def add_asks(self, asks: Iterable[AskFacts]) -> None:
        fold((), asks, self.attributor, self.buckets, self.digests)

    def rows(self, session_id: int) -> list[dict[str, Any]]:
        now = utcnow()
        return [row_of(session_id, key, bucket, now) for key, bucket in sorted(self.buckets.items())]

    async def rows_sliced(self, session_id: int) -> list[dict[str, Any]]:
        """:meth:`rows`, one bucket per turn of the event loop (a busy bucket sorts tens of thousands of keys)."""
        now = utcnow()
        rows = []
        for key, bucket in sorted(self.buckets.items()):
            rows.append(row_of(session_id, key, bucket, now))
            await asyncio.sleep(0)
        return rows


@dataclass(frozen=True)
class RebuildResult:
    session_id: int
    events: int
    rows: int
    minutes: int


async def rebuild(db: Database, session_id: int) -> RebuildResult:
    """Replace every minute row of a session with figures recomputed from its stored events."""
    await schedule.get_session(db, session_id)
    folder = Folder(await store.attributor(db, session_id))
    async for batch in store.stream_events(db, session_id):
        await asyncio.to_thread(folder.add_rows, batch)  # CPU work off the event loop
    await asyncio.to_thread(folder.add_asks, await store.asks(db, session_id))
    rows = folder.rows(session_id)
    await store.replace_minutes(db, session_id, rows)
    minutes = len({row["minute"] for row in rows})
    logger.info("engagement session=%s rebuilt events=%d rows=%d minutes=%d", session_id, folder.events, len(rows), minutes)
    return RebuildResult(session_id, folder.events, len(rows), minutes)


async def recompute(db: Database, session_id: int, minutes: Iterable[datetime], attributor: Attributor | None = None) -> int:
    """Recompute the rows of some minutes of a session; returns how many rows they now have."""
    wanted = frozenset(minute_of(m) for m in minutes)
    if not wanted:
        return 0
    ranges = store.minute_ranges(wanted)
    folder = Folder(attributor or await store.attributor(db, session_id))
    async for batch in store.stream_events(db, session_id, ranges):
        await folder.add_rows_sliced(batch)  # a busy minute is 300,000 events: in slices, beside the live pipeline
    folder.add_asks(await store.asks(db, session_id, ranges))
    rows = await folder.rows_sliced(session_id)
    for attempt in (1, 2):
        try:
            await store.replace_minutes(db, session_id, rows, ranges)
            break
        except IntegrityError:
            # Another instance wrote the same minutes at the same moment; its rows are equal to ours.
            if attempt == 2:
                raise
            logger.debug("engagement session=%s minutes written concurrently, retrying", session_id)
    return len(rows)


def is_open(minute: datetime, now: datetime) -> bool:
    """Whether ``minute`` may still get events: it ended less than ``OPEN_GRACE`` ago."""
    return minute + MINUTE + OPEN_GRACE > now


@dataclass
class OpenMinute:
    """One minute of a session folded incrementally (see the module docstring).

    Rows are found by id. Ids are handed out before commit, so on PostgreSQL with several
    writers a row may become visible after a higher id did: there rows above the highest id
    seen ``lookback`` seconds ago are read again and checked against the ids already folded
    (a row later still is counted by the final recompute). SQLite has one writer: ids become
    visible in order, and ``lookback`` is 0.
    """

    minute: datetime
    folder: Folder
    lookback: float = 0.0
    floor: int = 0
    """Every row with an id up to this one is folded."""
    recent: set[int] = field(default_factory=set)
    """Ids above ``floor`` already folded."""
    marks: deque[tuple[float, int]] = field(default_factory=deque)
    waiting: dict[int, float] = field(default_factory=dict)
    """Comments folded before their enrichment landed: id -> when first seen (monotonic)."""
    gave_up: bool = False
    """Some comment's sentiment stopped being waited for: the minute needs its full recompute."""
    ordered: dict[int, tuple[set[str], list[str]]] = field(default_factory=dict)
    """Per key set of a bucket (by identity): its members sorted so far, so a refresh sorts only the new ones."""

    def order(self, keys: set[str]) -> list[str]:
        """``sorted(keys)`` from the previous refresh's order (a bucket's sets only grow): near-linear
        instead of sorting 40,000 chatter keys again every few seconds."""
        known = self.ordered.get(id(keys))
        if known is None:
            known = self.ordered[id(keys)] = (set(), [])
        members, ordered = known
        if len(members) != len(keys):
            new = keys - members
            members |= new
            ordered.extend(sorted(new))
            ordered.sort()  # two sorted runs: one merge
        return list(ordered)

    @property
    def exact(self) -> bool:
        """Whether the folder holds exactly what a recompute would (no row can have been missed)."""
        return not self.gave_up and self.lookback == 0

    async def absorb(self, db: Database, session_id: int, clock: Callable[[], float] = time.monotonic) -> int:
        """Read and fold the rows not seen yet and the sentiment landed since; returns how many rows were read.

        Tens of thousands of rows: folded in slices of a few milliseconds, so the live pipeline
        keeps its turns (the caller holds the session's lock: nothing else touches the folder).
        """
        low = min(self.floor, min(self.waiting, default=self.floor + 1) - 1)
        found = await store.rows_after(db, session_id, self.minute, self.minute + MINUTE, low)
        now = clock()
        new: list[EventFacts] = []
        settled_late: list[EventFacts] = []
        highest = self.floor
        for start in range(0, len(found), SLICE_ROWS):
            # rows read again (PostgreSQL's lookback) are only turned into facts when they count
            for row in found[start : start + SLICE_ROWS]:
                pk, settled = row[0], bool(row[1])
                highest = max(highest, pk)
                if pk > self.floor and pk not in self.recent:
                    new.append(store.event_facts(row[2:]))
                    self.recent.add(pk)
                    if not settled:
                        self.waiting[pk] = now
                elif settled and self.waiting.pop(pk, None) is not None:
                    settled_late.append(store.event_facts(row[2:]))
            await asyncio.sleep(0)
        self.advance(highest, now)
        for pk in [pk for pk, since in self.waiting.items() if now - since > SENTIMENT_WAIT]:
            del self.waiting[pk]  # the stage is off or far behind: the final recompute will count it
            self.gave_up = True
        for start in range(0, len(new), SLICE_ROWS):
            self.folder.add_events(new[start : start + SLICE_ROWS])
            await asyncio.sleep(0)
        fold_sentiment(settled_late, self.folder.attributor, self.folder.buckets)
        return len(found)

    async def refresh(self, db: Database, session_id: int, clock: Callable[[], float] = time.monotonic) -> int:
        """:meth:`absorb`, then write the minute's rows with its asks; returns how many rows it has."""
        await self.absorb(db, session_id, clock)
        ranges = [(self.minute, self.minute + MINUTE)]
        asks = await store.asks(db, session_id, ranges)
        rows = await rows_with_asks(session_id, self.folder.buckets, asks, self.folder.attributor, self.order)
        await store.replace_minutes(db, session_id, rows, ranges)
        return len(rows)

    def advance(self, highest: int, now: float) -> None:
        """Raise ``floor`` to the highest id seen ``lookback`` seconds ago."""
        self.marks.append((now, max(highest, self.marks[-1][1] if self.marks else self.floor)))
        while self.marks and now - self.marks[0][0] >= self.lookback:
            self.floor = max(self.floor, self.marks.popleft()[1])
        self.recent = {pk for pk in self.recent if pk > self.floor}


async def rows_with_asks(session_id: int, buckets: dict[Key, Bucket], asks: Sequence[AskFacts],
                         attributor: Attributor, order: Callable[[set[str]], list[str]] = sorted) -> list[dict[str, Any]]:
    """Minute rows of event buckets plus question asks, as one fold of both would give them
    (asks touch only the question fields, which events never do); one bucket per loop turn."""
    asked = fold((), asks, attributor)
    now = utcnow()
    rows = []
    for key in sorted(set(buckets) | set(asked)):
        bucket = buckets.get(key)
        row = row_of(session_id, key, bucket, now, order) if bucket is not None else row_of(session_id, key, Bucket(), now)
        questions = asked.get(key)
        if questions is not None:
            row["questions"], row["answered"] = questions.questions, questions.answered
            row["response_ms"] = sorted(questions.response_ms)
        rows.append(row)
        await asyncio.sleep(0)
    return rows
