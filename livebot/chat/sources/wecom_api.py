"""The WeCom server API calls livebot makes: ``gettoken`` and 微信客服 (``kf/*``).

Shared by the ``wecom_kf`` source (``sync_msg``, ``customer/batchget``) and the reply sender
(``send_msg``). The access token is cached until shortly before it expires and fetched again
once when WeCom says it is invalid or expired; concurrent callers share one ``gettoken``.
The base URL is configurable so tests talk to a fake on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp
import orjson

from livebot.errors import LivebotError
from livebot.platforms.wecom_robot import RETRYABLE_ERRORS

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://qyapi.weixin.qq.com"
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
"""invalid credential, invalid access_token, access_token expired: fetch a new token once."""
TOKEN_MARGIN_SECONDS = 300.0


class WecomApiError(LivebotError):
    """WeCom answered a non-zero ``errcode``, a non-200 status or something unreadable."""

    def __init__(self, path: str, errcode: int, errmsg: str = "", status: int = 200) -> None:
        super().__init__(f"{path}: errcode {errcode} {errmsg}".strip())
        self.path = path
        self.errcode = errcode
        self.errmsg = errmsg
        self.status = status

    @property
    def retryable(self) -> bool:
        """Busy or rate limited (or a server-side HTTP failure): the same call may work later."""
        return self.errcode in RETRYABLE_ERRORS or self.status >= 500 or self.status == 429


class WecomApi:
    """Calls for one corp id and secret (the 微信客服 secret), with a cached access token."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        corp_id: str,
        secret: str,
        api_base: str = DEFAULT_API_BASE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session
        self.corp_id = corp_id
        self.secret = secret
        self.api_base = api_base.rstrip("/")
        self.clock = clock
        self._token = ""
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def access_token(self) -> str:
        """A valid access token, from cache or ``gettoken``."""
        if self._token and self.clock() < self._expires_at:
            return self._token
        async with self._lock:
            if self._token and self.clock() < self._expires_at:
                return self._token
            answer = await self.request("GET", "/cgi-bin/gettoken", params={"corpid": self.corp_id, "corpsecret": self.secret})
            token = answer.get("access_token")
            if not isinstance(token, str) or not token:
                raise WecomApiError("/cgi-bin/gettoken", -2, "no access_token in answer")
            expires_in = answer.get("expires_in", 7200)
            lifetime = float(expires_in) if isinstance(expires_in, int | float) else 7200.0
            self._token = token
            self._expires_at = self.clock() + max(lifetime - TOKEN_MARGIN_SECONDS, lifetime / 2)
            logger.info("corp=%s access token fetched, valid %.0fs", self.corp_id, lifetime)
            return token

    def forget_token(self, token: str) -> None:
        """Drop ``token`` from the cache (WeCom said it is invalid) unless it was replaced already."""
        if self._token == token:
            self._token = ""
            self._expires_at = 0.0

    async def call(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST ``payload`` with the access token; retried once with a new token if WeCom refuses it."""
        for attempt in (1, 2):
            token = await self.access_token()
            try:
                return await self.request("POST", path, params={"access_token": token}, payload=payload)
            except WecomApiError as err:
                if err.errcode not in TOKEN_ERRORS or attempt == 2:
                    raise
                logger.warning("corp=%s %s: access token refused (errcode %s), fetching a new one",
                               self.corp_id, path, err.errcode)
                self.forget_token(token)
        raise AssertionError("unreachable")

    async def request(
        self, method: str, path: str, params: dict[str, str], payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """One HTTP call; :class:`WecomApiError` unless status 200 and ``errcode`` 0."""
        data = orjson.dumps(payload) if payload is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        async with self.session.request(method, self.api_base + path, params=params, data=data, headers=headers) as resp:
            if resp.status != 200:
                raise WecomApiError(path, -2, f"HTTP {resp.status}", status=resp.status)
            try:
                answer = orjson.loads(await resp.read())
            except orjson.JSONDecodeError as err:
                raise WecomApiError(path, -2, "answer is not JSON") from err
        if not isinstance(answer, dict):
            raise WecomApiError(path, -2, "answer is not an object")
        errcode = answer.get("errcode", 0)
        if errcode != 0:
            code = errcode if isinstance(errcode, int) else -2
            raise WecomApiError(path, code, str(answer.get("errmsg", "")))
        return answer

    async def sync_msg(self, cursor: str, token: str, limit: int, open_kfid: str) -> dict[str, Any]:
        """One page of 微信客服 messages after ``cursor`` (``msg_list``, ``next_cursor``, ``has_more``)."""
        payload: dict[str, Any] = {"cursor": cursor, "limit": limit, "open_kfid": open_kfid}
        if token:
            payload["token"] = token
        return await self.call("/cgi-bin/kf/sync_msg", payload)

    async def send_text(self, touser: str, open_kfid: str, content: str, msgid: str = "") -> str:
        """Send a text to a customer; returns WeCom's message id."""
        payload: dict[str, Any] = {"touser": touser, "open_kfid": open_kfid, "msgtype": "text", "text": {"content": content}}
        if msgid:
            payload["msgid"] = msgid
        answer = await self.call("/cgi-bin/kf/send_msg", payload)
        return str(answer.get("msgid", ""))

    async def nicknames(self, external_userids: Sequence[str]) -> dict[str, str]:
        """Nicknames of customers by external_userid (``kf/customer/batchget``, 100 per call)."""
        names: dict[str, str] = {}
        ids = list(dict.fromkeys(external_userids))
        for start in range(0, len(ids), 100):
            answer = await self.call("/cgi-bin/kf/customer/batchget",
                                     {"external_userid_list": ids[start : start + 100], "need_enter_session_context": 0})
            for customer in answer.get("customer_list") or []:
                if isinstance(customer, dict) and isinstance(customer.get("external_userid"), str):
                    names[customer["external_userid"]] = str(customer.get("nickname", ""))
        return names
