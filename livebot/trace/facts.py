"""Derived trace facts, the API other areas use: batch summaries, telemetry, code lookup.

``batch_summary`` answers "is this batch inside the promise?" from stored facts: minutes from
milking to processing, cold-chain excursions after cooling, inspections passed. Times are ISO
8601 in the display time zone; unknown values are None, never guessed.

The functions take only the database (their callers are overlays and the FAQ filler); the
``[trace]`` settings of the app that opened that database are found with :func:`settings_for`.
"""

from __future__ import annotations

import re
import unicodedata
import weakref
from dataclasses import dataclass
from datetime import datetime
from collections.abc import Collection
from typing import Any

from livebot.storage.base import utcnow
from livebot.storage.engine import Database
from livebot.trace import chains, store
from livebot.trace.digitallink import digital_link_path, parse_digital_link
from livebot.trace.errors import BadCode
from livebot.trace.models import Inspection, RawMilkLot
from livebot.trace.reply import format_reply
from livebot.trace.settings import TraceSettings
from livebot.trace.telemetry import is_stale

_SETTINGS: weakref.WeakKeyDictionary[Any, TraceSettings] = weakref.WeakKeyDictionary()
_ELEMENT_STRING = re.compile(r"\(01\)(\d{14})(?:\(\d{2}\)[^()]*)*?\(10\)([^()\s]{1,20})")
_INVISIBLE = re.compile(r"[\s\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]+")
_SEPARATORS = re.compile(r"[-_]+")


def use_settings(db: Database, settings: TraceSettings) -> None:
    """Remember the ``[trace]`` settings for this database (called by the app at start)."""
    _SETTINGS[db.engine] = settings


def settings_for(db: Database) -> TraceSettings:
    return _SETTINGS.get(db.engine) or TraceSettings()


@dataclass(frozen=True)
class RawFacts:
    """The derived facts of one raw-milk lot."""

    lot: RawMilkLot
    cooled_at: datetime | None
    cooling_temp_c: float | None
    minutes_to_processing: int | None
    excursions: int


def milked_at(raw: RawMilkLot) -> datetime | None:
    """When the promise clock starts: milking done (its start when the end is unknown)."""
    return raw.milking_end or raw.milking_start


