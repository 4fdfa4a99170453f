"""The overlay state machine of one instance: bus news in, persisted state and hub parts out.

Commands (``overlay.control``) change the stored control state; trace news, telemetry, chat
and engagement figures change derived parts. Every instance hears the same bus messages in the
same order and applies them the same way, so all instances agree and any one may persist.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from livebot.background import TaskSet
from livebot.bus.base import Bus, Unsubscribe
from livebot.compliance.service import Guard
from livebot.errors import LivebotError
from livebot.overlays import feeds, present, store
from livebot.overlays.commands import Command, add_ticker_item, apply_command, default_state, parse_command
from livebot.overlays.hub import OverlayHub
from livebot.overlays.settings import OverlaySettings
from livebot.overlays.stats import LiveStats
from livebot.overlays.ticker import ticker_entry
from livebot.schedule import api_internal as schedule
from livebot.storage.engine import Database
from livebot.topics import (
    CHAT_ENRICHED,
    CHAT_STORED,
    OVERLAY_CONTROL,
    OVERLAY_TOKENS,
    TELEMETRY,
    TRACE_UPDATED,
    read_chat_enriched,
    read_chat_stored,
    read_engagement_live,
    read_session_id,
    read_telemetry,
    read_trace_updated,
)
from livebot.trace.api_internal import TraceFacts

logger = logging.getLogger(__name__)

TICK_SECONDS = 0.5
MAX_PENDING = 50
"""Held viewer comments kept per session for the producer (oldest go first)."""
MISSING_TTL = 5.0
"""Chat for a session id that does not exist is not looked up again for this many seconds."""


@dataclass(eq=False)
class SessionOverlay:
    """What one session's overlays show, beyond the hub's serialised parts."""

    session_id: int
    control: dict[str, Any]
    version: int
    title: str = ""
    timezone: str = "Asia/Shanghai"
    plant: str | None = None
    lot: str | None = None
    stats: LiveStats = field(default_factory=LiveStats)
    dirty_since: float | None = None
    telemetry_due: float = 0.0
    stats_due: float = 0.0
    last_by: str = ""
    last_command_at: float = 0.0


class OverlayService:
    def __init__(self, db: Database, bus: Bus, settings: OverlaySettings, hub: OverlayHub, trace: TraceFacts,
                 guard: Guard | None = None, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock
        """Wall time in seconds (the ticker's veto window); tests step it instead of sleeping."""
        self.trace = trace
        self.guard = guard
        self.bus = bus
        self.settings = settings
        self.hub = hub
        self.sessions: dict[int, SessionOverlay] = {}
        self.locks: dict[int, asyncio.Lock] = {}
        self.waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.unsubscribes: list[Unsubscribe] = []
        self.ticker_task: asyncio.Task[None] | None = None
        self.last_ping = time.monotonic()
        self.missing: dict[int, float] = {}
        self.tasks = TaskSet("overlays")

    async def start(self) -> None:
        subscribe = self.bus.subscribe
        self.unsubscribes = [
            subscribe(OVERLAY_CONTROL, self.on_control, name="overlays:control"),
            subscribe(TRACE_UPDATED, self.on_trace_updated, name="overlays:trace"),
            subscribe(TELEMETRY, self.on_telemetry, name="overlays:telemetry", queue_size=1000),
            self.bus.subscribe_batches(CHAT_ENRICHED, self.on_chat_batch, name="overlays:chat"),
            self.bus.subscribe_batches(CHAT_STORED, self.on_stored_batch, name="overlays:viewers"),
            subscribe("engagement.*", self.on_engagement, name="overlays:engagement", queue_size=1000),
            subscribe(OVERLAY_TOKENS, self.on_tokens, name="overlays:tokens"),
        ]
        self.ticker_task = asyncio.get_running_loop().create_task(self.tick_loop(), name="overlays:tick")

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run a background job (the demo driver) that stops with the service."""
        self.tasks.spawn(coro, name)

    async def stop(self) -> None:
        for unsubscribe in self.unsubscribes:
            unsubscribe()
        await self.tasks.stop()
        if self.ticker_task is not None:
            self.ticker_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.ticker_task
        for overlay in list(self.sessions.values()):
            if overlay.dirty_since is not None:
                await self.persist(overlay)
        await self.hub.close_all()

    # -- loading -------------------------------------------------------------------------

    async def ensure(self, session_id: int) -> SessionOverlay | None:
        """The session's overlay state, loaded (and its parts computed) once; None if no such session."""
        found = self.sessions.get(session_id)
        if found is not None:
            return found
        if self.missing.get(session_id, 0.0) > time.monotonic():
            return None
        lock = self.locks.setdefault(session_id, asyncio.Lock())
        async with lock:
            found = self.sessions.get(session_id)
            if found is not None:
                return found
            live = await schedule.find_session(self.db, session_id)
            if live is None:
                if len(self.missing) > 10_000:
                    self.missing.clear()
                self.missing[session_id] = time.monotonic() + MISSING_TTL
                return None
            stored, version = await store.load_state(self.db, session_id)
            control = {**default_state(), **(stored or {})}
            overlay = SessionOverlay(session_id, control, version, title=live.title, timezone=live.timezone)
            await self.refresh_all(overlay)
            self.sessions[session_id] = overlay
            return overlay

    async def refresh_all(self, overlay: SessionOverlay) -> None:
        channel = self.hub.channel(overlay.session_id)
        channel.update({
            "session": {"id": overlay.session_id, "title": overlay.title, "timezone": overlay.timezone},
            "scene": {"scene": overlay.control["scene"]},
            "featured": overlay.control["featured"],
            "countdown": overlay.control["countdown"],
            "ticker": self.ticker_part(overlay),
            "stats": overlay.stats.snapshot(),
        })
        await self.refresh_batch(overlay)
        await self.refresh_site(overlay)
        await self.refresh_telemetry(overlay)

    async def refresh_batch(self, overlay: SessionOverlay) -> None:
        """The producer's lot, else the first lot the session presents (the trace area's order)."""
        lot = overlay.control.get("lot")
        if not lot:
            lots = await feeds.session_lots(self.db, overlay.session_id)
            lot = lots[0] if lots else None
        overlay.lot = lot
        summary = await feeds.batch_summary(self.trace, self.db, lot) if lot else None
        overlay.plant = (summary or {}).get("plant") or None
        self.hub.channel(overlay.session_id).update({"batch": present.batch_part(lot, summary, overlay.timezone)})

    async def refresh_site(self, overlay: SessionOverlay) -> None:
        site_id = overlay.control.get("site_id")
        site = await schedule.find_site(self.db, site_id) if site_id else None
        if site is None and site_id is None:
            sites = await schedule.session_sites(self.db, overlay.session_id)
            site = sites[0] if sites else None
        part = present.site_part(site)
        if self.guard is not None and isinstance(part, dict) and self.guard.check(str(part.get("lower_third") or "")).blocked:
            logger.warning("lower third of site %s blocked by compliance; showing the site name", getattr(site, "id", None))
            part["lower_third"] = getattr(site, "name", "")[:60]
        self.hub.channel(overlay.session_id).update({"site": part})

    async def refresh_telemetry(self, overlay: SessionOverlay) -> None:
        readings = await feeds.telemetry_snapshot(self.trace, self.db, overlay.plant)
        overlay.telemetry_due = time.monotonic() + self.settings.telemetry_refresh_seconds
        part = present.telemetry_part(overlay.plant, readings, overlay.timezone)
        self.hub.channel(overlay.session_id).update({"telemetry": part})

    def ticker_part(self, overlay: SessionOverlay) -> dict[str, Any]:
        return {"enabled": bool(overlay.control.get("ticker_enabled", True)), "items": list(overlay.control.get("ticker") or [])}

    def public_state(self, overlay: SessionOverlay) -> dict[str, Any]:
        """The state as the API shows it: the control values and every part the overlays get."""
        return {"session_id": overlay.session_id, "version": overlay.version, "control": dict(overlay.control),
                "parts": dict(self.hub.channel(overlay.session_id).parts)}

    # -- commands --------------------------------------------------------------------------

    def expect(self, command_id: str) -> asyncio.Future[dict[str, Any]]:
        """A future resolved with the new state once this instance applied the command."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiters[command_id] = future
        return future

    def forget(self, command_id: str) -> None:
        self.waiters.pop(command_id, None)

    async def on_control(self, message: dict[str, Any]) -> None:
        try:
            command = parse_command(message)
        except LivebotError as err:
            logger.warning("overlay command ignored: %s", err)
            return
        self.missing.pop(command.session_id, None)
        overlay = await self.ensure(command.session_id)
        if overlay is None:
            logger.warning("overlay command for unknown session=%s cmd=%s ignored", command.session_id, command.id)
            self.resolve(command.id, {})
            return
        await self.apply(overlay, command)
        self.resolve(command.id, self.public_state(overlay))

    def resolve(self, command_id: str, state: dict[str, Any]) -> None:
        future = self.waiters.pop(command_id, None)
        if future is not None and not future.done():
            future.set_result(state)

    async def apply(self, overlay: SessionOverlay, command: Command) -> None:
        if await self.blocked_on_screen(overlay, command):
            return
        changed = apply_command(overlay.control, command, self.settings.ticker_size)
        logger.info("overlay command session=%s type=%s by=%s cmd=%s changed=%s",
                    overlay.session_id, command.type, command.by, command.id, sorted(changed))
        if not changed:
            return
        overlay.version += 1
        overlay.last_by = command.by or "system"
        overlay.last_command_at = time.monotonic()
        await self.persist(overlay)
        channel = self.hub.channel(overlay.session_id)
        if "scene" in changed:
            channel.update({"scene": {"scene": overlay.control["scene"]}})
        if "featured" in changed:
            channel.update({"featured": overlay.control["featured"]})
        if "countdown" in changed:
            channel.update({"countdown": overlay.control["countdown"]})
        if "ticker" in changed:
            channel.update({"ticker": self.ticker_part(overlay)})
        if "batch" in changed:
            await self.refresh_batch(overlay)
            await self.refresh_telemetry(overlay)
        if "site" in changed:
            await self.refresh_site(overlay)

    async def blocked_on_screen(self, overlay: SessionOverlay, command: Command) -> bool:
        """True (and logged) when the command would put a blocked claim on the broadcast."""
        text = "\n".join(t for t in screen_texts(command) if t)
        if self.guard is None or not text:
            return False
        result = self.guard.check(text)
        if not result.blocked:
            return False
        logger.warning("overlay command blocked by compliance session=%s type=%s cmd=%s", overlay.session_id, command.type, command.id)
        await self.guard.record("overlay", "blocked", result, text, session_id=overlay.session_id, actor=command.by or "system",
                                ref=f"overlay:{command.type}:{command.id}")
        return True

    async def persist(self, overlay: SessionOverlay) -> None:
        overlay.dirty_since = None
        await store.save_state(self.db, overlay.session_id, overlay.control, overlay.version, overlay.last_by)

    # -- news from other areas -------------------------------------------------------------

    async def on_trace_updated(self, message: dict[str, Any]) -> None:
        update = read_trace_updated(message)
        lots = set(update["lots"]) if update is not None else set()
        for overlay in list(self.sessions.values()):
            if overlay.lot in lots or (overlay.lot is None and overlay.control.get("lot") is None):
                await self.refresh_batch(overlay)

    async def on_telemetry(self, message: dict[str, Any]) -> None:
        """Readings can arrive many per second; the tick loop re-reads at most twice a second."""
        reading = read_telemetry(message)
        plant = reading["plant"] if reading is not None else None
        for overlay in self.sessions.values():
            if overlay.plant is None or plant is None or overlay.plant == plant:
                overlay.telemetry_due = 0.0

    async def on_chat(self, message: dict[str, Any]) -> None:
        await self.on_chat_batch([message])

    async def on_chat_batch(self, messages: list[dict[str, Any]]) -> None:
        """Enriched chat: the local stats meter and the ticker; the ticker part is pushed once per list."""
        changed: set[int] = set()
        for raw in messages:
            message = read_chat_enriched(raw)
            session_id = message["session_id"] if message is not None else None
            if message is None or session_id is None:
                continue
            overlay = self.sessions.get(session_id) or await self.ensure(session_id)
            if overlay is None:
                continue
            overlay.stats.add_chat(message)
            if not overlay.control.get("ticker_enabled", True):
                continue
            item = ticker_entry(message, self.settings.ticker_max_chars)
            if item is not None and await self.admit_ticker_item(overlay, item):
                overlay.dirty_since = overlay.dirty_since or time.monotonic()
                changed.add(session_id)
        for session_id in changed:
            overlay = self.sessions.get(session_id)
            if overlay is not None:
                self.hub.channel(session_id).update({"ticker": self.ticker_part(overlay)})

    async def admit_ticker_item(self, overlay: SessionOverlay, item: dict[str, Any]) -> bool:
        """Blocked and warned comments never show; the rest per ``ticker_review``. True: ticker changed."""
        if self.guard is not None:
            result = self.guard.check(item["text"])
            if result.verdict != "ok":
                await self.guard.record("ticker", "blocked" if result.blocked else "held", result, item["text"],
                                        session_id=overlay.session_id, actor="viewer", actor_name=item["user"], ref=item["id"])
                return False
        if self.settings.ticker_review == "off":
            return add_ticker_item(overlay.control, item, self.settings.ticker_size)
        pending = [p for p in overlay.control.get("ticker_pending") or [] if p.get("id") != item["id"]]
        due = self.clock() + self.settings.ticker_delay_seconds if self.settings.ticker_review == "delay" else None
        overlay.control["ticker_pending"] = [*pending, {**item, "due": due}][-MAX_PENDING:]
        overlay.dirty_since = overlay.dirty_since or time.monotonic()
        return False

    def release_due(self, overlay: SessionOverlay) -> bool:
        """Delay mode: comments whose veto window has passed go on the ticker."""
        pending = overlay.control.get("ticker_pending") or []
        now = self.clock()
        due = [p for p in pending if p.get("due") is not None and p["due"] <= now]
        if not due:
            return False
        overlay.control["ticker_pending"] = [p for p in pending if p not in due]
        for item in due:
            add_ticker_item(overlay.control, {key: item[key] for key in ("id", "text", "user", "platform")}, self.settings.ticker_size)
        overlay.dirty_since = overlay.dirty_since or time.monotonic()
        return True

    async def on_stored(self, message: dict[str, Any]) -> None:
        await self.on_stored_batch([message])

    async def on_stored_batch(self, messages: list[dict[str, Any]]) -> None:
        """Only viewer counts matter here; comments are counted once enriched."""
        for raw in messages:
            if raw.get("kind") != "viewers":
                continue  # nearly every message: not checked in full for nothing
            message = read_chat_stored(raw)
            if message is None or message["session_id"] is None:
                continue
            session_id = message["session_id"]
            overlay = self.sessions.get(session_id) or await self.ensure(session_id)
            if overlay is not None:
                overlay.stats.add_viewers(message)

    async def on_engagement(self, message: dict[str, Any]) -> None:
        figures = read_engagement_live(message)
        if figures is None or figures["session_id"] <= 0:
            return
        session_id = figures["session_id"]
        overlay = self.sessions.get(session_id) or await self.ensure(session_id)
        if overlay is not None:
            overlay.stats.add_engagement(figures)
            self.hub.channel(session_id).update({"stats": overlay.stats.snapshot()})

    async def on_tokens(self, message: dict[str, Any]) -> None:
        session_id = read_session_id(message)
        if session_id is not None and session_id in self.hub.channels:
            closed = await self.hub.close_revoked(session_id, await store.active_digests(self.db, session_id))
            logger.info("overlay token rotated session=%s closed=%d", session_id, closed)

    # -- the clock -------------------------------------------------------------------------

    async def tick_loop(self) -> None:
        """Pings, stale telemetry, the decaying comments-per-minute figure and ticker writes."""
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # the clock must keep running whatever one refresh did
                logger.exception("overlay tick failed sessions=%s", sorted(self.sessions))

    async def tick(self) -> None:
        now = time.monotonic()
        if now - self.last_ping >= self.hub.heartbeat:
            self.last_ping = now
            self.hub.ping_all()
        watched = {channel.session_id for channel in self.hub.watched()}
        for overlay in list(self.sessions.values()):
            if self.release_due(overlay):
                self.hub.channel(overlay.session_id).update({"ticker": self.ticker_part(overlay)})
            if overlay.dirty_since is not None and now - overlay.dirty_since >= 1.0:
                await self.persist(overlay)
            if overlay.session_id not in watched:
                continue
            if now >= overlay.telemetry_due:
                await self.refresh_telemetry(overlay)
            if now >= overlay.stats_due:
                overlay.stats_due = now + self.settings.stats_refresh_seconds
                self.hub.channel(overlay.session_id).update({"stats": overlay.stats.snapshot()})


def screen_texts(command: Command) -> list[str]:
    """The texts a command would put on the broadcast."""
    f = command.fields
    if command.type == "featured":
        return [f.get("question", ""), f.get("answer", ""), f.get("asker", "")]
    if command.type == "ticker":
        return [f.get("text", "")]
    if command.type == "countdown":
        return [f.get("title") or ""]
    return []


def command_from_api(body: Mapping[str, Any], session_id: int, by: str) -> Command:
    """An API body as a command for ``session_id`` sent by ``by`` (the body cannot pick either)."""
    if not isinstance(body, Mapping):
        return parse_command(body, session_id=session_id)
    return parse_command({**body, "by": by, "session_id": session_id, "cmd_id": None}, session_id=session_id)
