"""Redis Streams consumer groups: work that must happen once per message, across processes.

A topic listed in ``[bus] streams`` is appended to the stream ``{prefix}:stream:{topic}`` (XADD,
one entry per wire batch, trimmed to ``stream_retention_seconds`` by stream id) beside its
pub/sub publish. A group subscription reads it with XREADGROUP as one consumer of the group
(one consumer per process and subscription), calls its handler with the messages of a few
entries and acknowledges them (XACK) only once the handler has returned: the handler returns
once its work is stored. The XACK goes in one pipeline with the consumer's next XREADGROUP, which
follows at once (or straight away on its own while the consumer waits in a blocking read). Entries a consumer took but never acknowledged (it was killed) stay
pending; every consumer looks every ``claim_idle_ms / 2`` for entries pending longer than
``claim_idle_ms`` and takes them over (XAUTOCLAIM). A message can therefore reach a handler
twice (handled, then the worker died before the XACK), never zero times while it is retained:
handlers are idempotent (the database's unique keys and "not done yet" conditions).

A handler that raises leaves its entries pending for another try; after ``MAX_ATTEMPTS`` tries
in this process they are acknowledged and logged (a poison message must not loop forever; the
stages' start-up recovery from the database covers what was given up on).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from livebot.background import TaskSet
from livebot.bus.base import BatchHandler, BusMetrics, Message
from livebot.retry import Backoff, RetryPolicy

logger = logging.getLogger(__name__)

READ_ENTRIES = 16
"""Stream entries read per XREADGROUP (each up to a wire batch of messages)."""
BLOCK_MS = 1_000
MAX_ATTEMPTS = 3
ACK_TRIES = 3
FIELD = b"d"


def stream_key(prefix: str, topic: str) -> str:
    return f"{prefix}:stream:{topic}"


def decode(fields: dict[bytes, bytes]) -> list[Message]:
    """The messages of one stream entry (a JSON object or array); [] for garbage."""
    try:
        payload = orjson.loads(fields.get(FIELD, b""))
    except orjson.JSONDecodeError:
        return []
    if isinstance(payload, dict):
        return [payload]
    if isinstance(payload, list):
        return [m for m in payload if isinstance(m, dict)]
    return []


Entries = list[tuple[bytes, dict[bytes, bytes]]]

SHARED_ENTRIES = 64
"""Decoded entries a process keeps for its other groups on the same stream (a few MB at most)."""


class SharedDecodes:
    """Each stream entry decoded once per process: the groups of one process on one stream (the FAQ
    stage and the engagement figures on ``chat.stored``) read the same entries moments apart. The
    handlers of every group get the same message objects, so a handler never changes a message
    (none does: each builds what it keeps or publishes)."""

    def __init__(self, limit: int = SHARED_ENTRIES) -> None:
        self.limit = limit
        self.readers: dict[str, int] = {}
        """Local group consumers per stream."""
        self.kept: dict[tuple[str, bytes], tuple[list[Message], int]] = {}
        """Decoded entries by (stream, id) and how many more local groups will read them."""

    def messages(self, stream: str, entry_id: bytes, fields: dict[bytes, bytes]) -> list[Message]:
        key = (stream, entry_id)
        found = self.kept.pop(key, None)
        if found is not None:
            messages, left = found
            if left > 1:
                self.kept[key] = (messages, left - 1)
            return messages
        messages = decode(fields)
        others = self.readers.get(stream, 1) - 1
        if others > 0:
            while len(self.kept) >= self.limit:
                del self.kept[next(iter(self.kept))]  # the oldest: its other reader is far behind or elsewhere
            self.kept[key] = (messages, others)
        return messages


class GroupConsumer:
    """One process's member of a consumer group on one topic's stream."""

    def __init__(self, client: aioredis.Redis, prefix: str, topic: str, group: str, consumer: str,
                 handler: BatchHandler, metrics: BusMetrics, *, max_batch: int, concurrency: int,
                 claim_idle_ms: int, decodes: SharedDecodes | None = None) -> None:
        self.client, self.topic, self.group, self.consumer = client, topic, group, consumer
        self.stream = stream_key(prefix, topic)
        self.handler, self.metrics = handler, metrics
        self.decodes = decodes or SharedDecodes()
        self.max_batch, self.claim_idle_ms = max(1, max_batch), claim_idle_ms
        self.slots = asyncio.Semaphore(max(1, concurrency))
        self.in_hand: set[bytes] = set()
        self.attempts: dict[bytes, int] = {}
        self.handling = TaskSet(f"bus-group:{group}")
        self.ready = asyncio.Event()
        self.retry_delay: RetryPolicy = Backoff(0.5, 10.0)
        self.ack_delay: RetryPolicy = Backoff(0.2, 1.0)
        self.unacked: list[bytes] = []
        """Handled entries whose XACK goes with this consumer's next XREADGROUP (one round trip for both)."""
        self.reading = False
        """The loop waits in a blocking XREADGROUP: a handler that finishes meanwhile acknowledges at once."""
        self.failures = 0
        """Reconnects in a row without a read in between: the retry number ``retry_delay`` is asked for."""
        self.handled = 0
        self.claimed = 0

    @property
    def name(self) -> str:
        return self.group

    def busy(self) -> bool:
        return len(self.handling) > 0

    async def ensure_group(self) -> None:
        """Create the group (from the oldest retained entry, so nothing published before the
        first worker started is lost; the handlers are idempotent) unless it exists."""
        try:
            await self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as err:
            if "BUSYGROUP" not in str(err):
                raise
        # Listed at once (XINFO CONSUMERS), not only after its first delivery: operators see who is there.
        await self.client.xgroup_createconsumer(self.stream, self.group, self.consumer)

    async def run(self) -> None:
        """Consume until cancelled; a lost connection is retried after ``retry_delay`` of the failures in a row
        (a successful read starts the count over, so a blip an hour after the last one waits the shortest delay)."""
        while True:
            try:
                await self.ensure_group()
                self.ready.set()
                await self.consume()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as err:
                self.failures += 1
                delay = self.retry_delay(self.failures)
                logger.warning("bus group=%s topic=%s lost redis (%s); retry %d in %.1fs", self.group, self.topic,
                               err, self.failures, delay)
                await asyncio.sleep(delay)

    async def consume(self) -> None:
        claim_every = self.claim_idle_ms / 2000
        next_claim = 0.0
        cursor = "0-0"
        while True:
            await self.slots.acquire()
            try:
                entries: Entries = []
                if time.monotonic() >= next_claim:
                    await self.flush_acks()  # not left pending while entries are reclaimed
                    cursor, entries = await self.autoclaim(cursor)
                    if cursor == "0-0":
                        next_claim = time.monotonic() + claim_every
                if not entries:
                    entries = await self.read()
                self.failures = 0
            except BaseException:
                self.slots.release()
                raise
            if not entries:
                self.slots.release()
                continue
            self.handling.spawn(self.handle(entries), "handle")

    async def read(self) -> Entries:
        """XREADGROUP (blocking up to ``BLOCK_MS``), in one pipeline with the XACK of what was handled
        since the last read: a consumer that handles one list at a time pays one round trip per list."""
        acks, self.unacked = self.unacked, []
        self.reading = True
        try:
            if not acks:
                reply = await self.client.xreadgroup(self.group, self.consumer, {self.stream: ">"},
                                                     count=READ_ENTRIES, block=BLOCK_MS)
            else:
                async with self.client.pipeline(transaction=False) as pipe:
                    pipe.xack(self.stream, self.group, *acks)
                    pipe.xreadgroup(self.group, self.consumer, {self.stream: ">"}, count=READ_ENTRIES, block=BLOCK_MS)
                    _, reply = await pipe.execute()
                self.acknowledged(acks)
        except BaseException:
            self.unacked[:0] = acks  # not known to be acknowledged: tried again with the next read
            raise
        finally:
            self.reading = False
        return reply[0][1] if reply else []

    async def autoclaim(self, cursor: str) -> tuple[str, Entries]:
        """Entries of dead (or stuck) consumers, idle over ``claim_idle_ms``, now this consumer's."""
        reply = await self.client.xautoclaim(self.stream, self.group, self.consumer, self.claim_idle_ms,
                                             start_id=cursor, count=READ_ENTRIES)
        raw_next, entries = reply[0], reply[1]
        following = raw_next.decode() if isinstance(raw_next, bytes) else str(raw_next)
        fresh = [(entry_id, fields) for entry_id, fields in entries if fields and entry_id not in self.in_hand]
        if fresh:
            self.claimed += len(fresh)
            logger.info("bus group=%s topic=%s took over %d pending entries", self.group, self.topic, len(fresh))
        return following, fresh

    async def handle(self, entries: Entries) -> None:
        try:
            ids = [entry_id for entry_id, _ in entries]
            self.in_hand.update(ids)
            shared = self.decodes.messages
            messages = [message for entry_id, fields in entries for message in shared(self.stream, entry_id, fields)]
            counters = self.metrics.topic(self.topic)
            try:
                for start in range(0, len(messages), self.max_batch):
                    await self.handler(messages[start : start + self.max_batch])
            except asyncio.CancelledError:
                raise
            except Exception:
                counters.failed.inc()
                given_up = self.note_failure(ids)
                logger.exception("bus group=%s topic=%s handler failed on %d messages%s", self.group, self.topic,
                                 len(messages), " (given up)" if given_up else " (will be retried)")
                if not given_up:
                    return
            else:
                counters.delivered.inc(len(messages))
                self.handled += len(messages)
            if self.reading:
                await self.acknowledge(ids)  # the loop waits for new entries: no read to go with
            else:
                self.unacked.extend(ids)  # the loop's next XREADGROUP, right after this returns its slot
        finally:
            self.in_hand.difference_update(id for id, _ in entries)
            self.slots.release()

    def note_failure(self, ids: list[bytes]) -> bool:
        """Count a failed try; True once the entries have had ``MAX_ATTEMPTS`` here."""
        worst = 0
        for entry_id in ids:
            worst = max(worst, self.attempts.get(entry_id, 0) + 1)
            self.attempts[entry_id] = worst
        if worst >= MAX_ATTEMPTS:
            for entry_id in ids:
                self.attempts.pop(entry_id, None)
            return True
        return False

    async def acknowledge(self, ids: list[bytes]) -> None:
        """XACK, tried ``ACK_TRIES`` times ``ack_delay`` apart: an entry left pending is handled again (harmless)
        after the idle time."""
        for attempt in range(1, ACK_TRIES + 1):
            try:
                await self.client.xack(self.stream, self.group, *ids)
                self.acknowledged(ids)
                return
            except (RedisError, OSError) as err:
                logger.warning("bus group=%s ack failed (%s), attempt %d", self.group, err, attempt)
                if attempt < ACK_TRIES:
                    await asyncio.sleep(self.ack_delay(attempt))

    def acknowledged(self, ids: list[bytes]) -> None:
        for entry_id in ids:
            self.attempts.pop(entry_id, None)

    async def flush_acks(self) -> None:
        """Acknowledge now what waits for the next read."""
        acks, self.unacked = self.unacked, []
        if acks:
            await self.acknowledge(acks)

    async def stop(self, timeout: float = 10.0) -> None:
        """Let the handlers in progress finish (so they acknowledge); cancel what is still
        running after ``timeout`` (its entries stay pending and are taken over)."""
        if len(self.handling):
            _, late = await asyncio.wait(list(self.handling), timeout=timeout)
            for task in late:
                task.cancel()
            for task in late:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self.flush_acks()  # the loop is gone: no read will carry them
        with contextlib.suppress(RedisError, OSError):  # gone for good: leave the group's list if nothing is pending
            pending = await self.client.xpending_range(self.stream, self.group, "-", "+", 1, consumername=self.consumer)
            if not pending:
                await self.client.xgroup_delconsumer(self.stream, self.group, self.consumer)


async def group_backlog(client: aioredis.Redis, stream: str, group: str) -> int:
    """Entries of ``stream`` the group has not acknowledged yet: pending plus not yet delivered
    (Redis 7's ``lag``; when it is unknown, a not-yet-delivered last entry counts as one)."""
    try:
        groups: list[dict[Any, Any]] = await client.xinfo_groups(stream)
    except ResponseError:
        return 0  # no stream yet
    for info in groups:
        name = info.get("name")
        if (name.decode() if isinstance(name, bytes) else name) != group:
            continue
        pending = int(info.get("pending") or 0)
        lag = info.get("lag")
        if lag is None:
            last = await client.xinfo_stream(stream)
            lag = 0 if info.get("last-delivered-id") == last.get("last-generated-id") else 1
        return pending + int(lag)
    return 1  # the group does not exist yet: its first consumer has not started

