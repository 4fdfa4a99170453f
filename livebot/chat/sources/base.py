"""The interface every chat source implements, and the sink it hands events to.

A source is either a webhook handler (its ``routes()``), a long-running connector (its
``run()``, started and cancelled by the app), or both. It converts platform payloads into
:class:`ChatEvent` at its edge; nothing platform-specific travels further.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from aiohttp import web

from livebot.chat.event import ChatEvent
from livebot.config import SourceSettings, parse_dataclass


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int


class EventSink(Protocol):
    """Where sources deliver events. ``submit`` returns once they are durably stored."""

    async def submit(self, events: Sequence[ChatEvent]) -> IngestResult: ...


class Source:
    """Base class: subclasses set ``type_name`` and ``Settings`` (a frozen dataclass)."""

    type_name: ClassVar[str]
    Settings: ClassVar[type[Any]]

    def __init__(self, settings: SourceSettings, index: int, sink: EventSink) -> None:
        self.id = settings.id
        self.options = parse_dataclass(self.Settings, settings.options, f"sources[{index}]")
        self.sink = sink

    def routes(self) -> list[web.AbstractRouteDef]:
        """HTTP endpoints this source serves (webhooks, callbacks); none by default."""
        return []

    async def run(self) -> None:
        """Long-running connection to the platform; returns at once for push-only sources."""

    async def close(self) -> None:
        """Release connections; called when the app stops."""
