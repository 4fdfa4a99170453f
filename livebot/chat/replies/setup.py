"""Wire reply senders into the app: ``app[REPLIES]`` is the :class:`ReplyRouter`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from livebot.appkeys import CONFIG
from livebot.chat.replies.router import REPLIES, ReplyRouter, plan
from livebot.chat.replies.settings import RepliesSettings


def setup(app: web.Application) -> None:
    """Check the reply config now (errors at start, naming the key); senders open with the app."""
    routes = plan(app[CONFIG])
    timeout = app[CONFIG].section("replies", RepliesSettings).timeout_seconds

    async def replies_ctx(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
            app[REPLIES] = ReplyRouter.build(routes, session)
            yield

    app.cleanup_ctx.append(replies_ctx)
