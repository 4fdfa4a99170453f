"""Chain snapshots: everything stored about one batch, kept as one JSON value on its row.

The public resolver is read-heavy (a whole audience scans the can shown on stream), so the
chain is assembled when trace data is *written* — for every batch an import or push touched,
in bulk, inside the writing transaction — and read back with a single query. The snapshot
holds stored facts only (UTC times); everything derived from settings (the promise, cooling
target, display time zone) is computed by :mod:`livebot.trace.derive`. The same write also
stores that derivation finished — the public summary's JSON bytes under a key naming the
format and settings it was built with (``Batch.summary``/``summary_key``) — so a resolver
miss reads ready bytes (:mod:`livebot.trace.summaries`). Every snapshot write goes through
:func:`refresh`, which always writes both: a stored summary never outlives its chain.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections import defaultdict
from collections.abc import AsyncIterator, Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from livebot.storage.engine import Database, json_value
from livebot.trace import derive
from livebot.trace.models import (
    Batch,
    BatchSource,
    HealthEvent,
    Herd,
    Inspection,
    Location,
    Material,
    Product,
    RawMilkLot,
    SensorReading,
    TraceEvent,
    TraceEventLot,
)
from livebot.trace.projection import chunks
from livebot.trace.settings import TraceSettings

SNAPSHOT_VERSION = 2
SOURCE_DEPTH = 4
"""How many making steps a batch is followed back to find its raw milk (powder -> base -> milk)."""
READINGS_MAX = 2000
BATCH_FIELDS = ("lot", "gtin", "production_date", "expiry_date", "plant", "line", "can_code", "processing_start")
RAW_FIELDS = ("lot", "gtin", "farm", "milking_start", "milking_end", "cooled_at", "cooling_temp_c", "tank", "truck",
              "departed_at", "arrived_at", "processing_start", "plant", "herd", "milking_group", "feed_lots", "withheld")
MATERIAL_FIELDS = ("lot", "gtin", "name", "supplier", "origin", "received_at")
HERD_FIELDS = ("name", "farm", "size", "breed", "feed_plan")
PACKING_STEPS = ("packing",)
STORING_STEPS = ("storing", "receiving", "arriving", "stocking")
SHIPPING_STEPS = ("shipping", "departing")
INSPECTION_FIELDS = ("lot", "item", "value", "unit", "limit_value", "result", "lab", "at")
DATETIMES = frozenset({"processing_start", "milking_start", "milking_end", "cooled_at", "departed_at", "arrived_at", "at"})
DATES = frozenset({"production_date", "expiry_date"})


@dataclass
class Chain:
    """A batch, its product, the raw milk it was made from, its inspections and temperatures."""

    batch: Batch
    product: Product | None
    raw_lots: list[RawMilkLot]
    inspections: list[Inspection]
    readings: dict[str, list[tuple[datetime, float]]] = field(default_factory=dict)
    journey: dict[str, Any] = field(default_factory=dict)
    """Herds, feed, ingredients, packing, warehouse and shipments as stored JSON (UTC ISO times;
    see :func:`journeys`): before and after the milk-to-can steps above."""


def encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def decode(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in DATETIMES:
        return datetime.fromisoformat(value)
    if name in DATES:
        return date.fromisoformat(value)
    return value


def row_dict(row: Any, names: Iterable[str]) -> dict[str, Any]:
    return {name: encode(getattr(row, name)) for name in names}


def snapshot(chain: Chain) -> dict[str, Any]:
    """The JSON value stored on the batch row."""
    return {
        "v": SNAPSHOT_VERSION,
        "batch": row_dict(chain.batch, BATCH_FIELDS),
        "product": {"name": chain.product.name, "stage": chain.product.stage} if chain.product else None,
        "raw_lots": [row_dict(raw, RAW_FIELDS) for raw in chain.raw_lots],
        "inspections": [row_dict(i, INSPECTION_FIELDS) for i in chain.inspections],
        "readings": {lot: [[encode(at), value] for at, value in series] for lot, series in chain.readings.items()},
        "journey": chain.journey,
    }


class Detached(SimpleNamespace):
    """A stored row rebuilt from a snapshot: its fields as plain attributes, read only. Building
    real ORM instances (instrumented attribute sets) was about a third of a resolver cache miss."""


def restore(data: dict[str, Any]) -> Chain:
    """Detached rows rebuilt from a snapshot (plain objects with the snapshot's fields; never
    added to a session)."""
    def build(fields: tuple[str, ...], values: dict[str, Any]) -> Any:
        row = {name: None for name in fields}
        row.update((name, decode(name, value)) for name, value in values.items())
        return Detached(**row)

    product = data["product"]
    return Chain(
        batch=build(BATCH_FIELDS, data["batch"]),
        product=cast(Product, Detached(name=product["name"], stage=product["stage"])) if product else None,
        raw_lots=[build(RAW_FIELDS, raw) for raw in data["raw_lots"]],
        inspections=[build(INSPECTION_FIELDS, i) for i in data["inspections"]],
        readings={lot: [(datetime.fromisoformat(at), value) for at, value in series] for lot, series in data["readings"].items()},
        journey=data.get("journey") or {},
    )


async def source_map(session: AsyncSession, lots: Collection[str]) -> dict[str, list[str]]:
    """For each batch, every lot it was made from, nearest first, up to ``SOURCE_DEPTH`` steps back."""
    found: dict[str, list[str]] = {lot: [] for lot in lots}
    frontier: dict[str, set[str]] = {lot: {lot} for lot in lots}
    for _ in range(SOURCE_DEPTH):
        following: dict[str, set[str]] = defaultdict(set)
        for part in chunks(sorted(frontier)):
            rows = await session.execute(select(BatchSource.batch_lot, BatchSource.source_lot).where(BatchSource.batch_lot.in_(part)))
            for made, source in rows:
                for root in frontier[made]:
                    if source != root and source not in found[root]:
                        found[root].append(source)
                        following[source].add(root)
        if not following:
            break
        frontier = following
    return found


async def build_chains(session: AsyncSession, lots: Collection[str]) -> dict[str, Chain]:
    """The chains of many batches with a handful of queries (not a few per batch)."""
    batches: dict[str, Batch] = {}
    for part in chunks(sorted(set(lots))):
        batches.update({b.lot: b for b in await session.scalars(select(Batch).where(Batch.lot.in_(part)))})
    if not batches:
        return {}
    gtins = sorted({b.gtin for b in batches.values() if b.gtin})
    products = {p.gtin: p for p in await session.scalars(select(Product).where(Product.gtin.in_(gtins)))} if gtins else {}
    sources = await source_map(session, list(batches))
    every_source = sorted({s for found in sources.values() for s in found})
    raws: dict[str, RawMilkLot] = {}
    for part in chunks(every_source):
        raws.update({r.lot: r for r in await session.scalars(select(RawMilkLot).where(RawMilkLot.lot.in_(part)))})
    inspections: dict[str, list[Inspection]] = defaultdict(list)
    for part in chunks(sorted(set(batches) | set(every_source))):
        for row in await session.scalars(select(Inspection).outerjoin(TraceEvent, TraceEvent.id == Inspection.event_pk)
                                         .where(Inspection.lot.in_(part), TraceEvent.retracted.is_not(True))):
            inspections[row.lot].append(row)
    readings: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for part in chunks(sorted(raws)):
        rows = await session.execute(
            select(TraceEventLot.lot, SensorReading.at, SensorReading.value)
            .join(SensorReading, SensorReading.event_pk == TraceEventLot.event_pk)
            .join(TraceEvent, TraceEvent.id == TraceEventLot.event_pk)
            .where(TraceEventLot.lot.in_(part), SensorReading.type == "Temperature", TraceEvent.retracted.is_(False))
        )
        for lot, at, value in rows:
            readings[lot].append((at, value))
    materials: dict[str, Material] = {}
    for part in chunks(every_source):
        materials.update({m.lot: m for m in await session.scalars(select(Material).where(Material.lot.in_(part)))})
    extras = await Extras.load(session, list(batches), list(raws.values()), materials, products)
    chains = {}
    for lot, batch in batches.items():
        raw_lots = sorted((raws[s] for s in sources[lot] if s in raws),
                          key=lambda r: (r.milking_end is None, r.milking_end or datetime.min.replace(tzinfo=UTC), r.lot))
        checks = sorted((i for name in (lot, *sources[lot]) if name not in materials for i in inspections.get(name, ())),
                        key=by_time)
        series = {r.lot: sorted(readings.get(r.lot, []))[:READINGS_MAX] for r in raw_lots}
        journey = extras.journey(lot, raw_lots, [materials[s] for s in sources[lot] if s in materials], inspections)
        chains[lot] = Chain(batch=batch, product=products.get(batch.gtin), raw_lots=raw_lots, inspections=checks, readings=series,
                            journey=journey)
    return chains


def by_time(row: Inspection) -> tuple[bool, datetime, int]:
    return (row.at is None, row.at or datetime.min.replace(tzinfo=UTC), row.id or 0)


@dataclass
class Extras:
    """What :func:`build_chains` reads besides the milk-to-can steps, loaded in bulk: herds and
    their health records, material names, and the batches' packing, storing and shipping events."""

    herds: dict[str, Herd]
    health: dict[str, list[HealthEvent]]
    products: dict[str, Product]
    events: dict[str, list[tuple[Any, ...]]]
    names: dict[str, str]
    conditions: dict[int, list[tuple[str, float]]]

    @classmethod
    async def load(cls, session: AsyncSession, batch_lots: list[str], raws: list[RawMilkLot], materials: dict[str, Material],
                   products: dict[str, Product]) -> Extras:
        herd_ids = sorted({r.herd for r in raws if r.herd})
        herds = {h.herd_id: h for h in await session.scalars(select(Herd).where(Herd.herd_id.in_(herd_ids)))} if herd_ids else {}
        health: dict[str, list[HealthEvent]] = defaultdict(list)
        milked = [at for r in raws if r.herd and (at := r.milking_end or r.milking_start) is not None]
        if milked:  # only treatments under way when one of these lots was milked (a herd's records grow all season)
            until = HealthEvent.withdrawal_until
            treated = await session.scalars(select(HealthEvent).join(TraceEvent, TraceEvent.id == HealthEvent.event_pk)
                                            .where(HealthEvent.herd.in_(herd_ids), TraceEvent.retracted.is_(False),
                                                   HealthEvent.start <= max(milked), or_(until.is_(None), until >= min(milked))))
            for row in treated:
                health[row.herd].append(row)
        gtins = sorted({m.gtin for m in materials.values() if m.gtin} - set(products))
        products = dict(products)
        if gtins:
            products.update({p.gtin: p for p in await session.scalars(select(Product).where(Product.gtin.in_(gtins)))})
        events: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        steps = (*PACKING_STEPS, *STORING_STEPS, *SHIPPING_STEPS)
        for part in chunks(sorted(batch_lots)):
            rows = await session.execute(
                select(TraceEventLot.lot, TraceEvent.id, TraceEvent.biz_step, TraceEvent.event_time, TraceEvent.read_point,
                       TraceEvent.biz_location, TraceEvent.details, TraceEventLot.quantity, TraceEventLot.uom)
                .join(TraceEvent, TraceEvent.id == TraceEventLot.event_pk)
                .where(TraceEventLot.lot.in_(part), TraceEventLot.role.in_(("object", "child")),
                       TraceEvent.biz_step.in_(steps), TraceEvent.retracted.is_(False))
                .order_by(TraceEvent.event_time, TraceEvent.id))
            for lot, *fields in rows:
                events[lot].append(tuple(fields))
        places = sorted({p for found in events.values() for e in found for p in (e[3], e[4]) if p})
        names: dict[str, str] = {}
        for part in chunks(places):
            names.update((await session.execute(select(Location.location_id, Location.name).where(Location.location_id.in_(part)))).tuples().all())
        conditions: dict[int, list[tuple[str, float]]] = defaultdict(list)
        stored = sorted({e[0] for found in events.values() for e in found if e[1] in STORING_STEPS})
        for part in chunks(stored):
            for pk, kind, value in await session.execute(select(SensorReading.event_pk, SensorReading.type, SensorReading.value)
                                                         .where(SensorReading.event_pk.in_(part))):
                conditions[pk].append((kind, value))
        return cls(herds, health, products, events, names, conditions)

    def place(self, read_point: str, biz_location: str) -> str | None:
        for location in (biz_location, read_point):
            if location:
                return self.names.get(location, location)[:128]
        return None

    def journey(self, lot: str, raws: list[RawMilkLot], materials: list[Material],
                inspections: dict[str, list[Inspection]]) -> dict[str, Any]:
        """The stored JSON of one batch's journey: herds, feed, ingredients, packing, warehouse, shipments."""
        def material(m: Material) -> dict[str, Any]:
            product = self.products.get(m.gtin)
            found = row_dict(m, MATERIAL_FIELDS)
            found["name"] = m.name or (product.name if product else "") or None
            found["inspections"] = [row_dict(i, INSPECTION_FIELDS) for i in sorted(inspections.get(m.lot, ()), key=by_time)]
            return found

        return {
            "herds": [self.herd(raw) for raw in raws if raw.herd],
            "feed": [material(m) for m in materials if m.kind == "feed"],
            "ingredients": [material(m) for m in materials if m.kind == "ingredient"],
            **self.after_production(self.events.get(lot, [])),
        }

    def herd(self, raw: RawMilkLot) -> dict[str, Any]:
        """The herd of a raw-milk lot and the animals under treatment when it was milked (None: unknown)."""
        herd = self.herds.get(raw.herd)
        found: dict[str, Any] = {"raw_lot": raw.lot, "herd": raw.herd, "milking_group": raw.milking_group or None,
                                 **{key: getattr(herd, key) if herd else None for key in HERD_FIELDS}}
        milked = raw.milking_end or raw.milking_start
        treated = None
        if milked is not None:
            treated = sorted({h.animal for h in self.health.get(raw.herd, ())
                              if h.start <= milked and (h.withdrawal_until is None or h.withdrawal_until >= milked)})
        found["treated"] = treated
        found["withheld"] = list(raw.withheld) if raw.withheld is not None else None
        return found

    def after_production(self, events: list[tuple[Any, ...]]) -> dict[str, Any]:
        """Packing (time, line), the warehouse (receipt, storage conditions) and the shipments to regions."""
        packing = warehouse = None
        shipments = []
        for pk, step, at, read_point, biz_location, details, quantity, uom in events:
            where = self.place(read_point, biz_location)
            if step in PACKING_STEPS and packing is None:
                line = details.get("line") or (self.names.get(read_point, read_point)[:64] if read_point else None)
                packing = {"at": encode(at), "line": line, "place": where}
            elif step in STORING_STEPS and (warehouse is None or warehouse["name"] == where):
                if warehouse is None:
                    warehouse = {"name": where, "at": encode(at), "temperature": [], "humidity": []}
                for kind, value in self.conditions.get(pk, ()):
                    if kind == "Temperature":
                        warehouse["temperature"].append(value)
                    elif kind == "RelativeHumidity":
                        warehouse["humidity"].append(value)
            elif step in SHIPPING_STEPS:
                shipments.append({"at": encode(at), "from": where, "region": details.get("region"), "quantity": quantity, "uom": uom})
        if warehouse is not None:
            for key in ("temperature", "humidity"):
                values = warehouse.pop(key)
                warehouse[f"{key}_min"] = min(values) if values else None
                warehouse[f"{key}_max"] = max(values) if values else None
        return {"packing": packing, "warehouse": warehouse, "shipments": shipments}


