"""WeChat Customer Service through WeCom (微信客服): encrypted callback, then ``sync_msg`` pulls.

WeCom calls ``/api/v1/sources/{source_id}/wecom``: a GET to verify the URL (answer the
decrypted ``echostr`` alone) and a POST per event. The POST only says "there are messages"
(``kf_msg_or_event`` with a short-lived ``Token`` and the ``OpenKfId``): it is answered with an
empty 200 at once, and a background task tracked by the source pulls the messages with
``kf/sync_msg`` from the durable cursor (``source_state``), so a restart resumes where it
stopped. Customer messages become ``ChatEvent(platform="wecom", channel=open_kfid,
user.id=external_userid)``; non-text messages keep their payload in ``raw`` and get a
placeholder text such as ``[图片]``.

Text in WeCom customer *groups* is never pushed by WeCom; groups reach livebot through the
``webhook`` source from a relay.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import aiohttp
from aiohttp import web

from livebot.appkeys import DATABASE
from livebot.auth.access import csrf_exempt
from livebot.background import TaskSet
from livebot.chat import source_state
from livebot.chat.errors import IngestUnavailable, Overloaded
from livebot.chat.event import ChatEvent, ChatUser
from livebot.chat.sources.base import EventSink, Source
from livebot.chat.sources.wecom_api import DEFAULT_API_BASE, WecomApi, WecomApiError
from livebot.chat.sources.wecom_crypto import (
    CallbackDecryptError,
    CallbackSignatureError,
    MalformedXml,
    WecomCrypto,
    aes_key,
    parse_xml,
)
from livebot.config import SourceSettings
from livebot.config import secret as secret_field
from livebot.errors import ConfigError
from livebot.retry import Backoff, RetryPolicy
from livebot.web.openapi import error_responses

logger = logging.getLogger(__name__)

CALLBACK_PATH = "/api/v1/sources/{source_id}/wecom"
CUSTOMER_ORIGIN = 3
"""``origin`` of messages a WeChat customer sent (4: system events, 5: our own servicers' replies)."""
EXPIRED_SYNC_TOKEN = 95007
MAX_PAGES_PER_PULL = 100
PULL_ATTEMPTS = 5
RECENT_IDS = 8192
NAME_CACHE = 10_000
PLACEHOLDERS = {
    "image": "[图片]", "voice": "[语音]", "video": "[视频]", "file": "[文件]", "location": "[位置]",
    "link": "[链接]", "business_card": "[名片]", "miniprogram": "[小程序]", "msgmenu": "[菜单消息]",
    "channels_shop_product": "[视频号商品]", "channels_shop_order": "[视频号订单]", "merged_msg": "[聊天记录]",
    "channels": "[视频号]", "note": "[笔记]", "emotion": "[表情]",
}


@dataclass(frozen=True)
class WecomKfSettings:
    """``[[sources]]`` keys of ``type = "wecom_kf"``."""

    corp_id: str
    secret: str = secret_field()
    token: str = secret_field()
    encoding_aes_key: str = secret_field()
    api_base: str = DEFAULT_API_BASE
    open_kfids: tuple[str, ...] = ()
    sync_limit: int = 1000
    max_body_bytes: int = 65_536
    max_clock_skew_seconds: int = 300
    max_backlog_seconds: int = 3600
    poll_seconds: float = 0.0
    fetch_nicknames: bool = True
    request_timeout: float = 10.0

    def __post_init__(self) -> None:
        for name in ("corp_id", "secret", "token"):
            if not getattr(self, name):
                raise ConfigError(name, "must not be empty")
        try:
            aes_key(self.encoding_aes_key)
        except ValueError as err:
            raise ConfigError("encoding_aes_key", str(err)) from err
        if not self.api_base.startswith(("http://", "https://")):
            raise ConfigError("api_base", "must be an http(s) URL")
        if not 1 <= self.sync_limit <= 1000:
            raise ConfigError("sync_limit", "must be 1..1000")
        if not 512 <= self.max_body_bytes <= 1_048_576:
            raise ConfigError("max_body_bytes", "must be 512..1048576")
        for name in ("max_clock_skew_seconds", "max_backlog_seconds", "poll_seconds"):
            if getattr(self, name) < 0:
                raise ConfigError(name, "must not be negative (0 turns it off)")
        if self.request_timeout <= 0:
            raise ConfigError("request_timeout", "must be greater than 0")


def error_response(status: int, message: str, field: str = "") -> web.Response:
    body: dict[str, str] = {"error": message}
    if field:
        body["field"] = field
    return web.json_response(body, status=status)


def raw_query(request: web.Request) -> dict[str, str]:
    """Query parameters decoded with ``unquote`` (not ``unquote_plus``): a ``+`` in ``echostr`` stays."""
    params: dict[str, str] = {}
    for part in request.rel_url.raw_query_string.split("&"):
        name, _, value = part.partition("=")
        if name:
            params.setdefault(unquote(name), unquote(value))
    return params


class WecomKfSource(Source):
    """One WeCom corp's 微信客服 accounts; ``routes()`` serves the callback, pulls run in the background."""

    type_name = "wecom_kf"
    Settings = WecomKfSettings
    options: WecomKfSettings
    openapi = {
        CALLBACK_PATH: {
            "get": {
                "summary": "WeCom URL verification (echostr)",
                "description": "Answers the decrypted echostr as text/plain. Signed by msg_signature.",
                "security": [],
                "parameters": [
                    {"name": "source_id", "in": "path", "required": True, "schema": {"type": "string"}},
                    *({"name": n, "in": "query", "required": True, "schema": {"type": "string"}}
                      for n in ("msg_signature", "timestamp", "nonce", "echostr")),
                ],
                "responses": {"200": {"description": "The plaintext echostr", "content": {"text/plain": {}}},
                              **error_responses(400, 401, 404)},
            },
            "post": {
                "summary": "WeCom 微信客服 event callback (encrypted XML)",
                "description": "Verifies and decrypts the event, answers an empty 200 at once and pulls "
                               "messages with kf/sync_msg in the background.",
                "security": [],
                "parameters": [
                    {"name": "source_id", "in": "path", "required": True, "schema": {"type": "string"}},
                    *({"name": n, "in": "query", "required": True, "schema": {"type": "string"}}
                      for n in ("msg_signature", "timestamp", "nonce")),
                ],
                "requestBody": {"content": {"text/xml": {}}},
                "responses": {"200": {"description": "Accepted (empty body)"},
                              **error_responses(400, 401, 404, 413)},
            },
        }
    }

    def __init__(self, settings: SourceSettings, index: int, sink: EventSink) -> None:
        super().__init__(settings, index, sink)
        opts = self.options
        self.crypto = WecomCrypto(opts.token, opts.encoding_aes_key, opts.corp_id)
        self.clock: Callable[[], float] = time.time
        self.retry_delay: RetryPolicy = Backoff(1.0, 30.0, jitter=0.0)
        self.close_grace = 5.0
        self.api: WecomApi | None = None
        self._closing = False
        self._http: aiohttp.ClientSession | None = None
        self._tasks = TaskSet(f"wecom-kf:{self.id}")
        self._pulling: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._sync_tokens: dict[str, str] = {}
        self._known_kfids: set[str] = set(opts.open_kfids)
        self._memory_cursors: dict[str, str] = {}
        self._recent: deque[str] = deque(maxlen=RECENT_IDS)
        self._recent_set: set[str] = set()
        self._names: dict[str, str] = {}

    # -- lifecycle ---------------------------------------------------------------------

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.route("GET", CALLBACK_PATH, self.verify_url), web.route("POST", CALLBACK_PATH, self.callback)]

    async def run(self) -> None:
        """Catch up on configured accounts; then poll every ``poll_seconds`` if set, else return."""
        for open_kfid in sorted(self._known_kfids):
            self.schedule_pull(open_kfid)
        if not self.options.poll_seconds:
            return
        while True:
            await asyncio.sleep(self.options.poll_seconds)
            for open_kfid in sorted(self._known_kfids):
                self.schedule_pull(open_kfid)

    async def close(self) -> None:
        """Let running pulls finish for ``close_grace`` seconds, cancel the rest, close HTTP.

        Waiting first matters: a pull cancelled inside a database write can strand a
        connection; a cancelled pull loses nothing (the cursor only moves after a stored page).
        """
        self._closing = True
        tasks = list(self._tasks)
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=self.close_grace)
            for task in pending:
                logger.warning("source=%s cancelling a sync_msg pull still running at shutdown", self.id)
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
            self._http = None
            self.api = None

    async def idle(self) -> None:
        """Until no pull is running (tests and graceful shutdown)."""
        await self._tasks.drained()

    def wecom_api(self) -> WecomApi:
        """The API client, created on first use inside the running loop."""
        if self.api is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.options.request_timeout))
            self.api = WecomApi(self._http, self.options.corp_id, self.options.secret, self.options.api_base)
        return self.api

    # -- callback ----------------------------------------------------------------------

    def check_request(self, params: Mapping[str, str], encrypt: str) -> None:
        """Signature and timestamp window; raises :class:`CallbackSignatureError`."""
        timestamp = params.get("timestamp", "")
        if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
            raise CallbackSignatureError("timestamp must be unix seconds")
        skew = self.options.max_clock_skew_seconds
        if skew and abs(self.clock() - int(timestamp)) > skew:
            raise CallbackSignatureError(f"timestamp is more than {skew} s away from server time")
        self.crypto.verify(params.get("msg_signature", ""), timestamp, params.get("nonce", ""), encrypt)

    @csrf_exempt
    async def verify_url(self, request: web.Request) -> web.Response:
        """GET: WeCom checks the URL; answer the decrypted echostr, nothing else."""
        params = raw_query(request)
        for name in ("msg_signature", "timestamp", "nonce", "echostr"):
            if not params.get(name):
                return error_response(400, f"missing query parameter {name}", name)
        try:
            self.check_request(params, params["echostr"])
            plain = self.crypto.decrypt(params["echostr"])
        except CallbackSignatureError as err:
            logger.warning("source=%s URL verification refused: %s", self.id, err)
            return error_response(401, str(err))
        except CallbackDecryptError as err:
            logger.warning("source=%s URL verification: %s", self.id, err)
            return error_response(400, err.problem, err.field)
        logger.info("source=%s WeCom URL verified", self.id)
        return web.Response(body=plain, content_type="text/plain")

    @csrf_exempt
    async def callback(self, request: web.Request) -> web.Response:
        """POST: verify, decrypt, start a background pull, answer an empty 200 at once."""
        limit = self.options.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return error_response(413, f"body larger than {limit} bytes")
        body = bytearray()
        async for chunk in request.content.iter_chunked(8192):
            body += chunk
            if len(body) > limit:
                return error_response(413, f"body larger than {limit} bytes")
        params = raw_query(request)
        try:
            outer = parse_xml(bytes(body), limit)
            encrypt = outer.get("Encrypt", "")
            if not encrypt:
                return error_response(400, "missing Encrypt", "Encrypt")
            self.check_request(params, encrypt)
            event = parse_xml(self.crypto.decrypt(encrypt), limit)
        except CallbackSignatureError as err:
            logger.warning("source=%s callback refused: %s", self.id, err)
            return error_response(401, str(err))
        except (MalformedXml, CallbackDecryptError) as err:
            logger.warning("source=%s malformed callback: %s", self.id, err)
            return error_response(400, err.problem, err.field)
        self.on_event(event)
        return web.Response(status=200, text="")

    def on_event(self, event: Mapping[str, str]) -> None:
        """``kf_msg_or_event`` starts a pull for its account; other events are only logged."""
        if event.get("MsgType") == "event" and event.get("Event") == "kf_msg_or_event":
            open_kfid = event.get("OpenKfId", "")
            if not open_kfid:
                logger.warning("source=%s kf_msg_or_event without OpenKfId", self.id)
                return
            self.schedule_pull(open_kfid, event.get("Token", ""))
            return
        logger.info("source=%s ignored WeCom callback MsgType=%s Event=%s", self.id,
                    event.get("MsgType", "")[:32], event.get("Event", "")[:32])

    # -- pulling -----------------------------------------------------------------------

    def schedule_pull(self, open_kfid: str, sync_token: str = "") -> None:
        """Pull ``open_kfid`` in the background; a pull already running goes round once more."""
        if self._closing:
            return
        self._known_kfids.add(open_kfid)
        if sync_token:
            self._sync_tokens[open_kfid] = sync_token
        if open_kfid in self._pulling:
            self._again.add(open_kfid)
            return
        task = self._tasks.spawn(self.pull_loop(open_kfid), f"pull:{open_kfid}")
        self._pulling[open_kfid] = task
        task.add_done_callback(lambda t: self.pull_done(open_kfid, t))

    def pull_done(self, open_kfid: str, task: asyncio.Task[None]) -> None:
        if self._pulling.get(open_kfid) is task:
            del self._pulling[open_kfid]

    async def pull_loop(self, open_kfid: str) -> None:
        """Pull until no callback arrived meanwhile; failures retry with backoff, then wait for the next callback."""
        attempt = 0
        while True:
            self._again.discard(open_kfid)
            try:
                await self.pull(open_kfid)
                attempt = 0
            except (TimeoutError, WecomApiError, IngestUnavailable, aiohttp.ClientError) as err:
                attempt += 1
                if attempt >= PULL_ATTEMPTS:
                    logger.error("source=%s open_kfid=%s sync_msg failed %d times, waiting for the next callback: %s",
                                 self.id, open_kfid, attempt, err)
                    return
                delay = self.retry_delay(attempt)
                logger.warning("source=%s open_kfid=%s sync_msg failed (attempt %d), retry in %.1fs: %s",
                               self.id, open_kfid, attempt, delay, err)
                await asyncio.sleep(delay)
                self._again.add(open_kfid)
            except Exception:
                logger.exception("source=%s open_kfid=%s pull crashed", self.id, open_kfid)
                return
            if open_kfid not in self._again:
                return

    async def pull(self, open_kfid: str) -> int:
        """Every page after the stored cursor; the cursor advances only after a page is stored."""
        api = self.wecom_api()
        cursor = await self.load_cursor(open_kfid)
        delivered = 0
        for _page in range(MAX_PAGES_PER_PULL):
            page = await self.sync_page(api, cursor, open_kfid)
            messages = [m for m in page.get("msg_list") or [] if isinstance(m, dict)]
            events = await self.events_from(messages)
            await self.deliver(events)
            delivered += len(events)
            next_cursor = page.get("next_cursor")
            if isinstance(next_cursor, str) and next_cursor and next_cursor != cursor:
                cursor = next_cursor
                await self.save_cursor(open_kfid, cursor)
            if not page.get("has_more"):
                return delivered
        self._again.add(open_kfid)
        return delivered

    async def sync_page(self, api: WecomApi, cursor: str, open_kfid: str) -> dict[str, Any]:
        """``sync_msg`` with the callback's token; without it once that token has expired."""
        token = self._sync_tokens.get(open_kfid, "")
        try:
            return await api.sync_msg(cursor, token, self.options.sync_limit, open_kfid)
        except WecomApiError as err:
            if not token or err.errcode != EXPIRED_SYNC_TOKEN:
                raise
            self._sync_tokens.pop(open_kfid, None)
            return await api.sync_msg(cursor, "", self.options.sync_limit, open_kfid)

    async def deliver(self, events: list[ChatEvent]) -> None:
        """Submit, waiting out a full writer queue; IngestUnavailable propagates (cursor stays)."""
        if not events:
            return
        for _ in range(5):
            try:
                await self.sink.submit(events)
                for event in events:
                    self.remember(event.id)
                return
            except Overloaded as err:
                logger.warning("source=%s ingest overloaded, retry in %ss", self.id, err.retry_after)
                await asyncio.sleep(err.retry_after)
        raise IngestUnavailable("ingest stayed overloaded")

    def cursor_key(self, open_kfid: str) -> str:
        return f"sync_cursor:{open_kfid}"

    async def load_cursor(self, open_kfid: str) -> str:
        if self.app is None:
            return self._memory_cursors.get(open_kfid, "")
        return await source_state.get(self.app[DATABASE], self.id, self.cursor_key(open_kfid)) or ""

    async def save_cursor(self, open_kfid: str, cursor: str) -> None:
        if self.app is None:
            self._memory_cursors[open_kfid] = cursor
            return
        await source_state.put(self.app[DATABASE], self.id, self.cursor_key(open_kfid), cursor)

    # -- messages -> ChatEvent ---------------------------------------------------------

    async def events_from(self, messages: list[dict[str, Any]]) -> list[ChatEvent]:
        """Customer messages and session entries as events, new ones only, with nicknames."""
        wanted = [m for m in map(KfMessage.of, messages) if m is not None and self.is_wanted(m)]
        names = await self.nicknames([m.customer for m in wanted])
        events: list[ChatEvent] = []
        batch: set[str] = set()
        for message in wanted:
            try:
                event = self.event_from(message, names)
            except (TypeError, ValueError) as err:
                logger.warning("source=%s skipped malformed message %s: %s", self.id, message.msgid[:64], err)
                continue
            if event.id not in self._recent_set and event.id not in batch:
                batch.add(event.id)
                events.append(event)
        return events

    def is_wanted(self, message: KfMessage) -> bool:
        """Customer messages and enter_session events, not older than the backlog limit."""
        if not (message.entered if message.msgtype == "event" else message.origin == CUSTOMER_ORIGIN):
            return False
        backlog = self.options.max_backlog_seconds
        return not (backlog and message.send_time is not None and message.send_time < self.clock() - backlog)

    def event_from(self, message: KfMessage, names: Mapping[str, str]) -> ChatEvent:
        if not message.customer:
            raise ValueError("no external_userid")
        kind, text = ("enter", "") if message.msgtype == "event" else ("comment", message_text(message.raw))
        sent = message.send_time
        ts = datetime.fromtimestamp(sent, UTC) if sent is not None and 0 < sent < 1e11 else datetime.now(UTC)
        return ChatEvent(source=self.id, id=message.msgid, platform="wecom", channel=message.open_kfid, kind=kind,
                         ts=ts, user=ChatUser(id=message.customer, name=names.get(message.customer, "")), text=text,
                         raw=dict(message.raw))

    async def nicknames(self, user_ids: list[str]) -> dict[str, str]:
        """Cached nicknames; unknown ones fetched in one batch, best effort (names are cosmetic)."""
        missing = [u for u in dict.fromkeys(user_ids) if u and u not in self._names]
        if missing and self.options.fetch_nicknames:
            try:
                found = await self.wecom_api().nicknames(missing)
            except (TimeoutError, WecomApiError, aiohttp.ClientError) as err:
                logger.warning("source=%s nicknames unavailable: %s", self.id, err)
                found = {}
            if len(self._names) + len(found) > NAME_CACHE:
                self._names.clear()
            self._names.update({u: found.get(u, "") for u in missing} if found else {})
        return {u: self._names.get(u, "") for u in user_ids}

    def remember(self, msgid: str) -> None:
        """Note a stored msgid, so a page fetched again (retried callback, lost cursor write) is not re-emitted."""
        if msgid in self._recent_set:
            return
        if len(self._recent) == self._recent.maxlen:
            self._recent_set.discard(self._recent[0])
        self._recent.append(msgid)
        self._recent_set.add(msgid)


