"""Per-instance fan-out of overlay state to the browser sources watching each session.

Each session has a :class:`Channel` holding the latest value of every part (``scene``,
``batch`` ...). A change marks the part pending for each client; the client's sender merges
everything pending into one frame at most every 1/``max_fps`` seconds, so a burst of chat
costs each overlay one frame, and all clients at the same point share one serialised frame.
One task writes to each websocket, so pings and patches never interleave.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

logger = logging.getLogger(__name__)

CLOSE_TOKEN_REVOKED = 4403
"""Close code telling the overlay its token was rotated away: it stops reconnecting."""


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(eq=False)
class Client:
    ws: web.WebSocketResponse
    channel: Channel
    digest: str | None
    interval: float
    name: str
    pending: set[str] = field(default_factory=set)
    ping: int | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    last_sent: float = 0.0
    last_heard: float = field(default_factory=time.monotonic)

    def notify(self, parts: Iterable[str]) -> None:
        self.pending.update(parts)
        self.wake.set()

    def send_ping(self, number: int) -> None:
        self.ping = number
        self.wake.set()

    async def run(self) -> None:
        """Send the snapshot, then merged patches and pings until the socket closes."""
        loop = asyncio.get_running_loop()
        await self.ws.send_str(self.channel.snapshot_frame())
        self.last_sent = loop.time()
        while not self.ws.closed:
            await self.wake.wait()
            self.wake.clear()
            if self.ping is not None:
                number, self.ping = self.ping, None
                await self.ws.send_str(orjson.dumps({"t": "ping", "n": number, "now": now_ms()}).decode())
            wait = self.last_sent + self.interval - loop.time()
            if self.pending and wait > 0:
                await asyncio.sleep(wait)
            if not self.pending or self.ws.closed:
                continue
            parts, self.pending = frozenset(self.pending), set()
            await self.ws.send_str(self.channel.patch_frame(parts))
            self.last_sent = loop.time()


class Channel:
    """The latest parts of one session's overlays and the clients watching them."""

    def __init__(self, session_id: int) -> None:
        self.session_id = session_id
        self.parts: dict[str, Any] = {}
        self.version = 0
        self.clients: set[Client] = set()
        self.frames: dict[frozenset[str], tuple[int, str]] = {}

    def update(self, changes: Mapping[str, Any]) -> set[str]:
        """Store new part values; clients hear only about parts whose value really changed."""
        changed = {key for key, value in changes.items() if self.parts.get(key, ...) != value}
        if not changed:
            return changed
        for key in changed:
            self.parts[key] = changes[key]
        self.version += 1
        for client in self.clients:
            client.notify(changed)
        return changed

    def snapshot_frame(self) -> str:
        return orjson.dumps({"t": "snapshot", "v": self.version, "now": now_ms(), "parts": self.parts}).decode()

    def patch_frame(self, parts: frozenset[str]) -> str:
        """One serialisation per (version, parts), shared by every client that needs it."""
        cached = self.frames.get(parts)
        if cached is not None and cached[0] == self.version:
            return cached[1]
        frame = orjson.dumps({"t": "patch", "v": self.version, "parts": {k: self.parts.get(k) for k in parts}}).decode()
        if len(self.frames) > 64:
            self.frames.clear()
        self.frames[parts] = (self.version, frame)
        return frame


class OverlayHub:
    """Every overlay websocket of this instance, by session."""

    def __init__(self, max_fps: float = 10.0, heartbeat: float = 20.0, silence_slack: float = 5.0) -> None:
        self.interval = 1.0 / max_fps
        self.heartbeat = heartbeat
        self.silence_slack = silence_slack
        self.channels: dict[int, Channel] = {}
        self.ping_number = 0

    def channel(self, session_id: int) -> Channel:
        found = self.channels.get(session_id)
        if found is None:
            found = self.channels[session_id] = Channel(session_id)
        return found

    def watched(self) -> list[Channel]:
        """Channels with at least one client (the ones worth refreshing)."""
        return [c for c in self.channels.values() if c.clients]

    @property
    def client_count(self) -> int:
        return sum(len(c.clients) for c in self.channels.values())

    async def serve(self, ws: web.WebSocketResponse, session_id: int, digest: str | None, name: str) -> None:
        """Run one connected overlay: send state, answer its pongs, drop it when it goes silent."""
        channel = self.channel(session_id)
        client = Client(ws=ws, channel=channel, digest=digest, interval=self.interval, name=name)
        channel.clients.add(client)
        sender = asyncio.get_running_loop().create_task(client.run(), name=f"overlay-send:{session_id}")
        logger.info("overlay connected session=%s client=%s clients=%d", session_id, name, len(channel.clients))
        try:
            await self.read(client, sender)
        finally:
            channel.clients.discard(client)
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
            if not ws.closed:
                await ws.close()
            logger.info("overlay disconnected session=%s client=%s clients=%d", session_id, name, len(channel.clients))

    async def read(self, client: Client, sender: asyncio.Task[None]) -> None:
        """Incoming frames are only pongs; silence for two heartbeats + 5 s means the client is gone."""
        timeout = self.heartbeat * 2 + self.silence_slack
        while not sender.done():
            try:
                message = await client.ws.receive(timeout=timeout)
            except TimeoutError:
                logger.info("overlay silent session=%s client=%s; closing", client.channel.session_id, client.name)
                return
            if message.type in (web.WSMsgType.CLOSE, web.WSMsgType.CLOSING, web.WSMsgType.CLOSED, web.WSMsgType.ERROR):
                return
            if message.type != web.WSMsgType.TEXT:
                await client.ws.close(code=1003, message=b"text frames only")
                return
            client.last_heard = time.monotonic()

    def ping_all(self) -> None:
        """Ask every client for a pong; the browser answers from its message handler at once."""
        self.ping_number += 1
        for channel in self.channels.values():
            for client in channel.clients:
                client.send_ping(self.ping_number)

    async def close_revoked(self, session_id: int, live_digests: set[str]) -> int:
        """Close overlays of a session whose token was rotated away; previews stay."""
        channel = self.channels.get(session_id)
        if channel is None:
            return 0
        doomed = [c for c in channel.clients if c.digest is not None and c.digest not in live_digests]
        for client in doomed:
            await client.ws.close(code=CLOSE_TOKEN_REVOKED, message=b"token rotated")
        return len(doomed)

    async def close_all(self) -> None:
        for channel in self.channels.values():
            for client in list(channel.clients):
                await client.ws.close(code=1001, message=b"server shutdown")
