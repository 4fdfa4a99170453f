"""The enrichment stage: ``chat.stored`` -> enrich once -> store with the event -> ``chat.enriched``.

Each stored comment is enriched once with the app's :class:`Enricher` (built from the
knowledge base in the database, rebuilt on ``faq.changed``): question or not, ranked FAQ
suggestions with their answers filled from live batch and session data, sentiment, trace
codes. ``chat.stored`` arrives as lists (one per ingest commit); the stage enriches a list in
time slices of a few milliseconds, giving the event loop a turn between slices, and asks for a
flush when the list is done. Results are written in groups — one transaction per flush; while
one flush writes, the next group gathers, so groups grow with the load (at most
``flush_max_events``; ``flush_interval_ms`` bounds how long a result waits when nobody asks) —
and published with one ``publish_many`` only after they are stored.

Several instances behind Redis all hear every ``chat.stored``; each enriches the comments it
stored itself (the message's ``origin``), so the work spreads with the ingest. The flush still
claims its rows (an UPDATE of the rows still ``is_question IS NULL``, returning those it
changed), so an event that two looks reach is stored and published by exactly one instance. Messages the bus had to drop while the
stage was behind, and comments stored while no stage ran or by an instance that died, are
fetched back from the database (:mod:`livebot.faq.catchup`).

On a durable bus (Redis streams) ``chat.stored`` comes through a consumer group instead: each
message reaches one stage in one process (``livebot worker``), whatever its origin, and the
handler returns (acknowledging the messages) only once their flush is stored and published.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy import Connection, bindparam, select, update

from livebot.appkeys import BUS, CONFIG, DATABASE, REGISTRY
from livebot.background import TaskSet
from livebot.bus.base import Bus, Message, Progress
from livebot.chat.api_internal import StoredEvent
from livebot.compliance.service import GUARD, Guard
from livebot.errors import LivebotError
from livebot.faq import learning
from livebot.faq import store as kb_store
from livebot.faq.catchup import CatchUp
from livebot.faq.context import LiveContext, MessageContext, TraceFacts
from livebot.faq.enrich import Enricher
from livebot.faq.kb import FaqEntry
from livebot.faq.placeholders import fill
from livebot.faq.ranking import AUTO_THRESHOLD
from livebot.faq.settings import FaqSettings
from livebot.faq.tracecodes import TraceCode
from livebot.retry import Backoff, RetryPolicy
from livebot.storage.engine import Database, json_text
from livebot.topics import (
    CHAT_ENRICHED,
    CHAT_STORED,
    FAQ_CHANGED,
    FAQ_FEEDBACK,
    SCHEDULE_CHANGED,
    TRACE_UPDATED,
    ChatEnriched,
    ChatStored,
    Enrichment,
    chat_enriched,
    read_chat_stored,
    read_faq_feedback,
    read_session_id,
    read_trace_updated,
)
from livebot.trace import api_internal as trace

logger = logging.getLogger(__name__)

SUBSCRIPTION = "faq.enrich"
SLICE_SECONDS = 0.004
"""Enrich back to back for at most this long, then give the event loop a turn."""
FLUSH_RETRIES = 3
WRITE_CHUNK = 500
"""Rows per statement inside one flush transaction."""
BUILT_LIMIT = 4
VERDICTS_KEPT = 4096
"""Filled answers whose compliance verdict the stage remembers (per rule set)."""
GROUP_CONCURRENCY = 8
"""Lists in hand at once on a durable bus: while one flush writes, the next ones are enriched and gather."""

SQLITE_UNCLAIMED = "SELECT json_group_array(id) FROM chat_events WHERE is_question IS NULL AND id IN (SELECT value FROM json_each(?))"
SQLITE_STORE = (
    "UPDATE chat_events SET is_question = m.q, sentiment = m.s, enrichment = m.e "
    "FROM (SELECT value ->> 0 AS pk, value ->> 1 AS q, value ->> 2 AS s, value -> 3 AS e FROM json_each(?)) AS m "
    "WHERE chat_events.id = m.pk AND chat_events.is_question IS NULL"
)
"""SQLite: one statement per chunk with the rows as one JSON parameter (orjson-encoded), instead of an
executemany with per-row bind processing."""


# ───────────── the knowledge index ─────────────

def content_key(entries: Sequence[FaqEntry]) -> str:
    """A digest of the entries' content (two identical knowledge bases share an Enricher)."""
    digest = hashlib.sha256()
    for entry in entries:
        digest.update(orjson.dumps(entry.to_dict()))
    return digest.hexdigest()


