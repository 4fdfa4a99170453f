"""Fan-out of queue updates and the chat side stream to this instance's console websockets.

Each instance subscribes once to ``console.*`` (queue changes from any instance) and hears
``chat.enriched`` (for the side stream), then hands each message to its local consoles of that
session. A console gets at most one frame per ``frame_interval_ms``: updates pile up between
frames and go out together, consecutive sequence numbers merged into ranges, each card once at
its newest version; each card is serialised once per instance, not once per console. The side stream is a sample: only the newest lines of each frame are sent
and the rest counted, because nobody reads 500 messages a second.

The snapshot protocol: a console registers (updates start buffering), reads the sequence and
then the cards, sends that snapshot, and only then releases buffered updates newer than the
snapshot. The page applies a range only if it starts right after what it has, so a gap (a
dropped bus message) turns into a resync rather than a silently wrong queue.

Sequence numbers come from one place (the session's row in the database, bumped under its lock),
but several processes write and publish (intake workers, advisors' actions on any instance), so
``console.*`` messages can arrive out of order. A console therefore sends only the ranges that
follow what its page has, holding later ones for up to ``reorder_ms`` while the missing number
arrives; if it does not (a publish that failed or was dropped), the console is sent a fresh
snapshot instead of a gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from livebot.topics import ConsoleUpdate, read_console_update

logger = logging.getLogger(__name__)

MAX_PENDING_UPDATES = 5_000


@dataclass(frozen=True, slots=True)
class Prepared:
    """A queue change with each card serialised once for all of this instance's consoles."""

    seq: int
    cards: tuple[tuple[int, int, bytes], ...]
    asks: tuple[bytes, ...]

    @classmethod
    def of(cls, update: ConsoleUpdate) -> Prepared:
        cards = tuple((c["id"], c["version"], orjson.dumps(c)) for c in update["cards"])
        return cls(update["seq"], cards, tuple(orjson.dumps(a) for a in update["asks"]))


@dataclass(slots=True)
class Range:
    first: int
    last: int
    cards: dict[int, tuple[int, bytes]] = field(default_factory=dict)
    asks: list[bytes] = field(default_factory=list)

    def json(self) -> bytes:
        cards = b",".join(raw for _, raw in self.cards.values())
        return b'{"from":%d,"to":%d,"cards":[%b],"asks":[%b]}' % (self.first, self.last, cards, b",".join(self.asks))


def merge_ranges(updates: list[Prepared], after: int) -> list[Range]:
    """Consecutive updates as ranges, each card once at its newest version; ``after`` and repeats dropped."""
    ranges: list[Range] = []
    seen: set[int] = set()
    for update in sorted(updates, key=lambda u: u.seq):
        if update.seq <= after or update.seq in seen:
            continue
        seen.add(update.seq)
        if ranges and update.seq == ranges[-1].last + 1:
            current = ranges[-1]
            current.last = update.seq
        else:
            current = Range(update.seq, update.seq)
            ranges.append(current)
        for card_id, version, raw in update.cards:
            known = current.cards.get(card_id)
            if known is None or known[0] <= version:
                current.cards[card_id] = (version, raw)
        current.asks.extend(update.asks)
    return ranges


def batch_frame(ranges: list[Range], chat: list[dict[str, Any]], skipped: int) -> bytes:
    """``{"type": "batch", "ranges": [...], "chat": [...], "chat_skipped": n}`` from prepared parts."""
    body = b",".join(r.json() for r in ranges)
    return b'{"type":"batch","ranges":[%b],"chat":%b,"chat_skipped":%d}' % (body, orjson.dumps(chat), skipped)


