"""Bilibili live open platform (开放平台) danmaku client: one connector per anchor room.

Lifecycle: signed ``app/start`` (anchor identity code -> game id, websocket links, auth body),
an ``app/heartbeat`` every 20 s, the websocket (auth, heartbeat every 30 s, commands), and
``app/end`` on stop. A dropped websocket is reconnected with backoff and jitter on the same
game; a game the platform ended (INTERACTION_END, codes 7000/7003, a refused auth) is started
again. The connector never gives up: every retry is logged with its room.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson

from livebot.chat.errors import Overloaded
from livebot.chat.event import ChatEvent, ChatUser
from livebot.chat.sources import bilibili_protocol as proto
from livebot.chat.sources.base import EventSink, Source
from livebot.config import SourceSettings, secret
from livebot.errors import ConfigError, LivebotError
from livebot.retry import Backoff, RetryPolicy

logger = logging.getLogger(__name__)

RECENT_IDS = 4096
SUBMIT_ATTEMPTS = 3
AUTH_TIMEOUT = 10.0


@dataclass(frozen=True)
class BilibiliSettings:
    """``[[sources]]`` keys of ``type = "bilibili"``."""

    app_id: int
    code: str = secret()
    access_key_id: str = secret()
    access_key_secret: str = secret()
    api_base: str = "https://live-open.biliapi.com"
    app_heartbeat_seconds: float = 20.0
    ws_heartbeat_seconds: float = 30.0
    request_timeout: float = 10.0
    reconnect_base_seconds: float = 1.0
    reconnect_max_seconds: float = 60.0

    def __post_init__(self) -> None:
        for name in ("code", "access_key_id", "access_key_secret"):
            if not getattr(self, name):
                raise ConfigError(name, "must not be empty")
        if not self.api_base.startswith(("http://", "https://")):
            raise ConfigError("api_base", "must be an http(s) URL")
        for name in ("app_heartbeat_seconds", "ws_heartbeat_seconds", "request_timeout",
                     "reconnect_base_seconds", "reconnect_max_seconds"):
            if getattr(self, name) <= 0:
                raise ConfigError(name, "must be greater than 0")
        if self.reconnect_max_seconds < self.reconnect_base_seconds:
            raise ConfigError("reconnect_max_seconds", "must be at least reconnect_base_seconds")


class BilibiliError(LivebotError):
    """The open platform refused a request or answered something unusable."""

    def __init__(self, path: str, code: int | str, message: str = "") -> None:
        super().__init__(f"{path}: code {code} {message}".strip())
        self.path = path
        self.code = code


class GameEnded(LivebotError):
    """The platform ended the session (INTERACTION_END, 7000/7003, refused auth): start again."""


class ConnectionLost(LivebotError):
    """The websocket closed or went silent; reconnect to the same game."""


@dataclass(frozen=True)
class Game:
    """What ``app/start`` hands out for one session."""

    game_id: str
    auth_body: str
    links: tuple[str, ...]
    room_id: str

    @classmethod
    def from_start(cls, data: Mapping[str, Any]) -> Game:
        try:
            ws = data["websocket_info"]
            links = tuple(str(link) for link in ws["wss_link"])
            game = cls(
                game_id=str(data.get("game_info", {}).get("game_id", "")),
                auth_body=str(ws["auth_body"]),
                links=links,
                room_id=str(data.get("anchor_info", {}).get("room_id", "")),
            )
        except (KeyError, TypeError, AttributeError) as err:
            raise BilibiliError("/v2/app/start", "malformed", f"missing {err}") from err
        if not game.links or not game.auth_body:
            raise BilibiliError("/v2/app/start", "malformed", "no websocket link or auth body")
        return game


class BilibiliSource(Source):
    """Connector for one anchor's room; ``run()`` lasts until the app cancels it."""

    type_name = "bilibili"
    Settings = BilibiliSettings
    options: BilibiliSettings

    def __init__(self, settings: SourceSettings, index: int, sink: EventSink) -> None:
        super().__init__(settings, index, sink)
        opts = self.options
        self.retry_delay: RetryPolicy = Backoff(opts.reconnect_base_seconds, opts.reconnect_max_seconds)
        self.receive_timeout = opts.ws_heartbeat_seconds + 5
        self.retries = 0
        self.reconnects = 0
        self.connected = False
        self.game: Game | None = None
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._room = ""
        self._ended = asyncio.Event()
        self._recent: deque[str] = deque(maxlen=RECENT_IDS)
        self._recent_set: set[str] = set()

    @property
    def room(self) -> str:
        """The room id once known (for log lines), else the source id."""
        return self._room or "?"

    # -- lifecycle ---------------------------------------------------------------------

    async def run(self) -> None:
        """Start the game and keep the room connected, restarting whatever ends."""
        if self._http is None:  # run() may be restarted by the supervisor: keep one session
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.options.request_timeout))
        while True:
            try:
                self.game = await self.start_game()
                await self.follow_game(self.game)
            except GameEnded as err:
                logger.warning("source=%s room=%s game ended (%s): starting again", self.id, self.room, err)
                await self.end_game()
            except (TimeoutError, BilibiliError, aiohttp.ClientError) as err:
                logger.warning("source=%s room=%s app/start failed: %s", self.id, self.room, err)
            except Exception:
                logger.exception("source=%s room=%s unexpected failure: starting again", self.id, self.room)
                await self.end_game()
            await self.pause_before_retry("start again")

    async def close(self) -> None:
        """End the game on the platform (so the room can be joined again at once) and close HTTP."""
        if self._ws is not None:
            await self._ws.close()
        if self._http is None:
            return
        await self.end_game()
        await self._http.close()
        self._http = None

    async def end_game(self) -> None:
        """``app/end`` for the current game, best effort: the platform may already have ended it."""
        game, self.game = self.game, None
        if game is None or not game.game_id or self._http is None:
            return
        try:
            await self.call("/v2/app/end", {"app_id": self.options.app_id, "game_id": game.game_id})
            logger.info("source=%s room=%s game %s ended", self.id, game.room_id, game.game_id)
        except (TimeoutError, GameEnded, BilibiliError, aiohttp.ClientError) as err:
            logger.info("source=%s room=%s app/end for game %s: %s", self.id, game.room_id, game.game_id, err)

    async def pause_before_retry(self, what: str) -> None:
        """Sleep by the retry policy; the count resets after a good message."""
        self.retries += 1
        delay = self.retry_delay(self.retries)
        logger.warning("source=%s room=%s %s in %.1fs (attempt %d)", self.id, self.room, what, delay, self.retries)
        await asyncio.sleep(delay)

    # -- HTTP API ----------------------------------------------------------------------

    async def call(self, path: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """A signed POST to the open platform; raises :class:`BilibiliError` unless code 0."""
        assert self._http is not None
        body = orjson.dumps(payload)
        headers = proto.signed_headers(body, self.options.access_key_id, self.options.access_key_secret)
        async with self._http.post(self.options.api_base.rstrip("/") + path, data=body, headers=headers) as resp:
            if resp.status != 200:
                raise BilibiliError(path, f"HTTP {resp.status}")
            try:
                answer = orjson.loads(await resp.read())
            except orjson.JSONDecodeError as err:
                raise BilibiliError(path, "malformed", "answer is not JSON") from err
        if not isinstance(answer, dict):
            raise BilibiliError(path, "malformed", "answer is not an object")
        code = answer.get("code")
        if code != 0:
            if code in proto.SESSION_ENDED_CODES:
                raise GameEnded(f"{path}: code {code}")
            raise BilibiliError(path, code if isinstance(code, int) else "missing", str(answer.get("message", "")))
        data = answer.get("data")
        return data if isinstance(data, dict) else {}

    async def start_game(self) -> Game:
        """``app/start`` with the anchor's identity code."""
        data = await self.call("/v2/app/start", {"code": self.options.code, "app_id": self.options.app_id})
        game = Game.from_start(data)
        self._room = game.room_id
        logger.info("source=%s room=%s game %s started (%d links)", self.id, game.room_id, game.game_id, len(game.links))
        return game

    async def keep_game_alive(self, game: Game) -> None:
        """``app/heartbeat`` every 20 s; a session-ended answer stops the websocket."""
        while True:
            await asyncio.sleep(self.options.app_heartbeat_seconds)
            try:
                await self.call("/v2/app/heartbeat", {"game_id": game.game_id})
            except GameEnded as err:
                logger.warning("source=%s room=%s app heartbeat: session ended (%s)", self.id, game.room_id, err)
                self._ended.set()
                if self._ws is not None:
                    await self._ws.close()
                return
            except (TimeoutError, BilibiliError, aiohttp.ClientError) as err:
                logger.warning("source=%s room=%s app heartbeat failed: %s", self.id, game.room_id, err)

    # -- websocket ---------------------------------------------------------------------

    async def follow_game(self, game: Game) -> None:
        """Keep a websocket open for ``game``, reconnecting until the game ends."""
        self._ended.clear()
        keepalive = asyncio.create_task(self.keep_game_alive(game)) if game.game_id else None
        try:
            while True:
                if self._ended.is_set():
                    raise GameEnded("app heartbeat reported the session ended")
                link = game.links[self.retries % len(game.links)]
                try:
                    await self.read_room(game, link)
                except (TimeoutError, ConnectionLost, aiohttp.ClientError, OSError) as err:
                    if self._ended.is_set():
                        raise GameEnded("app heartbeat reported the session ended") from err
                    self.reconnects += 1
                    logger.warning("source=%s room=%s websocket lost: %s", self.id, game.room_id, err or type(err).__name__)
                await self.pause_before_retry("reconnecting")
        finally:
            if keepalive is not None:
                keepalive.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keepalive

    async def read_room(self, game: Game, link: str) -> None:
        """One websocket connection: auth, heartbeats, commands. Always ends with an exception."""
        assert self._http is not None
        async with self._http.ws_connect(link, autoping=True, max_msg_size=proto.MAX_PACKET_BYTES) as ws:
            self._ws = ws
            pinger: asyncio.Task[None] | None = None
            try:
                await ws.send_bytes(proto.auth_packet(game.auth_body))
                await self.await_auth(ws, game)
                if self._ended.is_set():
                    raise GameEnded("app heartbeat reported the session ended")
                self.connected = True
                pinger = asyncio.create_task(self.ping(ws, game))
                while True:
                    message = await ws.receive(timeout=self.receive_timeout)
                    await self.on_message(message, game)
            finally:
                self.connected = False
                self._ws = None
                if pinger is not None:
                    pinger.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await pinger

    async def await_auth(self, ws: aiohttp.ClientWebSocketResponse, game: Game) -> None:
        """Wait for the op-8 auth reply; a refusal means the auth body is stale: restart the game."""
        message = await ws.receive(timeout=AUTH_TIMEOUT)
        if message.type != aiohttp.WSMsgType.BINARY:
            raise ConnectionLost(f"no auth reply ({message.type.name})")
        try:
            packets = proto.decode_packets(message.data)
        except proto.ProtocolError as err:
            raise ConnectionLost(f"malformed auth reply: {err}") from err
        reply = next((p for p in packets if p.operation == proto.Op.AUTH_REPLY), None)
        if reply is None:
            raise ConnectionLost("first packet was not an auth reply")
        code = json_object(reply.body).get("code")
        if code != 0:
            raise GameEnded(f"websocket auth refused (code {code})")
        logger.info("source=%s room=%s websocket authenticated", self.id, game.room_id)

    async def ping(self, ws: aiohttp.ClientWebSocketResponse, game: Game) -> None:
        """Op-2 heartbeat now and every ``ws_heartbeat_seconds``; the server answers with op 3."""
        while not ws.closed:
            try:
                await ws.send_bytes(proto.heartbeat_packet())
            except (aiohttp.ClientError, ConnectionError) as err:
                logger.warning("source=%s room=%s heartbeat not sent: %s", self.id, game.room_id, err)
                return
            await asyncio.sleep(self.options.ws_heartbeat_seconds)

    async def on_message(self, message: aiohttp.WSMessage, game: Game) -> None:
        """Route one websocket message; malformed frames are logged and skipped."""
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
            raise ConnectionLost(f"closed by server (code {message.data})")
        if message.type == aiohttp.WSMsgType.ERROR:
            raise ConnectionLost(f"websocket error: {message.data}")
        if message.type != aiohttp.WSMsgType.BINARY:
            logger.warning("source=%s room=%s ignored %s websocket message", self.id, game.room_id, message.type.name)
            return
        try:
            packets = proto.decode_packets(message.data)
        except proto.ProtocolError as err:
            logger.warning("source=%s room=%s skipped malformed frame (%d bytes): %s",
                           self.id, game.room_id, len(message.data), err)
            return
        self.retries = 0
        events, ended = self.events_from(packets, game)
        await self.deliver(events, game)
        if ended:
            raise GameEnded("INTERACTION_END")

    def events_from(self, packets: Sequence[proto.Packet], game: Game) -> tuple[list[ChatEvent], bool]:
        """Chat events of the command packets, and whether INTERACTION_END was among them."""
        events: list[ChatEvent] = []
        ended = False
        for packet in packets:
            if packet.operation != proto.Op.COMMAND:
                continue
            command = json_object(packet.body)
            name = proto.command_name(str(command.get("cmd", "")))
            data = command.get("data")
            if name == "LIVE_OPEN_PLATFORM_INTERACTION_END":
                ended = True
                continue
            if not isinstance(data, dict):
                if name:
                    logger.warning("source=%s room=%s command %s without data", self.id, game.room_id, name)
                else:
                    logger.warning("source=%s room=%s skipped a packet that is not a command", self.id, game.room_id)
                continue
            mapper = COMMANDS.get(name)
            if mapper is None:
                continue
            try:
                event = mapper(self.id, game, data)
            except (TypeError, ValueError, KeyError) as err:
                logger.warning("source=%s room=%s skipped malformed %s: %s", self.id, game.room_id, name, err)
                continue
            if self.remember(event.id):
                events.append(event)
        return events, ended

    def remember(self, event_id: str) -> bool:
        """False for an id this connector already emitted (a server re-send after a reconnect)."""
        if event_id in self._recent_set:
            return False
        if len(self._recent) == self._recent.maxlen:
            self._recent_set.discard(self._recent[0])
        self._recent.append(event_id)
        self._recent_set.add(event_id)
        return True

    async def deliver(self, events: list[ChatEvent], game: Game) -> None:
        """Hand events to the sink, waiting out a full writer queue a few times.

        A storage failure is logged loudly and the events are dropped: the danmaku stream
        cannot be rewound, and blocking longer would get the websocket dropped as well.
        """
        if not events:
            return
        for attempt in range(1, SUBMIT_ATTEMPTS + 1):
            try:
                await self.sink.submit(events)
                return
            except Overloaded as err:
                if attempt == SUBMIT_ATTEMPTS:
                    problem: LivebotError = err
                    break
                logger.warning("source=%s room=%s ingest overloaded, retry in %ss", self.id, game.room_id, err.retry_after)
                await asyncio.sleep(err.retry_after)
            except LivebotError as err:
                problem = err
                break
        logger.error("source=%s room=%s lost %d events: sink failed: %s", self.id, game.room_id, len(events), problem)


# -- commands -> ChatEvent ------------------------------------------------------------


def json_object(body: bytes) -> dict[str, Any]:
    """A JSON object from a packet body, or ``{}`` for anything else."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def when(data: Mapping[str, Any]) -> datetime:
    """The command's ``timestamp`` (seconds) in UTC, or now when absent or absurd."""
    ts = data.get("timestamp")
    if isinstance(ts, int | float) and not isinstance(ts, bool) and 0 < ts < 1e11:
        return datetime.fromtimestamp(ts, UTC)
    return datetime.now(UTC)


def text_field(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str | int):
        raise TypeError(f"{key} is {type(value).__name__}")
    return str(value)


def int_field(data: Mapping[str, Any], key: str, default: int = 0) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{key} is {type(value).__name__}")
    return int(value)


def event_id(data: Mapping[str, Any], kind: str) -> str:
    """The platform's ``msg_id``, or a stable stand-in for commands sent without one."""
    msg_id = text_field(data, "msg_id")
    if msg_id:
        return msg_id
    return f"{kind}-{text_field(data, 'open_id')}-{data.get('timestamp', '')}"


def channel(data: Mapping[str, Any], game: Game) -> str:
    room = data.get("room_id")
    return str(room) if isinstance(room, int | str) and room != "" else game.room_id


def base_event(source: str, game: Game, data: Mapping[str, Any], kind: str, **fields: Any) -> ChatEvent:
    return ChatEvent(
        source=source, id=event_id(data, kind), platform="bilibili", channel=channel(data, game), kind=kind,
        ts=when(data), user=ChatUser(id=text_field(data, "open_id"), name=text_field(data, "uname")),
        raw=dict(data), **fields,
    )


def danmaku(source: str, game: Game, data: Mapping[str, Any]) -> ChatEvent:
    """``LIVE_OPEN_PLATFORM_DM``: a comment (emoji danmaku keep their text, e.g. ``[dog]``)."""
    if not text_field(data, "msg_id"):
        raise ValueError("danmaku without msg_id")
    return base_event(source, game, data, "comment", text=text_field(data, "msg"))


def gift(source: str, game: Game, data: Mapping[str, Any]) -> ChatEvent:
    """``LIVE_OPEN_PLATFORM_SEND_GIFT``: value in fen (r_price 1000 = 1 yuan), free gifts 0."""
    count = int_field(data, "gift_num", 1)
    unit = int_field(data, "r_price", int_field(data, "price"))
    value = unit * count // 10 if data.get("paid") else 0
    return base_event(source, game, data, "gift", text=text_field(data, "gift_name"), count=count, value=value)


def like(source: str, game: Game, data: Mapping[str, Any]) -> ChatEvent:
    """``LIVE_OPEN_PLATFORM_LIKE``: likes of one user merged over 2 s."""
    return base_event(source, game, data, "like", count=int_field(data, "like_count", 1))


def enter(source: str, game: Game, data: Mapping[str, Any]) -> ChatEvent:
    """``LIVE_OPEN_PLATFORM_LIVE_ROOM_ENTER``."""
    return base_event(source, game, data, "enter")


def super_chat(source: str, game: Game, data: Mapping[str, Any]) -> ChatEvent:
    """``LIVE_OPEN_PLATFORM_SUPER_CHAT`` (醒目留言): a paid comment, value in fen."""
    return base_event(source, game, data, "comment", text=text_field(data, "message"),
                      value=int_field(data, "rmb") * 100)


def guard(source: str, game: Game, data: Mapping[str, Any]) -> ChatEvent:
    """``LIVE_OPEN_PLATFORM_GUARD``: a guard purchase counted as a gift (price 1000 = 1 yuan)."""
    user = data.get("user_info")
    flat = {**data, **(user if isinstance(user, dict) else {})}
    count = int_field(data, "guard_num", 1)
    return base_event(source, game, flat, "gift", text="大航海", count=count, value=int_field(data, "price") // 10)


COMMANDS: dict[str, Callable[[str, Game, Mapping[str, Any]], ChatEvent]] = {
    "LIVE_OPEN_PLATFORM_DM": danmaku,
    "LIVE_OPEN_PLATFORM_SEND_GIFT": gift,
    "LIVE_OPEN_PLATFORM_LIKE": like,
    "LIVE_OPEN_PLATFORM_LIVE_ROOM_ENTER": enter,
    "LIVE_OPEN_PLATFORM_SUPER_CHAT": super_chat,
    "LIVE_OPEN_PLATFORM_GUARD": guard,
}
