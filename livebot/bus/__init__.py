"""Publish/subscribe between pipeline stages and instances: in-process or over Redis."""

from livebot.bus.base import Bus, Handler, Unsubscribe
from livebot.bus.factory import open_bus

__all__ = ["Bus", "Handler", "Unsubscribe", "open_bus"]
