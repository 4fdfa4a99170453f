"""A fake WeCom server on 127.0.0.1: ``gettoken``, 微信客服 ``kf/*`` and group robots.

It checks what the real one checks (corp id and secret, access token validity and expiry,
parameters, robot keys), keeps a message log that ``sync_msg`` pages through with opaque
cursors, records everything sent (``sent`` for ``kf/send_msg``, ``robot_messages`` for group
robots) and can fail the next calls on demand. ``encrypted_callback()`` builds the signed,
encrypted POST WeCom makes to livebot when a customer writes.

    fake = await FakeWecom().start()
    url = fake.robot_url("group-a")            # configure a robot reply route with it
    ...
    assert fake.robot_messages[0]["content"] == "您好，奶源来自..."
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from aiohttp.test_utils import TestServer

from livebot.chat.sources.wecom_crypto import WecomCrypto, build_xml

SAMPLE_TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
SAMPLE_AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
SAMPLE_CORP_ID = "ww1436e0e65a779aee"
MAX_TEXT_BYTES = 2048


@dataclass
class Failure:
    errcode: int
    status: int = 200
    errmsg: str = "injected failure"


class FakeWecom:
    """One corp: its 微信客服 secret, callback token/key, customers, messages and robots."""

    def __init__(
        self,
        corp_id: str = SAMPLE_CORP_ID,
        secret: str = "fake-kf-secret",
        token: str = SAMPLE_TOKEN,
        encoding_aes_key: str = SAMPLE_AES_KEY,
        open_kfid: str = "wkAJ2GCAAAZSfhHCt7IFSvLKtMPxyJTw",
    ) -> None:
        self.corp_id = corp_id
        self.secret = secret
        self.token = token
        self.encoding_aes_key = encoding_aes_key
        self.open_kfid = open_kfid
        self.crypto = WecomCrypto(token, encoding_aes_key, corp_id)
        self.token_lifetime = 7200
        self.access_tokens: dict[str, float] = {}
        """Issued access token -> expiry (unix time); delete one to make WeCom 'forget' it."""
        self.gettoken_calls = 0
        self.messages: list[dict[str, Any]] = []
        self.customers: dict[str, str] = {}
        self.sync_calls: list[dict[str, Any]] = []
        self.sync_tokens: set[str] = set()
        self.sent: list[dict[str, Any]] = []
        """Bodies of accepted ``kf/send_msg`` calls."""
        self.robot_keys: set[str] = set()
        self.robot_messages: list[dict[str, Any]] = []
        """Accepted robot posts: {"key", "msgtype", "content", "body"}."""
        self.requests: list[tuple[str, str]] = []
        self.failures: dict[str, deque[Failure]] = {}
        self.sync_gate: asyncio.Event | None = None
        """When set to an Event, ``sync_msg`` waits for it (a slow WeCom, to prove callbacks don't wait)."""
        self.server: TestServer | None = None
        self._serial = itertools.count(1)
        self._changed = asyncio.Event()

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> FakeWecom:
        app = web.Application()
        app.router.add_get("/cgi-bin/gettoken", self.gettoken)
        app.router.add_post("/cgi-bin/kf/sync_msg", self.sync_msg)
        app.router.add_post("/cgi-bin/kf/send_msg", self.send_msg)
        app.router.add_post("/cgi-bin/kf/customer/batchget", self.customer_batchget)
        app.router.add_post("/cgi-bin/webhook/send", self.robot_send)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return self

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    @property
    def api_base(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    def robot_url(self, key: str | None = None) -> str:
        """A group robot webhook URL this fake accepts (registers the key)."""
        key = key or uuid.uuid4().hex
        self.robot_keys.add(key)
        return f"{self.api_base}/cgi-bin/webhook/send?key={key}"

    def source_options(self, **overrides: Any) -> dict[str, Any]:
        """``[[sources]]`` keys of a ``wecom_kf`` source pointed at this fake."""
        return {"corp_id": self.corp_id, "secret": self.secret, "token": self.token,
                "encoding_aes_key": self.encoding_aes_key, "api_base": self.api_base, **overrides}

    def fail_next(self, path: str, errcode: int, times: int = 1, status: int = 200) -> None:
        """Answer the next ``times`` calls of ``path`` with ``errcode`` (or an HTTP ``status``)."""
        queue = self.failures.setdefault(path, deque())
        queue.extend(Failure(errcode, status) for _ in range(times))

    # -- test data ---------------------------------------------------------------------

    def add_message(self, text: str | None = "奶粉是哪个批次的？", external_userid: str = "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw",
                    msgtype: str = "text", origin: int = 3, send_time: int | None = None,
                    open_kfid: str | None = None, **payload: Any) -> dict[str, Any]:
        """Append a message to the log ``sync_msg`` serves; returns it."""
        message: dict[str, Any] = {
            "msgid": f"from_msgid_{4622416642169452483 + next(self._serial)}",
            "open_kfid": open_kfid or self.open_kfid, "external_userid": external_userid,
            "send_time": int(time.time()) if send_time is None else send_time, "origin": origin, "msgtype": msgtype,
        }
        if msgtype == "text":
            message["text"] = {"content": text}
        message.update(payload)
        self.messages.append(message)
        return message

    def add_enter_session(self, external_userid: str = "wmEnter0001", open_kfid: str | None = None) -> dict[str, Any]:
        message = {
            "msgid": f"event_{next(self._serial)}", "send_time": int(time.time()), "origin": 4, "msgtype": "event",
            "event": {"event_type": "enter_session", "open_kfid": open_kfid or self.open_kfid,
                      "external_userid": external_userid, "scene": "livestream", "scene_param": "room-7734"},
        }
        self.messages.append(message)
        return message

    def encrypted_callback(self, open_kfid: str | None = None, timestamp: int | None = None,
                           nonce: str | None = None) -> tuple[dict[str, str], bytes]:
        """Query parameters and XML body of the ``kf_msg_or_event`` POST WeCom makes."""
        sync_token = "ENC" + secrets.token_hex(12)
        self.sync_tokens.add(sync_token)
        inner = build_xml({"ToUserName": self.corp_id, "CreateTime": int(time.time()), "MsgType": "event",
                           "Event": "kf_msg_or_event", "Token": sync_token, "OpenKfId": open_kfid or self.open_kfid})
        return self.encrypt_for_callback(inner, timestamp, nonce)

    def encrypt_for_callback(self, inner: bytes, timestamp: int | None = None,
                             nonce: str | None = None) -> tuple[dict[str, str], bytes]:
        encrypt = self.crypto.encrypt(inner)
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce or str(secrets.randbelow(10**9))
        body = build_xml({"ToUserName": self.corp_id, "Encrypt": encrypt, "AgentID": ""})
        params = {"msg_signature": self.crypto.signature(ts, nonce, encrypt), "timestamp": ts, "nonce": nonce}
        return params, body

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    # -- handlers ----------------------------------------------------------------------

    def answer(self, errcode: int = 0, errmsg: str = "ok", **data: Any) -> web.Response:
        self._changed.set()
        return web.json_response({"errcode": errcode, "errmsg": errmsg if errcode == 0 or errmsg != "ok" else "error",
                                  **data})

    def injected(self, path: str) -> web.Response | None:
        queue = self.failures.get(path)
        if not queue:
            return None
        failure = queue.popleft()
        self._changed.set()
        if failure.status != 200:
            return web.Response(status=failure.status, text="upstream error")
        return self.answer(failure.errcode, failure.errmsg)

    def token_problem(self, request: web.Request) -> web.Response | None:
        token = request.query.get("access_token", "")
        expiry = self.access_tokens.get(token)
        if expiry is None:
            return self.answer(40014, "invalid access_token")
        if expiry < time.time():
            return self.answer(42001, "access_token expired")
        return None

    async def json_body(self, request: web.Request) -> dict[str, Any] | None:
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return None
        return body if isinstance(body, dict) else None

    async def gettoken(self, request: web.Request) -> web.Response:
        self.requests.append(("GET", request.path))
        self.gettoken_calls += 1
        if (failure := self.injected(request.path)) is not None:
            return failure
        if request.query.get("corpid") != self.corp_id:
            return self.answer(40013, "invalid corpid")
        if request.query.get("corpsecret") != self.secret:
            return self.answer(40001, "invalid credential")
        token = secrets.token_urlsafe(32)
        self.access_tokens[token] = time.time() + self.token_lifetime
        return self.answer(access_token=token, expires_in=self.token_lifetime)

    async def sync_msg(self, request: web.Request) -> web.Response:
        self.requests.append(("POST", request.path))
        if (problem := self.token_problem(request)) is not None:
            return problem
        if (failure := self.injected(request.path)) is not None:
            return failure
        body = await self.json_body(request)
        if body is None:
            return self.answer(47001, "data format error")
        self.sync_calls.append(body)
        self._changed.set()
        if self.sync_gate is not None:
            await self.sync_gate.wait()
        limit = body.get("limit", 1000)
        if not isinstance(limit, int) or not 1 <= limit <= 1000:
            return self.answer(40058, "invalid limit")
        if body.get("token") and body["token"] not in self.sync_tokens:
            return self.answer(95007, "invalid msg token")
        cursor = body.get("cursor") or ""
        try:
            start = int(cursor[2:]) if cursor else 0
        except ValueError:
            return self.answer(95005, "invalid cursor")
        log = [m for m in self.messages
               if not body.get("open_kfid") or m.get("open_kfid", m.get("event", {}).get("open_kfid")) == body["open_kfid"]]
        page = log[start : start + limit]
        end = start + len(page)
        return self.answer(next_cursor=f"cu{end}", has_more=int(end < len(log)), msg_list=page)

    async def send_msg(self, request: web.Request) -> web.Response:
        self.requests.append(("POST", request.path))
        if (problem := self.token_problem(request)) is not None:
            return problem
        if (failure := self.injected(request.path)) is not None:
            return failure
        body = await self.json_body(request)
        if body is None:
            return self.answer(47001, "data format error")
        if not body.get("touser") or not body.get("open_kfid"):
            return self.answer(40058, "touser and open_kfid are required")
        if body.get("msgtype") != "text":
            return self.answer(40008, "invalid message type")
        content = (body.get("text") or {}).get("content")
        if not isinstance(content, str) or not content:
            return self.answer(44004, "empty content")
        if len(content.encode()) > MAX_TEXT_BYTES:
            return self.answer(40058, "content exceeds 2048 bytes")
        msgid = body.get("msgid") or secrets.token_hex(12)
        if any(s.get("msgid") == msgid for s in self.sent):
            return self.answer(msgid=msgid)  # a retried msgid is not sent twice (real behaviour unconfirmed)
        self.sent.append({**body, "msgid": msgid})
        return self.answer(msgid=msgid)

    async def customer_batchget(self, request: web.Request) -> web.Response:
        self.requests.append(("POST", request.path))
        if (problem := self.token_problem(request)) is not None:
            return problem
        if (failure := self.injected(request.path)) is not None:
            return failure
        body = await self.json_body(request)
        ids = body.get("external_userid_list") if body else None
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            return self.answer(40058, "external_userid_list must hold 1..100 ids")
        found = [{"external_userid": i, "nickname": self.customers[i], "avatar": "", "gender": 0, "unionid": ""}
                 for i in ids if i in self.customers]
        invalid = [i for i in ids if i not in self.customers]
        return self.answer(customer_list=found, invalid_external_userid=invalid)

    async def robot_send(self, request: web.Request) -> web.Response:
        self.requests.append(("POST", request.path))
        if (failure := self.injected(request.path)) is not None:
            return failure
        key = request.query.get("key", "")
        if key not in self.robot_keys:
            return self.answer(93000, "invalid webhook url")
        body = await self.json_body(request)
        if body is None:
            return self.answer(40016, "invalid json")
        msgtype = body.get("msgtype")
        if msgtype not in ("text", "markdown"):
            return self.answer(40008, "invalid message type")
        content = (body.get(msgtype) or {}).get("content")
        if not isinstance(content, str) or not content:
            return self.answer(44004, "empty content")
        if len(content.encode()) > MAX_TEXT_BYTES:
            return self.answer(40058, "content exceeds 2048 bytes")
        self.robot_messages.append({"key": key, "msgtype": msgtype, "content": content, "body": body})
        return self.answer()