@dataclass(eq=False)
class ConsoleClient:
    """One open console: its pending updates and chat lines, and the task that sends frames."""

    ws: web.WebSocketResponse
    session_id: int
    interval: float
    chat_per_frame: int
    snapshot: Callable[[], Awaitable[dict[str, Any]]]
    name: str = ""
    reorder_window: float = 1.0
    """Seconds a range after a gap is held for the missing one before the console resyncs."""
    ready: bool = False
    sent_seq: int = 0
    updates: list[Prepared] = field(default_factory=list)
    chat: list[dict[str, Any]] = field(default_factory=list)
    chat_skipped: int = 0
    needs_snapshot: bool = True
    frames: int = 0
    held_since: float | None = None
    resyncs: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def push_update(self, message: Prepared) -> None:
        if len(self.updates) >= MAX_PENDING_UPDATES:
            # this console cannot keep up: start it over from a snapshot instead of dropping
            self.updates.clear()
            self.needs_snapshot = True
            logger.warning("console session=%s client=%s fell behind; resyncing", self.session_id, self.name)
        self.updates.append(message)
        self.wake.set()

    def push_chat_lines(self, lines: list[dict[str, Any]], skipped: int) -> None:
        """Newest side-stream lines (oldest first) and how many older ones were already left out."""
        self.chat.extend(lines)
        self.chat_skipped += skipped
        if len(self.chat) > self.chat_per_frame:
            drop = len(self.chat) - self.chat_per_frame
            del self.chat[:drop]
            self.chat_skipped += drop
        if self.ready and (lines or skipped):
            self.wake.set()

    def request_snapshot(self) -> None:
        self.needs_snapshot = True
        self.wake.set()

    async def send_json(self, body: dict[str, Any]) -> None:
        await self.send_raw(orjson.dumps(body))

    async def send_raw(self, frame: bytes) -> None:
        await self.ws.send_frame(frame, WSMsgType.TEXT)
        self.frames += 1

    async def send_snapshot(self) -> None:
        """Send a fresh snapshot; updates already buffered and newer than it follow."""
        self.needs_snapshot = False
        self.ready = False
        body = await self.snapshot()
        self.chat.clear()
        self.chat_skipped = 0
        await self.send_json(body)
        self.sent_seq = int(body["seq"])
        self.updates = [u for u in self.updates if u.seq > self.sent_seq]
        self.held_since = None
        self.ready = True

    async def flush(self) -> None:
        if self.needs_snapshot:
            await self.send_snapshot()
        ranges = self.take_in_order()
        if self.needs_snapshot:  # a gap that did not fill in time: start over (chat lines come with it)
            self.resyncs += 1
            logger.info("console session=%s client=%s: seq %d never arrived; resyncing", self.session_id, self.name,
                        self.sent_seq + 1)
            await self.send_snapshot()
            ranges = self.take_in_order()
        if not ranges and not self.chat:
            return
        chat, self.chat = self.chat, []
        skipped, self.chat_skipped = self.chat_skipped, 0
        await self.send_raw(batch_frame(ranges, chat, skipped))

    def take_in_order(self) -> list[Range]:
        """The buffered updates that follow ``sent_seq`` without a gap, as (at most one) range; later
        ones stay buffered. A gap older than ``reorder_window`` sets ``needs_snapshot``."""
        ranges = merge_ranges(self.updates, self.sent_seq)
        ready = ranges[:1] if ranges and ranges[0].first == self.sent_seq + 1 else []
        if ready:
            self.sent_seq = ready[0].last
        if len(ranges) == len(ready):
            self.updates, self.held_since = [], None
            return ready
        self.updates = [u for u in self.updates if u.seq > self.sent_seq]
        now = time.monotonic()
        if ready or self.held_since is None:
            self.held_since = now  # a (new) gap: wait for its missing number from now on
        left = self.held_since + self.reorder_window - now
        if left <= 0:
            self.needs_snapshot = True
        else:
            asyncio.get_running_loop().call_later(left, self.wake.set)
        return ready

    async def run(self) -> None:
        """Send frames until the socket closes: at most one per ``interval``."""
        while not self.ws.closed:
            await self.wake.wait()
            self.wake.clear()
            await self.flush()
            await asyncio.sleep(self.interval)


@dataclass
class Hub:
    """This instance's open consoles, by session."""

    clients: dict[int, set[ConsoleClient]] = field(default_factory=dict)

    def add(self, client: ConsoleClient) -> None:
        self.clients.setdefault(client.session_id, set()).add(client)

    def remove(self, client: ConsoleClient) -> None:
        group = self.clients.get(client.session_id)
        if group is not None:
            group.discard(client)
            if not group:
                del self.clients[client.session_id]

    @property
    def count(self) -> int:
        return sum(len(group) for group in self.clients.values())

    async def on_console(self, message: dict[str, Any]) -> None:
        """A queue change from any instance (bus topic ``console.{session_id}``)."""
        update = read_console_update(message)
        if update is None:
            logger.warning("console update ignored: not a console.{id} message")
            return
        clients = self.clients.get(update["session_id"])
        if not clients:
            return
        prepared = Prepared.of(update)
        for client in clients:
            client.push_update(prepared)

    def on_chat(self, session_id: int, line: dict[str, Any]) -> None:
        self.on_chat_lines(session_id, [line], 0)

    def on_chat_lines(self, session_id: int, lines: list[dict[str, Any]], skipped: int) -> None:
        for client in self.clients.get(session_id, ()):
            client.push_chat_lines(lines, skipped)

    async def close(self) -> None:
        for group in list(self.clients.values()):
            for client in list(group):
                with contextlib.suppress(Exception):
                    await client.ws.close(code=1001, message=b"server shutdown")
        self.clients.clear()
