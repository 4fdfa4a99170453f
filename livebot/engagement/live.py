"""Live figures: the bus says which minutes changed, the database says what they now hold.

``chat.stored`` and ``chat.enriched`` (lists, one per commit) mark (session, minute) dirty; every
``flush_seconds`` the dirty minutes are recomputed from the stored events by
:func:`livebot.engagement.rebuild.recompute` — the same code a full rebuild runs — and written as
minute rows. A minute still filling up is an :class:`~livebot.engagement.rebuild.OpenMinute`: the
same fold fed only with its rows not read before (every ``ABSORB_EVENTS`` new events of a busy
session, and at each flush), so a busy minute is not read again every few seconds. So the live
rows always equal rebuilt ones, a crash or a dropped bus message loses no figure (the events are
stored; a restart recomputes live sessions), and several instances writing the same minute write
the same values. Each flush also picks up what the bus does not announce: new and answered
question asks, and timeline corrections (a segment switch re-attributes the minutes after it).
After a flush the session's headline figures go out on ``engagement.{session_id}`` for the
war room and the stats overlay.

Where several processes share the work (``livebot worker`` processes), each session's figures are one
process's: the holder of the lease ``engagement.{session_id}`` (:meth:`Bus.lead`, renewed at every
flush) recomputes, writes and publishes them; the others hand the minutes they heard about over
to it (:meth:`Bus.hand_over`) instead of computing them too. A process that takes a session over
(at start, or from one that died and stopped renewing) rebuilds it first, because what the previous
holder had not yet written went with it. A web process that leaves the group work to workers
does no flushing at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import distinct, select

from livebot.bus.base import Bus, Message
from livebot.engagement import store
from livebot.engagement.attribution import Attributor
from livebot.engagement.figures import MINUTE, minute_of
from livebot.engagement.metrics import EngagementMetrics
from livebot.engagement.rebuild import POSTGRES_LOOKBACK, Folder, OpenMinute, is_open, rebuild, recompute
from livebot.engagement.report import viewer_series
from livebot.engagement.settings import EngagementSettings
from livebot.engagement.store import AskWatermark
from livebot.errors import BusError
from livebot.schedule.api_internal import UnknownSession
from livebot.storage.base import utcnow
from livebot.storage.engine import Database
from livebot.topics import (
    ChatStored,
    EngagementLive,
    SentimentMix,
    chat_time,
    engagement_live,
    engagement_topic,
    read_chat_stored,
    read_session_id,
)

logger = logging.getLogger(__name__)

ABSORB_EVENTS = 5_000
"""New events of a session after which its open minutes are folded ahead of the next flush."""
MAX_DIGESTS = 200_000
"""About 60 MB at most; cleared when full (a 200,000-viewer show keeps its hits)."""
VIEWER_WINDOW_MINUTES = 10
"""A platform that reported no viewer figure for this long no longer counts in the live total."""
LEASE_FLUSHES = 3
"""A session's lease lasts this many flushes (at least ``MIN_LEASE_SECONDS``): a holder that stopped is replaced then."""
MIN_LEASE_SECONDS = 10.0
HANDED_SECONDS = 600.0
"""Minutes handed over to a session's holder are kept this long if nobody collects them."""


def lease_name(session_id: int) -> str:
    return f"engagement.{session_id}"


