"""Wire the console area into the app: routes, API description, and its background tasks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import web

from livebot.appkeys import API_DOC, BUS, DATABASE, ROLE
from livebot.background import stop_tasks
from livebot.console import api, apidoc, store, views
from livebot.console.delivery import deliver_due, outbox_loop
from livebot.console.intake import message_of
from livebot.console.state import CONSOLE, build_state, publish_change
from livebot.schedule import api_internal as schedule
from livebot.storage.base import utcnow
from livebot.topics import CHAT_ENRICHED

logger = logging.getLogger(__name__)

INTAKE_QUEUE = 50_000
RECOVER_WINDOW = timedelta(hours=3)
RECOVER_LIMIT = 5_000
QUIET_SECONDS = 1.0
GROUP_CONCURRENCY = 16
"""``chat.enriched`` lists in hand at once on a durable bus: those arriving during a write go in the next one."""
RECOVER_EVERY = timedelta(seconds=15)
RECOVER_RECENT = timedelta(minutes=5)


def setup(app: web.Application) -> None:
    app[CONSOLE] = build_state(app)
    app.add_routes(views.routes)
    app.add_routes(api.routes)
    app[API_DOC].add(apidoc.PATHS, apidoc.SCHEMAS)
    app.cleanup_ctx.append(console_ctx)


async def expire_loop(app: web.Application) -> None:
    """Return idle claims to the queue a few times per timeout."""
    state = app[CONSOLE]
    period = max(1.0, min(10.0, state.settings.claim_timeout_seconds / 6))
    while True:
        await asyncio.sleep(period)
        try:
            for change in await store.expire_claims(app[DATABASE], state.claim_timeout):
                await publish_change(app, change)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("console claim expiry pass failed")


async def send_replies(app: web.Application) -> None:
    state = app[CONSOLE]
    for change in await deliver_due(app[DATABASE], state.routes, state.settings.reply_max_attempts):
        await publish_change(app, change)


async def recover_questions(app: web.Application) -> int:
    """Questions stored while no instance was queueing them (a stop between bus and queue);
    returns how many were found (``RECOVER_LIMIT`` at most: call again while it is full)."""
    since = utcnow() - RECOVER_WINDOW
    missed = await store.unqueued_questions(app[DATABASE], since, RECOVER_LIMIT)
    count = app[CONSOLE].intake.recover([message_of(event) for event in missed])
    if count:
        logger.info("console recovered %d questions that had not reached the queue", count)
    return len(missed)


async def recover_loop(app: web.Application) -> None:
    """On a durable bus: every ``RECOVER_EVERY``, queue recent questions that are enriched but not
    queued (a worker killed between the FAQ stage's commit and its ``chat.enriched`` publish)."""
    while True:
        await asyncio.sleep(RECOVER_EVERY.total_seconds())
        try:
            missed = await store.unqueued_questions(app[DATABASE], utcnow() - RECOVER_RECENT, RECOVER_LIMIT)
            settled = [event for event in missed if event.received_at <= utcnow() - RECOVER_EVERY]
            if app[CONSOLE].intake.recover([message_of(event) for event in settled]):
                logger.info("console recovered %d questions enriched but never queued", len(settled))
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("console periodic recovery failed")


async def recover_after_drops(app: web.Application, dropped: asyncio.Event) -> None:
    """Once the bus has stopped dropping ``chat.enriched`` for the queue (a second without a drop),
    queue from the database the questions that never reached it."""
    while True:
        await dropped.wait()
        while dropped.is_set():
            dropped.clear()
            await asyncio.sleep(QUIET_SECONDS)
        try:
            if await recover_questions(app) >= RECOVER_LIMIT:
                dropped.set()  # more are waiting: another pass once these are written
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("console recovery after dropped updates failed")


async def console_ctx(app: web.Application) -> AsyncIterator[None]:
    state = app[CONSOLE]
    db, bus = app[DATABASE], app[BUS]
    state.site_names.update(await schedule.site_names(db))
    state.segment_names.update(await schedule.segment_names(db))
    http = aiohttp.ClientSession()
    state.http = http
    dropped = asyncio.Event()
    serves_consoles = app[ROLE] != "worker"  # a worker has no websockets: it only queues
    unsubscribe = [bus.subscribe("console.*", state.hub.on_console, name="console-hub")] if serves_consoles else []
    if bus.durable:  # queueing once per message by a consumer group; every instance feeds its consoles
        unsubscribe.append(bus.subscribe_group(CHAT_ENRICHED, "console-intake", state.intake.on_group_batch,
                                               concurrency=GROUP_CONCURRENCY))
        if serves_consoles:
            unsubscribe.append(bus.subscribe_batches(CHAT_ENRICHED, state.intake.on_chat_lines, name="console-lines",
                                                     queue_size=INTAKE_QUEUE))
    else:
        unsubscribe.append(bus.subscribe_batches(CHAT_ENRICHED, state.intake.on_enriched_batch, name="console-intake",
                                                 queue_size=INTAKE_QUEUE,
                                                 on_drop=lambda _topic, _messages: dropped.set()))
    jobs: dict[str, Coroutine[Any, Any, None]] = {
        "run": state.intake.run(),
        "expire_loop": expire_loop(app),
        "outbox_loop": outbox_loop(state.outbox_wake, state.settings.reply_poll_seconds, lambda: send_replies(app)),
        "recover_after_drops": recover_after_drops(app, dropped),
    }
    if bus.durable and bus.consume_groups:
        jobs["recover_loop"] = recover_loop(app)
    tasks = [asyncio.get_running_loop().create_task(job, name=f"console:{name}") for name, job in jobs.items()]
    state.outbox_wake.set()  # replies left pending by the previous run go out now
    await recover_questions(app)
    yield
    await stop_tasks(tasks)
    if state.intake.pending:
        batch, state.intake.pending = state.intake.pending, []
        await state.intake.flush(batch)
    for stop in unsubscribe:
        stop()
    await state.hub.close()
    await http.close()
