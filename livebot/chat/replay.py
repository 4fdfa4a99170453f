"""Playing a transcript of events (webhook format, one JSON object a line) with its own timing.

Shared by the ``replay`` source (in-process, into the sink) and ``livebot replay`` (over the
signed webhook). Events come out in batches at the moment they are due — the gap between
two events is their original gap divided by ``speed`` (0 means as fast as possible) — so a
10-minute transcript at speed 2 plays in 5 minutes. With ``retime`` each event is stamped with
the moment it is played (keeping the relative timing), and later passes of a loop (or every
pass with ``fresh_ids``) suffix ids with ``~<run>.<pass>`` so the dedupe keeps them apart.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from livebot.chat.normalize import parse_ts
from livebot.errors import ValidationError

BATCH_WINDOW = 0.1
"""Events due within this many seconds of each other travel in one batch."""
MAX_BATCH = 500


def read_transcript(path: str | Path) -> list[dict[str, Any]]:
    """Every event of a JSONL transcript; errors name the line (``line 17: not valid JSON``)."""
    events: list[dict[str, Any]] = []
    with open(path, "rb") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                item = orjson.loads(line)
            except orjson.JSONDecodeError as err:
                raise ValidationError(f"line {number}", f"not valid JSON: {err}") from None
            if not isinstance(item, dict):
                raise ValidationError(f"line {number}", "expected a JSON object (one event)")
            events.append(item)
    return events


@dataclass(frozen=True)
class Pacing:
    speed: float = 1.0
    loop: bool = False
    retime: bool = True
    fresh_ids: bool = False
    run: str = ""
    """Part of every fresh id, so two runs of the same transcript never collide; defaults to the start time."""


def offsets(events: list[dict[str, Any]]) -> list[float]:
    """Seconds from the first event (transcripts are sorted; a step back counts as no gap)."""
    times = [parse_ts(event.get("ts"), f"events[{index}].ts") for index, event in enumerate(events)]
    result, previous = [], 0.0
    for moment in times:
        previous = max(previous, (moment - times[0]).total_seconds())
        result.append(previous)
    return result


async def paced(
    events: list[dict[str, Any]],
    pacing: Pacing,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> AsyncIterator[list[dict[str, Any]]]:
    """Yield batches of (re-stamped, re-numbered) events when they are due; forever with ``loop``."""
    if not events:
        return
    gaps = offsets(events)
    run = pacing.run or format(int(time.time()), "x")
    scale = 0.0 if pacing.speed <= 0 else 1.0 / pacing.speed
    for number in range(1_000_000_000):
        started, wall = clock(), now()
        index = 0
        while index < len(events):
            wait = started + gaps[index] * scale - clock()
            if wait > 0:
                await sleep(wait)
            horizon = (clock() - started) + BATCH_WINDOW
            end = index + 1
            while end < len(events) and end - index < MAX_BATCH and gaps[end] * scale <= horizon:
                end += 1
            yield [restamp(events[i], number, gaps[i] * scale, wall, run, pacing) for i in range(index, end)]
            index = end
        if not pacing.loop:
            return
        await sleep(0)


def restamp(event: dict[str, Any], number: int, offset: float, wall: datetime, run: str, pacing: Pacing) -> dict[str, Any]:
    """The event as played in pass ``number``: new time and id when asked for."""
    copy = dict(event)
    if pacing.retime:
        copy["ts"] = (wall + timedelta(seconds=offset)).isoformat()
    if pacing.fresh_ids or number > 0:
        copy["id"] = f"{event.get('id')}~{run}.{number}"
    return copy


def chunks(items: list[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
