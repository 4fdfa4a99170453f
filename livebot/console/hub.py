"""Fan-out of queue updates and the chat side stream to this instance's console websockets.

Each instance subscribes once to ``console.*`` (queue changes from any instance) and hears
``chat.enriched`` (for the side stream), then hands each message to its local consoles of that
session. A console gets at most one frame per ``frame_interval_ms``: updates pile up between
frames and go out together, consecutive sequence numbers merged into ranges, each card once at
its newest version. The side stream is a sample: only the newest lines of each frame are sent
and the rest counted, because nobody reads 500 messages a second.

The snapshot protocol: a console registers (updates start buffering), reads the sequence and
then the cards, sends that snapshot, and only then releases buffered updates newer than the
snapshot. The page applies a range only if it starts right after what it has, so a gap (a
dropped bus message) turns into a resync rather than a silently wrong queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

logger = logging.getLogger(__name__)

MAX_PENDING_UPDATES = 5_000


def merge_ranges(updates: list[dict[str, Any]], after: int) -> list[dict[str, Any]]:
    """Consecutive updates as ``{"from", "to", "cards", "asks"}`` ranges, newest card versions only."""
    ranges: list[dict[str, Any]] = []
    seen: set[int] = set()
    for update in sorted(updates, key=lambda u: u["seq"]):
        seq = update["seq"]
        if seq <= after or seq in seen:
            continue
        seen.add(seq)
        if ranges and seq == ranges[-1]["to"] + 1:
            current = ranges[-1]
            current["to"] = seq
        else:
            current = {"from": seq, "to": seq, "cards": {}, "asks": []}
            ranges.append(current)
        for card in update.get("cards", ()):
            known = current["cards"].get(card["id"])
            if known is None or known["version"] <= card["version"]:
                current["cards"][card["id"]] = card
        current["asks"].extend(update.get("asks", ()))
    for current in ranges:
        current["cards"] = list(current["cards"].values())
    return ranges


@dataclass(eq=False)
class ConsoleClient:
    """One open console: its pending updates and chat lines, and the task that sends frames."""

    ws: web.WebSocketResponse
    session_id: int
    interval: float
    chat_per_frame: int
    snapshot: Callable[[], Awaitable[dict[str, Any]]]
    name: str = ""
    ready: bool = False
    sent_seq: int = 0
    updates: list[dict[str, Any]] = field(default_factory=list)
    chat: list[dict[str, Any]] = field(default_factory=list)
    chat_skipped: int = 0
    needs_snapshot: bool = True
    frames: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def push_update(self, message: dict[str, Any]) -> None:
        if len(self.updates) >= MAX_PENDING_UPDATES:
            # this console cannot keep up: start it over from a snapshot instead of dropping
            self.updates.clear()
            self.needs_snapshot = True
            logger.warning("console session=%s client=%s fell behind; resyncing", self.session_id, self.name)
        self.updates.append(message)
        self.wake.set()

    def push_chat(self, line: dict[str, Any]) -> None:
        self.chat.append(line)
        if len(self.chat) > self.chat_per_frame:
            drop = len(self.chat) - self.chat_per_frame
            del self.chat[:drop]
            self.chat_skipped += drop
        if self.ready:
            self.wake.set()

    def request_snapshot(self) -> None:
        self.needs_snapshot = True
        self.wake.set()

    async def send_json(self, body: dict[str, Any]) -> None:
        await self.ws.send_str(orjson.dumps(body).decode())
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
        self.updates = [u for u in self.updates if u["seq"] > self.sent_seq]
        self.ready = True

    async def flush(self) -> None:
        if self.needs_snapshot:
            await self.send_snapshot()
        if not self.updates and not self.chat:
            return
        updates, self.updates = self.updates, []
        chat, self.chat = self.chat, []
        skipped, self.chat_skipped = self.chat_skipped, 0
        ranges = merge_ranges(updates, 0)  # late seqs may fill a page's gap: the page drops repeats
        if ranges:
            self.sent_seq = max(self.sent_seq, ranges[-1]["to"])
        await self.send_json({"type": "batch", "ranges": ranges, "chat": chat, "chat_skipped": skipped})

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
        for client in self.clients.get(int(message.get("session_id") or 0), ()):
            client.push_update(message)

    def on_chat(self, session_id: int, line: dict[str, Any]) -> None:
        for client in self.clients.get(session_id, ()):
            client.push_chat(line)

    async def close(self) -> None:
        for group in list(self.clients.values()):
            for client in list(group):
                with contextlib.suppress(Exception):
                    await client.ws.close(code=1001, message=b"server shutdown")
        self.clients.clear()
