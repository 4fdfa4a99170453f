"""Group commit: one writer task per app turns many requests' events into one transaction.

Requests put their events on a bounded queue and wait on a future. The writer takes every
job waiting (up to ``batch_max_events``), inserts them with multi-row
``INSERT ... ON CONFLICT (source, external_id) DO NOTHING`` (so duplicates across requests,
restarts and even within the batch are stored once), learns exactly which rows are new
(``RETURNING`` on PostgreSQL; one JSON aggregate on SQLite, see :func:`insert_sqlite`), so that
moderation remembers exactly the new events (see :func:`insert_rows`: a duplicate or a re-sent batch
is never judged again, a failed commit is rolled back in moderation's memory too), and raises
the ``merged_count`` of flood heads in the same transaction (all of it one synchronous function
run by :meth:`~livebot.storage.engine.Database.write`: on SQLite one hand-over to the writer
thread instead of a loop round trip per statement), commits, and
only then resolves the futures: an acknowledgement always means "committed". While one batch
commits, the next one accumulates, so batches grow with the load and latency stays flat.
A full queue refuses new work at once (:class:`Overloaded`, answered 503 + Retry-After)
instead of growing memory; on shutdown the queue is flushed before the database closes. One
request's content can never fail the others: payloads are encoded to JSON before queueing (one
that cannot be is refused with that request), and a failed batch is retried one request at a time.
Stored events are then published on ``chat.stored`` by a second task, off the ack path, one
``publish_many`` per commit (consumers take them as lists).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from operator import itemgetter
from typing import Any, cast

import orjson
from sqlalchemy import Connection, bindparam, update
from sqlalchemy.dialects import postgresql, sqlite

from livebot.bus.base import Bus
from livebot.chat.errors import IngestUnavailable, Overloaded
from livebot.chat.event import ChatEvent
from livebot.chat.metrics import IngestMetrics
from livebot.chat.models import StoredEvent
from livebot.chat.moderation import CLEAN, Moderator, Verdict
from livebot.chat.routing import NO_ROUTE, Route
from livebot.chat.settings import ChatSettings
from livebot.errors import LivebotError, ValidationError
from livebot.storage.base import utcnow
from livebot.storage.engine import Database, json_text
from livebot.topics import CHAT_STORED, ChatStored, MergedInto, chat_stored

logger = logging.getLogger(__name__)

TABLE = StoredEvent.__table__
Key = tuple[str, str]
PUBLISH_QUEUE_BATCHES = 256
STOP_TIMEOUT = 30.0


@dataclass(slots=True)
class Pending:
    """An event on its way to storage, with its route and moderation verdict."""

    event: ChatEvent
    route: Route = NO_ROUTE
    verdict: Verdict = CLEAN
    raw_json: str | None = None
    """``event.raw`` as the JSON text stored (see :func:`encode_raw`)."""


@dataclass(slots=True)
class Job:
    items: list[Pending]
    future: asyncio.Future[tuple[int, int]]


def insert_statement(backend: str) -> Any:
    """The dialect's multi-row insert that skips existing (source, id) and returns the new rows."""
    dialect = postgresql if backend == "postgresql" else sqlite
    return (
        dialect.insert(TABLE)
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
        .returning(TABLE.c.id, TABLE.c.source, TABLE.c.external_id)
    )


FLAG_STATEMENT = (
    update(StoredEvent)
    .where(StoredEvent.id == bindparam("v_pk"))
    .values(hidden=bindparam("v_hidden"), flags=bindparam("v_flags", type_=TABLE.c.flags.type),
            merged_count=bindparam("v_merged"))
)
MERGE_STATEMENT = (
    update(TABLE)
    .where(TABLE.c.source == bindparam("head_source"), TABLE.c.external_id == bindparam("head_id"))
    .values(merged_count=TABLE.c.merged_count + bindparam("extra"))
)


SQLITE_COLUMNS = (
    "source", "external_id", "platform", "channel", "kind", "ts", "received_at", "user_id", "user_name", "text",
    "count", "viewers", "value", "session_id", "site_id", "segment_id", "hidden", "flags", "merged_count", "raw",
)
SQLITE_CHUNK = 1600
"""Rows per statement: 20 parameters each stays below SQLite's 32766-variable limit."""


