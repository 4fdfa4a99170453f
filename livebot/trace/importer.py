"""Store a validated EPCIS document in one transaction: events, lot index, readings, inspections.

Re-sending a document is idempotent: events are keyed by ``eventID`` (or a canonical hash of
the event when it has none), so a repeat is counted as a duplicate and stored once; a known
``eventID`` with different content is refused (409). An error declaration marks the event it
declares (and itself) retracted: kept, but no longer part of any batch's chain.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from livebot.storage.base import utcnow
from livebot.storage.engine import Database
from livebot.trace import chains, projection
from livebot.trace.epcis import ParsedDocument, ParsedEvent
from livebot.trace.errors import EventConflict
from livebot.trace.models import HealthEvent, Herd, Inspection, Location, Product, RawMilkLot, SensorReading, TraceEvent, TraceEventLot
from livebot.trace.settings import TraceSettings

logger = logging.getLogger(__name__)


@dataclass
class ImportResult:
    stored: int
    duplicates: int
    lots: list[str] = field(default_factory=list)
    gtins: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"stored": self.stored, "duplicates": self.duplicates, "lots": self.lots, "gtins": self.gtins}


def inspection_key(event_id: str, lot: str) -> str:
    """One inspection row per (event, lot), stable across resends."""
    return "epcis:" + hashlib.sha256(f"{event_id}\x00{lot}".encode()).hexdigest()


async def import_document(db: Database, doc: ParsedDocument, zone: ZoneInfo, settings: TraceSettings) -> ImportResult:
    """Store ``doc`` all or nothing; a concurrent import of the same events is retried once.
    ``settings`` build the stored summaries."""
    for attempt in (1, 2):
        try:
            async with chains.writing(db) as session:
                return await store_document(session, doc, zone, settings)
        except IntegrityError:
            if attempt == 2:
                raise
            logger.info("trace import: concurrent insert of the same events, retrying events=%d", len(doc.events))
    raise AssertionError("unreachable")


async def store_document(session: AsyncSession, doc: ParsedDocument, zone: ZoneInfo, settings: TraceSettings) -> ImportResult:
    known = await existing_events(session, [i for e in doc.events for i in (e.event_id, *e.aliases)])
    fresh: list[ParsedEvent] = []
    for event in doc.events:
        stored = next((known[i] for i in (event.event_id, *event.aliases) if i in known), None)
        if stored is None:
            known[event.event_id] = event.content_hash
            fresh.append(event)
        elif stored and stored != event.content_hash and not event.declaration:
            raise EventConflict(event.event_id, event.index)
    await save_locations(session, doc.locations)
    renamed = await save_products(session, doc.products)
    herds = await save_herds(session, doc.herds)
    affected: set[str] = set()
    gtins: set[str] = set(doc.products)
    if fresh:
        pks = await insert_events(session, fresh)
        await insert_children(session, fresh, pks)
        for event in fresh:
            affected.update(ref.lot for ref in event.lots)
            gtins.update(ref.gtin for ref in event.lots)
        declared, retracted = await apply_declarations(session, fresh)
        affected |= declared
        await projection.rebuild(session, affected, zone, reset=declared)
        affected |= await treated_lots(session, fresh, retracted)
    if herds:
        affected |= await herd_lots(session, herds)
    if affected or renamed:
        affected |= await chains.refresh(session, affected, renamed, settings=settings)
    result = ImportResult(stored=len(fresh), duplicates=len(doc.events) - len(fresh), lots=sorted(affected),
                          gtins=sorted(gtins))
    logger.info("trace import stored=%d duplicates=%d lots=%d", result.stored, result.duplicates, len(affected))
    return result


async def existing_events(session: AsyncSession, ids: list[str]) -> dict[str, str]:
    """Stored event id -> its content hash ("" for events stored before hashes were kept)."""
    found: dict[str, str] = {}
    for part in projection.chunks(sorted(set(ids))):
        rows = await session.execute(select(TraceEvent.event_id, TraceEvent.content_hash).where(TraceEvent.event_id.in_(part)))
        found.update((event_id, digest or "") for event_id, digest in rows)
    return found


async def apply_declarations(session: AsyncSession, fresh: list[ParsedEvent]) -> tuple[set[str], set[str]]:
    """Mark retracted the events new declarations name, and new events already declared wrong;
    returns the lots of those events (their chains change) and the retracted event ids."""
    declared = {e.details["retracts"] for e in fresh if e.declaration}
    candidates = [f"{e.event_id}#error" for e in fresh if not e.declaration]
    for part in projection.chunks(candidates):
        found = await session.scalars(select(TraceEvent.event_id).where(TraceEvent.event_id.in_(part)))
        declared.update(event_id.removesuffix("#error") for event_id in found)
    lots: set[str] = set()
    for part in projection.chunks(sorted(declared)):
        await session.execute(update(TraceEvent).where(TraceEvent.event_id.in_(part)).values(retracted=True))
        rows = await session.scalars(select(TraceEventLot.lot).join(TraceEvent, TraceEvent.id == TraceEventLot.event_pk)
                                     .where(TraceEvent.event_id.in_(part)))
        lots.update(rows)
    return lots, declared


async def treated_lots(session: AsyncSession, fresh: list[ParsedEvent], retracted: set[str]) -> set[str]:
    """Raw-milk lots whose herd had an animal under treatment, new or retracted now, when they were
    milked: only those chains show a different treated list (not every lot the herd ever gave)."""
    windows: dict[str, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    for event in fresh:
        treated = event.details.get("health")
        if treated is not None:
            until = treated.get("withdrawal_until")
            windows[treated["herd"]].append((event.event_time, datetime.fromisoformat(until) if until else None))
    for part in projection.chunks(sorted(retracted)):
        rows = await session.execute(select(HealthEvent.herd, HealthEvent.start, HealthEvent.withdrawal_until)
                                     .join(TraceEvent, TraceEvent.id == HealthEvent.event_pk).where(TraceEvent.event_id.in_(part)))
        for herd, start, until in rows:
            windows[herd].append((start, until))
    milked = func.coalesce(RawMilkLot.milking_end, RawMilkLot.milking_start)
    found: set[str] = set()
    for herd, spans in windows.items():
        query = select(RawMilkLot.lot, RawMilkLot.milking_end, RawMilkLot.milking_start).where(
            RawMilkLot.herd == herd, milked >= min(start for start, _ in spans))
        if all(until is not None for _, until in spans):
            query = query.where(milked <= max(until for _, until in spans if until is not None))
        for lot, end, start in await session.execute(query):
            at = end or start
            if any(begin <= at and (until is None or at <= until) for begin, until in spans):
                found.add(lot)
    return found


async def insert_events(session: AsyncSession, events: list[ParsedEvent]) -> list[int]:
    """Core executemany (one round trip per chunk), then the new primary keys by event id."""
    now = utcnow()
    rows = [
        {"event_id": e.event_id, "event_type": e.event_type, "action": e.action, "biz_step": e.biz_step,
         "disposition": e.disposition, "event_time": e.event_time, "tz_offset": e.tz_offset, "read_point": e.read_point,
         "biz_location": e.biz_location, "details": e.details, "body": e.body, "recorded_at": now,
         "content_hash": e.content_hash or None, "retracted": e.declaration}
        for e in events
    ]
    for part in projection.chunks(rows, 1000):
        await session.execute(insert(TraceEvent.__table__), list(part))
    ids: dict[str, int] = {}
    for part in projection.chunks([e.event_id for e in events]):
        ids.update((await session.execute(select(TraceEvent.event_id, TraceEvent.id).where(TraceEvent.event_id.in_(part)))).tuples().all())
    return [ids[e.event_id] for e in events]


async def insert_children(session: AsyncSession, events: list[ParsedEvent], pks: list[int]) -> None:
    """The lot index, sensor readings and inspection rows of newly stored events."""
    lots, readings, inspections, health = [], [], [], []
    for event, pk in zip(events, pks, strict=True):
        treated = event.details.get("health")
        if treated is not None:
            until = treated.get("withdrawal_until")
            health.append({"event_pk": pk, "herd": treated["herd"], "animal": treated["animal"], "treatment": treated.get("treatment", ""),
                           "start": event.event_time, "withdrawal_until": datetime.fromisoformat(until) if until else None})
        for ref in event.lots:
            lots.append({"event_pk": pk, "role": ref.role, "lot": ref.lot, "gtin": ref.gtin, "quantity": ref.quantity, "uom": ref.uom})
        for reading in event.readings:
            readings.append({"event_pk": pk, "type": reading.type, "value": reading.value, "uom": reading.uom, "at": reading.at})
        found = event.details.get("inspection")
        if found is None:
            continue
        for ref in event.lots:
            if ref.role != "object":
                continue
            inspections.append({
                "source_key": inspection_key(event.event_id, ref.lot), "lot": ref.lot, "item": found["item"],
                "value": found.get("value", ""), "unit": found.get("unit", ""), "limit_value": found.get("limit", ""),
                "result": found["result"], "lab": found.get("lab", ""), "at": event.event_time, "event_pk": pk,
            })
    for model, rows in ((TraceEventLot, lots), (SensorReading, readings), (Inspection, inspections), (HealthEvent, health)):
        for part in projection.chunks(rows, 2000):
            await session.execute(insert(model.__table__), list(part))


async def save_locations(session: AsyncSession, names: dict[str, str]) -> None:
    """Location names from master data; a newer document's name wins."""
    if not names:
        return
    current = {}
    for part in projection.chunks(sorted(names)):
        current.update({row.location_id: row for row in await session.scalars(select(Location).where(Location.location_id.in_(part)))})
    for location_id, name in names.items():
        row = current.get(location_id)
        if row is None:
            session.add(Location(location_id=location_id, name=name))
        else:
            row.name = name


