"""App keys of the engagement area."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from livebot.engagement.live import LiveFigures
    from livebot.engagement.postsession import Reporter
    from livebot.engagement.settings import EngagementSettings

ENGAGEMENT_SETTINGS: web.AppKey[EngagementSettings] = web.AppKey("engagement.settings")
LIVE: web.AppKey[LiveFigures] = web.AppKey("engagement.live")
REPORTER: web.AppKey[Reporter] = web.AppKey("engagement.reporter")
