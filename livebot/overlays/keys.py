"""App keys of the overlays area."""

from __future__ import annotations

from aiohttp import web

from livebot.overlays.hub import OverlayHub
from livebot.overlays.service import OverlayService
from livebot.overlays.settings import OverlaySettings

OVERLAY_SETTINGS: web.AppKey[OverlaySettings] = web.AppKey("overlays.settings", OverlaySettings)
OVERLAY_HUB: web.AppKey[OverlayHub] = web.AppKey("overlays.hub", OverlayHub)
OVERLAY_SERVICE: web.AppKey[OverlayService] = web.AppKey("overlays.service", OverlayService)
