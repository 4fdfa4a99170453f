"""The console's per-app objects (``app[CONSOLE]``) and how a committed change is announced."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

import aiohttp
from aiohttp import web

from livebot.appkeys import BUS, CONFIG, DATABASE
from livebot.auth.identity import Identity
from livebot.chat.replies import REPLIES
from livebot.console import store
from livebot.console.cards import card_payload
from livebot.console.delivery import ReplyRoutes
from livebot.console.hub import Hub
from livebot.console.intake import Intake
from livebot.console.models import QuestionCard
from livebot.console.settings import ConsoleSettings
from livebot.console.store import Actor, Change, Incoming
from livebot.errors import BusError
from livebot.schedule import api_internal as schedule
from livebot.topics import ConsoleCard, console_topic, console_update

logger = logging.getLogger(__name__)


@dataclass
class ConsoleState:
    settings: ConsoleSettings
    hub: Hub
    intake: Intake
    routes: ReplyRoutes
    site_names: dict[int, str] = field(default_factory=dict)
    segment_names: dict[int, str] = field(default_factory=dict)
    outbox_wake: asyncio.Event = field(default_factory=asyncio.Event)
    http: aiohttp.ClientSession | None = None

    @property
    def claim_timeout(self) -> timedelta:
        return timedelta(seconds=self.settings.claim_timeout_seconds)

    @property
    def group_window(self) -> timedelta:
        return timedelta(seconds=self.settings.group_window_seconds)

    def actor(self, identity: Identity) -> Actor:
        """An advisor as the store sees them; seniors may take escalated cards."""
        admin = identity.role == "admin" and identity.kind == "user"
        seniors = self.settings.senior_advisors
        return Actor(name=identity.name, display=identity.display_name or identity.name, admin=admin,
                     senior=admin or not seniors or identity.name in seniors)

    def payloads(self, cards: Iterable[QuestionCard]) -> list[ConsoleCard]:
        return [card_payload(card, self.site_names, self.segment_names) for card in cards]


CONSOLE: web.AppKey[ConsoleState] = web.AppKey("console.state", ConsoleState)


async def refresh_sites(app: web.Application, cards: Iterable[QuestionCard]) -> None:
    """Load site and segment names when a card mentions one this instance has not seen yet."""
    state = app[CONSOLE]
    cards = list(cards)
    if any(site_id not in state.site_names for card in cards for site_id in card.site_ids or ()):
        state.site_names.update(await schedule.site_names(app[DATABASE]))
    if any(card.segment_id is not None and card.segment_id not in state.segment_names for card in cards):
        state.segment_names.update(await schedule.segment_names(app[DATABASE]))


async def publish_change(app: web.Application, change: Change) -> None:
    """Tell every instance's consoles of a committed change (``console.{session_id}``)."""
    state = app[CONSOLE]
    await refresh_sites(app, change.cards)
    message = console_update(change.session_id, change.seq, state.payloads(change.cards), change.asks)
    try:
        await app[BUS].publish(console_topic(change.session_id), message)
    except BusError as err:
        # the change is committed; consoles see a gap in the sequence and resynchronise
        logger.warning("console session=%s seq=%s publish failed: %s", change.session_id, change.seq, err)


def build_state(app: web.Application) -> ConsoleState:
    """Create the console's objects; their tasks start in ``console_ctx``."""
    settings = app[CONFIG].section("console", ConsoleSettings)
    hub = Hub()

    async def write(session_id: int, items: list[Incoming]) -> Change | None:
        state = app[CONSOLE]
        if any(i.site_id is not None and i.site_id not in state.site_names for i in items):
            state.site_names.update(await schedule.site_names(app[DATABASE]))
        return await store.add_questions(app[DATABASE], session_id, items, state.group_window,
                                         settings.escalate_needs_human, state.site_names)

    async def publish(change: Change) -> None:
        await publish_change(app, change)

    intake = Intake(settings=settings, hub=hub, write=write, publish=publish)
    return ConsoleState(settings=settings, hub=hub, intake=intake, routes=ReplyRoutes(settings, lambda: app.get(REPLIES)))