@functools.lru_cache(maxsize=64)
def sqlite_insert_sql(rows: int) -> str:
    """A multi-row ``INSERT ... ON CONFLICT DO NOTHING`` for ``rows`` rows."""
    one = "(" + ",".join("?" * len(SQLITE_COLUMNS)) + ")"
    return (
        f"INSERT INTO chat_events ({', '.join(SQLITE_COLUMNS)}) VALUES {','.join([one] * rows)} "
        "ON CONFLICT (source, external_id) DO NOTHING"
    )


SQLITE_MAX_ID = "SELECT coalesce(max(id), 0) FROM chat_events"
SQLITE_NEW_ROWS = (
    "SELECT json_group_array(json_array(id, source, external_id)) FROM chat_events WHERE id > ? AND received_at = ?"
)
SQLITE_FLAG_SQL = (
    "UPDATE chat_events SET hidden = m.hidden, flags = m.flags, merged_count = m.merged "
    "FROM (SELECT value ->> 0 AS id, value ->> 1 AS hidden, value ->> 2 AS flags, value ->> 3 AS merged "
    "FROM json_each(?)) AS m WHERE chat_events.id = m.id"
)
SQLITE_MERGE_SQL = (
    "UPDATE chat_events SET merged_count = merged_count + m.extra "
    "FROM (SELECT value ->> 0 AS source, value ->> 1 AS external_id, value ->> 2 AS extra FROM json_each(?)) AS m "
    "WHERE chat_events.source = m.source AND chat_events.external_id = m.external_id"
)


def sqlite_datetime(value: datetime) -> str:
    """SQLAlchemy's SQLite DATETIME text for a UTC datetime (``YYYY-MM-DD HH:MM:SS.ffffff``)."""
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


def sqlite_values(item: Pending, received_at: str, keep_raw: bool, stamps: dict[datetime, str] | None = None
                  ) -> tuple[Any, ...]:
    """One row's parameters, already in the form SQLAlchemy's types would store (JSON text, DATETIME
    text); ``stamps`` remembers the DATETIME text of the times seen in this batch (events share them)."""
    event, route, verdict = item.event, item.route, item.verdict
    raw = item.raw_json if keep_raw else None
    flags = orjson.dumps(verdict.flags).decode() if verdict.flags else "[]"
    ts = event.ts
    stamp = stamps.get(ts) if stamps is not None else None
    if stamp is None:
        stamp = sqlite_datetime(ts)
        if stamps is not None:
            stamps[ts] = stamp
    return (
        event.source, event.id, event.platform, event.channel, event.kind, stamp, received_at,
        event.user.id, event.user.name, event.text, event.count, event.viewers, event.value, route.session_id,
        route.site_id, route.segment_id, int(verdict.hidden), flags,
        0 if verdict.merged_into else 1, raw,
    )


def insert_sqlite(conn: Connection, items: list[Pending], received_at: datetime, keep_raw: bool) -> dict[Key, int]:
    """The SQLite fast path: the same rows as the Core insert, in a handful of statements.

    SQLAlchemy's per-row bind processing (JSON, DATETIME) costs more than SQLite's own insert
    at this rate, so values are prepared here in exactly their stored form. The new rows' keys
    come without reading them back when every row was new: only this writer inserts chat events
    (one SQLite writer, in its transaction), and SQLite numbers an ``INTEGER PRIMARY KEY`` row it
    is not given as the table's maximum + 1, in the order of the VALUES, so the ids are the ones
    after the maximum before the insert. When some rows were already stored (a relay's retry, a
    key repeated in the batch) they are read back as one JSON aggregate rather than with
    ``RETURNING`` (one driver step per row): ids above that maximum, stamped with this batch's
    ``received_at``. Runs in the database's writer thread
    (:meth:`livebot.storage.engine.Database.write`).
    """
    stamp = sqlite_datetime(received_at)
    before = conn.exec_driver_sql(SQLITE_MAX_ID).scalar_one()
    stamps: dict[datetime, str] = {}
    added = 0
    for start in range(0, len(items), SQLITE_CHUNK):
        chunk = items[start : start + SQLITE_CHUNK]
        params = tuple(chain.from_iterable([sqlite_values(item, stamp, keep_raw, stamps) for item in chunk]))
        added += conn.exec_driver_sql(sqlite_insert_sql(len(chunk)), params).rowcount
    if added == len(items):
        return {(item.event.source, item.event.id): pk for pk, item in enumerate(items, before + 1)}
    found = conn.exec_driver_sql(SQLITE_NEW_ROWS, (before, stamp)).scalar_one()
    return {(source, external_id): pk for pk, source, external_id in orjson.loads(found)}