async def save_herds(session: AsyncSession, herds: dict[str, dict[str, Any]]) -> set[str]:
    """Herds from master data (size, breed, feed plan); a newer document's values win. Returns the
    ids of herds that are new or changed (a resend of the same master data changes no chain)."""
    if not herds:
        return set()
    current = {h.herd_id: h for part in projection.chunks(sorted(herds))
               for h in await session.scalars(select(Herd).where(Herd.herd_id.in_(part)))}
    changed: set[str] = set()
    for herd_id, attributes in herds.items():
        row = current.get(herd_id)
        if row is not None and all(getattr(row, key) == value for key, value in attributes.items()):
            continue
        row = row or Herd(herd_id=herd_id)
        for key, value in attributes.items():
            setattr(row, key, value)
        row.updated_at = utcnow()
        session.add(row)
        changed.add(herd_id)
    await session.flush()
    return changed


async def herd_lots(session: AsyncSession, herds: set[str]) -> set[str]:
    """Raw-milk lots of ``herds``: their chains show the herd and its health records."""
    found: set[str] = set()
    for part in projection.chunks(sorted(herds)):
        found.update(await session.scalars(select(RawMilkLot.lot).where(RawMilkLot.herd.in_(part))))
    return found


async def save_products(session: AsyncSession, products: dict[str, dict[str, str]]) -> list[str]:
    """Product names and stages from master data (EPCClass vocabulary); returns the GTINs that changed."""
    if not products:
        return []
    current = {p.gtin: p for p in await session.scalars(select(Product).where(Product.gtin.in_(sorted(products))))}
    changed = []
    for gtin, attributes in products.items():
        row = current.get(gtin) or Product(gtin=gtin)
        values = {key: attributes[key] for key in ("name", "stage") if attributes.get(key)}
        if gtin in current and all(getattr(row, key) == value for key, value in values.items()):
            continue
        for key, value in values.items():
            setattr(row, key, value)
        row.updated_at = utcnow()
        session.add(row)
        changed.append(gtin)
    await session.flush()
    return changed
