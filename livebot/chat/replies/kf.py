"""微信客服 sender: ``POST /cgi-bin/kf/send_msg`` to the customer who asked.

The target's ``channel`` is the open_kfid and ``user_id`` the external_userid, exactly as the
``wecom_kf`` source stores them. ``reply_id`` becomes WeCom's ``msgid`` so a retry of the same
answer carries the same id. WeCom only lets an account answer within 48 hours of the
customer's last message, at most 5 messages: refusals are not retryable.
"""

from __future__ import annotations

import hashlib
import logging
import re

import aiohttp

from livebot.chat.replies.base import ReplyResult, ReplyTarget, checked_text
from livebot.chat.replies.errors import ReplyRejected, ReplyUnavailable
from livebot.chat.sources.wecom_api import WecomApi, WecomApiError

logger = logging.getLogger(__name__)

MSGID_UNSAFE = re.compile(r"[^0-9A-Za-z_-]")


def wecom_msgid(reply_id: str) -> str:
    """WeCom accepts ``[0-9a-zA-Z_-]``, 1..32 bytes: other keys are hashed, so distinct keys stay distinct."""
    if not reply_id or (len(reply_id) <= 32 and not MSGID_UNSAFE.search(reply_id)):
        return reply_id
    return hashlib.sha256(reply_id.encode()).hexdigest()[:32]


class WecomKfSender:
    """Answers customers of one corp's 微信客服 accounts."""

    name = "wecom_kf"

    def __init__(self, api: WecomApi) -> None:
        self.api = api

    async def send(self, target: ReplyTarget, text: str) -> ReplyResult:
        content = checked_text(text, self.name)
        if not target.user_id or not target.channel:
            raise ReplyRejected("a 微信客服 reply needs the customer (user id) and the account (channel)", sender=self.name)
        try:
            msgid = await self.api.send_text(target.user_id, target.channel, content, wecom_msgid(target.reply_id))
        except WecomApiError as err:
            kind = ReplyUnavailable if err.retryable else ReplyRejected
            raise kind(f"kf/send_msg: {err}", sender=self.name, code=err.errcode) from err
        except (TimeoutError, aiohttp.ClientError) as err:
            raise ReplyUnavailable(f"kf/send_msg unreachable: {type(err).__name__}", sender=self.name) from err
        logger.info("reply via=%s source=%s channel=%s event=%s msgid=%s sent", self.name, target.source,
                    target.channel, target.event_id, msgid)
        return ReplyResult(sender=self.name, message_id=msgid)