async def affected_batches(session: AsyncSession, lots: Collection[str], gtins: Collection[str] = ()) -> set[str]:
    """Batches whose chain may have changed: the lots themselves, batches made from them, batches of ``gtins``."""
    start = sorted(set(lots))
    found: set[str] = set()
    for part in chunks(start):
        found.update(await session.scalars(select(Batch.lot).where(Batch.lot.in_(part))))
    for part in chunks(sorted(set(gtins))):
        found.update(await session.scalars(select(Batch.lot).where(Batch.gtin.in_(part))))
    frontier, seen = start, set(start)
    for _ in range(SOURCE_DEPTH):
        made: set[str] = set()
        for part in chunks(frontier):
            made.update(await session.scalars(select(BatchSource.batch_lot).where(BatchSource.source_lot.in_(part))))
        frontier = sorted(made - seen)
        if not frontier:
            break
        seen.update(frontier)
        found.update(frontier)
    return found


def summary_key(settings: TraceSettings) -> str:
    """The key of summaries built now with ``settings`` (see :func:`livebot.trace.derive.summary_key`)."""
    return derive.summary_key(settings, SNAPSHOT_VERSION)


WRITE_LOCK = 0x6C62_7472_6163
"""PostgreSQL advisory lock key taken by every transaction that refreshes chains ("lbtrac")."""


