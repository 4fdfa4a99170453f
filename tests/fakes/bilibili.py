"""A fake Bilibili live open platform on 127.0.0.1: signed HTTP API plus the danmaku websocket.

The HTTP side verifies every request's signature (MD5 of the body, HMAC-SHA256 of the sorted
``x-bili-*`` lines, timestamp window, nonce reuse) like the real platform. The websocket side
checks the auth packet against the auth body it issued, answers heartbeats (with the real
server's short length field), and sends whatever the test queued: command bundles compressed
with zlib or brotli, raw frames, a connection drop, INTERACTION_END.

    fake = await FakeBilibili().start()
    fake.push([fake.dm("奶源在哪里？")], version=2)
    fake.push_drop()                  # the connection serving the queue closes here
    await fake.wait_authenticated(2)  # the client reconnected
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

from livebot.chat.sources import bilibili_protocol as proto

DROP = object()


@dataclass
class FakeGame:
    game_id: str
    auth_body: str
    active: bool = True


@dataclass
class FakeConnection:
    number: int
    authenticated: bool = False
    heartbeats: int = 0
    frames_sent: int = 0
    closed: bool = False
    auth_body: str = ""
    ws: web.WebSocketResponse | None = field(default=None, repr=False)


class FakeBilibili:
    """The open platform for one anchor room; attributes record every call it answered."""

    def __init__(
        self,
        app_id: int = 1_650_000_000_001,
        access_key_id: str = "fake-access-key-id",
        access_key_secret: str = "fake-access-key-secret",
        code: str = "ANCHORCODE7734",
        room_id: int = 7734,
    ) -> None:
        self.app_id = app_id
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.code = code
        self.room_id = room_id
        self.starts: list[dict[str, Any]] = []
        self.heartbeats: list[dict[str, Any]] = []
        self.ends: list[dict[str, Any]] = []
        self.rejected: list[tuple[str, int]] = []
        self.games: dict[str, FakeGame] = {}
        self.connections: list[FakeConnection] = []
        self.auth_reply_code = 0
        """Code the next websocket auth replies with (non-zero: refused, e.g. -101)."""
        self.start_code = 0
        """Code app/start answers with (e.g. 7002 while a previous game is open)."""
        self.heartbeat_code: int | None = None
        """Force app/heartbeat's answer (7003: heartbeat expired) instead of the real check."""
        self.answer_heartbeats = True
        """False: a silent server that never answers op-2 heartbeats."""
        self.popularity = 1
        self.server: TestServer | None = None
        self._nonces: set[str] = set()
        self._outbox: deque[Any] = deque()
        self._changed = asyncio.Event()
        self._state = asyncio.Event()
        self._serial = itertools.count(1)

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> FakeBilibili:
        app = web.Application()
        app.router.add_post("/v2/app/start", self.app_start)
        app.router.add_post("/v2/app/heartbeat", self.app_heartbeat)
        app.router.add_post("/v2/app/end", self.app_end)
        app.router.add_get("/sub", self.websocket)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return self

    async def close(self) -> None:
        for conn in self.connections:
            if conn.ws is not None and not conn.ws.closed:
                await conn.ws.close()
        if self.server is not None:
            await self.server.close()

    @property
    def api_base(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    @property
    def ws_url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/sub")).replace("http://", "ws://")

    def source_options(self, **overrides: Any) -> dict[str, Any]:
        """``[[sources]]`` keys pointing a bilibili source at this fake, with fast timers."""
        return {
            "app_id": self.app_id, "code": self.code, "access_key_id": self.access_key_id,
            "access_key_secret": self.access_key_secret, "api_base": self.api_base,
            "app_heartbeat_seconds": 0.05, "ws_heartbeat_seconds": 0.05, "request_timeout": 5.0,
            "reconnect_base_seconds": 0.01, "reconnect_max_seconds": 0.05, **overrides,
        }

    # -- what the test sends -------------------------------------------------------------

    def dm(self, msg: str, uname: str = "小雨妈妈", open_id: str = "open-u1", msg_id: str | None = None,
           timestamp: int | None = None, **extra: Any) -> dict[str, Any]:
        return self.command("LIVE_OPEN_PLATFORM_DM", {
            "room_id": self.room_id, "open_id": open_id, "uname": uname, "uface": "https://i0.hdslb.com/face.jpg",
            "timestamp": timestamp or int(time.time()), "msg": msg, "msg_id": msg_id or f"dm-{next(self._serial)}",
            "guard_level": 0, "fans_medal_wearing_status": False, "fans_medal_name": "", "fans_medal_level": 0,
            "emoji_img_url": "", "dm_type": 0, **extra,
        })

    def gift(self, name: str = "小心心", num: int = 1, r_price: int = 1000, paid: bool = True,
             open_id: str = "open-u2", uname: str = "奶爸阿杰", msg_id: str | None = None) -> dict[str, Any]:
        return self.command("LIVE_OPEN_PLATFORM_SEND_GIFT", {
            "room_id": self.room_id, "open_id": open_id, "uname": uname, "uface": "", "gift_id": 31036,
            "gift_name": name, "gift_num": num, "price": r_price, "r_price": r_price, "paid": paid,
            "fans_medal_level": 0, "fans_medal_name": "", "fans_medal_wearing_status": False, "guard_level": 0,
            "timestamp": int(time.time()), "msg_id": msg_id or f"gift-{next(self._serial)}", "gift_icon": "",
            "anchor_info": {"uid": 1, "open_id": "anchor", "uname": "官方直播间", "uface": ""},
        })

    def like(self, count: int = 5, open_id: str = "open-u3", uname: str = "糖糖妈", msg_id: str | None = None) -> dict[str, Any]:
        return self.command("LIVE_OPEN_PLATFORM_LIKE", {
            "room_id": self.room_id, "open_id": open_id, "uname": uname, "uface": "", "timestamp": int(time.time()),
            "like_text": "为主播点赞了", "like_count": count, "fans_medal_wearing_status": False,
            "fans_medal_name": "", "fans_medal_level": 0, "msg_id": msg_id or f"like-{next(self._serial)}",
        })

    def enter(self, open_id: str = "open-u4", uname: str = "新手妈妈") -> dict[str, Any]:
        return self.command("LIVE_OPEN_PLATFORM_LIVE_ROOM_ENTER", {
            "room_id": self.room_id, "open_id": open_id, "uname": uname, "uface": "", "timestamp": int(time.time()),
        })

    def interaction_end(self) -> dict[str, Any]:
        game_id = next((g.game_id for g in self.games.values() if g.active), "")
        return self.command("LIVE_OPEN_PLATFORM_INTERACTION_END", {"room_id": self.room_id, "game_id": game_id,
                                                                   "timestamp": int(time.time())})

    @staticmethod
    def command(cmd: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"cmd": cmd, "data": data}

    def push(self, commands: list[dict[str, Any]], version: int = proto.Version.ZLIB) -> None:
        """Queue one frame holding ``commands``: a zlib/brotli bundle, or plain (version 0) packets."""
        packets = [proto.encode_packet(proto.Op.COMMAND, orjson.dumps(c), version=proto.Version.JSON) for c in commands]
        frame = b"".join(packets) if version == proto.Version.JSON else proto.encode_bundle(packets, version)
        self.push_raw(frame)

    def push_raw(self, frame: bytes) -> None:
        """Queue a frame exactly as given (for malformed-packet tests)."""
        self._outbox.append(frame)
        self._changed.set()

    def push_drop(self) -> None:
        """Queue a connection drop: the socket serving the queue closes after the frames before it."""
        self._outbox.append(DROP)
        self._changed.set()

    @property
    def pending(self) -> int:
        return len(self._outbox)

    def notify(self) -> None:
        """Wake the test's ``wait_*`` calls: something was recorded."""
        self._state.set()

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        """Until ``predicate()`` holds, re-checked whenever the fake records something."""
        async with asyncio.timeout(timeout):
            while not predicate():
                self._state.clear()
                await self._state.wait()

    async def wait_authenticated(self, count: int, timeout: float = 10.0) -> FakeConnection:
        """Until ``count`` websocket connections have authenticated; returns the latest."""
        await self.wait_for(lambda: sum(c.authenticated for c in self.connections) >= count, timeout)
        return [c for c in self.connections if c.authenticated][-1]

    async def wait_drained(self, timeout: float = 10.0) -> None:
        """Until every queued frame has been sent."""
        await self.wait_for(lambda: not self._outbox, timeout)

    # -- HTTP API ----------------------------------------------------------------------

    async def checked(self, request: web.Request) -> tuple[dict[str, Any] | None, web.Response | None]:
        """The JSON body if the request is signed correctly, else the platform's error answer."""
        body = await request.read()
        headers = request.headers
        code = 0
        if headers.get("x-bili-accesskeyid") != self.access_key_id:
            code = 4001
        elif headers.get("x-bili-signature-method") != "HMAC-SHA256" or headers.get("x-bili-signature-version") != "1.0":
            code = 4000
        elif not proto.verify_request(headers, body, self.access_key_secret):
            code = 4002
        elif abs(time.time() - int(headers.get("x-bili-timestamp", "0") or 0)) > 300:
            code = 4003
        elif headers.get("x-bili-signature-nonce", "") in self._nonces:
            code = 4004
        if code:
            self.rejected.append((request.path, code))
            self.notify()
            return None, self.answer(code)
        self._nonces.add(headers["x-bili-signature-nonce"])
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None, self.answer(4000)
        return payload, None

    @staticmethod
    def answer(code: int, data: dict[str, Any] | None = None) -> web.Response:
        return web.json_response({"code": code, "message": "ok" if code == 0 else f"error {code}",
                                  "request_id": uuid.uuid4().hex, "data": data or {}})

    async def app_start(self, request: web.Request) -> web.Response:
        payload, error = await self.checked(request)
        if error is not None:
            return error
        assert payload is not None
        self.starts.append(payload)
        self.notify()
        if payload.get("app_id") != self.app_id:
            return self.answer(4001)
        if payload.get("code") != self.code:
            return self.answer(7007)
        if self.start_code:
            return self.answer(self.start_code)
        game_id = uuid.uuid4().hex
        auth_body = orjson.dumps({"roomid": self.room_id, "protover": 2, "uid": 0, "key": uuid.uuid4().hex,
                                  "group": "open"}).decode()
        self.games[game_id] = FakeGame(game_id, auth_body)
        return self.answer(0, {
            "game_info": {"game_id": game_id},
            "websocket_info": {"auth_body": auth_body, "wss_link": [self.ws_url]},
            "anchor_info": {"room_id": self.room_id, "uname": "官方直播间", "uface": "", "uid": 1, "open_id": "anchor"},
        })

    async def app_heartbeat(self, request: web.Request) -> web.Response:
        payload, error = await self.checked(request)
        if error is not None:
            return error
        assert payload is not None
        self.heartbeats.append(payload)
        self.notify()
        if self.heartbeat_code is not None:
            return self.answer(self.heartbeat_code)
        game = self.games.get(str(payload.get("game_id")))
        return self.answer(0 if game and game.active else 7003)

    async def app_end(self, request: web.Request) -> web.Response:
        payload, error = await self.checked(request)
        if error is not None:
            return error
        assert payload is not None
        self.ends.append(payload)
        self.notify()
        game = self.games.get(str(payload.get("game_id")))
        if game is None or not game.active:
            return self.answer(7000)
        game.active = False
        return self.answer(0)

    # -- websocket ---------------------------------------------------------------------

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = FakeConnection(number=len(self.connections) + 1, ws=ws)
        self.connections.append(conn)
        self.notify()
        try:
            if await self.authenticate(ws, conn):
                await self.serve(ws, conn, request)
        finally:
            conn.closed = True
            self.notify()
        return ws

    async def authenticate(self, ws: web.WebSocketResponse, conn: FakeConnection) -> bool:
        message = await ws.receive(timeout=5)
        if message.type != WSMsgType.BINARY:
            return False
        packets = proto.decode_packets(message.data)
        if not packets or packets[0].operation != proto.Op.AUTH:
            await ws.close()
            return False
        conn.auth_body = packets[0].body.decode()
        valid = any(g.active and g.auth_body == conn.auth_body for g in self.games.values())
        code = self.auth_reply_code if valid else -101
        await ws.send_bytes(proto.encode_packet(proto.Op.AUTH_REPLY, orjson.dumps({"code": code})))
        if code != 0:
            await ws.close()
            return False
        conn.authenticated = True
        self.notify()
        return True

    async def serve(self, ws: web.WebSocketResponse, conn: FakeConnection, request: web.Request) -> None:
        sender = asyncio.create_task(self.send_queued(ws, conn, request))
        try:
            async for message in ws:
                if message.type != WSMsgType.BINARY:
                    continue
                for packet in proto.decode_packets(message.data):
                    if packet.operation == proto.Op.HEARTBEAT:
                        conn.heartbeats += 1
                        self.notify()
                        if self.answer_heartbeats:
                            await ws.send_bytes(self.heartbeat_reply())
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)

    def heartbeat_reply(self) -> bytes:
        """Op 3 as the real server sends it: length covers the popularity only, heartbeat echoed after."""
        popularity = self.popularity.to_bytes(4, "big")
        header = proto.HEADER.pack(proto.HEADER_SIZE + 4, proto.HEADER_SIZE, 1, proto.Op.HEARTBEAT_REPLY, 1)
        return header + popularity + proto.HEARTBEAT_BODY

    async def send_queued(self, ws: web.WebSocketResponse, conn: FakeConnection, request: web.Request) -> None:
        """Send queued frames in order; a DROP closes the TCP connection (frames before it flushed)."""
        while not ws.closed:
            if not self._outbox:
                self._changed.clear()
                await self._changed.wait()
                continue
            item = self._outbox.popleft()
            if item is DROP:
                conn.closed = True
                self.notify()
                assert request.transport is not None
                request.transport.close()
                return
            await ws.send_bytes(item)
            conn.frames_sent += 1
            self.notify()
