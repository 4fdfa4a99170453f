"""The scheduled clean-up: personal data past retention, expired sessions and login windows."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from livebot.appkeys import CONFIG, DATABASE
from livebot.auth import sessions
from livebot.auth.views import LIMITER
from livebot.background import TaskSet
from livebot.errors import LivebotError
from livebot.privacy.purge import purge_expired
from livebot.privacy.settings import PrivacySettings

logger = logging.getLogger(__name__)


async def clean_once(app: web.Application, settings: PrivacySettings) -> None:
    db = app[DATABASE]
    purged = await purge_expired(db, settings.retention_days)
    if purged.events or purged.cards:
        logger.info("privacy: purged viewers from %d events and %d question cards older than %d days",
                    purged.events, purged.cards, settings.retention_days)
    await sessions.purge_expired(db)
    await app[LIMITER].purge()


async def maintenance_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[CONFIG].section("privacy", PrivacySettings)

    async def loop() -> None:
        while True:
            try:
                await clean_once(app, settings)
            except (LivebotError, OSError) as err:
                logger.warning("privacy clean-up failed, retrying next time: %s", err)
            except Exception:  # a database error must not end the schedule
                logger.exception("privacy clean-up failed, retrying next time")
            await asyncio.sleep(settings.purge_interval_hours * 3600)

    tasks = TaskSet("privacy")
    tasks.spawn(loop(), "maintenance")
    yield
    await tasks.stop()


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(maintenance_ctx)
