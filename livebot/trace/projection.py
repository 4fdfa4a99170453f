"""Turn stored EPCIS events into the chain: raw-milk lots and batches (docs/trace-mapping.md).

Each import rebuilds every lot it touched from *all* that lot's stored events, so documents
may arrive in any order and resending one changes nothing. Values pushed as plain JSON stay
unless an event now provides the same field.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from livebot.storage.base import utcnow
from livebot.trace.errors import InvalidEvent
from livebot.trace.models import Batch, BatchSource, Location, Material, Product, RawMilkLot, TraceEvent, TraceEventLot

logger = logging.getLogger(__name__)

CHUNK = 500
RAW_STAGE = "raw_milk"
MATERIAL_STAGES = ("ingredient", "feed")
"""Product stages (master data ``livebot:stage``) of ingredient and feed lots."""
SHIPPING_STEPS = ("shipping", "departing")
RECEIVING_STEPS = ("receiving", "arriving")
RAW_EVENT_FIELDS: dict[str, Any] = {"milking_end": None, "milking_start": None, "farm": "", "tank": "", "departed_at": None, "truck": "",
                                    "arrived_at": None, "plant": "", "processing_start": None, "herd": "", "milking_group": "",
                                    "feed_lots": None, "withheld": None}
BATCH_EVENT_FIELDS: dict[str, Any] = {"expiry_date": None, "can_code": None, "production_date": None, "plant": "", "line": "",
                                      "processing_start": None}
"""What events can set on a raw-milk lot / batch: cleared before re-deriving a lot an error declaration touched."""


@dataclass(slots=True)
class LotEvent:
    """One stored event as seen from one of its lots."""

    pk: int
    role: str
    gtin: str
    event_id: str
    event_type: str
    action: str | None
    biz_step: str | None
    event_time: datetime
    read_point: str
    biz_location: str
    details: dict[str, Any]


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def lot_events(session: AsyncSession, lots: Iterable[str]) -> dict[str, list[LotEvent]]:
    """Every stored event naming each lot, oldest first, without error declarations and the events they retract."""
    found: dict[str, list[LotEvent]] = defaultdict(list)
    for part in chunks(sorted(lots)):
        rows = await session.execute(
            select(TraceEventLot.lot, TraceEvent.id, TraceEventLot.role, TraceEventLot.gtin, TraceEvent.event_id,
                   TraceEvent.event_type, TraceEvent.action, TraceEvent.biz_step, TraceEvent.event_time,
                   TraceEvent.read_point, TraceEvent.biz_location, TraceEvent.details)
            .join(TraceEvent, TraceEvent.id == TraceEventLot.event_pk)
            .where(TraceEventLot.lot.in_(part), TraceEvent.retracted.is_(False))
            .order_by(TraceEvent.event_time, TraceEvent.id)
        )
        for lot, *fields in rows:
            found[lot].append(LotEvent(*fields))
    return found


async def transformation_inputs(session: AsyncSession, pks: Iterable[int]) -> dict[int, list[str]]:
    """The input lots of each TransformationEvent (by primary key)."""
    inputs: dict[int, list[str]] = defaultdict(list)
    for part in chunks(sorted(set(pks))):
        rows = await session.execute(
            select(TraceEventLot.event_pk, TraceEventLot.lot)
            .where(TraceEventLot.event_pk.in_(part), TraceEventLot.role == "input")
        )
        for pk, lot in rows:
            inputs[pk].append(lot)
    return inputs


def classify(entries: list[LotEvent], stage: str, is_raw: bool, is_batch: bool) -> str | None:
    """``material`` for an ingredient or feed lot, ``raw`` for a raw-milk lot, ``batch`` for a made
    lot, None when the events do not say."""
    if stage in MATERIAL_STAGES or any("material" in e.details and e.role == "object" for e in entries):
        return "material"
    marked = any("raw_milk" in e.details and e.role == "object" for e in entries)
    used = any(e.role == "input" and e.event_type == "TransformationEvent" for e in entries)
    made = any(e.role == "output" and e.event_type == "TransformationEvent" for e in entries)
    if marked or stage == RAW_STAGE or is_raw or (used and not made):
        return "raw"
    commissioned = any(e.action == "ADD" and e.role == "object" and e.biz_step == "commissioning" for e in entries)
    if made or is_batch or commissioned:
        return "batch"
    return None


def place(event: LotEvent, names: dict[str, str]) -> str:
    """The name of where an event happened (business location, else read point, else its id)."""
    for location in (event.biz_location, event.read_point):
        if location:
            return names.get(location, location)[:128]
    return ""


def first(entries: list[LotEvent], steps: tuple[str, ...]) -> LotEvent | None:
    return next((e for e in entries if e.biz_step in steps), None)


def raw_fields(entries: list[LotEvent], names: dict[str, str]) -> dict[str, Any]:
    """Raw-milk facts: commissioning = milking done, shipping/receiving = transport, transformation = processing."""
    fields: dict[str, Any] = {"gtin": next((e.gtin for e in entries if e.gtin), None)}
    milked = next((e for e in entries if e.role == "object" and e.action == "ADD" and e.biz_step == "commissioning"), None)
    marker: dict[str, Any] = {}
    for event in entries:  # the farm's commissioning event and later pushes (herd, feed) each add to it
        marker.update(event.details.get("raw_milk", {}))
    if milked is not None:
        fields["milking_end"] = milked.event_time
        fields["farm"] = marker.get("farm") or place(milked, names)
    elif marker.get("farm"):
        fields["farm"] = marker["farm"]
    if marker.get("milking_start"):
        fields["milking_start"] = datetime.fromisoformat(marker["milking_start"])
    fields["tank"] = marker.get("tank")
    for key in ("herd", "milking_group", "feed_lots", "withheld"):
        fields[key] = marker.get(key)
    shipped = first(entries, SHIPPING_STEPS)
    if shipped is not None:
        fields["departed_at"] = shipped.event_time
        fields["truck"] = shipped.details.get("truck")
    received = first(entries, RECEIVING_STEPS)
    if received is not None:
        fields["arrived_at"] = received.event_time
        fields["plant"] = place(received, names)
    processed = next((e for e in entries if e.role == "input" and e.event_type == "TransformationEvent"), None)
    if processed is not None:
        fields["processing_start"] = processed.event_time
        fields.setdefault("plant", place(processed, names))
    return fields


def batch_fields(entries: list[LotEvent], names: dict[str, str], zone: ZoneInfo) -> dict[str, Any]:
    """Batch facts from the transformation that made it (or its commissioning) and their ILMD."""
    made = next((e for e in entries if e.role == "output" and e.event_type == "TransformationEvent"), None)
    commissioned = next((e for e in entries if e.role == "object" and e.action == "ADD"), None)
    origin = made or commissioned
    fields: dict[str, Any] = {"gtin": next((e.gtin for e in entries if e.gtin), None)}
    ilmd: dict[str, Any] = {}
    for event in entries:
        if event.role in ("output", "object") and "ilmd" in event.details:
            ilmd = {**event.details["ilmd"], **ilmd}
    fields["expiry_date"] = date.fromisoformat(ilmd["expiry"]) if "expiry" in ilmd else None
    fields["can_code"] = ilmd.get("can_code")
    if "production_date" in ilmd:
        fields["production_date"] = date.fromisoformat(ilmd["production_date"])
    elif origin is not None:
        fields["production_date"] = origin.event_time.astimezone(zone).date()
    if origin is not None:
        fields["plant"] = place(origin, names)
        fields["line"] = origin.details.get("line") or (names.get(origin.read_point, origin.read_point)[:64] if origin.read_point else None)
    if made is not None:
        fields["processing_start"] = made.event_time
    return fields


def material_fields(entries: list[LotEvent], stage: str, names: dict[str, str]) -> dict[str, Any]:
    """An ingredient or feed lot: what ``livebot:ingredient``/``livebot:feed`` says, and when it arrived."""
    marker: dict[str, Any] = next((e.details["material"] for e in entries if "material" in e.details and e.role == "object"), {})
    received = first(entries, RECEIVING_STEPS) or next((e for e in entries if e.role == "object" and e.action == "ADD"), None)
    return {"kind": marker.get("kind") or stage, "gtin": next((e.gtin for e in entries if e.gtin), None),
            "name": marker.get("name"), "supplier": marker.get("supplier"), "origin": marker.get("origin"),
            "received_at": received.event_time if received is not None else None}


def apply(row: Any, fields: dict[str, Any]) -> None:
    """Set the fields events know; leave pushed values where the events say nothing."""
    for name, value in fields.items():
        if value is not None and value != "":
            setattr(row, name, value)
    row.updated_at = utcnow()


async def rebuild(session: AsyncSession, lots: set[str], zone: ZoneInfo, reset: Collection[str] = ()) -> None:
    """Re-derive the raw-milk lots and batches for ``lots`` inside the caller's transaction.

    Lots in ``reset`` (touched by an error declaration) first lose every event-derived value and
    batch source, so what a retracted event said is gone; values pushed as plain JSON go with them.
    """
    events = await lot_events(session, lots)
    gtins = {e.gtin for entries in events.values() for e in entries if e.gtin}
    stages = dict((await session.execute(select(Product.gtin, Product.stage).where(Product.gtin.in_(gtins)))).tuples().all()) if gtins else {}
    locations = {loc for entries in events.values() for e in entries for loc in (e.biz_location, e.read_point) if loc}
    names: dict[str, str] = {}
    for part in chunks(sorted(locations)):
        names.update((await session.execute(select(Location.location_id, Location.name).where(Location.location_id.in_(part)))).tuples().all())
    wanted = sorted(set(events) | set(reset))
    raws = {r.lot: r for part in chunks(wanted) for r in await session.scalars(select(RawMilkLot).where(RawMilkLot.lot.in_(part)))}
    materials = {m.lot: m for part in chunks(wanted) for m in await session.scalars(select(Material).where(Material.lot.in_(part)))}
    batches = {b.lot: b for part in chunks(wanted) for b in await session.scalars(select(Batch).where(Batch.lot.in_(part)))}
    await clear_derived(session, reset, raws, batches)
    made_pks = [e.pk for entries in events.values() for e in entries if e.role == "output" and e.event_type == "TransformationEvent"]
    inputs = await transformation_inputs(session, made_pks)
    planned: list[tuple[str, str, dict[str, Any], list[LotEvent]]] = []
    claimed: dict[str, str] = {}
    for lot, entries in events.items():
        gtin = next((e.gtin for e in entries if e.gtin), "")
        kind = classify(entries, stages.get(gtin, ""), lot in raws, lot in batches)
        if kind is None and lot in materials:
            kind = "material"
        if kind == "material":
            planned.append((lot, kind, material_fields(entries, stages.get(gtin, ""), names), entries))
        elif kind == "raw":
            planned.append((lot, kind, raw_fields(entries, names), entries))
        elif kind == "batch":
            fields = batch_fields(entries, names, zone)
            code = fields.get("can_code")
            if code and claimed.setdefault(code, lot) != lot:
                raise InvalidEvent("ilmd.livebot:canCode", f"can code {code} is given to lots {claimed[code]} and {lot}")
            planned.append((lot, kind, fields, entries))
    await check_can_codes(session, claimed)
    batch_lots = [lot for lot, kind, _, _ in planned if kind in ("batch", "raw")]
    known_sources: set[tuple[str, str]] = set()
    for part in chunks(batch_lots):
        rows = await session.execute(select(BatchSource.batch_lot, BatchSource.source_lot).where(BatchSource.batch_lot.in_(part)))
        known_sources.update(rows.tuples().all())
    for lot, kind, fields, entries in planned:
        if kind == "material":
            if lot in raws:  # first seen only as a transformation input, now known as an ingredient
                await session.delete(raws[lot])
            row: Any = materials.get(lot) or Material(lot=lot)
            apply(row, fields)
            session.add(row)
            continue
        if kind == "raw":
            row = raws.get(lot) or RawMilkLot(lot=lot)
            apply(row, fields)
            session.add(row)
            # feed the herd ate: followed like a batch's sources, so a feed test arriving later refreshes the chain
            feed = [f for f in fields.get("feed_lots") or () if f != lot]
            session.add_all(BatchSource(batch_lot=lot, source_lot=f) for f in feed if (lot, f) not in known_sources)
            continue
        row = batches.get(lot) or Batch(lot=lot, lot_key=lot.upper())
        apply(row, fields)
        session.add(row)
        sources = {src for e in entries if e.role == "output" for src in inputs.get(e.pk, ())}
        session.add_all(BatchSource(batch_lot=lot, source_lot=src) for src in sorted(sources) if (lot, src) not in known_sources)


async def clear_derived(session: AsyncSession, reset: Collection[str], raws: dict[str, RawMilkLot], batches: dict[str, Batch]) -> None:
    """Forget what events said about the ``reset`` lots (see :func:`rebuild`)."""
    for lot in reset:
        for row, empty in ((raws.get(lot), RAW_EVENT_FIELDS), (batches.get(lot), BATCH_EVENT_FIELDS)):
            if row is not None:
                for name, value in empty.items():
                    setattr(row, name, value)
    for part in chunks(sorted(set(reset) & (set(batches) | set(raws)))):
        await session.execute(delete(BatchSource).where(BatchSource.batch_lot.in_(part)))
    await session.flush()


async def check_can_codes(session: AsyncSession, claimed: dict[str, str]) -> None:
    """A can code points at one lot; a document giving it to a second lot is rejected."""
    for part in chunks(sorted(claimed)):
        rows = await session.execute(select(Batch.can_code, Batch.lot).where(Batch.can_code.in_(part)))
        for code, lot in rows:
            if claimed[code] != lot:
                raise InvalidEvent("ilmd.livebot:canCode", f"can code {code} already belongs to lot {lot}")
