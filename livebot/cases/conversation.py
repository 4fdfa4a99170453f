"""A 微信客服 conversation that continues in its case: the advisor writes from the case, the parent's answers join it.

WeCom lets a customer-service account answer for 48 hours after the customer's last message (and only a
few messages), so the case shows when the window closes and refuses to send after it. Group chats and
live platforms have no private channel: their cases are followed up outside livebot and recorded here.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from livebot.appkeys import BUS, CONFIG, DATABASE
from livebot.cases import store
from livebot.cases.models import CaseContact
from livebot.cases.store import Actor
from livebot.chat.replies.base import ReplyTarget
from livebot.chat.replies.errors import ReplyError, ReplyRejected
from livebot.chat.replies.router import REPLIES
from livebot.compliance.service import GUARD, finding_message
from livebot.errors import ConflictError, ValidationError
from livebot.storage.base import utcnow
from livebot.topics import read_chat_stored

logger = logging.getLogger(__name__)

WINDOW = timedelta(hours=48)
PRIVATE_SOURCES = ("wecom_kf",)
"""Source types whose reply route reaches one person (not a group or the whole live room)."""


def private_sources(app: web.Application) -> set[str]:
    return {source.id for source in app[CONFIG].sources if source.type in PRIVATE_SOURCES}


def reachable(contacts: Sequence[CaseContact], sources: Collection[str]) -> CaseContact | None:
    """The contact a message can go to: on a private channel, most recently heard from."""
    return next((c for c in sorted(contacts, key=lambda c: c.last_seen, reverse=True) if c.source in sources), None)


def window_of(contact: CaseContact | None, now: datetime) -> dict[str, Any]:
    if contact is None:
        return {"can_send": False, "window_ends": None, "reason": "这位观众不是通过微信客服提问的，请在原平台或电话跟进，并在此记录"}
    ends = contact.last_seen + WINDOW
    if ends <= now:
        return {"can_send": False, "window_ends": ends.isoformat(),
                "reason": "已超过 48 小时会话窗口：微信客服只能在客户最后一条消息后 48 小时内回复，请等客户再次来信或电话联系"}
    return {"can_send": True, "window_ends": ends.isoformat(), "reason": ""}


async def conversation_state(app: web.Application, case_id: int) -> dict[str, Any]:
    contact = reachable(await store.contacts_of(app[DATABASE], case_id), private_sources(app))
    return window_of(contact, utcnow())


async def send(app: web.Application, case_id: int, text: str, actor: Actor) -> None:
    """Send ``text`` to the case's viewer on 微信客服 and record it; 409 when the platform cannot or may not."""
    db = app[DATABASE]
    contact = reachable(await store.contacts_of(db, case_id), private_sources(app))
    state = window_of(contact, utcnow())
    if contact is None or not state["can_send"]:
        raise ConflictError(state["reason"])
    router = app.get(REPLIES)
    if router is None:
        raise ConflictError("回复通道尚未就绪，请稍后重试")
    case, _ = await store.get_case(db, case_id)
    guard = app[GUARD]
    checked = guard.check(text)
    if checked.verdict != "ok":  # a private message to a parent is still the brand speaking: no claim the law forbids
        await guard.record("case_message", "blocked" if checked.blocked else "warned", checked, text, session_id=case.session_id,
                           actor=actor.name, actor_name=actor.display, ref=f"case:{case_id}")
        raise ValidationError("text", finding_message(checked))
    target = ReplyTarget(source=contact.source, platform=contact.platform, channel=contact.channel, user_id=contact.user_id,
                         user_name=contact.user_name, reply_id=f"case-{case_id}-{len(case.messages or [])}")
    try:
        await router.send(target, text)
    except ReplyRejected as err:
        raise ConflictError(f"微信客服拒绝了这条消息（{err}）") from err
    except ReplyError as err:
        raise ConflictError(f"暂时无法发送，请稍后重试（{err}）") from err
    await store.said_to(db, case_id, text, actor, "wecom_kf")


async def on_stored(app: web.Application, messages: list[dict[str, Any]]) -> None:
    """Messages from viewers behind open cases, on a private channel, join those cases."""
    sources, here = private_sources(app), app[BUS].origin
    for raw in messages:
        source = raw.get("source")
        if not isinstance(source, str) or source not in sources:
            continue  # nearly every message (public platforms): not checked in full for nothing
        message = read_chat_stored(raw)
        if message is None or message["hidden"] or message["kind"] != "comment":
            continue
        if "origin" in message and message["origin"] != here:
            continue  # the instance that stored it adds it (every instance hears every message)
        user, text = message["user"], message["text"]
        if not user["id"] or not text:
            continue
        try:
            at = datetime.fromisoformat(message["ts"])
        except ValueError:
            at = utcnow()
        cases = await store.heard_from(app[DATABASE], message["source"], message["channel"], user["id"],
                                       text, at, user["name"])
        if cases:
            logger.info("cases %s: the viewer wrote again", cases)