@contextlib.asynccontextmanager
async def writing(db: Database) -> AsyncIterator[AsyncSession]:
    """The transaction of a trace write that ends in :func:`refresh`.

    A refresh re-assembles whole chains from what its transaction sees, so on PostgreSQL two
    writes to one batch at the same moment could each store a snapshot without the other's rows
    (the last commit wins). There, writers take turns on a transaction-scoped advisory lock,
    taken before anything else so it cannot deadlock with row locks. SQLite already lets one
    writer at a time in, and a refresh reads after its transaction's first write."""
    async with db.sessions() as session, session.begin():
        if db.backend == "postgresql":
            await session.execute(select(func.pg_advisory_xact_lock(WRITE_LOCK)))
        yield session


async def refresh(session: AsyncSession, lots: Collection[str], gtins: Collection[str] = (), *,
                  settings: TraceSettings) -> set[str]:
    """Re-assemble and store the snapshots of every batch the written ``lots``/``gtins`` touch,
    each with its finished public summary (built with ``settings``).

    Returns those batch lots: what ``trace.updated`` must name so caches drop exactly them.
    """
    await session.flush()
    targets = await affected_batches(session, lots, gtins)
    key = summary_key(settings)
    for chain in (await build_chains(session, targets)).values():
        chain.batch.chain = snapshot(chain)
        chain.batch.summary = derive.encode(chain, settings)
        chain.batch.summary_key = key
    await session.flush()
    return targets


