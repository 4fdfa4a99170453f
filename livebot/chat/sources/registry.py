"""Source types by ``[[sources]] type`` name; modules are imported only when a config uses them.

Adding a platform is one line here: ``"name": "livebot.chat.sources.<module>:<Class>"``.
"""

from __future__ import annotations

import importlib

from livebot.chat.sources.base import EventSink, Source
from livebot.config import SourceSettings
from livebot.errors import ConfigError

SOURCE_TYPES: dict[str, str] = {
    "webhook": "livebot.chat.sources.webhook:WebhookSource",
    "douyin": "livebot.chat.sources.douyin:DouyinSource",
    "replay": "livebot.chat.sources.replay:ReplaySource",
    "bilibili": "livebot.chat.sources.bilibili:BilibiliSource",
    "wecom_kf": "livebot.chat.sources.wecom_kf:WecomKfSource",
}


def source_class(type_name: str, index: int) -> type[Source]:
    """The class registered for ``type_name``; ConfigError naming ``sources[i].type`` otherwise."""
    target = SOURCE_TYPES.get(type_name)
    if target is None:
        known = ", ".join(sorted(SOURCE_TYPES))
        raise ConfigError(f"sources[{index}].type", f"unknown source type {type_name!r} (one of {known})")
    module_name, _, class_name = target.partition(":")
    cls: type[Source] = getattr(importlib.import_module(module_name), class_name)
    return cls


def build_source(settings: SourceSettings, index: int, sink: EventSink) -> Source:
    """Instantiate one configured source; its Settings dataclass checks its own keys."""
    return source_class(settings.type, index)(settings, index, sink)


def build_sources(configured: tuple[SourceSettings, ...], sink: EventSink) -> dict[str, Source]:
    """Every configured source by id, in config order."""
    return {item.id: build_source(item, index, sink) for index, item in enumerate(configured)}
