"""Plain JSON pushes of herd, feed, ingredient, packing, warehouse and shipping data, turned into EPCIS.

Systems without EPCIS send ``POST /api/v1/trace/chain``; each item becomes the EPCIS event (or
master data) docs/trace-mapping.md describes and goes through the one EPCIS import path, so the
rules are the same: all or nothing, resends idempotent (events without ``eventID`` are keyed by
their content), errors name the field (``packing[2].at``, 400).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from livebot.errors import ValidationError
from livebot.trace.digitallink import gtin14, lgtin_urn
from livebot.trace.epcis import HERD_MAX, LIST_MAX, LIVEBOT_NS
from livebot.trace.errors import BadCode
from livebot.trace.pushes import MAX_ITEMS, lot_of, moment, number, text

CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"livebot": LIVEBOT_NS}]
SECTIONS = ("herds", "health", "materials", "raw_milk", "uses", "packing", "storage", "shipments")


def place_id(name: str) -> str:
    """A stable location id for a named place (the name goes into the master data)."""
    return "urn:livebot:place:" + hashlib.sha256(name.encode()).hexdigest()[:24]


def when(at: datetime) -> dict[str, str]:
    offset = at.strftime("%z")
    return {"eventTime": at.isoformat(), "eventTimeZoneOffset": f"{offset[:3]}:{offset[3:]}"}


class ChainPush:
    """Builds one EPCIS document from a checked push body."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.places: dict[str, str] = {}
        self.herds: list[dict[str, Any]] = []
        self.count = 0

    def section(self, body: Mapping[str, Any], name: str, build: Callable[[Mapping[str, Any], str], None]) -> None:
        found = body.get(name, [])
        if not isinstance(found, list):
            raise ValidationError(name, "must be an array")
        self.count += len(found)
        if self.count > MAX_ITEMS:
            raise ValidationError(name, f"at most {MAX_ITEMS} items per request")
        for i, item in enumerate(found):
            where = f"{name}[{i}]"
            if not isinstance(item, Mapping):
                raise ValidationError(where, "must be an object")
            build(item, where)

    def place(self, item: Mapping[str, Any], key: str, where: str, required: bool = False) -> dict[str, Any]:
        name = text(item, key, where, required=required)
        if not name:
            return {}
        self.places[place_id(name)] = name
        return {"bizLocation": {"id": place_id(name)}}

    def quantity(self, item: Mapping[str, Any], where: str, amount: float | None = None, uom: str = "") -> list[dict[str, Any]]:
        lot = lot_of(item, where)
        try:
            gtin = gtin14(item.get("gtin"), f"{where}.gtin")  # type: ignore[arg-type]
        except BadCode as err:
            raise ValidationError(err.field, err.problem) from err
        entry: dict[str, Any] = {"epcClass": lgtin_urn(gtin, lot)}
        if amount is not None:
            entry.update(quantity=amount, uom=uom)
        return [entry]

    def at(self, item: Mapping[str, Any], key: str, where: str) -> datetime:
        found = moment(item, key, where)
        if found is None:
            raise ValidationError(f"{where}.{key}", "missing")
        return found

    def herd(self, item: Mapping[str, Any], where: str) -> None:
        size = item.get("size")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= HERD_MAX):
            raise ValidationError(f"{where}.size", f"must be a whole number 0..{HERD_MAX}")
        attributes = [{"id": f"livebot:{key}", "attribute": value} for key, value in (
            ("name", text(item, "name", where)), ("farm", text(item, "farm", where)), ("size", size),
            ("breed", text(item, "breed", where)), ("feedPlan", text(item, "feed_plan", where))) if value is not None]
        self.herds.append({"id": text(item, "id", where, 255, required=True), "attributes": attributes})

    def health(self, item: Mapping[str, Any], where: str) -> None:
        body: dict[str, Any] = {"herd": text(item, "herd", where, 255, required=True), "animal": text(item, "animal", where, 64, required=True)}
        if item.get("treatment") is not None:
            body["treatment"] = text(item, "treatment", where, required=True)
        until = moment(item, "withdrawal_until", where)
        if until is not None:
            body["withdrawalUntil"] = until.isoformat()
        self.events.append({"type": "ObjectEvent", **when(self.at(item, "start", where)), "action": "OBSERVE", "bizStep": "holding",
                            "livebot:health": body})

    def material(self, item: Mapping[str, Any], where: str) -> None:
        kind = item.get("kind")
        if kind not in ("ingredient", "feed"):
            raise ValidationError(f"{where}.kind", "must be ingredient or feed")
        marker = {key: value for key in ("name", "supplier", "origin")
                  if (value := text(item, key, where, required=key == "name")) is not None}
        self.events.append({"type": "ObjectEvent", **when(self.at(item, "received_at", where)), "action": "OBSERVE", "bizStep": "receiving",
                            **self.place(item, "location", where), "quantityList": self.quantity(item, where), f"livebot:{kind}": marker})

    def raw_milk(self, item: Mapping[str, Any], where: str) -> None:
        marker: dict[str, Any] = {}
        for key, name, limit in (("herd", "herd", 255), ("milking_group", "milkingGroup", 64)):
            value = text(item, key, where, limit)
            if value is not None:
                marker[name] = value
        for key, name, limit in (("feed_lots", "feedLots", 20), ("withheld_animals", "withheldAnimals", 64)):
            if key in item:
                marker[name] = self.names(item, key, where, limit)
        self.events.append({"type": "ObjectEvent", **when(self.at(item, "at", where)), "action": "OBSERVE",
                            "quantityList": self.quantity(item, where), "livebot:rawMilk": marker})

    def names(self, item: Mapping[str, Any], key: str, where: str, limit: int) -> list[str]:
        values = item.get(key)
        if not isinstance(values, list) or len(values) > LIST_MAX:
            raise ValidationError(f"{where}.{key}", f"must be an array of at most {LIST_MAX} strings")
        return [text({"v": v}, "v", f"{where}.{key}[{i}]", limit, required=True) or "" for i, v in enumerate(values)]

    def use(self, item: Mapping[str, Any], where: str) -> None:
        inputs = item.get("inputs")
        if not isinstance(inputs, list) or not inputs or len(inputs) > 100:
            raise ValidationError(f"{where}.inputs", "must be an array of 1..100 lots")
        listed = []
        for j, entry in enumerate(inputs):
            if not isinstance(entry, Mapping):
                raise ValidationError(f"{where}.inputs[{j}]", "must be an object")
            listed += self.quantity(entry, f"{where}.inputs[{j}]")
        self.events.append({"type": "TransformationEvent", **when(self.at(item, "at", where)), "bizStep": "commissioning",
                            **self.place(item, "plant", where), "inputQuantityList": listed, "outputQuantityList": self.quantity(item, where)})

    def packing(self, item: Mapping[str, Any], where: str) -> None:
        line = text(item, "line", where, 64)
        self.events.append({"type": "ObjectEvent", **when(self.at(item, "at", where)), "action": "OBSERVE", "bizStep": "packing",
                            "quantityList": self.quantity(item, where), **({"livebot:line": line} if line else {})})

    def storage(self, item: Mapping[str, Any], where: str) -> None:
        at = self.at(item, "at", where)
        reports = [{"type": kind, "value": value, "uom": uom} for key, kind, uom in (
            ("temperature_c", "gs1:MT-Temperature", "CEL"), ("humidity_pct", "gs1:MT-RelativeHumidity", "A93"))
            if (value := number(item, key, where)) is not None]
        event = {"type": "ObjectEvent", **when(at), "action": "OBSERVE", "bizStep": "storing", **self.place(item, "warehouse", where, True),
                 "quantityList": self.quantity(item, where)}
        if reports:
            event["sensorElementList"] = [{"sensorMetadata": {"time": at.isoformat()}, "sensorReport": reports}]
        self.events.append(event)

    def shipment(self, item: Mapping[str, Any], where: str) -> None:
        amount = number(item, "quantity", where)
        if amount is not None and not 0 <= amount <= 1e9:
            raise ValidationError(f"{where}.quantity", "must be 0..1e9 cans")
        region = text(item, "region", where, 64)
        self.events.append({"type": "ObjectEvent", **when(self.at(item, "at", where)), "action": "OBSERVE", "bizStep": "shipping",
                            **self.place(item, "from", where), "quantityList": self.quantity(item, where, amount, "H87"),
                            **({"livebot:region": region} if region else {})})

    def document(self, created: datetime) -> dict[str, Any]:
        vocabularies = []
        if self.places:
            vocabularies.append({"type": "urn:epcglobal:epcis:vtype:BusinessLocation", "vocabularyElementList": [
                {"id": key, "attributes": [{"id": "urn:epcglobal:cbv:mda#name", "attribute": name}]} for key, name in self.places.items()]})
        if self.herds:
            vocabularies.append({"type": f"{LIVEBOT_NS}vtype:Herd", "vocabularyElementList": self.herds})
        return {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": created.isoformat(),
                "epcisHeader": {"epcisMasterData": {"vocabularyList": vocabularies}}, "epcisBody": {"eventList": self.events}}


def parse_chain(body: Any, created: datetime) -> dict[str, Any]:
    """The EPCIS document of a push ``{"herds", "health", "materials", "raw_milk", "uses", "packing", "storage", "shipments"}``."""
    if not isinstance(body, Mapping):
        raise ValidationError("body", "must be a JSON object")
    unknown = sorted(set(body) - set(SECTIONS))
    if unknown:
        raise ValidationError(str(unknown[0])[:64], f"unknown section (expected {', '.join(SECTIONS)})")
    push = ChainPush()
    for name, build in (("herds", push.herd), ("health", push.health), ("materials", push.material), ("raw_milk", push.raw_milk),
                        ("uses", push.use), ("packing", push.packing), ("storage", push.storage), ("shipments", push.shipment)):
        push.section(body, name, build)
    if not push.count:
        raise ValidationError("body", "nothing to store")
    return push.document(created)
