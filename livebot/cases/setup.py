"""Wire the cases area: routes, API description, and automatic cases for escalated cards."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from livebot.appkeys import API_DOC, BUS, CONFIG, DATABASE, ROLE
from livebot.cases import api, apidoc, conversation, service, views
from livebot.cases.settings import CasesSettings
from livebot.topics import CHAT_STORED, read_console_update

logger = logging.getLogger(__name__)
SEEN_LIMIT = 100_000


def setup(app: web.Application) -> None:
    app[CONFIG].section("cases", CasesSettings)  # a bad [cases] table fails at start, naming the key
    app.add_routes(api.routes)
    app.add_routes(views.routes)
    app[API_DOC].add(apidoc.PATHS, apidoc.SCHEMAS)
    app.cleanup_ctx.append(cases_ctx)


async def cases_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[CONFIG].section("cases", CasesSettings)
    seen: set[int] = set()  # cards this instance already opened or found a case for

    async def on_console(message: dict[str, Any]) -> None:
        update = read_console_update(message)
        for card in update["cards"] if update is not None else ():
            if card["id"] not in seen and service.wants_case(card):
                try:
                    case = await service.auto_open(app[DATABASE], card)
                except Exception:
                    logger.exception("could not open the follow-up case of card %s", card["id"])
                    continue
                if len(seen) > SEEN_LIMIT:
                    seen.clear()
                seen.add(card["id"])
                if case is not None:
                    logger.info("follow-up case %s opened for escalated card %s", case.id, card["id"])

    async def on_stored(messages: list[dict[str, Any]]) -> None:
        try:
            await conversation.on_stored(app, messages)
        except Exception:
            logger.exception("cases: could not add viewers' messages to their cases")

    if app[ROLE] == "worker":  # the web processes do both (a message joins its case where it was stored)
        yield
        return
    stops = [app[BUS].subscribe_batches(CHAT_STORED, on_stored, name="cases-conversations")]
    if settings.auto_open:
        stops.append(app[BUS].subscribe("console.*", on_console, name="cases-auto-open"))
    yield
    for stop in stops:
        stop()
