"""The WeCom group robot (群机器人) client every area posts through: chat replies, schedule
reminders, engagement summaries.

One success rule: HTTP 200 with a JSON object whose ``errcode`` is 0 (a body without
``errcode`` is a refusal, not a success). A robot takes at most 20 messages a minute (errcode
45009 beyond that: retryable) and has no idempotency key, so a retry after a timeout may post
twice. The URL carries the robot's key: only :func:`redacted` URLs appear in reasons and logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson

RETRYABLE_ERRORS = frozenset({-1, 45009, 45011, 45033})
"""System busy and the frequency limits: worth trying again later (the KF API shares them)."""


@dataclass(frozen=True, slots=True)
class RobotAnswer:
    """What a robot made of one post. ``code`` is the errcode, or the HTTP status when it failed earlier."""

    ok: bool
    retryable: bool = False
    code: int | None = None
    reason: str = ""
    """Empty when ``ok``; else why, with the redacted URL (safe to log and store)."""


def redacted(url: str) -> str:
    """The URL without its query (where the robot key lives), for messages and logs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def text_message(content: str) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}}


def markdown_message(content: str) -> dict[str, Any]:
    return {"msgtype": "markdown", "markdown": {"content": content}}


async def post(http: aiohttp.ClientSession, url: str, message: Mapping[str, Any], timeout: float | None = None) -> RobotAnswer:
    """POST ``message`` to one robot (``timeout`` seconds, else the session's); never raises for a network, HTTP or body failure."""
    where = redacted(url)
    options: dict[str, Any] = {} if timeout is None else {"timeout": aiohttp.ClientTimeout(total=timeout)}  # else the session's
    try:
        async with http.post(url, data=orjson.dumps(message), headers={"Content-Type": "application/json"}, **options) as resp:
            if resp.status != 200:
                retryable = resp.status >= 500 or resp.status == 429
                return RobotAnswer(False, retryable, resp.status, f"{where}: HTTP {resp.status}")
            raw = await resp.read()
    except (TimeoutError, aiohttp.ClientError) as err:
        return RobotAnswer(False, True, None, f"{where}: unreachable ({type(err).__name__})")
    return judged(where, raw)


def judged(where: str, raw: bytes) -> RobotAnswer:
    """The answer of a robot that replied HTTP 200 with ``raw``."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return RobotAnswer(False, True, None, f"{where}: HTTP 200 but not JSON")
    errcode = body.get("errcode") if isinstance(body, dict) else None
    if errcode == 0 and not isinstance(errcode, bool):
        return RobotAnswer(True)
    errmsg = str(body.get("errmsg", ""))[:100] if isinstance(body, dict) else ""
    code = errcode if isinstance(errcode, int) and not isinstance(errcode, bool) else None
    return RobotAnswer(False, code in RETRYABLE_ERRORS, code, f"{where}: HTTP 200 {errmsg} (errcode {errcode})")