def minutes_between(start: datetime | None, end: datetime | None) -> int | None:
    """Whole minutes from ``start`` to ``end``; None when either is unknown or they are out of order."""
    if start is None or end is None or end < start:
        return None
    return int((end - start).total_seconds() // 60)


def cooling(raw: RawMilkLot, readings: list[tuple[datetime, float]], target_c: float) -> tuple[datetime | None, float | None]:
    """Pushed cooling facts, else the first reading at or below the target after milking."""
    if raw.cooled_at is not None:
        return raw.cooled_at, raw.cooling_temp_c
    start = milked_at(raw)
    for at, value in readings:
        if (start is None or at >= start) and value <= target_c:
            return at, value
    return None, None


def excursions(readings: list[tuple[datetime, float]], cooled_at: datetime | None, until: datetime | None, max_c: float) -> int:
    """Separate spells above ``max_c`` after the milk was first cooled (until processing starts)."""
    if cooled_at is None:
        return 0
    count, above = 0, False
    for at, value in readings:
        if at <= cooled_at or (until is not None and at > until):
            continue
        if value > max_c and not above:
            count += 1
        above = value > max_c
    return count


def raw_facts(raw: RawMilkLot, readings: list[tuple[datetime, float]], settings: TraceSettings) -> RawFacts:
    cooled_at, cooled_c = cooling(raw, readings, settings.cooling_target_c)
    return RawFacts(
        lot=raw, cooled_at=cooled_at, cooling_temp_c=cooled_c,
        minutes_to_processing=minutes_between(milked_at(raw), raw.processing_start),
        excursions=excursions(readings, cooled_at, raw.processing_start, settings.coldchain_max_c),
    )


def headline(facts: list[RawFacts]) -> RawFacts | None:
    """The raw lot a batch is judged by: the slowest one known (honest for a promise)."""
    timed = [f for f in facts if f.minutes_to_processing is not None]
    if timed:
        return max(timed, key=lambda f: f.minutes_to_processing or 0)
    return facts[0] if facts else None


def promise_met(facts: list[RawFacts], promise_minutes: int) -> bool | None:
    """True only when every raw lot with known times met the promise; None when none is known."""
    known = [f.minutes_to_processing for f in facts if f.minutes_to_processing is not None]
    if not known:
        return None
    return all(m <= promise_minutes for m in known)


def iso(value: datetime | None, settings: TraceSettings) -> str | None:
    return value.astimezone(settings.zone).isoformat() if value is not None else None


def inspection_dict(row: Inspection, settings: TraceSettings) -> dict[str, Any]:
    return {"item": row.item, "value": row.value or None, "unit": row.unit or None, "limit": row.limit_value or None,
            "result": row.result, "lab": row.lab or None, "at": iso(row.at, settings), "lot": row.lot}


def _askable(lot: object) -> bool:
    return isinstance(lot, str) and bool(lot) and "\x00" not in lot  # NUL: never stored, and PostgreSQL refuses to compare it


async def batch_summary(db: Database, lot: str) -> dict[str, Any] | None:
    """Everything a viewer may ask about a batch, JSON-ready; None for an unknown lot."""
    if not _askable(lot):
        return None
    chain = await chains.load_chain(db, lot)
    return None if chain is None else summarise(chain, settings_for(db))


async def batch_summaries(db: Database, lots: Collection[str],
                          snapshots: chains.SqliteSnapshots | None = None) -> dict[str, dict[str, Any] | None]:
    """``batch_summary`` of several lots with one database round trip; None for unknown lots.
    ``snapshots``: read the stored chains straight from the SQLite file (see :class:`chains.SqliteSnapshots`)."""
    askable = [lot for lot in lots if _askable(lot)]
    found: dict[str, chains.Chain] = {}
    if askable:
        found = await (chains.read_chains(db, snapshots, askable) if snapshots else chains.load_chains(db, askable))
    settings = settings_for(db)
    return {lot: summarise(found[lot], settings) if lot in found else None for lot in lots}


def summarise(chain: chains.Chain, settings: TraceSettings) -> dict[str, Any]:
    """The summary of one loaded chain (see :func:`batch_summary`)."""
    batch, product = chain.batch, chain.product
    facts = [raw_facts(raw, chain.readings.get(raw.lot, []), settings) for raw in chain.raw_lots]
    main = headline(facts)
    raw = main.lot if main else None
    passed = sum(1 for i in chain.inspections if i.result == "pass")
    cooling_minutes = minutes_between(milked_at(raw), main.cooled_at) if main and raw else None
    readings = [
        {"at": iso(at, settings), "value": value, "unit": "°C", "lot": name}
        for name, series in chain.readings.items() for at, value in series
    ]
    readings.sort(key=lambda r: r["at"] or "")
    return {
        "product": product.name if product and product.name else None,
        "gtin": batch.gtin or None,
        "lot": batch.lot,
        "can_code": batch.can_code,
        "stage": product.stage if product and product.stage else None,
        "production_date": batch.production_date.isoformat() if batch.production_date else None,
        "expiry_date": batch.expiry_date.isoformat() if batch.expiry_date else None,
        "plant": batch.plant or (raw.plant if raw and raw.plant else None),
        "line": batch.line or None,
        "raw_lot": raw.lot if raw else None,
        "farm": raw.farm or None if raw else None,
        "tank": raw.tank or None if raw else None,
        "truck": raw.truck or None if raw else None,
        "milking_start": iso(raw.milking_start, settings) if raw else None,
        "milking_end": iso(raw.milking_end, settings) if raw else None,
        "cooled_at": iso(main.cooled_at, settings) if main else None,
        "cooling_temp_c": main.cooling_temp_c if main else None,
        "cooling_minutes": cooling_minutes,
        "cooling_limit_minutes": settings.cooling_limit_minutes,
        "cooling_met": cooling_minutes <= settings.cooling_limit_minutes if cooling_minutes is not None else None,
        "departed_at": iso(raw.departed_at, settings) if raw else None,
        "arrived_at": iso(raw.arrived_at, settings) if raw else None,
        "processing_start": iso((raw.processing_start if raw else None) or batch.processing_start, settings),
        "minutes_to_processing": main.minutes_to_processing if main else None,
        "promise_minutes": settings.promise_minutes,
        "promise_met": promise_met(facts, settings.promise_minutes),
        "coldchain_max_c": settings.coldchain_max_c,
        "coldchain_excursions": sum(f.excursions for f in facts),
        "inspections_passed": passed,
        "inspections_total": len(chain.inspections),
        "inspections": [inspection_dict(i, settings) for i in chain.inspections],
        "readings": readings,
        "raw_lots": [
            {"lot": f.lot.lot, "farm": f.lot.farm or None, "milking_end": iso(milked_at(f.lot), settings),
             "processing_start": iso(f.lot.processing_start, settings), "minutes_to_processing": f.minutes_to_processing,
             "coldchain_excursions": f.excursions}
            for f in facts
        ],
        "digital_link": digital_link_path(batch.gtin, batch.lot) if batch.gtin else None,
    }


async def telemetry_snapshot(db: Database, plant: str | None = None, now: datetime | None = None) -> list[dict[str, Any]]:
    """The newest reading of each metric, with ``stale`` when it is older than its interval."""
    now = now or utcnow()
    settings = settings_for(db)
    result = []
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


async def trace_reply(db: Database, code: str) -> str | None:
    """The filled Chinese trace summary for a code typed in chat, or None when no batch matches."""
    lot = await find_lot(db, code)
    if lot is None:
        return None
    summary = await batch_summary(db, lot)
    return format_reply(summary) if summary is not None else None
