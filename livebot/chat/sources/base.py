"""The interface every chat source implements, and the sink it hands events to.

A source is either a webhook handler (its ``routes()``), a long-running connector (its
``run()``, started and cancelled by the app), or both. It converts platform payloads into
:class:`ChatEvent` at its edge (keeping the platform payload in ``raw``); nothing
platform-specific travels further.

Contract for source authors (stable; extended compatibly only):

- ``__init__(settings, index, sink)`` parses the source's own keys with its ``Settings``
  frozen dataclass (errors name ``sources[i].key``). Do no I/O and start no task here.
- ``attach(app)`` is called by the chat setup before ``routes()``/``run()``; afterwards
  ``self.app`` is the aiohttp application, so ``self.app[DATABASE]`` (for
  :mod:`livebot.chat.source_state` cursors), ``self.app[CONFIG]`` and ``self.app[BUS]`` are there.
- ``routes()``: aiohttp route defs whose handlers are bound methods of this instance, marked
  ``@csrf_exempt`` (they authenticate by signature). Put ``{source_id}`` in the path
  (``/api/v1/sources/{source_id}/wecom``): the route is registered once per type and each
  request is dispatched to the configured source with that id (unknown id or another type:
  404 before your handler runs). Document those paths in the class attribute ``openapi``
  (an OpenAPI ``paths`` fragment), added once per type.
- ``run()``: the long-running connection; started as a task after the app starts, cancelled
  on shutdown, then ``close()`` is called. Exceptions escaping ``run()`` are logged and the
  task is restarted after a pause, but reconnect/backoff policy belongs inside ``run()``.
- ``self.sink.submit(events)`` normalises text, dedupes on ``(source, id)``, routes, moderates
  and returns only after the events are committed. It raises
  :class:`livebot.chat.errors.Overloaded` (retry after ``err.retry_after`` seconds) when the
  writer queue is full, :class:`livebot.chat.errors.IngestUnavailable` when storage failed:
  acknowledge the platform only after ``submit`` returned. ``ChatEvent.source`` must be
  ``self.id``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    openapi: ClassVar[Mapping[str, Any]] = {}
    """OpenAPI ``paths`` fragment for this type's ``{source_id}`` routes."""

    def __init__(self, settings: SourceSettings, index: int, sink: EventSink) -> None:
        self.id = settings.id
        self.index = index
        self.options = parse_dataclass(self.Settings, settings.options, f"sources[{index}]")
        self.sink = sink
        self.app: web.Application | None = None

    def attach(self, app: web.Application) -> None:
        """Give the source the application (database, config, bus) before it serves or runs."""
        self.app = app

    def routes(self) -> list[web.AbstractRouteDef]:
        """HTTP endpoints this source serves (webhooks, callbacks); none by default."""
        return []

    async def run(self) -> None:
        """Long-running connection to the platform; returns at once for push-only sources."""

    async def close(self) -> None:
        """Release connections; called when the app stops."""
