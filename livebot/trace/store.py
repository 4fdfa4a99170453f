"""Queries of the trace area: pushes, chain lookups, telemetry and the batches a session presents."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from livebot.errors import FieldConflict, ValidationError
from livebot.storage.base import utcnow
from livebot.storage.engine import Database
from livebot.trace import chains
from livebot.trace.models import (
    LOT_MAX,
    Batch,
    BatchSource,
    Inspection,
    Product,
    RawMilkLot,
    SessionBatch,
    TelemetryReading,
)
from livebot.trace.pushes import BatchPush, InspectionPush
from livebot.trace.settings import TraceSettings
from livebot.trace.telemetry import Telemetry


def apply(row: Any, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        if value is not None and value != "":
            setattr(row, name, value)
    row.updated_at = utcnow()


async def upsert_product(session: AsyncSession, gtin: str, name: str | None = None, stage: str | None = None) -> Product:
    row = await session.scalar(select(Product).where(Product.gtin == gtin)) or Product(gtin=gtin)
    apply(row, {"name": name, "stage": stage})
    session.add(row)
    return row


async def save_products(db: Database, products: Sequence[tuple[str, str, str]], settings: TraceSettings) -> list[str]:
    """Register ``(gtin, name, stage)`` products; returns the batch lots whose summary changed."""
    async with chains.writing(db) as session:
        for gtin, name, stage in products:
            await upsert_product(session, gtin, name, stage)
        return sorted(await chains.refresh(session, (), [gtin for gtin, _, _ in products], settings=settings))


async def check_can_code(session: AsyncSession, code: str | None, lot: str, where: str) -> None:
    if not code:
        return
    owner = await session.scalar(select(Batch.lot).where(Batch.can_code == code))
    if owner is not None and owner != lot:
        raise ValidationError(where, f"can code {code} already belongs to lot {owner}")


async def save_batches(db: Database, pushes: Sequence[BatchPush], settings: TraceSettings) -> tuple[list[str], list[str]]:
    """Upsert pushed batches, their products and raw milk in one transaction; returns (lots, gtins)."""
    lots: list[str] = []
    async with chains.writing(db) as session:
        codes: dict[str, str] = {}
        for i, push in enumerate(pushes):
            code = push.fields.get("can_code")
            if code and codes.setdefault(code, push.lot) != push.lot:
                raise ValidationError(f"batches[{i}].can_code", f"can code {code} is given to two lots")
            await check_can_code(session, code, push.lot, f"batches[{i}].can_code")
            if push.product:
                await upsert_product(session, push.gtin, push.product.get("name"), push.product.get("stage"))
            batch = await session.scalar(select(Batch).where(Batch.lot == push.lot)) or Batch(lot=push.lot, lot_key=push.lot.upper())
            apply(batch, {"gtin": push.gtin, **push.fields})
            session.add(batch)
            lots.append(push.lot)
            for raw in push.raw_milk:
                row = await session.scalar(select(RawMilkLot).where(RawMilkLot.lot == raw.lot)) or RawMilkLot(lot=raw.lot)
                apply(row, raw.fields)
                session.add(row)
                known = await session.scalar(select(BatchSource).where(BatchSource.batch_lot == push.lot, BatchSource.source_lot == raw.lot))
                if known is None:
                    session.add(BatchSource(batch_lot=push.lot, source_lot=raw.lot))
                lots.append(raw.lot)
            await session.flush()
        lots += await chains.refresh(session, lots, [p.gtin for p in pushes if p.product], settings=settings)
    return sorted(set(lots)), sorted({p.gtin for p in pushes})


async def save_inspections(db: Database, pushes: Sequence[InspectionPush], settings: TraceSettings) -> tuple[int, int, list[str]]:
    """Store pushed inspection results for known lots; returns (stored, duplicates, lots)."""
    async with chains.writing(db) as session:
        wanted = sorted({p.lot for p in pushes})
        known = set(await session.scalars(select(Batch.lot).where(Batch.lot.in_(wanted))))
        known |= set(await session.scalars(select(RawMilkLot.lot).where(RawMilkLot.lot.in_(wanted))))
        for i, push in enumerate(pushes):
            if push.lot not in known:
                raise FieldConflict(f"inspections[{i}].lot", f"unknown lot {push.lot}; push the batch first")
        keys = [p.key for p in pushes]
        seen = set(await session.scalars(select(Inspection.source_key).where(Inspection.source_key.in_(keys))))
        stored = 0
        for push in pushes:
            if push.key in seen:
                continue
            seen.add(push.key)
            session.add(Inspection(source_key=push.key, lot=push.lot, **push.fields))
            stored += 1
        if stored:
            wanted = sorted(set(wanted) | await chains.refresh(session, wanted, settings=settings))
    return stored, len(pushes) - stored, wanted


async def batch_for(db: Database, gtin: str, lot: str) -> Batch | None:
    async with db.sessions() as session:
        return await session.scalar(select(Batch).where(Batch.lot == lot, Batch.gtin == gtin))


async def lots_matching(db: Database, keys: Sequence[str]) -> list[tuple[str, str, str | None]]:
    """``(lot, lot_key, can_code)`` of batches whose upper-cased lot or can code is one of ``keys``."""
    keys = [k for k in keys if 0 < len(k) <= 32]
    if not keys:
        return []
    async with db.sessions() as session:
        rows = await session.execute(
            select(Batch.lot, Batch.lot_key, Batch.can_code).where((Batch.lot_key.in_(keys)) | (Batch.can_code.in_(keys)))
        )
        return [tuple(r) for r in rows]


async def save_telemetry(db: Database, readings: Sequence[Telemetry]) -> None:
    async with db.sessions() as session, session.begin():
        session.add_all(
            TelemetryReading(plant=r.plant, line=r.line, metric=r.metric,
                             value_num=None if isinstance(r.value, str) else float(r.value),
                             value_text=r.value if isinstance(r.value, str) else None,
                             unit=r.unit, at=r.at, interval_s=r.interval_s)
            for r in readings
        )


async def latest_telemetry(db: Database, plant: str | None = None) -> list[TelemetryReading]:
    """The newest reading of every (plant, line, metric)."""
    newest = select(TelemetryReading.plant, TelemetryReading.line, TelemetryReading.metric,
                    func.max(TelemetryReading.at).label("at"))
    if plant is not None:
        newest = newest.where(TelemetryReading.plant == plant)
    latest = newest.group_by(TelemetryReading.plant, TelemetryReading.line, TelemetryReading.metric).subquery()
    query = (
        select(TelemetryReading)
        .join(latest, and_(TelemetryReading.plant == latest.c.plant, TelemetryReading.line == latest.c.line,
                           TelemetryReading.metric == latest.c.metric, TelemetryReading.at == latest.c.at))
        .order_by(TelemetryReading.plant, TelemetryReading.line, TelemetryReading.metric, TelemetryReading.id.desc())
    )
    async with db.sessions() as session:
        rows = list(await session.scalars(query))
    unique: dict[tuple[str, str, str], TelemetryReading] = {}
    for row in rows:
        unique.setdefault((row.plant, row.line, row.metric), row)
    return list(unique.values())


async def session_lots(db: Database, session_id: int) -> list[str]:
    """The lots a live session presents, in order (first = the one on screen by default)."""
    async with db.sessions() as session:
        rows = await session.scalars(
            select(SessionBatch.lot).where(SessionBatch.session_id == session_id).order_by(SessionBatch.position, SessionBatch.lot)
        )
        return list(rows)


async def set_session_lots(db: Database, session_id: int, lots: Sequence[str]) -> None:
    """Replace the batches a session presents (the schedule area calls this)."""
    ordered: list[str] = []
    for lot in lots:
        if not isinstance(lot, str) or not 0 < len(lot) <= LOT_MAX:
            raise ValidationError("lots", f"each lot must be 1..{LOT_MAX} characters")
        if lot not in ordered:
            ordered.append(lot)
    async with db.sessions() as session, session.begin():
        await session.execute(delete(SessionBatch).where(SessionBatch.session_id == session_id))
        session.add_all(SessionBatch(session_id=session_id, lot=lot, position=i) for i, lot in enumerate(ordered))