class EnricherBuilds:
    """The app's built Enrichers by knowledge-base content, so rebuilds with the same entries share one.

    Owned by one app (``app[ENRICHER_BUILDS]``, made in ``stage_ctx``) rather than the process:
    two apps in one process never see each other's index, and nothing outlives its app.
    """

    def __init__(self, limit: int = BUILT_LIMIT) -> None:
        self.limit = limit
        self._built: dict[str, Enricher] = {}

    def __len__(self) -> int:
        return len(self._built)

    async def build(self, entries: Sequence[FaqEntry], suggestions: int = 3) -> Enricher:
        """An Enricher for ``entries``, built in a thread (tokenising the KB takes a while)."""
        key = f"{suggestions}:{content_key(entries)}"
        found = self._built.get(key)
        if found is not None:
            return found
        enricher = await asyncio.to_thread(Enricher, list(entries), limit=suggestions)
        if len(self._built) >= self.limit:
            self._built.pop(next(iter(self._built)))
        self._built[key] = enricher
        return enricher


@dataclass
class KnowledgeIndex:
    """The current Enricher and entries.

    Rebuild requests are coalesced: each waits for a rebuild that started after it was made,
    so a burst of ``faq.changed`` messages costs at most two builds, and a caller that awaits
    :meth:`rebuild` knows the index reflects the database as of its call.
    """

    db: Database
    limit: int = 3
    builds: EnricherBuilds = field(default_factory=EnricherBuilds)
    enricher: Enricher | None = None
    entries: dict[str, FaqEntry] = field(default_factory=dict)
    fingerprint: tuple[int, int] = (-1, -1)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    rebuilds: int = 0
    news: asyncio.Condition = field(default_factory=asyncio.Condition)
    """Notified after every rebuild (and by the stage after new dismissals), for waiters."""
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _dirty: bool = False

    async def rebuild(self) -> None:
        """Reload the knowledge base from the database and swap in a new Enricher."""
        self._dirty = True
        async with self._lock:
            if not self._dirty:
                return  # a rebuild that started after this request already covered it
            self._dirty = False
            fingerprint = await kb_store.fingerprint(self.db)
            entries = await kb_store.active_entries(self.db)
            enricher = await self.builds.build(entries, self.limit)
            self.enricher, self.entries, self.fingerprint = enricher, {e.id: e for e in entries}, fingerprint
            self.rebuilds += 1
            self.ready.set()
            logger.info("faq index rebuilt entries=%d rebuilds=%d", len(entries), self.rebuilds)
        async with self.news:
            self.news.notify_all()

    async def refresh_if_changed(self) -> bool:
        """Rebuild when the stored knowledge base differs from the one indexed (edits from elsewhere)."""
        if await kb_store.fingerprint(self.db) == self.fingerprint:
            return False
        await self.rebuild()
        return True


# ───────────── the stage ─────────────