PG_COLUMNS = (
    "source", "external_id", "platform", "channel", "kind", "ts", "received_at", "user_id", "user_name", "text",
    "count", "viewers", "value", "session_id", "site_id", "segment_id", "hidden", "flags", "merged_count", "raw",
)
PG_INSERT_SQL = (
    f"INSERT INTO chat_events ({', '.join(PG_COLUMNS)}) SELECT {', '.join(f'r.{name}' for name in PG_COLUMNS)} "
    "FROM unnest($1::chat_events[]) AS r "
    "ON CONFLICT (source, external_id) DO NOTHING RETURNING id, source, external_id"
)
"""One statement whatever the batch size (prepared once per connection): the batch is one array of
the table's own row type, so asyncpg encodes each row as one record in C (an array per column cost
a Python-level type check per value) instead of SQLAlchemy compiling a multi-row VALUES."""
PG_ROW_TYPE_SQL = (
    "SELECT attname FROM pg_attribute WHERE attrelid = 'chat_events'::regclass AND attnum > 0 AND NOT attisdropped "
    "ORDER BY attnum"
)
PG_LAYOUT = "livebot.chat.writer.row_layout"
"""Key of the row type's layout in the connection's ``info`` (asyncpg caches the type per connection too)."""


def pg_row_layout(conn: Connection) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """Puts a row of :data:`PG_COLUMNS` values (plus a trailing None) in the order of the table's
    columns as this database has them (migrations append), None for the columns not written."""
    layout = conn.info.get(PG_LAYOUT)
    if layout is None:
        names = [name for (name,) in conn.exec_driver_sql(PG_ROW_TYPE_SQL)]
        layout = conn.info[PG_LAYOUT] = itemgetter(*[
            PG_COLUMNS.index(name) if name in PG_COLUMNS else len(PG_COLUMNS) for name in names])
    return cast(Callable[[tuple[Any, ...]], tuple[Any, ...]], layout)


def insert_postgresql(conn: Connection, items: list[Pending], received_at: datetime, keep_raw: bool) -> dict[Key, int]:
    """The PostgreSQL fast path: the rows of :func:`row_of` as one array of ``chat_events`` records
    (JSON columns as the JSON text SQLAlchemy's serializer would send, a missing payload as JSON
    ``null``)."""
    if received_at.tzinfo is None or any(item.event.ts.tzinfo is None for item in items):
        raise ValueError("naive datetime given to a UTC column")
    layout = pg_row_layout(conn)
    rows = []
    for item in items:
        event, route, verdict = item.event, item.route, item.verdict
        raw = item.raw_json if keep_raw and item.raw_json is not None else "null"  # already JSON text
        rows.append(layout((
            event.source, event.id, event.platform, event.channel, event.kind, event.ts, received_at, event.user.id,
            event.user.name, event.text, event.count, event.viewers, event.value, route.session_id, route.site_id,
            route.segment_id, verdict.hidden, json_text(list(verdict.flags)) if verdict.flags else "[]",
            0 if verdict.merged_into else 1, raw, None,
        )))
    found = conn.exec_driver_sql(PG_INSERT_SQL, (rows,)).all()
    return {(source, external_id): pk for pk, source, external_id in found}