async def load_chain(db: Database, lot: str) -> Chain | None:
    """One query for the stored snapshot; assembled on the spot when it is missing or older."""
    return (await load_chains(db, [lot])).get(lot)


async def load_chains(db: Database, lots: Collection[str]) -> dict[str, Chain]:
    """The chains of several batches (unknown lots left out): one query for their stored
    snapshots, the few missing or older ones assembled on the spot. The resolver loads the
    misses of one burst of requests together, so a crowd scanning different cans costs one
    round trip to the database instead of one each."""
    rows: list[tuple[str, Any]] = []
    async with db.sessions() as session:
        for part in chunks(sorted(set(lots))):
            rows += (await session.execute(select(Batch.lot, Batch.chain).where(Batch.lot.in_(part)))).tuples()
        found, outdated = restored(rows)
        if outdated:
            found.update(await build_chains(session, outdated))
    return found


def restored(rows: Iterable[tuple[str, Any]]) -> tuple[dict[str, Chain], list[str]]:
    """The chains whose stored snapshot is current, and the lots whose snapshot is missing or older."""
    found: dict[str, Chain] = {}
    outdated: list[str] = []
    for lot, data in rows:
        if isinstance(data, dict) and data.get("v") == SNAPSHOT_VERSION:
            found[lot] = restore(data)
        else:
            outdated.append(lot)
    return found, outdated


