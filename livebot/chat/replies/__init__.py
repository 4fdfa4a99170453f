"""Reply senders: post an advisor's answer back to where the question came from.

``ReplySender.send(target, text) -> ReplyResult``; failures raise :class:`ReplyError` with a
``retryable`` flag (the console retries those). :class:`ReplyRouter` (``app[REPLIES]``) picks
the sender for a question: a configured WeCom group robot, the 微信客服 ``send_msg`` of a
``wecom_kf`` source, or the ``reply_url`` of a ``webhook`` source.
"""

from livebot.chat.replies.base import ReplyResult, ReplySender, ReplyTarget
from livebot.chat.replies.errors import NoReplyRoute, ReplyError, ReplyRejected, ReplyUnavailable
from livebot.chat.replies.router import REPLIES, ReplyRouter

__all__ = [
    "REPLIES", "NoReplyRoute", "ReplyError", "ReplyRejected", "ReplyResult", "ReplyRouter", "ReplySender",
    "ReplyTarget", "ReplyUnavailable",
]
