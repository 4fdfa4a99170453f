"""``type = "replay"``: play a transcript (JSONL of webhook-format events) into the sink.

For demos, rehearsals and load tests without a platform: ``file`` names a transcript, or
``generated = true`` plays the generated multi-platform demo transcript
(:mod:`livebot.chat.transcript`, ``minutes`` long). ``speed`` scales the original gaps,
``loop`` starts again at the end (with fresh ids and times), ``retime`` stamps events with the
moment they are played, and ``as_source`` stores them under another source's id so that they
reach the channels bound to that source (the demo routes into ``demo-relay``'s channels).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from livebot.chat import wire
from livebot.chat.errors import IngestUnavailable, Overloaded
from livebot.chat.event import ChatEvent
from livebot.chat.replay import Pacing, paced, read_transcript
from livebot.chat.sources.base import Source
from livebot.errors import ConfigError, ValidationError

logger = logging.getLogger(__name__)

UNAVAILABLE_PAUSE = 2.0


@dataclass(frozen=True)
class ReplaySettings:
    file: str = ""
    """Transcript to play: JSON lines in the signed webhook's event format."""
    generated: bool = False
    """Play the generated demo transcript instead of a file."""
    minutes: float = 10.0
    """Length of the generated transcript."""
    seed: int = 7
    speed: float = 1.0
    """Gaps are divided by this (2 plays twice as fast; 0 as fast as possible)."""
    loop: bool = False
    retime: bool = True
    """Stamp events with the time they are played (relative timing kept)."""
    fresh_ids: bool = False
    """Suffix ids on every pass, not only after the first (loops always do)."""
    as_source: str = ""
    """Store events under this source id instead of the replay's own."""
    start_delay_seconds: float = 0.0

    def __post_init__(self) -> None:
        if bool(self.file) == self.generated:
            raise ConfigError("file", "set either file (a JSONL transcript) or generated = true")
        if self.speed < 0:
            raise ConfigError("speed", "must not be negative")
        if not 0 < self.minutes <= 24 * 60:
            raise ConfigError("minutes", "must be between 0 and 1440")
        if self.start_delay_seconds < 0:
            raise ConfigError("start_delay_seconds", "must not be negative")
        if self.file and not Path(self.file).expanduser().is_file():
            raise ConfigError("file", f"no such file: {self.file}")


class ReplaySource(Source):
    type_name = "replay"
    Settings = ReplaySettings
    options: ReplaySettings

    @property
    def store_as(self) -> str:
        return self.options.as_source or self.id

    async def run(self) -> None:
        """Play the transcript (forever with ``loop``); invalid events are logged and skipped."""
        options = self.options
        events = await asyncio.to_thread(self.load)
        if options.start_delay_seconds:
            await asyncio.sleep(options.start_delay_seconds)
        logger.info("replay source=%s playing %d events speed=%s loop=%s as=%s", self.id, len(events), options.speed,
                    options.loop, self.store_as)
        pacing = Pacing(speed=options.speed, loop=options.loop, retime=options.retime, fresh_ids=options.fresh_ids)
        played = 0
        async for batch in paced(events, pacing):
            chat = self.convert(batch)
            await self.deliver(chat)
            played += len(chat)
        logger.info("replay source=%s finished after %d events", self.id, played)

    def load(self) -> list[dict[str, Any]]:
        """The transcript's valid events (an invalid line is logged with its number and skipped)."""
        if self.options.generated:
            from livebot.chat.transcript import generate

            return generate(seed=self.options.seed, minutes=self.options.minutes)
        valid = []
        for number, item in enumerate(read_transcript(Path(self.options.file).expanduser()), start=1):
            try:
                wire.parse_event(item, f"line {number}", self.store_as)
            except ValidationError as err:
                logger.warning("replay source=%s skipping %s", self.id, err)
                continue
            valid.append(item)
        return valid

    def convert(self, batch: list[dict[str, Any]]) -> list[ChatEvent]:
        events = []
        for index, item in enumerate(batch):
            try:
                events.append(wire.parse_event(item, f"events[{index}]", self.store_as))
            except ValidationError as err:
                logger.warning("replay source=%s skipping event id=%s: %s", self.id, str(item.get("id"))[:64], err)
        return events

    async def deliver(self, events: list[ChatEvent]) -> None:
        """Submit, waiting out a full queue or a storage hiccup rather than losing the batch."""
        while events:
            try:
                await self.sink.submit(events)
                return
            except Overloaded as err:
                await asyncio.sleep(err.retry_after)
            except IngestUnavailable as err:
                logger.warning("replay source=%s storage unavailable (%s); retrying", self.id, err)
                await asyncio.sleep(UNAVAILABLE_PAUSE)