class SqliteSnapshots:
    """Snapshot reads from a SQLite file on the calling (event loop) thread, with a connection of its own.

    Through the async driver a read is a string of hand-offs between the loop and the driver's
    thread, and every row SQLite steps releases and retakes the GIL: on a loop kept busy by a
    crowd of requests each retake waits up to the interpreter's switch interval (5 ms), so one
    burst of resolver misses measured 100-500 ms. The same read done here (an indexed lookup
    of at most a few hundred rows by their unique lot, WAL mode: never waiting for the writer)
    takes well under a millisecond of the loop. Read-only; other backends keep the async path.
    """

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, timeout=2.0, check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA query_only=ON")
        self.sql = f"SELECT lot, chain FROM {Batch.__table__.name} WHERE lot IN "
        self.summary_sql = f"SELECT lot, gtin, summary_key, summary FROM {Batch.__table__.name} WHERE lot IN "

    @classmethod
    def open(cls, db: Database) -> SqliteSnapshots | None:
        """A reader for ``db``'s file, or None (not SQLite, or an in-memory database)."""
        url = db.engine.url
        if db.backend != "sqlite" or not url.database or url.database == ":memory:" or url.query.get("mode") == "memory":
            return None
        return cls(url.database)

    def read_summaries(self, lots: Collection[str]) -> list[tuple[str, str, str | None, bytes | None]]:
        """``(lot, gtin, summary_key, summary)`` of each known lot among ``lots``."""
        found: list[tuple[str, str, str | None, bytes | None]] = []
        for part in chunks(sorted(set(lots))):
            found += self.conn.execute(self.summary_sql + "(" + ",".join("?" * len(part)) + ")", tuple(part)).fetchall()
        return found

    def read(self, lots: Collection[str]) -> dict[str, Any]:
        """The stored snapshot of each known lot among ``lots`` (None when it has none yet)."""
        found: dict[str, Any] = {}
        for part in chunks(sorted(set(lots))):
            rows = self.conn.execute(self.sql + "(" + ",".join("?" * len(part)) + ")", tuple(part)).fetchall()
            for lot, text in rows:
                found[lot] = json_value(text) if text is not None else None
        return found

    def close(self) -> None:
        self.conn.close()


async def read_chains(db: Database, snapshots: SqliteSnapshots, lots: Collection[str]) -> dict[str, Chain]:
    """Like :func:`load_chains`, reading the snapshots through ``snapshots``."""
    found, outdated = restored(snapshots.read(lots).items())
    if outdated:
        found.update(await load_chains(db, outdated))
    return found
