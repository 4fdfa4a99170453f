"""The public batch summary, derived from a loaded chain: pure functions, no database, no clock.

``summarise`` answers "is this batch inside the promise?" from stored facts: minutes from
milking to processing, cold-chain excursions after cooling, inspections passed. Times are ISO
8601 in the display time zone; unknown values are None, never guessed.

The summary depends only on the chain and the ``[trace]`` settings, never on the time it is
read (live telemetry and its stale flags are not part of it): that is what lets the writer of
trace data store the finished JSON (:func:`encode`, ``trace_batches.summary``) for the public
resolver. Anything "now"-relative added here would be frozen at write time; it must be merged
by the reader instead. Change :data:`SUMMARY_VERSION` whenever the summary's content changes:
stored summaries with another :func:`summary_key` are then served from a fresh build and
rebuilt in the background (:func:`livebot.trace.summaries.restamp`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from livebot.trace.digitallink import digital_link_path
from livebot.trace.models import Inspection, RawMilkLot
from livebot.trace.settings import TraceSettings

if TYPE_CHECKING:
    from livebot.trace.chains import Chain

SUMMARY_VERSION = 2
"""The format of the stored summary; bump it when :func:`summarise` changes what it returns."""


def summary_key(settings: TraceSettings, snapshot_version: int) -> str:
    """What a stored summary was built with: format version, chain snapshot version and every
    setting the summary depends on. A stored summary with another key is not served."""
    inputs = (SUMMARY_VERSION, snapshot_version, settings.display_timezone, settings.promise_minutes,
              settings.coldchain_max_c, settings.cooling_target_c, settings.cooling_limit_minutes)
    return f"v{SUMMARY_VERSION}:" + hashlib.sha256(repr(inputs).encode()).hexdigest()[:32]


def encode(chain: Chain, settings: TraceSettings) -> bytes:
    """The exact JSON bytes the resolver serves for ``chain``."""
    return orjson.dumps(summarise(chain, settings))


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


def summarise(chain: Chain, settings: TraceSettings) -> dict[str, Any]:
    """The summary of one loaded chain (see :func:`livebot.trace.facts.batch_summary`)."""
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
        **journey(chain.journey, settings),
    }


def local_iso(value: str | None, settings: TraceSettings) -> str | None:
    """A stored UTC ISO time in the display time zone."""
    return datetime.fromisoformat(value).astimezone(settings.zone).isoformat() if value else None


def material_dict(item: dict[str, Any], settings: TraceSettings) -> dict[str, Any]:
    checks = [{"item": i["item"], "value": i["value"] or None, "unit": i["unit"] or None, "limit": i["limit_value"] or None,
               "result": i["result"], "lab": i["lab"] or None, "at": local_iso(i["at"], settings)} for i in item["inspections"]]
    return {"lot": item["lot"], "name": item["name"] or None, "supplier": item["supplier"] or None, "origin": item["origin"] or None,
            "received_at": local_iso(item["received_at"], settings), "inspections": checks,
            "inspections_passed": sum(1 for i in checks if i["result"] == "pass"), "inspections_total": len(checks)}


def journey(stored: dict[str, Any], settings: TraceSettings) -> dict[str, Any]:
    """Herds, feed, ingredients, packing, warehouse and shipments: stored facts only, None or [] when unknown.

    ``herds[].withheld_ok`` is True only when the farm named the animals it kept out of the
    milking and every animal under treatment at that time is among them; False when one is not;
    None when either the milking time or the farm's statement is missing.
    """
    herds = []
    for herd in stored.get("herds", []):
        treated, withheld = herd["treated"], herd["withheld"]
        ok = None if treated is None or withheld is None else set(treated) <= set(withheld)
        herds.append({**herd, "treated_count": len(treated) if treated is not None else None, "withheld_ok": ok})
    packing = stored.get("packing")
    warehouse = stored.get("warehouse")
    return {
        "herds": herds,
        "feed": [material_dict(m, settings) for m in stored.get("feed", [])],
        "ingredients": [material_dict(m, settings) for m in stored.get("ingredients", [])],
        "packing": {**packing, "at": local_iso(packing["at"], settings)} if packing else None,
        "warehouse": {**warehouse, "at": local_iso(warehouse["at"], settings)} if warehouse else None,
        "shipments": [{**s, "at": local_iso(s["at"], settings)} for s in stored.get("shipments", [])],
    }