class LiveFigures:
    """Dirty-minute tracking, the periodic flush, and the live message."""

    def __init__(self, db: Database, bus: Bus, settings: EngagementSettings, metrics: EngagementMetrics,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db, self.bus, self.settings, self.metrics, self.clock = db, bus, settings, metrics, clock
        self.dirty: dict[int, set[datetime]] = defaultdict(set)
        self.seen: dict[int, float] = {}
        self.attributors: dict[int, Attributor] = {}
        self.marks: dict[int, AskWatermark] = {}
        self.lock = asyncio.Lock()
        self.locks: dict[int, asyncio.Lock] = {}
        self.published: dict[int, datetime] = {}
        self.flushes = 0
        self.open_minutes: dict[int, dict[datetime, OpenMinute]] = {}
        """Per session, the minutes still filling up, folded incrementally (see livebot.engagement.rebuild)."""
        self.lookback = 0 if db.backend == "sqlite" else POSTGRES_LOOKBACK
        self.digests: dict[tuple[str, str], str] = {}
        """User digests shared by the open minutes: a viewer chats minute after minute (hashing is half the fold)."""
        self.unread: Counter[int] = Counter()
        self.absorbing: asyncio.Task[None] | None = None
        """Per session, the minutes still filling up, folded incrementally (see livebot.engagement.rebuild)."""
        self.minutes: dict[str, datetime] = {}
        """Minute by the first 16 characters of a UTC ISO time: most events share a few minutes."""
        self.leading: set[int] = set()
        """Sessions whose lease this process holds (see the module docstring)."""
        self.lease_seconds = max(MIN_LEASE_SECONDS, LEASE_FLUSHES * settings.flush_seconds)

    def session_lock(self, session_id: int) -> asyncio.Lock:
        """Held while a session's rows are written, so a rebuild that read older events cannot
        overwrite a recompute that read newer ones (within this instance)."""
        return self.locks.setdefault(session_id, asyncio.Lock())

    # bus handlers

    async def on_stored(self, message: Message) -> None:
        """Count the event for /metrics and mark its minute."""
        await self.on_stored_batch([message])

    async def on_stored_batch(self, messages: list[Message]) -> None:
        """A commit's worth of ``chat.stored``: counted for /metrics per (platform, kind), minutes marked."""
        events: Counter[tuple[str, str]] = Counter()
        likes: Counter[str] = Counter()
        gifts: Counter[str] = Counter()
        stored = [message for raw in messages if (message := read_chat_stored(raw)) is not None]
        for message in stored:
            platform, kind = (message["platform"] or "other")[:16], (message["kind"] or "other")[:16]
            events[platform, kind] += 1
            if kind == "like":
                count = message["count"]
                likes[platform] += count if count is not None and count > 0 else 1
            elif kind == "gift" and (value := message["value"]) is not None and value > 0:
                gifts[platform] += value
            elif kind == "viewers" and (viewers := message["viewers"]) is not None and viewers >= 0:
                self.metrics.viewers.labels(platform).set(viewers)
            self.mark(message)
        for (platform, kind), n in events.items():
            self.metrics.events.labels(platform, kind).inc(n)
        for platform, n in likes.items():
            self.metrics.likes.labels(platform).inc(n)
        for platform, n in gifts.items():
            self.metrics.gift_value.labels(platform).inc(n)
        self.count_unread(stored)

    def count_unread(self, messages: list[ChatStored]) -> None:
        """Busy sessions get their open minutes absorbed between flushes, every ``ABSORB_EVENTS`` events."""
        for message in messages:
            session_id = message["session_id"]
            if session_id is not None and session_id > 0:
                self.unread[session_id] += 1
        busy = [s for s, n in self.unread.items() if n >= ABSORB_EVENTS and s in self.attributors]
        if busy and (self.absorbing is None or self.absorbing.done()):
            for session_id in busy:
                self.unread[session_id] = 0
            self.absorbing = asyncio.get_running_loop().create_task(self.absorb(busy), name="engagement:absorb")

    async def on_enriched(self, message: Message) -> None:
        """Sentiment arrived for a stored comment: its minute changes again."""
        await self.on_enriched_batch([message])

    async def on_enriched_batch(self, messages: list[Message]) -> None:
        """Only the session and the time matter here (the figures are read from storage), so the rest
        of each message is not checked."""
        for raw in messages:
            session_id, ts = read_session_id(raw), raw.get("ts")
            if session_id is not None and isinstance(ts, str):
                self.mark_minute(session_id, ts)

    async def on_schedule(self, message: Message) -> None:
        """A switch or status change: look at the session's timeline on the next flush."""
        session_id = read_session_id(message)
        if session_id is not None:
            self.seen[session_id] = time.monotonic()

    def mark(self, message: ChatStored) -> None:
        session_id = message["session_id"]
        if session_id is None or session_id <= 0:
            return
        self.mark_minute(session_id, message["ts"])

    def mark_minute(self, session_id: int, raw: str) -> None:
        """Mark the minute of the ISO time ``raw`` dirty for the session."""
        key = raw[:16] if raw.endswith("+00:00") and len(raw) > 16 and raw[16] == ":" else None
        minute = self.minutes.get(key) if key else None
        if minute is None:
            ts = chat_time(raw)
            if ts is None:
                return
            minute = minute_of(ts)
            if key:
                if len(self.minutes) > 1024:
                    self.minutes.clear()
                self.minutes[key] = minute  # "YYYY-MM-DDTHH:MM" of a UTC time names its minute
        self.dirty[session_id].add(minute)
        self.seen[session_id] = time.monotonic()

    # flushing

    async def flush(self) -> dict[int, int]:
        """Recompute what changed for every active session; returns rows written per session."""
        async with self.lock:
            started = time.perf_counter()
            cutoff = time.monotonic() - self.settings.active_minutes * 60
            for session_id in [s for s, at in self.seen.items() if at < cutoff and s not in self.dirty]:
                self.forget(session_id)
            live = set(await store.live_session_ids(self.db))
            sessions = set(self.dirty) | set(self.seen) | live
            written: dict[int, int] = {}
            for session_id in sorted(sessions):
                try:
                    if not await self.leads(session_id):
                        continue
                    written[session_id] = await self.flush_session(session_id, session_id in live)
                except UnknownSession:
                    self.forget(session_id)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("engagement session=%s live flush failed", session_id)
            self.flushes += 1
            self.metrics.flush_seconds.observe(time.perf_counter() - started)
            return written

    def forget(self, session_id: int) -> None:
        for table in (self.dirty, self.seen, self.attributors, self.marks, self.published, self.open_minutes, self.unread):
            table.pop(session_id, None)
        self.leading.discard(session_id)

    async def leads(self, session_id: int) -> bool:
        """Whether this process computes the session's figures now (its lease, taken or renewed);
        the holder collects the minutes others handed over, the others hand theirs over."""
        name = lease_name(session_id)
        if not await self.bus.lead(name, self.lease_seconds):
            await self.follow(session_id)
            return False
        for raw in await self.bus.handed_over(name):
            minute = chat_time(raw)
            if minute is not None:
                self.dirty[session_id].add(minute_of(minute))
        if session_id not in self.leading:
            self.leading.add(session_id)
            if self.bus.durable:  # taken over: what the previous holder had in hand is rebuilt from storage
                await self.start_over(session_id)
        return True

    async def follow(self, session_id: int) -> None:
        """Another process holds the session: hand it the minutes heard here, keep nothing of it."""
        minutes = self.dirty.pop(session_id, set())
        if minutes:
            try:
                await self.bus.hand_over(lease_name(session_id), [m.isoformat() for m in minutes], HANDED_SECONDS)
            except BusError:
                self.dirty[session_id] |= minutes  # handed over on the next flush (or computed here, if it leads then)
                raise
        if session_id in self.leading:
            self.leading.discard(session_id)
            for table in (self.attributors, self.marks, self.published, self.open_minutes, self.unread):
                table.pop(session_id, None)

    async def start_over(self, session_id: int) -> None:
        """Rebuild the session's figures from storage and start its watermarks from now."""
        async with self.session_lock(session_id):
            mark = await store.ask_watermark(self.db, session_id)
            await rebuild(self.db, session_id)
        self.open_minutes.pop(session_id, None)
        self.seen[session_id] = time.monotonic()
        self.marks.setdefault(session_id, mark)
        self.attributors.setdefault(session_id, await store.attributor(self.db, session_id))

    async def resign(self) -> None:
        """Give up every session's lease (this process is stopping): another takes them at its next flush."""
        for session_id in list(self.leading):
            await self.bus.resign(lease_name(session_id))
        self.leading.clear()

    async def flush_session(self, session_id: int, is_live: bool = False) -> int:
        attributor = await store.attributor(self.db, session_id)
        minutes = self.dirty.pop(session_id, set())
        self.unread.pop(session_id, None)
        previous = self.attributors.get(session_id)
        if previous is not None:
            since = previous.first_difference(attributor)
            if since is not None:
                minutes |= await self.stored_minutes(session_id, minute_of(since))
                self.open_minutes.pop(session_id, None)  # folded with the old timeline: start them over
                logger.info("engagement session=%s timeline changed at %s: re-attributing", session_id, since.isoformat())
        self.attributors[session_id] = attributor
        first_look = session_id not in self.marks
        times, mark, answered = await store.asks_changed(self.db, session_id, self.marks.get(session_id, AskWatermark()))
        self.marks[session_id] = mark
        minutes |= {minute_of(t) for t in times}
        if not first_look:
            for seconds in answered:
                self.metrics.first_response.observe(seconds)
        now = self.clock()
        tails = self.open_minutes.setdefault(session_id, {})
        minutes |= {m for m in tails if not is_open(m, now)}  # closed since: written one last time
        rows = 0
        if minutes:
            try:
                async with self.session_lock(session_id):
                    rows = await self.recompute(session_id, minutes, attributor, now)
            except Exception:
                self.dirty[session_id] |= minutes  # try again on the next flush
                raise
            self.metrics.recomputed.inc(len(minutes))
        current = minute_of(now)
        if minutes or (is_live and self.published.get(session_id) != current):
            # on news, and once a minute while live (so "comments in the last minute" falls to 0 when chat stops)
            await self.publish(session_id)
            self.published[session_id] = current
        return rows

    async def absorb(self, session_ids: list[int]) -> None:
        """Fold the new rows of these sessions' open minutes now, so the next flush has little left to
        read: a busy minute is read in small steps all along instead of 25,000 rows every flush."""
        async with self.lock:
            now = self.clock()
            for session_id in session_ids:
                attributor = self.attributors.get(session_id)
                minutes = [m for m in self.dirty.get(session_id, ()) if is_open(m, now)]
                if attributor is None or not minutes:
                    continue
                async with self.session_lock(session_id):
                    for minute in sorted(minutes):
                        tail = self.open_minute(session_id, minute, attributor)
                        try:
                            await tail.absorb(self.db, session_id)
                        except asyncio.CancelledError:
                            raise
                        except Exception:
                            self.open_minutes[session_id].pop(minute, None)  # the next flush starts it over
                            logger.exception("engagement session=%s minute=%s absorb failed", session_id,
                                             minute.isoformat())

    def open_minute(self, session_id: int, minute: datetime, attributor: Attributor) -> OpenMinute:
        """The session's open minute, started if new."""
        tails = self.open_minutes.setdefault(session_id, {})
        tail = tails.get(minute)
        if tail is None:
            if len(self.digests) > MAX_DIGESTS:
                self.digests.clear()
            tail = tails[minute] = OpenMinute(minute, Folder(attributor, digests=self.digests), lookback=self.lookback)
        return tail

    async def close(self) -> None:
        """Stop an absorb in progress (the app is stopping)."""
        if self.absorbing is not None:
            self.absorbing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.absorbing

    async def recompute(self, session_id: int, minutes: set[datetime], attributor: Attributor, now: datetime) -> int:
        """Closed minutes from all their events; open ones (still filling up) from their new events only."""
        tails = self.open_minutes.setdefault(session_id, {})
        still_open = {m for m in minutes if is_open(m, now)}
        closed = minutes - still_open
        rows = 0
        for minute in sorted(m for m in closed if m in tails and tails[m].exact):
            rows += await tails.pop(minute).refresh(self.db, session_id)  # folded all along: a last read suffices
            closed.discard(minute)
        if closed:
            rows += await recompute(self.db, session_id, closed, attributor)
            for minute in closed:
                tails.pop(minute, None)
        for minute in sorted(still_open):
            tail = self.open_minute(session_id, minute, attributor)
            try:
                rows += await tail.refresh(self.db, session_id)
            except Exception:
                tails.pop(minute, None)  # its folder may be ahead of what was written: rebuild it next time
                raise
        return rows

    async def stored_minutes(self, session_id: int, since: datetime) -> set[datetime]:
        table = store.MINUTE_TABLE
        query = select(distinct(table.c.minute)).where(table.c.session_id == session_id, table.c.minute >= since)
        async with self.db.engine.connect() as conn:
            found = set((await conn.execute(query)).scalars())
        return found

    async def publish(self, session_id: int) -> None:
        await self.bus.publish(engagement_topic(session_id), await live_snapshot(self.db, session_id, self.settings,
                                                                                  self.clock()))

    async def catch_up(self) -> list[int]:
        """At start: live sessions (those nobody else holds) are rebuilt in full, so nothing written before
        a crash is missing."""
        rebuilt = []
        for session_id in await store.live_session_ids(self.db):
            try:
                if session_id in self.leading or not await self.bus.lead(lease_name(session_id), self.lease_seconds):
                    self.seen.setdefault(session_id, time.monotonic())
                    continue  # another process holds it (it rebuilt it when it took it)
                self.leading.add(session_id)
                await self.start_over(session_id)
                rebuilt.append(session_id)
            except Exception:
                logger.exception("engagement session=%s catch-up rebuild failed", session_id)
        return rebuilt

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.settings.flush_seconds)
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("engagement live flush failed")


