"""Derived trace facts, the API other areas use: batch summaries, telemetry, code lookup.

``batch_summary`` answers "is this batch inside the promise?" from stored facts: minutes from
milking to processing, cold-chain excursions after cooling, inspections passed. Times are ISO
8601 in the display time zone; unknown values are None, never guessed. The derivation itself
is :mod:`livebot.trace.derive`.

Functions that derive facts take the ``[trace]`` settings as an argument; other areas use a
:class:`TraceFacts` built by the trace area's setup with the app's settings (``app[TRACE_FACTS]``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from datetime import datetime
from typing import Any

from livebot.storage.base import utcnow
from livebot.storage.engine import Database
from livebot.trace import chains, store
from livebot.trace.derive import iso, summarise
from livebot.trace.digitallink import parse_digital_link
from livebot.trace.errors import BadCode
from livebot.trace.reply import format_reply
from livebot.trace.settings import TraceSettings
from livebot.trace.telemetry import is_stale

_ELEMENT_STRING = re.compile(r"\(01\)(\d{14})(?:\(\d{2}\)[^()]*)*?\(10\)([^()\s]{1,20})")
_INVISIBLE = re.compile(r"[\s\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]+")
_SEPARATORS = re.compile(r"[-_]+")


def _askable(lot: object) -> bool:
    return isinstance(lot, str) and bool(lot) and "\x00" not in lot  # NUL: never stored, and PostgreSQL refuses to compare it


async def batch_summary(db: Database, lot: str, settings: TraceSettings) -> dict[str, Any] | None:
    """Everything a viewer may ask about a batch, JSON-ready; None for an unknown lot."""
    if not _askable(lot):
        return None
    chain = await chains.load_chain(db, lot)
    return None if chain is None else summarise(chain, settings)


JOURNEY_KEYS = ("herds", "feed", "ingredients", "packing", "warehouse", "shipments")


async def batch_journey(db: Database, lot: str, settings: TraceSettings) -> dict[str, Any] | None:
    """A batch's chain around the milk-to-can steps: ``herds`` (size, breed, feed plan, animals under
    treatment withheld), ``feed`` and ``ingredients`` (lots with supplier, origin, own tests),
    ``packing``, ``warehouse`` (receipt, storage conditions), ``shipments`` (to regions). Missing
    data is None or []; None for an unknown lot."""
    summary = await batch_summary(db, lot, settings)
    return None if summary is None else {key: summary[key] for key in (*JOURNEY_KEYS, "lot", "raw_lot", "farm", "plant", "line",
                                                                        "milking_end", "processing_start")}


async def batch_summaries(db: Database, lots: Collection[str], settings: TraceSettings,
                          snapshots: chains.SqliteSnapshots | None = None) -> dict[str, dict[str, Any] | None]:
    """``batch_summary`` of several lots with one database round trip; None for unknown lots.
    ``snapshots``: read the stored chains straight from the SQLite file (see :class:`chains.SqliteSnapshots`)."""
    askable = [lot for lot in lots if _askable(lot)]
    found: dict[str, chains.Chain] = {}
    if askable:
        found = await (chains.read_chains(db, snapshots, askable) if snapshots else chains.load_chains(db, askable))
    return {lot: summarise(found[lot], settings) if lot in found else None for lot in lots}


async def telemetry_snapshot(db: Database, settings: TraceSettings, plant: str | None = None,
                             now: datetime | None = None) -> list[dict[str, Any]]:
    """The newest reading of each metric, with ``stale`` when it is older than its interval."""
    now = now or utcnow()
    result: list[dict[str, Any]] = []
    if plant is not None and "\x00" in plant:  # no plant has a NUL in its name; PostgreSQL refuses the query
        return result
    for row in await store.latest_telemetry(db, plant):
        result.append({
            "plant": row.plant, "line": row.line or None, "metric": row.metric,
            "value": row.value_num if row.value_num is not None else row.value_text, "unit": row.unit,
            "at": iso(row.at, settings), "interval_s": row.interval_s,
            "age_s": max(0, int((now - row.at).total_seconds())), "stale": is_stale(row.at, row.interval_s, now),
        })
    return result


def normalise_code(code: str) -> str:
    """Full-width to ASCII, spaces and invisible characters removed, upper case."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", code)).upper()


def code_candidates(code: str) -> list[str]:
    """The code as typed, without separators, with a letter O read as zero in its digit part, then everywhere."""
    typed = normalise_code(code)
    first = _SEPARATORS.sub("", typed)
    candidates = [typed, first]
    digit = re.search(r"\d", first)
    if digit is not None:
        head, tail = first[: digit.start()], first[digit.start():]
        candidates.append(head + tail.replace("O", "0"))
    candidates.append(first.replace("O", "0"))
    return list(dict.fromkeys(c for c in candidates if c))


async def find_lot(db: Database, code: str) -> str | None:
    """The lot of a batch from a lot number, can code or Digital Link, tolerating typing slips."""
    if not isinstance(code, str) or not code.strip() or len(code) > 2048 or "\x00" in code:
        return None
    text = unicodedata.normalize("NFKC", code).strip()
    link = _link_parts(text)
    if link is not None:
        gtin, lot = link
        if lot is None:
            return None
        batch = await store.batch_for(db, gtin, lot)
        if batch is not None:
            return batch.lot
        text = lot  # a link typed by hand: try the lot with the usual slips
    candidates = code_candidates(text)
    rows = await store.lots_matching(db, candidates)
    for candidate in candidates:
        for lot, lot_key, can_code in rows:
            if candidate in (lot_key, can_code):
                return lot
    return None


def _link_parts(text: str) -> tuple[str, str | None] | None:
    """(gtin, lot) of a Digital Link URL or a GS1 element string, None when it is neither."""
    element = _ELEMENT_STRING.search(text.replace(" ", ""))
    if element is not None:
        return element.group(1), element.group(2)
    if "/01/" not in text:
        return None
    try:
        link = parse_digital_link(text)
    except BadCode:
        return None
    return link.gtin, link.lot


async def trace_reply(db: Database, code: str, settings: TraceSettings) -> str | None:
    """The filled Chinese trace summary for a code typed in chat, or None when no batch matches."""
    lot = await find_lot(db, code)
    if lot is None:
        return None
    summary = await batch_summary(db, lot, settings)
    return format_reply(summary) if summary is not None else None


class TraceFacts:
    """The facts other areas ask trace for, derived with one app's ``[trace]`` settings
    (built by the trace area's setup: ``app[TRACE_FACTS]``)."""

    def __init__(self, settings: TraceSettings) -> None:
        self.settings = settings

    async def batch_summary(self, db: Database, lot: str) -> dict[str, Any] | None:
        return await batch_summary(db, lot, self.settings)

    async def batch_summaries(self, db: Database, lots: Collection[str]) -> dict[str, dict[str, Any] | None]:
        return await batch_summaries(db, lots, self.settings)

    async def batch_journey(self, db: Database, lot: str) -> dict[str, Any] | None:
        return await batch_journey(db, lot, self.settings)

    async def telemetry_snapshot(self, db: Database, plant: str | None = None, now: datetime | None = None) -> list[dict[str, Any]]:
        return await telemetry_snapshot(db, self.settings, plant, now)

    async def find_lot(self, db: Database, code: str) -> str | None:
        return await find_lot(db, code)

    async def trace_reply(self, db: Database, code: str) -> str | None:
        return await trace_reply(db, code, self.settings)

    async def session_lots(self, db: Database, session_id: int) -> list[str]:
        return await store.session_lots(db, session_id)
