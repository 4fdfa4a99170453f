"""Demo trace data: 北境臻护 1/2/3段, each batch's full EPCIS history from herd and feed to shipment, live telemetry.

The history goes through the real EPCIS importer (so the demo proves it), the current live
session presents one batch (``session_batches``), and a light background task posts factory
readings every few seconds. ``chain_events`` is also used by ``bench/trace.py``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
from aiohttp import web
from sqlalchemy import select

from livebot.appkeys import CONFIG, DATABASE
from livebot.schedule.models import LiveSession
from livebot.storage.base import utcnow
from livebot.trace import service, store
from livebot.trace.digitallink import digital_link_path, lgtin_urn, with_check_digit
from livebot.trace.epcis import LIVEBOT_NS
from livebot.trace.keys import TRACE_SETTINGS, TRACE_TASKS
from livebot.trace.telemetry import Telemetry

logger = logging.getLogger(__name__)

CST = timezone(timedelta(hours=8))
EPCIS_CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"livebot": LIVEBOT_NS}]
PRODUCTS = (
    (with_check_digit("0690123454321"), "北境臻护 1段", "1段"),
    (with_check_digit("0690123454338"), "北境臻护 2段", "2段"),
    (with_check_digit("0690123454345"), "北境臻护 3段", "3段"),
)
RAW_MILK_GTIN = with_check_digit("0690123450000")
FARMS = (("urn:epc:id:sgln:6901234.00001.0", "双城牧场"), ("urn:epc:id:sgln:6901234.00002.0", "克东牧场"))
PLANT = ("urn:epc:id:sgln:6901234.00010.0", "齐齐哈尔工厂")
LINE = ("urn:epc:id:sgln:6901234.00010.2", "湿法二线")
LAB = ("urn:epc:id:sgln:6901234.00010.9", "齐齐哈尔工厂质检中心")
WAREHOUSE = ("urn:epc:id:sgln:6901234.00020.0", "哈尔滨成品仓")
PLANT_NAME = PLANT[1]
HERDS = {FARMS[0][0]: ("urn:livebot:herd:sc-1", "双城牧场一号牛群", 320, "荷斯坦奶牛", "全混合日粮（TMR）泌乳期配方"),
         FARMS[1][0]: ("urn:livebot:herd:kd-1", "克东牧场一号牛群", 280, "荷斯坦奶牛", "全混合日粮（TMR）泌乳期配方")}
"""Herd per farm: (id, name, head count, breed, feed plan)."""
FEED_GTIN = with_check_digit("0690123459000")
FEED = ("全株青贮玉米", "黑龙江双城青贮合作社", "黑龙江双城")
INGREDIENT_GTIN = with_check_digit("0690123458000")
INGREDIENTS = (  # (lot prefix, name, supplier, origin, check)
    ("RT", "乳糖", "示例乳糖供应商", "美国", ("水分", 0.3, "g/100g", "≤0.5")),
    ("WP", "乳清蛋白粉", "示例乳清供应商", "法国", ("蛋白质", 80.2, "g/100g", "≥80")),
    ("OP", "OPO 结构脂", "示例油脂供应商", "中国江苏", ("酸价", 0.2, "mg KOH/g", "≤0.5")),
    ("DH", "DHA 藻油", "示例藻油供应商", "荷兰", ("过氧化值", 0.8, "meq/kg", "≤5")),
    ("AR", "ARA 油", "示例藻油供应商", "荷兰", ("过氧化值", 0.7, "meq/kg", "≤5")),
    ("PM", "维生素矿物质预混料", "示例预混料供应商", "中国上海", ("铅", "<0.05", "mg/kg", "≤0.5")),
    ("LF", "乳铁蛋白", "示例乳铁蛋白供应商", "新西兰", ("乳铁蛋白纯度", 95.1, "%", "≥95")),
)
REGIONS = ("华东", "华北", "华南")
TELEMETRY_PERIOD_S = 5.0

RAW_CHECKS = (  # GB 19301-2010 raw milk items: (item, value, unit, limit)
    ("蛋白质", 3.25, "g/100g", "≥2.8"),
    ("脂肪", 3.9, "g/100g", "≥3.1"),
    ("非脂乳固体", 8.75, "g/100g", "≥8.1"),
    ("相对密度", 1.031, "", "≥1.027"),
    ("酸度", 14, "°T", "12–18"),
    ("冰点", -0.526, "°C", "-0.500 ~ -0.560"),
    ("菌落总数", "4.2×10⁴", "CFU/mL", "≤2×10⁶"),
)
ARRIVAL_CHECKS = (("抗生素残留", "未检出", "", "不得检出"), ("黄曲霉毒素M1", "<0.1", "μg/kg", "≤0.5"))
PRODUCT_CHECKS = (
    ("三聚氰胺", "未检出", "mg/kg", "≤1"),
    ("阪崎肠杆菌", "未检出", "/100g", "不得检出"),
    ("水分", 2.3, "g/100g", "≤5.0"),
)


@dataclass(frozen=True)
class DemoBatch:
    gtin: str
    stage: str
    lot: str
    raw_lot: str
    can_code: str
    milked: datetime
    farm: tuple[str, str]
    tank: str
    truck: str


def event_id(*parts: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'livebot-demo/' + '/'.join(parts))}"


def when(moment: datetime) -> dict[str, str]:
    local = moment.astimezone(CST)
    return {"eventTime": local.isoformat(timespec="milliseconds"), "eventTimeZoneOffset": "+08:00"}


def quantity(gtin: str, lot: str, amount: float, uom: str) -> dict[str, Any]:
    return {"epcClass": lgtin_urn(gtin, lot), "quantity": amount, "uom": uom}


def readings(start: datetime, values: list[float], step_min: int) -> list[dict[str, Any]]:
    return [{"sensorMetadata": {"time": (start + timedelta(minutes=i * step_min)).astimezone(CST).isoformat()},
             "sensorReport": [{"type": "gs1:MT-Temperature", "value": v, "uom": "CEL"}]} for i, v in enumerate(values)]


def inspection(key: str, at: datetime, gtin: str, lot: str, where: tuple[str, str], check: tuple[Any, ...], lab: str) -> dict[str, Any]:
    item, value, unit, limit = check
    body: dict[str, Any] = {"item": item, "value": value, "limit": limit, "result": "pass", "lab": lab}
    if unit:
        body["unit"] = unit
    return {"type": "ObjectEvent", "eventID": event_id(key, "inspect", item), **when(at), "action": "OBSERVE",
            "bizStep": "inspecting", "disposition": "conformant", "readPoint": {"id": where[0]},
            "quantityList": [quantity(gtin, lot, 1, "KGM")], "livebot:inspection": body}


def chain_events(b: DemoBatch, rng: random.Random) -> list[dict[str, Any]]:
    """A batch's history: milking, cooling, transport, arrival checks, processing, packing, QC, storage."""
    key = b.lot
    milked = b.milked
    litres = rng.choice((16000, 18000, 20000))
    cooling = [round(v + rng.uniform(-0.3, 0.3), 1) for v in (33.5, 18.2, 9.6, 5.4, 3.9, 3.6, 3.5)]
    departed = milked + timedelta(minutes=35 + rng.randint(0, 5))
    transit_min = 30 + rng.randint(0, 8)
    arrived = departed + timedelta(minutes=transit_min)
    processing = arrived + timedelta(minutes=25 + rng.randint(0, 15))
    farm_lab = f"{b.farm[1]}化验室"
    herd = HERDS[b.farm[0]][0]
    feed_lot = f"FD{b.lot[2:]}"
    animal = f"{b.raw_lot[:2]}-1-{rng.randint(100, 999):04d}"
    events: list[dict[str, Any]] = [
        {"type": "ObjectEvent", "eventID": event_id(key, "feed"), **when(milked - timedelta(days=2)), "action": "OBSERVE",
         "bizStep": "receiving", "disposition": "in_progress", "readPoint": {"id": b.farm[0]}, "bizLocation": {"id": b.farm[0]},
         "quantityList": [quantity(FEED_GTIN, feed_lot, 40000, "KGM")],
         "livebot:feed": {"name": FEED[0], "supplier": FEED[1], "origin": FEED[2]}},
        inspection(key, milked - timedelta(days=2) + timedelta(hours=3), FEED_GTIN, feed_lot, b.farm,
                   ("黄曲霉毒素B1", "<5", "μg/kg", "≤20"), f"{b.farm[1]}化验室"),
        {"type": "ObjectEvent", "eventID": event_id(key, "treated"), **when(milked - timedelta(days=1)), "action": "OBSERVE",
         "bizStep": "holding", "readPoint": {"id": b.farm[0]},
         "livebot:health": {"herd": herd, "animal": animal, "treatment": "乳房炎治疗（停奶期内单独挤奶，奶不入罐）",
                            "withdrawalUntil": (milked + timedelta(days=3)).astimezone(CST).isoformat()}},
        {"type": "ObjectEvent", "eventID": event_id(key, "milked"), **when(milked), "action": "ADD",
         "bizStep": "commissioning", "disposition": "active", "readPoint": {"id": b.farm[0]}, "bizLocation": {"id": b.farm[0]},
         "quantityList": [quantity(RAW_MILK_GTIN, b.raw_lot, litres, "KGM")],
         "ilmd": {"cbvmda:lotNumber": b.raw_lot},
         "livebot:rawMilk": {"farm": b.farm[1], "tank": b.tank,
                             "milkingStart": (milked - timedelta(minutes=100)).astimezone(CST).isoformat(),
                             "herd": herd, "milkingGroup": f"{b.raw_lot[-1]}号挤奶组", "feedLots": [feed_lot],
                             "withheldAnimals": [animal]}},
        {"type": "ObjectEvent", "eventID": event_id(key, "cooling"), **when(milked + timedelta(minutes=30)), "action": "OBSERVE",
         "bizStep": "sensor_reporting", "readPoint": {"id": b.farm[0]},
         "quantityList": [quantity(RAW_MILK_GTIN, b.raw_lot, litres, "KGM")], "sensorElementList": readings(milked, cooling, 5)},
    ]
    events += [inspection(key, milked + timedelta(minutes=20), RAW_MILK_GTIN, b.raw_lot, b.farm, c, farm_lab) for c in RAW_CHECKS]
    transit = [round(3.6 + rng.uniform(-0.2, 0.3), 1) for _ in range(transit_min // 10 + 1)]
    events += [
        {"type": "ObjectEvent", "eventID": event_id(key, "shipped"), **when(departed), "action": "OBSERVE",
         "bizStep": "shipping", "disposition": "in_transit", "readPoint": {"id": b.farm[0]},
         "quantityList": [quantity(RAW_MILK_GTIN, b.raw_lot, litres, "KGM")], "livebot:truck": b.truck},
        {"type": "ObjectEvent", "eventID": event_id(key, "received"), **when(arrived), "action": "OBSERVE",
         "bizStep": "receiving", "disposition": "in_progress", "readPoint": {"id": PLANT[0]}, "bizLocation": {"id": PLANT[0]},
         "quantityList": [quantity(RAW_MILK_GTIN, b.raw_lot, litres, "KGM")], "sensorElementList": readings(departed, transit, 10)},
    ]
    events += [inspection(key, arrived + timedelta(minutes=15), RAW_MILK_GTIN, b.raw_lot, LAB, c, LAB[1]) for c in ARRIVAL_CHECKS]
    cans = rng.choice((9600, 10800, 12000))
    ingredient_lots = []
    for prefix, name, supplier, origin, check in INGREDIENTS:
        lot = f"{prefix}{b.lot[2:]}"
        ingredient_lots.append(quantity(INGREDIENT_GTIN, lot, rng.choice((200, 400, 800)), "KGM"))
        received = processing - timedelta(days=3)
        events += [
            {"type": "ObjectEvent", "eventID": event_id(key, "ingredient", prefix), **when(received), "action": "OBSERVE",
             "bizStep": "receiving", "disposition": "in_progress", "readPoint": {"id": PLANT[0]}, "bizLocation": {"id": PLANT[0]},
             "quantityList": [quantity(INGREDIENT_GTIN, lot, 1000, "KGM")],
             "livebot:ingredient": {"name": name, "supplier": supplier, "origin": origin}},
            inspection(f"{key}/{prefix}", received + timedelta(hours=4), INGREDIENT_GTIN, lot, LAB, check, LAB[1]),
        ]
    events.append(
        {"type": "TransformationEvent", "eventID": event_id(key, "processing"), **when(processing),
         "bizStep": "commissioning", "disposition": "in_progress", "readPoint": {"id": LINE[0]}, "bizLocation": {"id": PLANT[0]},
         "inputQuantityList": [quantity(RAW_MILK_GTIN, b.raw_lot, litres, "KGM"), *ingredient_lots],
         "outputQuantityList": [quantity(b.gtin, b.lot, cans, "H87")],
         "ilmd": {"cbvmda:lotNumber": b.lot, "cbvmda:itemExpirationDate": (processing + timedelta(days=730)).astimezone(CST).date().isoformat(),
                  "livebot:canCode": b.can_code}}
    )
    packed = processing + timedelta(hours=6)
    events.append(
        {"type": "AggregationEvent", "eventID": event_id(key, "packed"), **when(packed), "action": "ADD", "bizStep": "packing",
         "disposition": "in_progress", "readPoint": {"id": LINE[0]}, "parentID": f"urn:epc:id:sscc:6901234.{rng.randint(0, 9_999_999_999):010d}",
         "childQuantityList": [quantity(b.gtin, b.lot, cans, "H87")]}
    )
    events += [inspection(key, packed + timedelta(hours=2), b.gtin, b.lot, LAB, c, LAB[1]) for c in PRODUCT_CHECKS]
    stored = packed + timedelta(hours=3)
    climate = [{"sensorMetadata": {"time": stored.astimezone(CST).isoformat()},
                "sensorReport": [{"type": "gs1:MT-Temperature", "value": round(18 + rng.uniform(-1, 1), 1), "uom": "CEL"},
                                 {"type": "gs1:MT-RelativeHumidity", "value": round(45 + rng.uniform(-3, 3)), "uom": "A93"}]}]
    shipped = stored + timedelta(days=1)
    events += [
        {"type": "ObjectEvent", "eventID": event_id(key, "stored"), **when(stored), "action": "OBSERVE",
         "bizStep": "storing", "disposition": "sellable_not_accessible", "readPoint": {"id": WAREHOUSE[0]},
         "bizLocation": {"id": WAREHOUSE[0]}, "quantityList": [quantity(b.gtin, b.lot, cans, "H87")], "sensorElementList": climate},
        {"type": "ObjectEvent", "eventID": event_id(key, "dispatched"), **when(shipped), "action": "OBSERVE",
         "bizStep": "shipping", "disposition": "in_transit", "readPoint": {"id": WAREHOUSE[0]},
         "quantityList": [quantity(b.gtin, b.lot, cans // 2, "H87")], "livebot:region": rng.choice(REGIONS)},
    ]
    return events


def master_data() -> dict[str, Any]:
    """Names for locations and products, in the EPCIS header (standard master data)."""
    locations = [{"id": loc, "attributes": [{"id": "urn:epcglobal:cbv:mda#name", "attribute": name}]}
                 for loc, name in (*FARMS, PLANT, LINE, LAB, WAREHOUSE)]
    classes = [{"id": f"urn:epc:idpat:sgtin:{lgtin_urn(gtin, 'X').split(':')[-1].rsplit('.', 1)[0]}.*",
                "attributes": [{"id": "livebot:name", "attribute": name}, {"id": "livebot:stage", "attribute": stage}]}
               for gtin, name, stage in (*PRODUCTS, (RAW_MILK_GTIN, "生牛乳", "raw_milk"))]
    herds = [{"id": herd, "attributes": [{"id": "cbvmda:name", "attribute": name}, {"id": "livebot:farm", "attribute": farm},
                                         {"id": "livebot:size", "attribute": size}, {"id": "livebot:breed", "attribute": breed},
                                         {"id": "livebot:feedPlan", "attribute": plan}]}
             for (location, farm), (herd, name, size, breed, plan) in ((f, HERDS[f[0]]) for f in FARMS)]
    return {"epcisMasterData": {"vocabularyList": [
        {"type": "urn:epcglobal:epcis:vtype:BusinessLocation", "vocabularyElementList": locations},
        {"type": "urn:epcglobal:epcis:vtype:EPCClass", "vocabularyElementList": classes},
        {"type": f"{LIVEBOT_NS}vtype:Herd", "vocabularyElementList": herds},
    ]}}


def document(events: list[dict[str, Any]], created: datetime | None = None) -> dict[str, Any]:
    return {"@context": EPCIS_CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": (created or utcnow()).astimezone(CST).isoformat(timespec="seconds"),
            "epcisHeader": master_data(), "epcisBody": {"eventList": events}}


def demo_batch(index: int, stage_index: int, milked: datetime, seq: int = 1) -> DemoBatch:
    gtin, _, stage = PRODUCTS[stage_index]
    local = milked.astimezone(CST)
    farm = FARMS[index % len(FARMS)]
    prefix = "SC" if farm is FARMS[0] else "KD"
    return DemoBatch(
        gtin=gtin, stage=stage, lot=f"QH{local:%Y%m%d}{'ABC'[stage_index]}{seq:02d}", raw_lot=f"{prefix}{local:%Y%m%d}T{seq % 9 + 1}",
        can_code=f"C{local:%y%m%d}{stage_index + 1}{seq % 10}", milked=milked, farm=farm,
        tank=f"{seq % 9 + 1}号奶仓", truck=f"黑B·{3000 + (index * 37 + seq) % 7000}",
    )


def latest_milking(now: datetime) -> datetime:
    """This morning's 05:10 milking if it ended at least 3 hours ago, else yesterday's."""
    local = now.astimezone(CST)
    milked = local.replace(hour=5, minute=10, second=0, microsecond=0)
    if local - milked < timedelta(hours=3):
        milked -= timedelta(days=1)
    return milked


SAMPLE_CAN = demo_batch(3, 1, datetime.fromisoformat("2026-11-24T05:10:00+08:00"), seq=8)
"""A can whose code never changes (the other demo batches are dated by the day the demo runs),
so the README can link its Digital Link page: /01/06901234543384/10/QH20261124B08, /c/C26112428."""


async def seed(app: web.Application) -> list[str]:
    """Import the batches through the EPCIS importer, link the recent ones to the live session, start telemetry."""
    db, settings = app[DATABASE], app[TRACE_SETTINGS]
    rng = random.Random(20261124)
    milked = latest_milking(utcnow())
    batches = [demo_batch(0, 1, milked), demo_batch(1, 0, milked - timedelta(days=1)), demo_batch(2, 2, milked - timedelta(days=2))]
    events = [e for b in [*batches, SAMPLE_CAN] for e in chain_events(b, rng)]
    result = await service.import_epcis(db, orjson.dumps(document(events)), settings)
    await service.trace_changed(app, result.lots, result.gtins)
    async with db.sessions() as session:
        live = await session.scalar(select(LiveSession).where(LiveSession.status == "live").order_by(LiveSession.id))
    if live is not None:
        await store.set_session_lots(db, live.id, [b.lot for b in batches])
    await seed_stale_reading(app)
    app[TRACE_TASKS].spawn(telemetry_feed(app), "demo-telemetry")
    base = app[CONFIG].server.base_url
    lines = [f"  溯源 / trace: 已导入 {result.stored} 条 EPCIS 事件（{len(batches) + 1} 个批次）"]
    for b in batches:
        lines.append(f"    {b.stage} 批次 {b.lot}: {base}{digital_link_path(b.gtin, b.lot)}  罐码 {base}/c/{b.can_code}")
    lines.append(f"    样品罐 / sample can {SAMPLE_CAN.lot}: {base}{digital_link_path(SAMPLE_CAN.gtin, SAMPLE_CAN.lot)}"
                 f"  罐码 {base}/c/{SAMPLE_CAN.can_code}")
    return lines


async def seed_stale_reading(app: web.Application) -> None:
    """A sensor that stopped reporting ten minutes ago: the overlay must show it as stale."""
    at = utcnow() - timedelta(minutes=10)
    await service.record_telemetry(app, [Telemetry(PLANT_NAME, LINE[1], "humidity", 41.0, "%RH", at, 60)])


def telemetry_round(rng: random.Random, cans_today: int) -> list[Telemetry]:
    now = utcnow()
    period = int(TELEMETRY_PERIOD_S * 3)
    return [
        Telemetry(PLANT_NAME, LINE[1], "line_status", "运行中", "", now, period),
        Telemetry(PLANT_NAME, LINE[1], "tank_temp", round(3.6 + rng.uniform(-0.2, 0.2), 1), "°C", now, period),
        Telemetry(PLANT_NAME, LINE[1], "pasteurization_temp", round(85.2 + rng.uniform(-0.3, 0.3), 1), "°C", now, period),
        Telemetry(PLANT_NAME, LINE[1], "cans_per_min", round(120 + rng.uniform(-4, 4)), "罐/分", now, period),
        Telemetry(PLANT_NAME, LINE[1], "cans_today", cans_today, "罐", now, period),
        Telemetry(PLANT_NAME, "", "cold_room_temp", round(3.2 + rng.uniform(-0.3, 0.3), 1), "°C", now, period),
    ]


async def telemetry_feed(app: web.Application) -> None:
    """Post a round of factory readings every few seconds until the app stops."""
    rng = random.Random()
    cans = 5400
    while True:
        cans += rng.randint(9, 11)
        try:
            await service.record_telemetry(app, telemetry_round(rng, cans))
        except Exception:  # a failed round must not end the demo feed
            logger.exception("demo telemetry round failed plant=%s", PLANT_NAME)
        await asyncio.sleep(TELEMETRY_PERIOD_S)