class StageMetrics:
    """What the stage did, for /metrics: enriched comments, flush sizes and times, rebuilds."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.enriched = Counter("livebot_faq_enriched", "Comments enriched", ["question"], registry=registry)
        self.flush_seconds = Histogram(
            "livebot_faq_flush_seconds", "Time to store one group of enrichments", registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.flush_events = Histogram(
            "livebot_faq_flush_events", "Enrichments stored per flush", registry=registry,
            buckets=(1, 10, 50, 100, 250, 500, 1000, 2500),
        )
        self.rebuilds = Counter("livebot_faq_index_rebuilds", "Knowledge-base index rebuilds", registry=registry)


@dataclass
class Pending:
    """An enriched event waiting for the next flush."""

    pk: int
    message: ChatStored
    enrichment: Enrichment


class EnrichmentStage:
    """Subscribes to ``chat.stored``; see the module docstring."""

    def __init__(self, db: Database, bus: Bus, settings: FaqSettings, facts: TraceFacts,
                 metrics: StageMetrics | None = None, builds: EnricherBuilds | None = None) -> None:
        self.db = db
        self.guard: Guard | None = None
        """The compliance guard: blocked suggestions are never offered, warned ones carry their findings."""
        self.verdicts: dict[str, tuple[str, list[dict[str, Any]]]] = {}
        self.verdict_rules: object = None
        self.metrics = metrics or StageMetrics()
        self.bus = bus
        self.settings = settings
        self.flush_delay: RetryPolicy = Backoff(0.05, 0.2)
        """Between tries of a failed enrichment write (``FLUSH_RETRIES`` in all)."""
        self.index = KnowledgeIndex(db, settings.max_suggestions, builds or EnricherBuilds())
        self.context = LiveContext(db, facts, ttl=settings.context_ttl_seconds, zone=settings.timezone)
        self.dismissed: set[str] = set()
        self.dismissed_after = 0
        self.pending: list[Pending] = []
        self.flush_now = asyncio.Event()
        self.room = asyncio.Event()
        self.room.set()
        self.processed = 0
        self.stored = 0
        self.flushes = 0
        self.progress = Progress()
        """Enrichments handed to the flush and flushed, for the durable bus's acknowledgement."""
        self.catch_up = CatchUp(db, self.on_stored_batch, bus.origin)
        self._unsubscribe: list[Any] = []
        self._tasks = TaskSet("faq")

    # lifecycle

    async def start(self) -> None:
        """Subscribe first (nothing is missed), then build the index in the background."""
        bus = self.bus
        self._unsubscribe = [
            bus.subscribe_group(CHAT_STORED, SUBSCRIPTION, self.on_group_batch if bus.durable else self.on_stored_batch,
                                queue_size=self.settings.queue_size, max_batch=self.settings.flush_max_events,
                                on_drop=self.catch_up.note, concurrency=GROUP_CONCURRENCY),
            bus.subscribe(FAQ_CHANGED, self.on_kb_changed, name="faq.rebuild"),
            bus.subscribe(FAQ_FEEDBACK, self.on_feedback, name="faq.feedback"),
            bus.subscribe(TRACE_UPDATED, self.on_trace_updated, name="faq.trace-updated"),
            bus.subscribe(SCHEDULE_CHANGED, self.on_schedule_changed, name="faq.schedule-changed"),
        ]
        self._spawn(self.index.rebuild(), "faq:index-build")
        self._spawn(self.flush_loop(), "faq:flush")
        self._spawn(self.refresh_loop(), "faq:refresh")
        self._spawn(self.catch_up.run(), "faq:catch-up")
        self._spawn(self.catch_up.sweep(self.idle), "faq:sweep")
        await self.load_dismissals()

    async def stop(self) -> None:
        """Unsubscribe, write what is pending, stop the background tasks."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        await self._tasks.stop()
        with contextlib.suppress(Exception):
            await self.flush()

    def _spawn(self, coro: Any, name: str) -> None:
        self._tasks.spawn(coro, name.removeprefix("faq:"))

    # bus handlers

    async def on_stored(self, message: Message) -> None:
        """One ``chat.stored`` message (the batch handler does the work)."""
        await self.on_stored_batch([message])

    async def on_group_batch(self, messages: list[Message]) -> None:
        """The durable bus's handler: enrich, then return once the flush holding these is stored."""
        await self.on_stored_batch(messages)
        await self.progress.wait(self.progress.taken)

    async def on_stored_batch(self, messages: list[Message]) -> None:
        """Enrich a list of ``chat.stored`` messages in time slices, then ask for a flush."""
        origin = self.bus.origin
        anyone = self.bus.durable  # a consumer group already gave each message to one stage
        wanted = [m for raw in messages if (m := read_chat_stored(raw)) is not None and m["kind"] == "comment"
                  and (anyone or m.get("origin", origin) == origin) and m["text"].strip()]
        if not wanted:
            return
        if not self.index.ready.is_set():
            await self.index.ready.wait()
        questions = chatter = 0
        clock = time.perf_counter
        deadline = clock() + SLICE_SECONDS
        for message in wanted:
            if not self.room.is_set():
                self.flush_now.set()
                await self.room.wait()  # the database is behind: stop taking messages until a flush lands
            enrichment = await self.enrich(message)
            self.pending.append(Pending(message["pk"], message, enrichment))
            self.progress.taken += 1
            if enrichment["is_question"]:
                questions += 1
            else:
                chatter += 1
            if len(self.pending) >= self.settings.flush_max_events * 4:
                self.room.clear()
            if clock() >= deadline:
                if len(self.pending) >= self.settings.flush_max_events:
                    self.flush_now.set()
                await asyncio.sleep(0)
                deadline = clock() + SLICE_SECONDS
        self.processed += questions + chatter
        if questions:
            self.metrics.enriched.labels("yes").inc(questions)
        if chatter:
            self.metrics.enriched.labels("no").inc(chatter)
        self.flush_now.set()

    def idle(self) -> bool:
        """Nothing waits in the stage's bus queue or for a flush."""
        return not self.pending and not self.bus.busy(SUBSCRIPTION)

    async def on_kb_changed(self, message: Message) -> None:
        before = self.index.rebuilds
        await self.index.rebuild()
        if self.index.rebuilds > before:
            self.metrics.rebuilds.inc()

    async def on_feedback(self, message: Message) -> None:
        feedback = read_faq_feedback(message)
        if feedback is not None and feedback["kind"] == "dismissal":
            self.dismissed.add(feedback["key"])
        await self.load_dismissals()

    async def on_trace_updated(self, message: Message) -> None:
        update = read_trace_updated(message)  # not one: forget every lot
        self.context.invalidate(update["lots"] if update is not None else None)

    async def on_schedule_changed(self, message: Message) -> None:
        session_id = read_session_id(message)  # none: every session may have changed
        self.context.sessions.drop([session_id] if session_id is not None else None)

    # enrichment

    async def enrich(self, message: ChatStored) -> Enrichment:
        """The ``enrichment`` of ``chat.enriched`` for one comment."""
        enricher = self.index.enricher
        assert enricher is not None
        text = message["text"]
        result = enricher.enrich(text)
        lots = trace_lots(result.trace_codes)
        try:
            context = await self.context.for_message(message["session_id"], lots)
        except Exception:  # live values are a bonus: without them answers show gaps, never stale numbers
            logger.exception("faq stage: placeholder values unavailable session=%s pk=%s",
                             message["session_id"], message["pk"])
            context = MessageContext({"batch": {}, "session": {}}, None)
        suggestions = [
            filled
            for suggestion in result.suggestions[: self.settings.max_suggestions]
            if suggestion.id in self.index.entries
            and (filled := self.filled(suggestion.id, suggestion.score, context.values)).get("compliance") != "block"
        ]
        is_question = bool(result.is_question)
        confidence = float(result.question_confidence)
        if self.dismissed and learning.essence(result.text) and learning.text_key(result.text) in self.dismissed:
            is_question, confidence, suggestions = False, 0.0, []
        for code in lots:
            lot = await self.context.resolve(code)
            reply = await self.context.trace_reply(lot) if lot else None
            if lot and reply:
                suggestions.insert(0, trace_suggestion(lot, reply))
                is_question = True
                break
        # Topic tags feed reports without an advisor looking: only a confident first reading counts.
        top = next((s for s in suggestions if not s["id"].startswith("trace:")), None)
        top = top if top and top["score"] >= AUTO_THRESHOLD else None
        return {
            "is_question": is_question,
            "question_confidence": round(confidence, 4),
            "suggestions": suggestions,
            "sentiment": {"label": result.sentiment, "score": round(float(result.sentiment_score), 4)},
            "trace_codes": lots,
            "topic_tags": list(self.index.entries[top["id"]].tags) if top else [],
        }

    def filled(self, entry_id: str, score: float, values: Any) -> dict[str, Any]:
        entry = self.index.entries[entry_id]
        answer = fill(entry.answer, values)
        suggestion = {
            "id": entry.id,
            "score": round(float(score), 4),
            "question": entry.question,
            "answer": answer.text,
            "needs_human": entry.needs_human,
            "missing": list(answer.missing),
        }
        if self.guard is not None:
            # Checked after filling: live values (a farm name, a figure) can make a clean template a claim.
            verdict, findings = self.checked(self.guard, answer.text)
            suggestion["compliance"] = verdict
            if findings:
                suggestion["compliance_findings"] = findings
        return suggestion

    def checked(self, guard: Guard, text: str) -> tuple[str, list[dict[str, Any]]]:
        """The guard's verdict and findings for a filled answer, remembered per text while the guard's
        rules stay the same: a few dozen answers with the same live values make most suggestions."""
        if guard.rules is not self.verdict_rules:
            self.verdicts, self.verdict_rules = {}, guard.rules
        known = self.verdicts.get(text)
        if known is None:
            result = guard.check(text)
            known = (result.verdict, [
                {"rule": f.rule, "excerpt": f.excerpt, "explanation": f.explanation, "rewording": f.rewording}
                for f in result.findings
            ])
            if len(self.verdicts) >= VERDICTS_KEPT:
                self.verdicts.clear()
            self.verdicts[text] = known
        return known[0], [dict(finding) for finding in known[1]]

    # storing and publishing

    async def flush_loop(self) -> None:
        """Flush when asked (a list was enriched) or every ``flush_interval_ms``; what arrives
        during a flush waits for the next one, so one transaction carries it all."""
        interval = self.settings.flush_interval_ms / 1000
        while True:
            if len(self.pending) < self.settings.flush_max_events:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(interval):  # not wait_for: on 3.11 it can swallow a cancel
                        await self.flush_now.wait()
            self.flush_now.clear()
            await self.flush(self.settings.flush_max_events)

    async def flush(self, limit: int | None = None) -> int:
        """Store what is pending (at most ``limit``) in one transaction, then publish what this instance stored."""
        if limit is None or len(self.pending) <= limit:
            batch, self.pending = self.pending, []
        else:
            batch, self.pending = self.pending[:limit], self.pending[limit:]
        if not batch:
            self.room.set()
            return 0
        claimed: set[int] = set()
        started = time.perf_counter()
        for attempt in range(1, FLUSH_RETRIES + 1):
            try:
                claimed = await self.write(batch)
                break
            except Exception:
                logger.exception("faq stage flush failed events=%d attempt=%d", len(batch), attempt)
                if attempt < FLUSH_RETRIES:
                    await asyncio.sleep(self.flush_delay(attempt))
        self.metrics.flush_seconds.observe(time.perf_counter() - started)
        self.metrics.flush_events.observe(len(batch))
        if len(self.pending) < self.settings.flush_max_events * 4:
            self.room.set()
        self.flushes += 1
        outgoing: list[ChatEnriched] = []
        seen: set[int] = set()
        for item in batch:
            if item.pk not in claimed or item.pk in seen:
                continue  # stored by another instance, already enriched, repeated, or the row is gone
            seen.add(item.pk)
            outgoing.append(chat_enriched(item.message, item.enrichment))
        self.stored += len(claimed)
        if outgoing:
            try:
                await self.bus.publish_many(CHAT_ENRICHED, outgoing)
            except LivebotError as err:
                # stored all the same: the console's start-up recovery queues questions that missed the bus
                logger.warning("faq stage publish of %d enrichments failed (first pk=%s): %s", len(outgoing),
                               outgoing[0]["pk"], err)
        self.progress.finish(len(batch))
        return len(outgoing)

    async def write(self, batch: Sequence[Pending]) -> set[int]:
        """UPDATE the rows nobody enriched yet, in one transaction; returns their ids."""
        pks = sorted({item.pk for item in batch if isinstance(item.pk, int) and not isinstance(item.pk, bool)})
        if not pks:
            return set()
        if self.db.backend == "postgresql":
            return await self.db.driver(functools.partial(store_postgresql, batch, pks))
        work = store_sqlite if self.db.backend == "sqlite" else store_claimed
        return await self.db.write(functools.partial(work, batch, pks))

    # refreshing from the database

    async def refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.refresh_seconds)
            try:
                await self.refresh()
            except Exception:
                logger.exception("faq stage refresh failed")

    async def refresh(self) -> None:
        """Pick up KB edits and dismissals made by other processes (CLI import, other instances)."""
        if self.index.ready.is_set():
            await self.index.refresh_if_changed()
        else:
            await self.index.rebuild()  # the first build failed (database down at start): retry
        await self.load_dismissals()

    async def load_dismissals(self) -> None:
        for dismissal in await learning.dismissals_since(self.db, self.dismissed_after):
            self.dismissed.add(dismissal.key)
            self.dismissed_after = max(self.dismissed_after, dismissal.id)
        async with self.index.news:
            self.index.news.notify_all()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds after a rebuild or a dismissal reload (other instances' news)."""
        async with self.index.news:
            await self.index.news.wait_for(predicate)

    async def drained(self) -> None:
        """Wait until every message handed to the stage is stored and published (tests, shutdown)."""
        await self.bus.drained()
        await self.flush()


def enrichment_rows(batch: Sequence[Pending], claimed: set[int]) -> list[tuple[int, Enrichment]]:
    """(pk, enrichment) of the claimed rows, each once (the first enrichment of a repeated pk)."""
    rows: dict[int, Enrichment] = {}
    for item in batch:
        if item.pk in claimed and item.pk not in rows:
            rows[item.pk] = item.enrichment
    return list(rows.items())


def store_claimed(batch: Sequence[Pending], pks: list[int], conn: Connection) -> set[int]:
    """Claim the rows nobody enriched yet (locked in id order, so instances never deadlock) and store
    their enrichment; several instances hear every ``chat.stored``, exactly one stores each row."""
    table = StoredEvent.__table__
    claimed: set[int] = set()
    for start in range(0, len(pks), WRITE_CHUNK):
        chunk = pks[start : start + WRITE_CHUNK]
        claimed.update(conn.execute(
            select(table.c.id).where(table.c.id.in_(chunk), table.c.is_question.is_(None)).order_by(table.c.id)
            .with_for_update()
        ).scalars())
    params = [{"b_pk": pk, "b_q": e["is_question"], "b_s": e["sentiment"]["score"], "b_e": e}
              for pk, e in enrichment_rows(batch, claimed)]
    statement = (
        update(table).where(table.c.id == bindparam("b_pk"))
        .values(is_question=bindparam("b_q"), sentiment=bindparam("b_s"), enrichment=bindparam("b_e"))
    )
    for start in range(0, len(params), WRITE_CHUNK):
        conn.execute(statement, params[start : start + WRITE_CHUNK])
    return claimed


PG_STORE = (
    "UPDATE chat_events SET is_question = v.q, sentiment = v.s, enrichment = v.e::json "
    "FROM unnest($1::int8[], $2::bool[], $3::float8[], $4::text[]) AS v(pk, q, s, e) "
    "WHERE chat_events.id = v.pk AND chat_events.is_question IS NULL RETURNING chat_events.id"
)


async def store_postgresql(batch: Sequence[Pending], pks: list[int], conn: Any) -> set[int]:
    """:func:`store_claimed` on PostgreSQL as one constant statement per chunk, on the asyncpg
    connection in autocommit (prepared once per connection, values encoded by asyncpg, one round
    trip): the UPDATE claims only rows nobody enriched yet (``is_question IS NULL``, re-checked
    after a lock wait) and returns them, so of two flushes reaching one row exactly one stores and
    publishes it. Chunks commit one by one; the bus acknowledges only after the last. A deadlock
    with another instance's flush fails the flush, which is tried again (``FLUSH_RETRIES``)."""
    wanted = set(pks)
    rows = sorted(enrichment_rows(batch, wanted), key=lambda row: row[0])
    claimed: set[int] = set()
    for start in range(0, len(rows), WRITE_CHUNK):
        part = rows[start : start + WRITE_CHUNK]
        found = await conn.fetch(PG_STORE, [pk for pk, _ in part], [e["is_question"] for _, e in part],
                                 [e["sentiment"]["score"] for _, e in part], [json_text(e) for _, e in part])
        claimed.update(record[0] for record in found)
    return claimed


def store_sqlite(batch: Sequence[Pending], pks: list[int], conn: Connection) -> set[int]:
    """:func:`store_claimed` for SQLite, with the rows as JSON parameters (see ``SQLITE_STORE``).

    SQLite has one writer at a time, so reading the unclaimed ids and updating them in one
    transaction cannot race another flush; the UPDATE repeats the ``is_question IS NULL`` guard
    all the same.
    """
    found = conn.exec_driver_sql(SQLITE_UNCLAIMED, (orjson.dumps(pks).decode(),)).scalar_one()
    claimed = set(orjson.loads(found))
    values = [[pk, e["is_question"], e["sentiment"]["score"], e] for pk, e in enrichment_rows(batch, claimed)]
    for start in range(0, len(values), WRITE_CHUNK):
        conn.exec_driver_sql(SQLITE_STORE, (orjson.dumps(values[start : start + WRITE_CHUNK]).decode(),))
    return claimed


def trace_lots(codes: Sequence[TraceCode]) -> list[str]:
    """Lot names from the Enricher's trace codes, each once."""
    lots: list[str] = []
    for code in codes:
        lot = code.lot
        if lot and lot not in lots:
            lots.append(lot)
    return lots


def trace_suggestion(lot: str, reply: str) -> dict[str, Any]:
    return {"id": f"trace:{lot}", "score": 1.0, "question": f"批次 {lot} 溯源信息", "answer": reply,
            "needs_human": False, "missing": []}


# ───────────── wiring ─────────────

STAGE: web.AppKey[EnrichmentStage] = web.AppKey("faq.stage", EnrichmentStage)
ENRICHER_BUILDS: web.AppKey[EnricherBuilds] = web.AppKey("faq.enricher_builds", EnricherBuilds)


async def stage_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the enrichment stage for the app's lifetime (unless ``[faq] enrich = false``)."""
    settings = app[CONFIG].section("faq", FaqSettings)
    if not settings.enrich or not app[BUS].consume_groups:  # off, or left to `livebot worker` processes
        yield
        return
    stage = EnrichmentStage(app[DATABASE], app[BUS], settings, app[trace.TRACE_FACTS],
                            metrics=StageMetrics(app[REGISTRY]), builds=app.get(ENRICHER_BUILDS))
    stage.guard = app.get(GUARD)
    app[STAGE] = stage
    await stage.start()
    started = time.monotonic()
    yield
    await stage.stop()
    logger.info("faq stage stopped processed=%d stored=%d uptime=%.0fs", stage.processed, stage.stored,
                time.monotonic() - started)