def insert_rows(backend: str, statement: Any, items: list[Pending], received_at: datetime, keep_raw: bool,
                moderator: Moderator | None, conn: Connection) -> dict[Key, int]:
    """Insert ``items`` moderated and raise the flood heads' ``merged_count``, in the caller's
    transaction (and the moderator's journal, see :meth:`Writer.insert`); returns the primary key
    of every row that was new.

    With a moderator, each key's first item is judged as if new, and inserted with that verdict.
    If some were stored already (a relay's retry), moderation's memory is rolled back and only the
    new ones are judged again, the rows whose verdict changed rewritten: moderation learns from
    stored events only, and a batch without repeats costs no extra statement."""
    firsts = first_claims(items)
    if moderator is not None:
        judge_all(firsts, moderator)
    if backend == "sqlite":
        inserted = insert_sqlite(conn, items, received_at, keep_raw)
    elif backend == "postgresql":
        inserted = insert_postgresql(conn, items, received_at, keep_raw)
    else:
        rows = [row_of(item, received_at, keep_raw) for item in items]
        inserted = {(source, external_id): pk for pk, source, external_id in conn.execute(statement, rows).all()}
    stored = [item for item in firsts if (item.event.source, item.event.id) in inserted]
    if moderator is not None and len(stored) < len(firsts):
        moderator.rollback()
        moderator.begin()
        provisional = [item.verdict for item in stored]
        judge_all(stored, moderator)
        flag_rows(backend, conn, [(inserted[(item.event.source, item.event.id)], item.verdict)
                                  for item, before in zip(stored, provisional, strict=True) if item.verdict != before])
    merges = Counter(item.verdict.merged_into for item in stored if item.verdict.merged_into is not None)
    if merges and backend == "sqlite":
        heads = orjson.dumps([[s, i, n] for (s, i), n in merges.items()]).decode()
        conn.exec_driver_sql(SQLITE_MERGE_SQL, (heads,))
    elif merges:
        conn.execute(MERGE_STATEMENT, [{"head_source": s, "head_id": i, "extra": n} for (s, i), n in merges.items()])
    return inserted


def first_claims(items: list[Pending]) -> list[Pending]:
    """Each key's first item (the one that claims a new row, as :meth:`Writer.resolve` answers)."""
    claimed: set[Key] = set()
    firsts: list[Pending] = []
    for item in items:
        key = (item.event.source, item.event.id)
        if key not in claimed:
            claimed.add(key)
            firsts.append(item)
    return firsts


def judge_all(items: list[Pending], moderator: Moderator) -> None:
    """Moderate each item once, in arrival order (the moderator remembers them: journal it)."""
    judge = moderator.judge
    for item in items:
        item.verdict = judge(item.event, item.route)


def flag_rows(backend: str, conn: Connection, changed: list[tuple[int, Verdict]]) -> None:
    """Rewrite the moderation of stored rows: hidden, flags, and ``merged_count`` 0 for a merged one."""
    if not changed:
        return
    if backend == "sqlite":
        rows = [[pk, int(v.hidden), orjson.dumps(v.flags).decode(), 0 if v.merged_into else 1] for pk, v in changed]
        conn.exec_driver_sql(SQLITE_FLAG_SQL, (orjson.dumps(rows).decode(),))
        return
    conn.execute(FLAG_STATEMENT, [{"v_pk": pk, "v_hidden": v.hidden, "v_flags": list(v.flags),
                                   "v_merged": 0 if v.merged_into else 1} for pk, v in changed])