@dataclass(frozen=True, slots=True)
class KfMessage:
    """One entry of ``sync_msg``'s ``msg_list``, read once: what the source decides and builds events on.

    An ``event`` entry names its customer and account inside ``event`` (the top level is the fallback for
    the account); other entries at the top level."""

    msgid: str
    msgtype: str
    origin: object
    entered: bool
    """An ``enter_session`` event (a viewer opened the chat)."""
    customer: str
    open_kfid: str
    send_time: int | None
    raw: Mapping[str, Any]

    @classmethod
    def of(cls, message: Mapping[str, Any]) -> KfMessage | None:
        """None for an entry without a msgid: nothing to key it by, so nothing to store."""
        msgid = message.get("msgid")
        if not isinstance(msgid, str) or not msgid:
            return None
        msgtype = message.get("msgtype")
        msgtype = msgtype if isinstance(msgtype, str) else ""
        event = message.get("event")
        inner: Mapping[str, Any] = event if msgtype == "event" and isinstance(event, Mapping) else {}
        customer = (inner if msgtype == "event" else message).get("external_userid")
        open_kfid = inner.get("open_kfid") or message.get("open_kfid")
        sent = message.get("send_time")
        return cls(msgid=msgid, msgtype=msgtype, origin=message.get("origin"),
                   entered=inner.get("event_type") == "enter_session", customer=customer if isinstance(customer, str) else "",
                   open_kfid=open_kfid if isinstance(open_kfid, str) else "",
                   send_time=sent if type(sent) is int else None, raw=message)


def message_text(message: Mapping[str, Any]) -> str:
    """``text.content`` for text, else a placeholder (with the title/name where there is one)."""
    msgtype = str(message.get("msgtype", ""))
    if msgtype == "text":
        text = message.get("text")
        content = text.get("content") if isinstance(text, dict) else None
        if not isinstance(content, str):
            raise TypeError("text message without text.content")
        return content
    placeholder = PLACEHOLDERS.get(msgtype, "[消息]")
    detail = message.get(msgtype)
    if isinstance(detail, dict):
        title = detail.get("title") or detail.get("name")
        if isinstance(title, str) and title.strip():
            return f"{placeholder} {title.strip()[:100]}"
    return placeholder