async def live_snapshot(db: Database, session_id: int, settings: EngagementSettings, now: datetime) -> EngagementLive:
    """The headline figures right now: what the war room and the stats overlay show.

    ``viewers`` is the summed latest concurrent viewers, ``comments_per_min`` the comments of
    the last complete minute, ``sentiment`` the mix over the last ``sentiment_window_minutes``.
    """
    current = minute_of(now)
    window = max(VIEWER_WINDOW_MINUTES, settings.sentiment_window_minutes)
    since = current - MINUTE * window
    rows = await store.minute_rows(db, session_id, since=since, with_keys=False)
    minutes = [since + MINUTE * i for i in range(window + 1)]
    viewers = viewer_series(rows, minutes)
    latest = next((v for v in reversed(viewers.last) if v is not None), None)
    previous = current - MINUTE
    recent = current - MINUTE * settings.sentiment_window_minutes
    mix = {label: 0 for label in ("positive", "neutral", "negative")}
    score_sum, score_n = 0.0, 0
    comments_last, chatters_last = 0, 0
    for row in rows:
        if row["minute"] == previous:
            comments_last += row["comments"]
            chatters_last += row["chatters"]
        if row["minute"] >= recent:
            for label in mix:
                mix[label] += row[label]
            score_sum += row["sentiment_sum"]
            score_n += row["sentiment_n"]
    labelled = sum(mix.values())
    totals = await store.session_totals(db, session_id)
    shares = {label: round(n / labelled, 4) if labelled else 0.0 for label, n in mix.items()}
    sentiment = SentimentMix(positive=shares["positive"], neutral=shares["neutral"], negative=shares["negative"],
                             mean=round(score_sum / score_n, 4) if score_n else None, comments=labelled)
    return engagement_live(
        session_id=session_id, at=now.astimezone(UTC), minute=current, viewers=latest, comments_per_min=comments_last,
        chatters_last_minute=chatters_last, sentiment=sentiment, comments=totals["comments"],
        questions=totals["questions"], answered=totals["answered"], likes=totals["likes"], gift_value=totals["gift_value"],
    )