def encode_raw(event: ChatEvent) -> str | None:
    """The platform payload as the JSON text stored, on every backend alike; a payload that cannot
    be encoded (nested past the encoders' limits) is refused here, for its own request only."""
    if event.raw is None:
        return None
    try:
        return orjson.dumps(event.raw, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        pass
    try:  # integers beyond 64 bits: the stdlib encodes them
        return json.dumps(event.raw, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as err:
        raise ValidationError("raw", f"event {event.id!r}: payload cannot be stored ({type(err).__name__})") from None


def row_of(item: Pending, received_at: datetime, keep_raw: bool) -> dict[str, Any]:
    event, route, verdict = item.event, item.route, item.verdict
    return {
        "source": event.source, "external_id": event.id, "platform": event.platform, "channel": event.channel,
        "kind": event.kind, "ts": event.ts, "received_at": received_at, "user_id": event.user.id,
        "user_name": event.user.name, "text": event.text, "count": event.count, "viewers": event.viewers,
        "value": event.value, "session_id": route.session_id, "site_id": route.site_id, "segment_id": route.segment_id,
        "hidden": verdict.hidden, "flags": list(verdict.flags), "merged_count": 0 if verdict.merged_into else 1,
        "raw": dict(event.raw) if keep_raw and event.raw is not None else None,
    }


def message_of(item: Pending, pk: int, origin: str) -> ChatStored:
    """The ``chat.stored`` message of a committed event; ``origin`` names the instance that stored it."""
    event, route, verdict = item.event, item.route, item.verdict
    merged = verdict.merged_into
    return chat_stored(
        pk=pk, source=event.source, external_id=event.id, platform=event.platform, channel=event.channel,
        kind=event.kind, ts=event.ts, user_id=event.user.id, user_name=event.user.name, text=event.text,
        count=event.count, viewers=event.viewers, value=event.value, session_id=route.session_id,
        site_id=route.site_id, segment_id=route.segment_id, hidden=verdict.hidden, flags=list(verdict.flags),
        merged_count=0 if merged else 1, merged_into=MergedInto(source=merged[0], id=merged[1]) if merged else None,
        origin=origin,
    )


class Writer:
    """The app's single writer task and its bounded queue."""

    def __init__(
        self,
        db: Database,
        settings: ChatSettings,
        metrics: IngestMetrics,
        bus: Bus | None = None,
        moderator: Moderator | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.metrics = metrics
        self.bus = bus
        self.moderator = moderator
        """Judges the events found new, inside each commit; without it items keep their verdicts."""
        self.statement = insert_statement(db.backend)
        self.queue: deque[Job] = deque()
        self.pending_events = 0
        self.wakeup = asyncio.Event()
        self.closing = False
        self.task: asyncio.Task[None] | None = None
        self.publisher: asyncio.Task[None] | None = None
        self.outbox: asyncio.Queue[list[ChatStored] | None] = asyncio.Queue(maxsize=PUBLISH_QUEUE_BATCHES)

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.task = loop.create_task(self.run(), name="chat:writer")
        self.publisher = loop.create_task(self.publish_loop(), name="chat:publisher")

    async def stop(self) -> None:
        """Flush everything queued, publish it, and end both tasks."""
        self.closing = True
        self.wakeup.set()
        for task in (self.task, self.publisher):
            if task is None:
                continue
            if task is self.publisher:
                await self.outbox.put(None)
            try:
                await asyncio.wait_for(asyncio.shield(task), STOP_TIMEOUT)
            except TimeoutError:
                logger.error("chat writer task=%s did not finish within %.0fs; cancelling", task.get_name(), STOP_TIMEOUT)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for job in self.queue:
            if not job.future.done():
                job.future.set_exception(IngestUnavailable("shutting down"))

    async def write(self, items: list[Pending]) -> tuple[int, int]:
        """Store ``items``; returns (accepted, duplicates) once committed."""
        if not items:
            return 0, 0
        if self.closing or self.task is None or self.task.done():
            raise IngestUnavailable("the chat writer is not running")
        if self.pending_events and self.pending_events + len(items) > self.settings.queue_max_events:
            raise Overloaded(self.settings.retry_after_seconds)
        if self.settings.store_raw:
            for item in items:
                if item.raw_json is None:
                    item.raw_json = encode_raw(item.event)
        future: asyncio.Future[tuple[int, int]] = asyncio.get_running_loop().create_future()
        self.queue.append(Job(items, future))
        self.pending_events += len(items)
        self.metrics.queue_events.set(self.pending_events)
        self.wakeup.set()
        return await asyncio.shield(future)

    async def run(self) -> None:
        while True:
            if not self.queue:
                if self.closing:
                    return
                self.wakeup.clear()
                await self.wakeup.wait()
                continue
            jobs = self.take()
            size = sum(len(job.items) for job in jobs)
            try:
                await self.commit(jobs, size)
            finally:
                self.pending_events -= size
                self.metrics.queue_events.set(self.pending_events)

    def take(self) -> list[Job]:
        """Every waiting job that fits in one batch (at least one)."""
        jobs = [self.queue.popleft()]
        size = len(jobs[0].items)
        while self.queue and size + len(self.queue[0].items) <= self.settings.batch_max_events:
            job = self.queue.popleft()
            jobs.append(job)
            size += len(job.items)
        return jobs

    async def commit(self, jobs: list[Job], size: int, retry_alone: bool = True) -> None:
        """Write ``jobs`` in one transaction; if that fails, each request alone (so one request's
        content cannot fail the others), and answer 503 only to those that fail alone too."""
        items = [item for job in jobs for item in job.items]
        started = time.perf_counter()
        try:
            inserted = await self.insert(items)
        except Exception as err:  # any storage failure: nothing of this batch is acknowledged
            if retry_alone:
                logger.exception("chat writer batch of %d events (%d requests) failed", size, len(jobs))
            else:
                logger.error("chat writer request of %d events failed alone too: %s", size, type(err).__name__)
            if retry_alone and len(jobs) > 1:
                for job in jobs:
                    await self.commit([job], len(job.items), retry_alone=False)
                return
            failure = IngestUnavailable(f"storage failed: {type(err).__name__}")
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(failure)
            return
        self.metrics.commit_seconds.observe(time.perf_counter() - started)
        self.metrics.batch_events.observe(size)
        messages = self.resolve(jobs, inserted)
        if messages and self.bus is not None:
            await self.outbox.put(messages)

    async def insert(self, items: list[Pending]) -> dict[Key, int]:
        """Insert and moderate in one transaction; returns the primary key of every row that was new.

        The moderator journals what it learns and keeps it only if the transaction committed."""
        moderator = self.moderator
        if moderator is not None:
            for item in items:
                item.verdict = CLEAN  # judged in the transaction (a retried batch is judged afresh)
            moderator.begin()
        work = functools.partial(insert_rows, self.db.backend, self.statement, items, utcnow(), self.settings.store_raw,
                                 moderator)
        try:
            inserted = await self.db.write(work)
        except Exception:
            if moderator is not None:
                moderator.rollback()
            raise
        if moderator is not None:
            moderator.commit()
        return inserted

    def resolve(self, jobs: list[Job], inserted: dict[Key, int]) -> list[ChatStored]:
        """Answer each job in queue order (the first claimant of a new key gets it) and build messages."""
        unclaimed = dict(inserted)  # each new key's pk, until its first item claims it
        messages: list[ChatStored] = []
        accepted_by: Counter[str] = Counter()
        duplicates_by: Counter[str] = Counter()
        flagged: dict[str, int] = {}
        origin = self.bus.origin if self.bus is not None else None
        for job in jobs:
            accepted = 0
            for item in job.items:
                event = item.event
                pk = unclaimed.pop((event.source, event.id), None)
                if pk is not None:
                    accepted += 1
                    accepted_by[event.source] += 1
                    for flag in item.verdict.flags:
                        flagged[flag] = flagged.get(flag, 0) + 1
                    if origin is not None:
                        messages.append(message_of(item, pk, origin))
                else:
                    duplicates_by[event.source] += 1
            if not job.future.done():
                job.future.set_result((accepted, len(job.items) - accepted))
        for source, n in accepted_by.items():
            self.metrics.accepted.labels(source).inc(n)
        for source, n in duplicates_by.items():
            self.metrics.duplicates.labels(source).inc(n)
        for flag, n in flagged.items():
            self.metrics.flagged.labels(flag).inc(n)
        return messages

    async def publish_loop(self) -> None:
        """Publish stored events in commit order; the bus is news, so failures are logged, not retried."""
        while True:
            messages = await self.outbox.get()
            if messages is None:
                return
            if self.bus is None:
                continue
            try:
                await self.bus.publish_many(CHAT_STORED, messages)
            except LivebotError as err:
                logger.warning("chat.stored publish of %d events failed (first source=%s id=%s): %s", len(messages),
                               messages[0]["source"], messages[0]["id"], err)
