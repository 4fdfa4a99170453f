"""From ``chat.enriched`` to question cards, in small batches.

Questions arrive hundreds a second at peak (as lists, one per FAQ stage flush); one
transaction per question would be the bottleneck (each bumps the session's sequence), so the
intake writes what has arrived per session in one transaction, group-commit style: a question
that arrives while a write is in progress goes into the next one, and transactions start at
most every ``intake_batch_ms``. A quiet queue writes a lone question at once. Chatter is not
queued but goes to the consoles' side stream.

On a durable bus (Redis streams) queueing is a consumer group's work (once per message across
processes, acknowledged once written: :meth:`Intake.on_group_batch`), while every instance still
feeds its own consoles' side stream from the pub/sub copy (:meth:`Intake.on_chat_lines`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from livebot.bus.base import Message, Progress
from livebot.chat.api_internal import StoredEvent, stored_message
from livebot.console.cards import clean_suggestions, clean_text, group_key, is_complaint
from livebot.console.hub import Hub
from livebot.console.settings import ConsoleSettings
from livebot.console.store import Change, Incoming
from livebot.topics import ChatEnriched, Enrichment, chat_enriched, chat_time, read_chat_enriched, read_session_id

logger = logging.getLogger(__name__)

Writer = Callable[[int, list[Incoming]], Awaitable[Change | None]]
Publisher = Callable[[Change], Awaitable[None]]


def incoming_of(message: ChatEnriched, settings: ConsoleSettings) -> Incoming | None:
    """The question in an enriched chat message, or None for chatter and hidden messages."""
    enrichment = message["enrichment"]
    if not enrichment["is_question"] or message["hidden"] or message["kind"] != "comment":
        return None
    text = clean_text(message["text"])
    if not text:
        return None
    suggestions = clean_suggestions(enrichment.get("suggestions"))
    user = message["user"]
    return Incoming(
        pk=message["pk"], external_id=message["id"][:128], source=message["source"][:64],
        platform=(message["platform"] or "other")[:16], channel=message["channel"][:128], ts=chat_time(message["ts"]) or datetime.now(UTC),
        user_id=user["id"][:128], user_name=clean_text(user["name"], 64), text=text, site_id=message["site_id"],
        segment_id=message["segment_id"], suggestions=suggestions, key=group_key(text, suggestions),
        needs_human=any(s["needs_human"] for s in suggestions[:1]),
        complaint=is_complaint(text, settings.complaint_words),
    )


def says_question(message: Message) -> bool:
    """Whether a raw ``chat.enriched`` message claims to be a question (checked in full afterwards)."""
    enrichment = message.get("enrichment")
    return isinstance(enrichment, dict) and enrichment.get("is_question") is True


def message_of(event: StoredEvent) -> ChatEnriched:
    """A stored, enriched chat event as the ``chat.enriched`` message it was published as."""
    enrichment = cast(Enrichment, event.enrichment or {"is_question": bool(event.is_question)})
    return chat_enriched(stored_message(event), enrichment)


def chat_line(message: ChatEnriched) -> dict[str, Any] | None:
    """A side-stream line for a visible comment."""
    if message["hidden"] or message["kind"] != "comment":
        return None
    user = message["user"]
    return {
        "id": message["pk"], "platform": message["platform"] or "other",
        "user": clean_text(user["name"] or user["id"] or "匿名", 64),
        "text": clean_text(message["text"], 300), "ts": message["ts"], "q": message["enrichment"]["is_question"],
    }


def newest_lines(messages: list[ChatEnriched], keep: int) -> tuple[list[dict[str, Any]], int]:
    """Side-stream lines for the newest ``keep`` visible comments, oldest first, and how many older
    visible comments were left out (a console shows only the newest lines of each frame anyway)."""
    lines: list[dict[str, Any]] = []
    skipped = 0
    for message in reversed(messages):
        if len(lines) >= keep:
            skipped += not message["hidden"] and message["kind"] == "comment"
            continue
        line = chat_line(message)
        if line is not None:
            lines.append(line)
    lines.reverse()
    return lines, skipped


def newest_raw_lines(messages: list[Message], keep: int) -> tuple[list[dict[str, Any]], int]:
    """:func:`newest_lines` of raw ``chat.enriched`` messages, checking only the ones it shows (a
    malformed one is left out; older ones are only counted)."""
    lines: list[dict[str, Any]] = []
    skipped = 0
    for raw in reversed(messages):
        if raw.get("hidden") is not False or raw.get("kind") != "comment":
            continue  # no line (most chat under load: flood repeats are stored hidden)
        if len(lines) >= keep:
            skipped += 1
            continue
        message = read_chat_enriched(raw)
        line = chat_line(message) if message is not None else None
        if line is not None:
            lines.append(line)
    lines.reverse()
    return lines, skipped


@dataclass
class Intake:
    """Collects questions from the bus and writes them in batches."""

    settings: ConsoleSettings
    hub: Hub
    write: Writer
    publish: Publisher
    pending: list[tuple[int, Incoming]] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    written: int = 0
    progress: Progress = field(default_factory=Progress)

    async def on_enriched(self, message: Message) -> None:
        await self.on_enriched_batch([message])

    async def on_enriched_batch(self, messages: list[Message]) -> None:
        """Queue the questions of a ``chat.enriched`` list; feed the side stream its newest lines."""
        self.show_lines(self.take_questions(messages))

    async def on_group_batch(self, messages: list[Message]) -> None:
        """The durable bus's handler: queue the questions, return once they are written (only questions
        are read in full: nine messages in ten are chatter)."""
        self.take_questions([m for m in messages if says_question(m)])
        await self.progress.wait(self.progress.taken)

    async def on_chat_lines(self, messages: list[Message]) -> None:
        """Every instance's side stream, when queueing is a consumer group's work: only the sessions
        with a console here, and of each list only the newest lines a frame shows, are read in full
        (every web process hears every ``chat.enriched``)."""
        clients = self.hub.clients
        grouped: dict[int, list[Message]] = {}
        for raw in messages:
            session_id = read_session_id(raw) or 0
            if session_id in clients:
                grouped.setdefault(session_id, []).append(raw)
        for session_id, group in grouped.items():
            lines, skipped = newest_raw_lines(group, self.settings.chat_per_frame)
            self.hub.on_chat_lines(session_id, lines, skipped)

    @staticmethod
    def by_session(messages: list[Message]) -> dict[int, list[ChatEnriched]]:
        grouped: dict[int, list[ChatEnriched]] = {}
        for raw in messages:
            message = read_chat_enriched(raw)
            if message is not None:
                grouped.setdefault(message["session_id"] or 0, []).append(message)
        return grouped

    def take_questions(self, messages: list[Message]) -> dict[int, list[ChatEnriched]]:
        """Hand the questions of ``messages`` to the writer; returns the messages by session."""
        grouped = self.by_session(messages)
        for session_id, group in grouped.items():
            for message in group:
                item = incoming_of(message, self.settings)
                if item is not None:
                    self.pending.append((session_id, item))
                    self.progress.taken += 1
                    self.wake.set()
        return grouped

    def show_lines(self, by_session: dict[int, list[ChatEnriched]]) -> None:
        for session_id, group in by_session.items():
            if session_id in self.hub.clients:
                lines, skipped = newest_lines(group, self.settings.chat_per_frame)
                self.hub.on_chat_lines(session_id, lines, skipped)

    def recover(self, messages: list[ChatEnriched]) -> int:
        """Queue questions that were stored and enriched but never reached the queue."""
        count = 0
        for message in messages:
            item = incoming_of(message, self.settings)
            if item is not None:
                self.pending.append((message["session_id"] or 0, item))
                self.progress.taken += 1
                count += 1
        if count:
            self.wake.set()
        return count

    async def run(self) -> None:
        """Write what has arrived, one write at a time and at most one every ``intake_batch_ms``."""
        loop = asyncio.get_running_loop()
        spacing = self.settings.intake_batch_ms / 1000
        last = loop.time() - spacing
        while True:
            await self.wake.wait()
            wait = last + spacing - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self.wake.clear()
            last = loop.time()
            batch, self.pending = self.pending, []
            await self.flush(batch)

    async def flush(self, batch: list[tuple[int, Incoming]]) -> None:
        by_session: dict[int, list[Incoming]] = {}
        for session_id, item in batch:
            by_session.setdefault(session_id, []).append(item)
        try:
            for session_id, items in by_session.items():
                await self.write_safely(session_id, items)
        finally:
            self.progress.finish(len(batch))

    async def write_safely(self, session_id: int, items: list[Incoming]) -> None:
        """Write a batch; if it fails, write one by one so one bad event loses only itself."""
        try:
            change = await self.write(session_id, items)
        except asyncio.CancelledError:
            raise
        except Exception:
            if len(items) == 1:
                logger.exception("console intake session=%s event=%s could not be queued", session_id, items[0].pk)
                return
            logger.warning("console intake session=%s batch of %d failed; retrying one by one", session_id, len(items))
            for item in items:
                await self.write_safely(session_id, [item])
            return
        if change is not None:
            self.written += len(change.asks)
            await self.publish(change)
