"""Trace tables: products, batches, raw-milk lots, herds, ingredient/feed lots, inspections, EPCIS events, readings, telemetry.

Raw EPCIS events are kept as received (``trace_events.body``) with an index of the lots they
name; batches and raw-milk lots are a projection of those events (plus plain JSON pushes),
rebuilt per lot on every import so the order in which documents arrive does not matter.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import false

from livebot.storage.base import Base, BigId, UtcDateTime, utcnow

LOT_MAX = 20
"""GS1 AI (10): a lot is at most 20 characters."""


class Product(Base):
    """A trade item: GTIN-14, name and formula stage (1段/2段/3段, or raw milk)."""

    __tablename__ = "trace_products"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    gtin: Mapped[str] = mapped_column(String(14), unique=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    stage: Mapped[str] = mapped_column(String(32), default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Batch(Base):
    """A finished (or intermediate) lot: what a can's Digital Link and can code point to."""

    __tablename__ = "trace_batches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lot: Mapped[str] = mapped_column(String(LOT_MAX), unique=True)
    lot_key: Mapped[str] = mapped_column(String(LOT_MAX), index=True)
    gtin: Mapped[str] = mapped_column(String(14), default="", index=True)
    production_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    expiry_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    plant: Mapped[str] = mapped_column(String(128), default="")
    line: Mapped[str] = mapped_column(String(64), default="")
    can_code: Mapped[str | None] = mapped_column(String(32), nullable=True, unique=True)
    processing_start: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    chain: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    """The assembled chain (livebot.trace.chains), refreshed whenever trace data touching it is written."""
    summary: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    """The finished public summary, the exact JSON bytes the resolver serves (livebot.trace.derive.encode),
    written with ``chain`` in the same statement; served only while ``summary_key`` is current."""
    summary_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """What ``summary`` was built with (livebot.trace.derive.summary_key): format version and settings."""
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RawMilkLot(Base):
    """A tank of raw milk from one farm and milking, until the plant starts processing it."""

    __tablename__ = "trace_raw_lots"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lot: Mapped[str] = mapped_column(String(LOT_MAX), unique=True)
    gtin: Mapped[str] = mapped_column(String(14), default="")
    farm: Mapped[str] = mapped_column(String(128), default="")
    milking_start: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    milking_end: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    cooled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    cooling_temp_c: Mapped[float | None] = mapped_column(Float, nullable=True)
    tank: Mapped[str] = mapped_column(String(64), default="")
    truck: Mapped[str] = mapped_column(String(64), default="")
    departed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    arrived_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    processing_start: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    plant: Mapped[str] = mapped_column(String(128), default="")
    herd: Mapped[str] = mapped_column(String(255), default="")
    """The herd the milk came from (a ``Herd.herd_id``), when the farm says."""
    milking_group: Mapped[str] = mapped_column(String(64), default="")
    feed_lots: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    """Feed lots the herd was fed before this milking (``Material.lot``), when the farm says."""
    withheld: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    """Animals under treatment kept out of this milking; None when the farm did not say (a gap)."""
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Herd(Base):
    """A herd of a farm (EPCIS master data): size, breed and feed plan."""

    __tablename__ = "trace_herds"

    herd_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    farm: Mapped[str] = mapped_column(String(128), default="")
    size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    breed: Mapped[str] = mapped_column(String(128), default="")
    feed_plan: Mapped[str] = mapped_column(String(128), default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Material(Base):
    """An ingredient lot (lactose, OPO, lactoferrin …) or a feed lot, with supplier and origin."""

    __tablename__ = "trace_materials"

    lot: Mapped[str] = mapped_column(String(LOT_MAX), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    """``ingredient`` or ``feed``."""
    gtin: Mapped[str] = mapped_column(String(14), default="")
    name: Mapped[str] = mapped_column(String(128), default="")
    supplier: Mapped[str] = mapped_column(String(128), default="")
    origin: Mapped[str] = mapped_column(String(128), default="")
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class HealthEvent(Base):
    """An animal under treatment (from an EPCIS event): its milk is withheld until ``withdrawal_until``."""

    __tablename__ = "trace_health"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_pk: Mapped[int] = mapped_column(ForeignKey("trace_events.id", ondelete="CASCADE"), index=True)
    herd: Mapped[str] = mapped_column(String(255), index=True)
    animal: Mapped[str] = mapped_column(String(64))
    treatment: Mapped[str] = mapped_column(String(128), default="")
    start: Mapped[datetime] = mapped_column(UtcDateTime)
    withdrawal_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class BatchSource(Base):
    """``batch_lot`` was made from ``source_lot`` (a raw-milk lot or an intermediate batch)."""

    __tablename__ = "trace_batch_sources"

    batch_lot: Mapped[str] = mapped_column(String(LOT_MAX), primary_key=True)
    source_lot: Mapped[str] = mapped_column(String(LOT_MAX), primary_key=True, index=True)


class Inspection(Base):
    """One inspection result (an item of the QC checklist) for a lot."""

    __tablename__ = "trace_inspections"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_key: Mapped[str] = mapped_column(String(128), unique=True)
    lot: Mapped[str] = mapped_column(String(LOT_MAX), index=True)
    item: Mapped[str] = mapped_column(String(128))
    value: Mapped[str] = mapped_column(String(64), default="")
    unit: Mapped[str] = mapped_column(String(32), default="")
    limit_value: Mapped[str] = mapped_column(String(64), default="")
    result: Mapped[str] = mapped_column(String(8))
    lab: Mapped[str] = mapped_column(String(128), default="")
    at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    event_pk: Mapped[int | None] = mapped_column(ForeignKey("trace_events.id", ondelete="CASCADE"), nullable=True)


class TraceEvent(Base):
    """An EPCIS event as received; ``details`` holds the parts livebot reads (ILMD, extensions)."""

    __tablename__ = "trace_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    event_type: Mapped[str] = mapped_column(String(32))
    action: Mapped[str | None] = mapped_column(String(8), nullable=True)
    biz_step: Mapped[str | None] = mapped_column(String(255), nullable=True)
    disposition: Mapped[str | None] = mapped_column(String(255), nullable=True)
    event_time: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    tz_offset: Mapped[str] = mapped_column(String(6))
    read_point: Mapped[str] = mapped_column(String(255), default="")
    biz_location: Mapped[str] = mapped_column(String(255), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    content_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """livebot.trace.epcis.content_hash: a resend under this eventID must have the same (else 409)."""
    retracted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """An error declaration, or an event one declared wrong: kept, but no longer part of any chain."""


class TraceEventLot(Base):
    """Which lots an event names, and how (object, input, output, parent, child)."""

    __tablename__ = "trace_event_lots"

    event_pk: Mapped[int] = mapped_column(ForeignKey("trace_events.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(8), primary_key=True)
    lot: Mapped[str] = mapped_column(String(LOT_MAX), primary_key=True, index=True)
    gtin: Mapped[str] = mapped_column(String(14), default="")
    quantity: Mapped[float | None] = mapped_column(Float, nullable=True)
    uom: Mapped[str | None] = mapped_column(String(8), nullable=True)


class SensorReading(Base):
    """One sensor report of an event (temperatures in °C)."""

    __tablename__ = "trace_readings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_pk: Mapped[int] = mapped_column(ForeignKey("trace_events.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    value: Mapped[float] = mapped_column(Float)
    uom: Mapped[str] = mapped_column(String(8), default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class Location(Base):
    """A location id (SGLN or Digital Link) and its name, from EPCIS master data."""

    __tablename__ = "trace_locations"

    location_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))


class TelemetryReading(Base):
    """A live factory reading: line status, tank or cold-chain temperature, output count."""

    __tablename__ = "trace_telemetry"
    __table_args__ = (Index("ix_trace_telemetry_key_at", "plant", "line", "metric", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    plant: Mapped[str] = mapped_column(String(64))
    line: Mapped[str] = mapped_column(String(64), default="")
    metric: Mapped[str] = mapped_column(String(64))
    value_num: Mapped[float | None] = mapped_column(Float, nullable=True)
    value_text: Mapped[str | None] = mapped_column(String(64), nullable=True)
    unit: Mapped[str] = mapped_column(String(16), default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    interval_s: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SessionBatch(Base):
    """The batches a live session presents, in order (set by the schedule area)."""

    __tablename__ = "session_batches"

    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True)
    lot: Mapped[str] = mapped_column(String(LOT_MAX), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class ScanMinute(Base):
    """Digital Link lookups of one batch in one UTC minute (and region, when known): counts only."""

    __tablename__ = "trace_scans"

    lot: Mapped[str] = mapped_column(String(LOT_MAX), primary_key=True)
    minute: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    region: Mapped[str] = mapped_column(String(32), primary_key=True, default="")
    scans: Mapped[int] = mapped_column(Integer, default=0)
    clients: Mapped[int] = mapped_column(Integer, default=0)
    """Distinct clients within the minute as each instance saw them (summed across instances)."""
