"""Where an answer can go back to, and the durable outbox worker that sends it there.

A reply goes where the question came from when that place takes bot messages: a WeCom group
with a group robot, a 微信客服 conversation, or a webhook source with a ``reply_url`` — the
reply router of ``livebot.chat.replies`` (``app[REPLIES]``, configured under ``[replies]`` and
``[[sources]]``) knows which. Live platforms take no bot replies: those askers are answered on
air and the console copies the text for the host. Every reply is a row in ``console_outbox``
first and is retried with backoff until sent or given up (at once when the platform refused it
for good), and the card shows which, so nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from livebot.chat.replies import ReplyError, ReplyRouter, ReplyTarget
from livebot.console import store
from livebot.console.settings import ConsoleSettings
from livebot.console.store import AskContext, Change, Delivery
from livebot.retry import Backoff, RetryPolicy
from livebot.storage.base import utcnow
from livebot.storage.engine import Database

logger = logging.getLogger(__name__)

ROBOT_CONTENT_BYTES = 2000
MAX_MENTIONS = 5
LEASE = timedelta(seconds=150)
"""How long an instance holds an outbox row while sending (longer than any sender timeout)."""
GROUP_SENDERS = frozenset({"wecom_robot"})
"""Senders that post to a whole group: one message per group, mentioning the askers."""


RETRY_DELAY: RetryPolicy = Backoff(2.0, 300.0, jitter=0.2)
"""2, 4, 8 ... seconds up to 5 minutes, with jitter so instances do not retry in step."""


def backoff(attempts: int) -> timedelta:
    """When to try a reply again after its ``attempts``-th failure."""
    return timedelta(seconds=RETRY_DELAY(attempts))


def clip_utf8(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` UTF-8 bytes without splitting a character."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "…"


def mention_prefix(names: Sequence[str]) -> str:
    unique = list(dict.fromkeys(n for n in names if n))
    shown = " ".join(f"@{name}" for name in unique[:MAX_MENTIONS])
    more = f" 等 {len(unique)} 位家长" if len(unique) > MAX_MENTIONS else ""
    return f"{shown}{more} " if shown else ""


def target_of(ask: AskContext) -> ReplyTarget:
    return ReplyTarget(source=ask.source, platform=ask.platform, channel=ask.channel, user_id=ask.user_id,
                       user_name=ask.user_name, event_id=ask.external_id)


class SendFailed(Exception):
    """One attempt failed; ``final`` when retrying cannot help (the platform refused it)."""

    def __init__(self, message: str, final: bool) -> None:
        super().__init__(message)
        self.message = message
        self.final = final


@dataclass
class ReplyRoutes:
    """Decides an answer's deliveries and sends outbox rows, through the app's reply router."""

    settings: ConsoleSettings
    router: Callable[[], ReplyRouter | None]

    def resolve(self, asks: Sequence[AskContext], text: str) -> tuple[list[Delivery], bool]:
        """One message per group robot (mentioning its askers), one per asker elsewhere."""
        router = self.router()
        groups: dict[tuple[str, str], list[AskContext]] = {}
        deliveries: list[Delivery] = []
        on_air = False
        for ask in asks:
            target = target_of(ask)
            sender = router.sender_for(target) if router is not None else None
            if sender is None:
                on_air = True
            elif sender.name in GROUP_SENDERS:
                groups.setdefault((ask.source, ask.channel), []).append(ask)
            else:
                deliveries.append(Delivery(sender.name, dataclasses.asdict(target), clip_utf8(text, ROBOT_CONTENT_BYTES)))
        for group in groups.values():
            content = clip_utf8(mention_prefix([a.user_name for a in group]) + text, ROBOT_CONTENT_BYTES)
            deliveries.append(Delivery("wecom_robot", dataclasses.asdict(target_of(group[0])), content))
        return deliveries, on_air

    async def send(self, kind: str, target: dict[str, Any], text: str, reply_id: str) -> None:
        """One attempt; :class:`SendFailed` says why and whether to try again."""
        router = self.router()
        if router is None:
            raise SendFailed("回复通道尚未启动", final=False)
        try:
            fields = {f.name for f in dataclasses.fields(ReplyTarget)}
            reply_target = ReplyTarget(**{k: v for k, v in target.items() if k in fields and k != "reply_id"},
                                       reply_id=reply_id)
        except TypeError as err:
            raise SendFailed(f"回复目标无效：{err}", final=True) from err
        try:
            await router.send(reply_target, text)
        except ReplyError as err:
            raise SendFailed(str(err), final=not err.retryable) from err


async def deliver_due(db: Database, routes: ReplyRoutes, max_attempts: int, now: datetime | None = None) -> list[Change]:
    """Send every due outbox row once; returns the card changes to publish."""
    now = now or utcnow()
    changes = []
    for row in await store.due_replies(db, now):
        lease = now + LEASE
        if not await store.lease_reply(db, row, lease):
            continue
        error: str | None = None
        final = False
        try:
            await routes.send(row.kind, row.target, row.text, reply_id=f"livebot-reply-{row.id}")
        except SendFailed as err:
            error, final = err.message, err.final
        except Exception as err:  # a sender bug must not stop the outbox; it is retried and shown
            logger.exception("console outbox=%s kind=%s sender crashed", row.id, row.kind)
            error = f"发送出错：{type(err).__name__}"
        if error:
            logger.warning("console outbox=%s card=%s kind=%s attempt=%d failed: %s", row.id, row.card_id, row.kind,
                           row.attempts + 1, error)
        else:
            logger.info("console outbox=%s card=%s kind=%s sent", row.id, row.card_id, row.kind)
        attempts_allowed = row.attempts + 1 if final else max_attempts
        change = await store.settle_reply(db, row.id, error, utcnow() + backoff(row.attempts + 1), attempts_allowed)
        if change is not None:
            changes.append(change)
    return changes


async def outbox_loop(wake: asyncio.Event, poll: float, work: Callable[[], Awaitable[None]]) -> None:
    """Run ``work`` when woken (an answer was committed) or every ``poll`` seconds (retries)."""
    while True:
        try:
            async with asyncio.timeout(poll):  # not wait_for: on 3.11 it can swallow a cancel and loop on
                await wake.wait()
        except TimeoutError:
            pass
        wake.clear()
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("console outbox pass failed; retrying in %.1fs", poll)
