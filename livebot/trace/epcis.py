"""Parse and validate a GS1 EPCIS 2.0 document (JSON-LD, or XML via livebot.trace.epcis_xml) into plain records.

Everything is checked before anything is stored: one bad event rejects the whole document
with :class:`InvalidEvent` naming the event's index and field. The parse is CPU work on up to
``max_document_bytes``, so callers run it in a thread (``asyncio.to_thread``).

Every event gets a format-independent content hash (:func:`content_hash`): the id of an event
without ``eventID`` and the check that a resent ``eventID`` still means the same event.

Besides the standard fields livebot reads a few documented extensions (docs/trace-mapping.md)
in its own namespace ``LIVEBOT_NS``, declared in ``@context`` (``"livebot": LIVEBOT_NS``).
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import orjson

from livebot.trace import cbv
from livebot.trace.digitallink import parse_epc_class
from livebot.trace.epcis_xml import MAX_DEPTH, load_xml, looks_like_xml
from livebot.trace.errors import BadCode, InvalidEvent, MalformedDocument

LIVEBOT_NS = "urn:livebot:epcis:"
CBVMDA_NS = "urn:epcglobal:cbv:mda#"
EVENT_TYPES = frozenset({"ObjectEvent", "AggregationEvent", "TransformationEvent", "AssociationEvent", "TransactionEvent"})
ACTIONS = frozenset({"ADD", "OBSERVE", "DELETE"})
TZ_OFFSET = re.compile(r"[+-]((0\d|1[0-3]):[0-5]\d|14:00)")
TEMPERATURE_TYPES = frozenset({"Temperature", "gs1:MT-Temperature", "https://gs1.org/voc/MT-Temperature"})
TEXT_MAX = 128
HERD_VTYPE = "vtype:Herd"
"""Master-data vocabulary of herds: ``urn:livebot:epcis:vtype:Herd``."""
HERD_MAX = 1_000_000
LIST_MAX = 1000
"""Most entries accepted in one of livebot's list extensions (feed lots, withheld animals)."""
MATERIAL_KINDS = {"ingredient": "ingredient", "feed": "feed"}
URI_MAX = 255
EVENT_ID_MAX = URI_MAX - len("#error")
QUANTITY_MAX = 1e12
"""Largest quantity accepted (a trillion of any unit); 1e308 would overflow sums and is never real."""
READING_MAX = 1e9
"""Largest absolute sensor or inspection value accepted."""
DEFAULT_NAMESPACES = {"cbvmda": CBVMDA_NS, "gs1": "https://gs1.org/voc/", "livebot": LIVEBOT_NS}
_TERM_PREFIX = re.compile(r"^(?:urn:epcglobal:cbv:(?:bizstep|disp|btt|sdt|er):|https?://ref\.gs1\.org/cbv/(?:BizStep|Disp|BTT|SDT|ER|Comp)-"
                          r"|cbv:(?:BizStep|Disp|BTT|SDT|ER|Comp)-|urn:epcglobal:cbv:comp:|gs1:|https?://gs1\.org/voc/)", re.IGNORECASE)
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})")
HASH_SKIPPED = frozenset({"eventID", "recordTime", "errorDeclaration", "eventTimeZoneOffset", "@context"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(Z|[+-]\d{2}:\d{2})?")


@dataclass(slots=True)
class LotRef:
    """A lot an event names: as its object, a transformation input/output, or an aggregation child."""

    role: str
    gtin: str
    lot: str
    quantity: float | None = None
    uom: str | None = None


@dataclass(slots=True)
class Reading:
    type: str
    value: float
    uom: str
    at: datetime


@dataclass(slots=True)
class ParsedEvent:
    index: int
    event_id: str
    event_type: str
    action: str | None
    biz_step: str | None
    disposition: str | None
    event_time: datetime
    tz_offset: str
    read_point: str
    biz_location: str
    lots: list[LotRef]
    readings: list[Reading]
    details: dict[str, Any]
    body: dict[str, Any]
    content_hash: str = ""
    """SHA-256 of the event's canonical content (livebot.trace.epcis.content_hash)."""
    aliases: tuple[str, ...] = ()
    """Earlier ids of the same event (the version-1 hash id of an event without eventID)."""

    @property
    def declaration(self) -> bool:
        """An EPCIS error declaration: it retracts ``details["retracts"]`` and never counts itself."""
        return "retracts" in self.details


@dataclass(slots=True)
class ParsedDocument:
    events: list[ParsedEvent]
    locations: dict[str, str] = field(default_factory=dict)
    products: dict[str, dict[str, str]] = field(default_factory=dict)
    herds: dict[str, dict[str, Any]] = field(default_factory=dict)


def load_json(raw: bytes | str) -> Any:
    """JSON text to Python, or :class:`MalformedDocument` (answered 400)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise MalformedDocument("body", f"malformed JSON: {err}") from err


def parse_document(raw: bytes | str | Mapping[str, Any], xml: bool | None = None) -> ParsedDocument:
    """Validate a whole EPCIS document (JSON-LD, or XML: ``xml`` None decides by content); raise on
    the first problem, naming event index and field."""
    from_xml = False
    if isinstance(raw, Mapping):
        doc: Any = raw
    else:
        data = raw.encode() if isinstance(raw, str) else raw
        from_xml = looks_like_xml(data) if xml is None else xml
        doc = load_xml(data) if from_xml else load_json(data)
    if not isinstance(doc, Mapping):
        raise MalformedDocument("body", "an EPCIS document must be a JSON object")
    check_header(doc)
    prefixes = livebot_prefixes(doc.get("@context"))
    namespaces = context_namespaces(doc.get("@context"))
    events = event_list(doc)
    locations, products, herds = master_data(doc, prefixes)
    parsed = [EventParser(index, event, prefixes, namespaces, legacy_ids=not from_xml).parse()
              for index, event in enumerate(events)]
    check_unique_ids(parsed)
    return ParsedDocument(events=parsed, locations=locations, products=products, herds=herds)


def check_unique_ids(events: list[ParsedEvent]) -> None:
    """An ``eventID`` names one event: the same id twice in a document is refused (422), naming both."""
    seen: dict[str, int] = {}
    for event in events:
        if "eventID" not in event.body:
            continue  # hash ids: the same content twice is the same event, stored once
        first = seen.setdefault(event.event_id, event.index)
        if first != event.index:
            raise InvalidEvent("eventID", f"eventID {event.event_id} is used by events {first} and {event.index}", event.index)


def context_namespaces(context: Any) -> dict[str, str]:
    """Prefix to namespace IRI from ``@context`` (plus cbvmda, gs1 and livebot), for expanding extension keys."""
    found = dict(DEFAULT_NAMESPACES)
    for item in context if isinstance(context, list) else [context]:
        if isinstance(item, Mapping):
            found.update({key: value for key, value in item.items() if isinstance(value, str) and not key.startswith("@")})
    return found


def content_hash(event: Mapping[str, Any], namespaces: Mapping[str, str], index: int) -> str:
    """SHA-256 of the event's canonical content, the same for its JSON-LD and XML forms.

    Like the GS1 event hash it ignores ``eventID``, ``recordTime``, ``errorDeclaration``, the time
    zone (every date-time as a UTC instant), the order of every list, namespace prefixes (extension
    keys expanded to their IRI) and the spelling of CBV terms (``urn:epcglobal:cbv:bizstep:x`` = ``x``).
    Content nested deeper than ``MAX_DEPTH`` is refused, naming the field.
    """
    content = {key: value for key, value in event.items() if key not in HASH_SKIPPED}
    try:
        canonical = canon(content, namespaces, 0)
    except TooDeep as err:
        raise InvalidEvent(".".join(reversed(err.path)), f"nested more than {MAX_DEPTH} levels", index) from None
    return hashlib.sha256(orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)).hexdigest()


class TooDeep(Exception):
    """Raised by :func:`canon` past ``MAX_DEPTH``; each level adds its key on the way out (error path only)."""

    def __init__(self) -> None:
        super().__init__()
        self.path: list[str] = []


def canon(value: Any, namespaces: Mapping[str, str], depth: int) -> Any:
    """The canonical form of one JSON value (see :func:`content_hash`)."""
    if isinstance(value, str):
        return canon_text(value)
    if depth > MAX_DEPTH:
        raise TooDeep()
    if isinstance(value, dict):
        found = {}
        for key, item in value.items():
            try:
                found[expand(key, namespaces) if ":" in key else key] = canon(item, namespaces, depth + 1)
            except TooDeep as err:
                err.path.append(key)
                raise
        return found
    if isinstance(value, list):
        items = [canon(item, namespaces, depth + 1) for item in value]
        return sorted(items, key=sort_key) if len(items) > 1 else items
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(int(value)) if math.isfinite(value) and float(value).is_integer() and abs(value) < 2**53 else repr(float(value))
    return value


def sort_key(item: Any) -> bytes:
    return item.encode() if isinstance(item, str) else orjson.dumps(item, option=orjson.OPT_SORT_KEYS)


def canon_text(value: str) -> str:
    """Date-times as UTC instants, CBV and gs1 terms without their namespace."""
    value = value.strip()
    if len(value) >= 16 and value[10:11] == "T" and _DATE_TIME.fullmatch(value):
        try:
            return datetime.fromisoformat(value).astimezone(UTC).isoformat(timespec="milliseconds")
        except (ValueError, OverflowError):
            return value
    return _TERM_PREFIX.sub("", value) if ":" in value else value


def expand(key: str, namespaces: Mapping[str, str]) -> str:
    """``prefix:local`` to ``{namespace}#local`` (trailing / or # of the namespace ignored)."""
    prefix, colon, local = key.partition(":")
    if not colon or prefix not in namespaces:
        return key
    return f"{namespaces[prefix].rstrip('/#')}#{local}"


def check_header(doc: Mapping[str, Any]) -> None:
    """The document-level fields every EPCIS 2.0 document has."""
    if "@context" not in doc:
        raise InvalidEvent("@context", "missing (EPCIS 2.0 JSON-LD needs the GS1 context)")
    if doc.get("type") not in ("EPCISDocument", "EPCISQueryDocument"):
        raise InvalidEvent("type", "must be EPCISDocument or EPCISQueryDocument")
    if str(doc.get("schemaVersion", "")) not in ("2.0", "2.0.0"):
        raise InvalidEvent("schemaVersion", "must be 2.0")
    if "creationDate" not in doc:
        raise InvalidEvent("creationDate", "missing")
    timestamp(doc["creationDate"], "creationDate", None)


def event_list(doc: Mapping[str, Any]) -> list[Any]:
    body = doc.get("epcisBody")
    if not isinstance(body, Mapping):
        raise InvalidEvent("epcisBody", "missing or not an object")
    if doc.get("type") == "EPCISQueryDocument":
        results = body.get("queryResults")
        body = results.get("resultsBody") if isinstance(results, Mapping) else None
        if not isinstance(body, Mapping):
            raise InvalidEvent("epcisBody.queryResults.resultsBody", "missing or not an object")
    events = body.get("eventList")
    if not isinstance(events, list):
        raise InvalidEvent("epcisBody.eventList", "missing or not an array")
    return events


def livebot_prefixes(context: Any) -> tuple[str, ...]:
    """Prefixes bound to ``LIVEBOT_NS`` in ``@context``; ``livebot`` is always understood."""
    found = ["livebot"]
    items = context if isinstance(context, list) else [context]
    for item in items:
        if isinstance(item, Mapping):
            found += [key for key, value in item.items() if value == LIVEBOT_NS and key not in found]
    return tuple(found)


def extension(obj: Mapping[str, Any], name: str, prefixes: tuple[str, ...]) -> Any:
    """The value of a livebot extension field under any declared prefix, or its full IRI."""
    for prefix in prefixes:
        key = f"{prefix}:{name}"
        if key in obj:
            return obj[key]
    return obj.get(LIVEBOT_NS + name)


def mda(obj: Mapping[str, Any], name: str) -> Any:
    """A CBV master-data attribute (``cbvmda:lotNumber`` or its full IRI)."""
    return obj.get(f"cbvmda:{name}", obj.get(CBVMDA_NS + name))


def master_data(doc: Mapping[str, Any], prefixes: tuple[str, ...]
                ) -> tuple[dict[str, str], dict[str, dict[str, str]], dict[str, dict[str, Any]]]:
    """Location names, product names/stages and herds (``urn:livebot:epcis:vtype:Herd``) from ``epcisHeader.epcisMasterData``."""
    header = doc.get("epcisHeader", {})
    master = header.get("epcisMasterData", {}) if isinstance(header, Mapping) else None
    if not isinstance(master, Mapping):
        raise InvalidEvent("epcisHeader.epcisMasterData", "must be an object")
    vocabularies = master.get("vocabularyList", [])
    if not isinstance(vocabularies, list):
        raise InvalidEvent("epcisHeader.epcisMasterData.vocabularyList", "must be an array")
    locations: dict[str, str] = {}
    products: dict[str, dict[str, str]] = {}
    herds: dict[str, dict[str, Any]] = {}
    for v, vocabulary in enumerate(vocabularies):
        where = f"epcisHeader.epcisMasterData.vocabularyList[{v}]"
        if not isinstance(vocabulary, Mapping) or not isinstance(vocabulary.get("vocabularyElementList", []), list):
            raise InvalidEvent(where, "must be an object with a vocabularyElementList array")
        kind = str(vocabulary.get("type", ""))
        for e, element in enumerate(vocabulary.get("vocabularyElementList", [])):
            at = f"{where}.vocabularyElementList[{e}]"
            if not isinstance(element, Mapping) or not isinstance(element.get("id"), str):
                raise InvalidEvent(at, "must be an object with an id")
            if kind.endswith(HERD_VTYPE):
                herds[uri(element["id"], f"{at}.id", None)] = herd_attributes(element.get("attributes", []), at, prefixes)
                continue
            attributes = element_attributes(element.get("attributes", []), at, prefixes)
            if kind.endswith(("BusinessLocation", "ReadPoint")) and "name" in attributes:
                locations[uri(element["id"], f"{at}.id", None)] = attributes["name"]
            elif kind.endswith("EPCClass") and ("name" in attributes or "stage" in attributes):
                try:
                    gtin, _ = parse_epc_class(element["id"], f"{at}.id")
                except BadCode as err:
                    raise InvalidEvent(err.field, err.problem) from err
                products[gtin] = {k: v for k, v in attributes.items() if k in ("name", "stage")}
    return locations, products, herds


def herd_attributes(items: Any, where: str, prefixes: tuple[str, ...]) -> dict[str, Any]:
    """A herd's master data: ``name``, ``farm``, ``size`` (head count), ``breed``, ``feedPlan``."""
    if not isinstance(items, list):
        raise InvalidEvent(f"{where}.attributes", "must be an array")
    keys = {"name": "name", "farm": "farm", "size": "size", "breed": "breed", "feedPlan": "feed_plan"}
    names = {f"{CBVMDA_NS}name": "name", "cbvmda:name": "name"}
    for local, short in keys.items():
        names[LIVEBOT_NS + local] = short
        names.update({f"{prefix}:{local}": short for prefix in prefixes})
    found: dict[str, Any] = {}
    for a, item in enumerate(items):
        at = f"{where}.attributes[{a}]"
        if not isinstance(item, Mapping):
            raise InvalidEvent(at, "must be an object")
        key = names.get(str(item.get("id", "")))
        if key == "size":
            value = item.get("attribute")
            if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 9:
                value = int(value.strip())  # XML master data carries text
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= HERD_MAX:
                raise InvalidEvent(f"{at}.attribute", f"herd size must be a whole number 0..{HERD_MAX}")
            found[key] = value
        elif key is not None:
            found[key] = text(item.get("attribute"), f"{at}.attribute", None, TEXT_MAX)
    return found


def element_attributes(items: Any, where: str, prefixes: tuple[str, ...]) -> dict[str, str]:
    """Name and stage attributes of one master-data element, checked as display text."""
    if not isinstance(items, list):
        raise InvalidEvent(f"{where}.attributes", "must be an array")
    names = {f"{CBVMDA_NS}name": "name", "cbvmda:name": "name", f"{CBVMDA_NS}descriptionShort": "name",
             "cbvmda:descriptionShort": "name", "cbvmda:tradeItemDescription": "name"}
    for prefix in prefixes:
        names[f"{prefix}:name"] = "name"
        names[f"{prefix}:stage"] = "stage"
    found: dict[str, str] = {}
    for a, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise InvalidEvent(f"{where}.attributes[{a}]", "must be an object")
        key = names.get(str(item.get("id", "")))
        if key is not None:
            found[key] = text(item.get("attribute"), f"{where}.attributes[{a}].attribute", None, TEXT_MAX)
    return found


def text(value: Any, where: str, index: int | None, limit: int = TEXT_MAX) -> str:
    """Display text: a string without control characters, at most ``limit`` characters."""
    if not isinstance(value, str):
        raise InvalidEvent(where, "must be a string", index)
    value = unicodedata.normalize("NFC", value).strip()
    if _CONTROL.search(value):
        raise InvalidEvent(where, "must not contain control characters", index)
    if not value or len(value) > limit:
        raise InvalidEvent(where, f"must be 1..{limit} characters", index)
    return value


def uri(value: Any, where: str, index: int | None) -> str:
    return text(value, where, index, URI_MAX)


def timestamp(value: Any, where: str, index: int | None) -> datetime:
    """An ISO 8601 date-time with a UTC offset (EPCIS requires one)."""
    if not isinstance(value, str) or len(value) > 40:
        raise InvalidEvent(where, "must be an ISO 8601 date-time string", index)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as err:
        raise InvalidEvent(where, "must be an ISO 8601 date-time", index) from err
    if moment.tzinfo is None:
        raise InvalidEvent(where, "must include a UTC offset (Z or +08:00)", index)
    try:
        moment.astimezone(UTC)  # 9999-12-31T23:59-14:00 has no UTC equivalent and cannot be stored
    except OverflowError as err:
        raise InvalidEvent(where, "date-time out of range", index) from err
    return moment


def iso_date(value: Any, where: str, index: int | None) -> str:
    """A calendar date ``YYYY-MM-DD`` (ILMD dates), returned as text."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise InvalidEvent(where, "must be a date YYYY-MM-DD", index)
    try:
        date.fromisoformat(value[:10])
    except ValueError as err:
        raise InvalidEvent(where, "must be a real date YYYY-MM-DD", index) from err
    return value[:10]


def number(value: Any, where: str, index: int | None, limit: float = READING_MAX) -> float:
    """A finite JSON number within ±``limit``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidEvent(where, "must be a number", index)
    if abs(value) > limit:
        raise InvalidEvent(where, f"must be between -{limit:g} and {limit:g}", index)
    return float(value)


def legacy_event_id(event: Mapping[str, Any]) -> str:
    """The version-1 id of a JSON event without ``eventID`` (SHA-256 of its JSON), kept as an alias."""
    content = {k: v for k, v in event.items() if k not in ("recordTime", "eventID")}
    digest = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"ni:///sha-256;{digest}?ver=livebot1"


class EventParser:
    """Checks one event against the EPCIS 2.0 and CBV rules and pulls out what livebot uses."""

    def __init__(self, index: int, event: Any, prefixes: tuple[str, ...], namespaces: Mapping[str, str] | None = None,
                 legacy_ids: bool = True) -> None:
        self.index = index
        self.event = event
        self.prefixes = prefixes
        self.namespaces = namespaces if namespaces is not None else DEFAULT_NAMESPACES
        self.legacy_ids = legacy_ids
        self.lots: dict[tuple[str, str], LotRef] = {}

    def fail(self, where: str, problem: str) -> InvalidEvent:
        return InvalidEvent(where, problem, self.index)

    def parse(self) -> ParsedEvent:
        event = self.event
        if not isinstance(event, Mapping):
            raise self.fail("event", "must be an object")
        kind = event.get("type")
        if not isinstance(kind, str) or kind not in EVENT_TYPES:
            raise self.fail("type", f"must be one of {', '.join(sorted(EVENT_TYPES))}")
        if "eventTime" not in event:
            raise self.fail("eventTime", "missing")
        event_time = timestamp(event["eventTime"], "eventTime", self.index)
        offset = event.get("eventTimeZoneOffset")
        if offset is None:
            raise self.fail("eventTimeZoneOffset", "missing")
        if not isinstance(offset, str) or not TZ_OFFSET.fullmatch(offset):
            raise self.fail("eventTimeZoneOffset", "must match ^[+-]((0\\d|1[0-3]):[0-5]\\d|14:00)$")
        if "recordTime" in event:
            timestamp(event["recordTime"], "recordTime", self.index)
        action = self.action(kind)
        biz_step = self.vocabulary("bizStep", cbv.biz_step)
        disposition = self.vocabulary("disposition", cbv.disposition)
        read_point = self.location("readPoint")
        biz_location = self.location("bizLocation")
        self.what(kind, action)
        details = self.details(kind, action, biz_step, disposition)
        readings = self.readings(event_time)
        digest = content_hash(event, self.namespaces, self.index)
        aliases: tuple[str, ...] = ()
        event_id = event.get("eventID")
        if event_id is None:
            event_id = f"ni:///sha-256;{digest}?ver=livebot2"
            aliases = (legacy_event_id(event),) if self.legacy_ids else ()
        else:
            event_id = text(event_id, "eventID", self.index, EVENT_ID_MAX)
        if "errorDeclaration" in event:
            details.update(self.error_declaration(event["errorDeclaration"]))
            details["retracts"] = event_id
            event_id, aliases = f"{event_id}#error", tuple(f"{alias}#error" for alias in aliases)
        return ParsedEvent(
            index=self.index, event_id=event_id, event_type=kind, action=action, biz_step=biz_step,
            disposition=disposition, event_time=event_time, tz_offset=offset, read_point=read_point,
            biz_location=biz_location, lots=list(self.lots.values()), readings=readings, details=details,
            body=dict(event), content_hash=digest, aliases=aliases,
        )

    def error_declaration(self, value: Any) -> dict[str, Any]:
        """``errorDeclaration``: when, why, and the corrective events that replace the declared one."""
        where = "errorDeclaration"
        if not isinstance(value, Mapping):
            raise self.fail(where, "must be an object")
        if "declarationTime" not in value:
            raise self.fail(f"{where}.declarationTime", "missing")
        found: dict[str, Any] = {"declared_at": timestamp(value["declarationTime"], f"{where}.declarationTime", self.index).isoformat()}
        if value.get("reason") is not None:
            found["reason"] = _TERM_PREFIX.sub("", uri(value["reason"], f"{where}.reason", self.index))
        corrective = value.get("correctiveEventIDs", [])
        if not isinstance(corrective, list):
            raise self.fail(f"{where}.correctiveEventIDs", "must be an array")
        if corrective:
            found["corrective_event_ids"] = [uri(item, f"{where}.correctiveEventIDs[{i}]", self.index) for i, item in enumerate(corrective)]
        return found

    def action(self, kind: str) -> str | None:
        action = self.event.get("action")
        if kind == "TransformationEvent":
            if action is not None:
                raise self.fail("action", "a TransformationEvent has no action")
            return None
        if action is None:
            raise self.fail("action", f"missing (required for {kind})")
        if not isinstance(action, str) or action not in ACTIONS:
            raise self.fail("action", "must be ADD, OBSERVE or DELETE")
        return str(action)

    def vocabulary(self, name: str, check: Callable[[str], str]) -> str | None:
        value = self.event.get(name)
        if value is None:
            return None
        value = uri(value, name, self.index)
        try:
            return check(value)
        except cbv.UnknownTerm as err:
            raise self.fail(name, f"unknown CBV term: {err}") from err

    def location(self, name: str) -> str:
        value = self.event.get(name)
        if value is None:
            return ""
        if not isinstance(value, Mapping) or "id" not in value:
            raise self.fail(name, "must be an object with an id")
        return uri(value["id"], f"{name}.id", self.index)

    def what(self, kind: str, action: str | None) -> None:
        """The per-type rules on what an event is about, collecting the lots it names."""
        event = self.event
        if kind == "ObjectEvent":
            # EPCIS 2.0: epcList and quantityList are both optional (an ObjectEvent may carry only
            # sensor readings for a place, or name its object through an extension).
            self.epc_list("epcList")
            self.quantity_list("quantityList", "object")
            if "ilmd" in event and action != "ADD":
                raise self.fail("ilmd", "ILMD is only allowed on an ObjectEvent with action ADD")
        elif kind == "TransformationEvent":
            inputs = len(self.epc_list("inputEPCList")) + self.quantity_list("inputQuantityList", "input")
            outputs = len(self.epc_list("outputEPCList")) + self.quantity_list("outputQuantityList", "output")
            if not inputs and not outputs:
                raise self.fail("inputQuantityList", "a TransformationEvent needs inputs or outputs")
        elif kind in ("AggregationEvent", "AssociationEvent"):
            parent = event.get("parentID")
            if parent is None and (kind == "AssociationEvent" or action in ("ADD", "DELETE")):
                raise self.fail("parentID", f"required for a {kind} with action {action}")
            if parent is not None:
                uri(parent, "parentID", self.index)
            children = len(self.epc_list("childEPCs")) + self.quantity_list("childQuantityList", "child")
            if action == "ADD" and not children:
                raise self.fail("childEPCs", f"a {kind} with action ADD needs childEPCs or childQuantityList")
            if "ilmd" in event:
                raise self.fail("ilmd", f"a {kind} has no ILMD")
        else:
            self.epc_list("epcList")
            self.quantity_list("quantityList", "object")
            if not isinstance(event.get("bizTransactionList"), list) or not event["bizTransactionList"]:
                raise self.fail("bizTransactionList", "a TransactionEvent needs a non-empty bizTransactionList")

    def epc_list(self, name: str) -> list[str]:
        items = self.event.get(name, [])
        if not isinstance(items, list):
            raise self.fail(name, "must be an array")
        return [text(item, f"{name}[{i}]", self.index, 512) for i, item in enumerate(items)]

    def quantity_list(self, name: str, role: str) -> int:
        """Check a quantity list, collect its lot-level classes; returns how many elements it has."""
        items = self.event.get(name, [])
        if not isinstance(items, list):
            raise self.fail(name, "must be an array")
        for i, item in enumerate(items):
            where = f"{name}[{i}]"
            if not isinstance(item, Mapping) or "epcClass" not in item:
                raise self.fail(f"{where}.epcClass", "missing")
            try:
                gtin, lot = parse_epc_class(item["epcClass"], f"{where}.epcClass")
            except BadCode as err:
                raise self.fail(err.field, err.problem) from err
            quantity = number(item["quantity"], f"{where}.quantity", self.index, QUANTITY_MAX) if "quantity" in item else None
            if quantity is not None and quantity < 0:
                raise self.fail(f"{where}.quantity", "must not be negative")
            uom = text(item["uom"], f"{where}.uom", self.index, 8) if "uom" in item else None
            if uom is not None and quantity is None:
                raise self.fail(f"{where}.uom", "uom without quantity")
            if lot is None:
                continue
            known = self.lots.get((role, lot))
            if known is None:
                self.lots[(role, lot)] = LotRef(role, gtin, lot, quantity, uom)
            elif known.quantity is not None and quantity is not None:
                known.quantity += quantity
        return len(items)

    def details(self, kind: str, action: str | None, biz_step: str | None, disposition: str | None) -> dict[str, Any]:
        """The parts of ILMD and livebot's extensions the projection reads, as JSON-ready values."""
        details: dict[str, Any] = {}
        ilmd = self.event.get("ilmd")
        if ilmd is not None:
            if not isinstance(ilmd, Mapping):
                raise self.fail("ilmd", "must be an object")
            details["ilmd"] = self.ilmd(ilmd)
        raw = self.ext("rawMilk")
        if raw is not None:
            details["raw_milk"] = self.raw_milk(raw)
        for name in MATERIAL_KINDS:
            material = self.ext(name)
            if material is not None:
                if "material" in details:
                    raise self.fail(f"livebot:{name}", "an event describes one lot as an ingredient or as feed, not both")
                details["material"] = self.material(name, material)
        health = self.ext("health")
        if health is not None:
            details["health"] = self.health(health)
        for name, key, limit in (("truck", "truck", 64), ("line", "line", 64), ("region", "region", 64)):
            value = self.ext(name)
            if value is not None:
                details[key] = text(value, f"livebot:{name}", self.index, limit)
        inspection = self.ext("inspection")
        if inspection is not None or biz_step == "inspecting":
            found = self.inspection(inspection, disposition)
            if found is not None:
                details["inspection"] = found
        certification = self.event.get("certificationInfo")
        if certification is not None:
            items = certification if isinstance(certification, list) else [certification]
            details["certification"] = [uri(item, f"certificationInfo[{i}]", self.index) for i, item in enumerate(items)]
        return details

    def ext(self, name: str) -> Any:
        return extension(self.event, name, self.prefixes)

    def ilmd(self, ilmd: Mapping[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        lot = mda(ilmd, "lotNumber")
        if lot is not None:
            found["lot"] = text(lot, "ilmd.cbvmda:lotNumber", self.index, 20)
        expiry = mda(ilmd, "itemExpirationDate")
        if expiry is not None:
            found["expiry"] = iso_date(expiry, "ilmd.cbvmda:itemExpirationDate", self.index)
        produced = extension(ilmd, "productionDate", self.prefixes)
        if produced is not None:
            found["production_date"] = iso_date(produced, "ilmd.livebot:productionDate", self.index)
        can_code = extension(ilmd, "canCode", self.prefixes)
        if can_code is not None:
            code = text(can_code, "ilmd.livebot:canCode", self.index, 32)
            if not re.fullmatch(r"[0-9A-Za-z]{4,32}", code):
                raise self.fail("ilmd.livebot:canCode", "must be 4..32 letters or digits")
            found["can_code"] = code.upper()
        return found

    def raw_milk(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, Mapping):
            raise self.fail("livebot:rawMilk", "must be an object")
        found: dict[str, Any] = {}
        if "farm" in raw:
            found["farm"] = text(raw["farm"], "livebot:rawMilk.farm", self.index)
        if "tank" in raw:
            found["tank"] = text(raw["tank"], "livebot:rawMilk.tank", self.index, 64)
        if "milkingStart" in raw:
            found["milking_start"] = timestamp(raw["milkingStart"], "livebot:rawMilk.milkingStart", self.index).isoformat()
        if "herd" in raw:
            found["herd"] = uri(raw["herd"], "livebot:rawMilk.herd", self.index)
        if "milkingGroup" in raw:
            found["milking_group"] = text(raw["milkingGroup"], "livebot:rawMilk.milkingGroup", self.index, 64)
        if "feedLots" in raw:
            found["feed_lots"] = self.names(raw["feedLots"], "livebot:rawMilk.feedLots", 20)
        if "withheldAnimals" in raw:
            found["withheld"] = self.names(raw["withheldAnimals"], "livebot:rawMilk.withheldAnimals", 64)
        return found

    def names(self, value: Any, where: str, limit: int) -> list[str]:
        """A list of short names (lots, animal ids): unique, in order, at most ``LIST_MAX``. XML's
        shapes are read too: one wrapped child (``{"lot": "F1"}`` or ``{"lot": [...]}``), one bare
        value, and an empty element (``""``: an empty list)."""
        if isinstance(value, Mapping) and len(value) <= 1:
            value = next(iter(value.values()), [])
        if value == "":
            value = []
        elif isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.fail(where, "must be an array")
        if len(value) > LIST_MAX:
            raise self.fail(where, f"at most {LIST_MAX} entries")
        return list(dict.fromkeys(text(item, f"{where}[{i}]", self.index, limit) for i, item in enumerate(value)))

    def material(self, kind: str, value: Any) -> dict[str, Any]:
        """``livebot:ingredient`` / ``livebot:feed``: {name, supplier, origin} of the event's lots."""
        where = f"livebot:{kind}"
        if not isinstance(value, Mapping):
            raise self.fail(where, "must be an object")
        found: dict[str, Any] = {"kind": MATERIAL_KINDS[kind], "name": text(value.get("name"), f"{where}.name", self.index)}
        for key in ("supplier", "origin"):
            if value.get(key) is not None:
                found[key] = text(value[key], f"{where}.{key}", self.index)
        return found

    def health(self, value: Any) -> dict[str, Any]:
        """``livebot:health``: an animal of a herd under treatment, its milk withheld until ``withdrawalUntil``."""
        where = "livebot:health"
        if not isinstance(value, Mapping):
            raise self.fail(where, "must be an object")
        found: dict[str, Any] = {"herd": uri(value.get("herd"), f"{where}.herd", self.index),
                                 "animal": text(value.get("animal"), f"{where}.animal", self.index, 64)}
        if value.get("treatment") is not None:
            found["treatment"] = text(value["treatment"], f"{where}.treatment", self.index)
        if value.get("withdrawalUntil") is not None:
            found["withdrawal_until"] = timestamp(value["withdrawalUntil"], f"{where}.withdrawalUntil", self.index).isoformat()
        return found

    def inspection(self, value: Any, disposition: str | None) -> dict[str, Any] | None:
        """``livebot:inspection`` {item, value, unit, limit, result, lab}; result may come from the disposition."""
        where = "livebot:inspection"
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.fail(where, "must be an object")
        found = {"item": text(value.get("item"), f"{where}.item", self.index)}
        for key, limit in (("unit", 32), ("lab", TEXT_MAX)):
            if value.get(key) is not None:
                found[key] = text(value[key], f"{where}.{key}", self.index, limit)
        for key in ("value", "limit"):
            raw = value.get(key)
            if raw is None:
                continue
            if isinstance(raw, int | float) and not isinstance(raw, bool):
                found[key] = format(number(raw, f"{where}.{key}", self.index), "g")
            else:
                found[key] = text(raw, f"{where}.{key}", self.index, 64)
        result = value.get("result")
        if result is None:
            result = {"conformant": "pass", "non_conformant": "fail"}.get(disposition or "")
        if result not in ("pass", "fail"):
            raise self.fail(f"{where}.result", "must be pass or fail (or give disposition conformant/non_conformant)")
        found["result"] = result
        return found

    def readings(self, event_time: datetime) -> list[Reading]:
        elements = self.event.get("sensorElementList", [])
        if not isinstance(elements, list):
            raise self.fail("sensorElementList", "must be an array")
        found: list[Reading] = []
        for e, element in enumerate(elements):
            where = f"sensorElementList[{e}]"
            if not isinstance(element, Mapping):
                raise self.fail(where, "must be an object")
            metadata = element.get("sensorMetadata", {})
            if not isinstance(metadata, Mapping):
                raise self.fail(f"{where}.sensorMetadata", "must be an object")
            default_time = timestamp(metadata["time"], f"{where}.sensorMetadata.time", self.index) if "time" in metadata else event_time
            reports = element.get("sensorReport")
            if not isinstance(reports, list) or not reports:
                raise self.fail(f"{where}.sensorReport", "must be a non-empty array")
            for r, report in enumerate(reports):
                reading = self.reading(report, f"{where}.sensorReport[{r}]", default_time)
                if reading is not None:
                    found.append(reading)
        return found

    def reading(self, report: Any, where: str, default_time: datetime) -> Reading | None:
        if not isinstance(report, Mapping):
            raise self.fail(where, "must be an object")
        at = timestamp(report["time"], f"{where}.time", self.index) if "time" in report else default_time
        for name in ("value", "minValue", "maxValue", "meanValue", "sDev", "percValue"):
            if name in report:
                number(report[name], f"{where}.{name}", self.index)
        kind = report.get("type")
        if kind is not None:
            kind = sensor_type(text(kind, f"{where}.type", self.index, URI_MAX))
        name = "value" if "value" in report else "meanValue"
        if name not in report or kind is None:
            return None
        value = number(report[name], f"{where}.{name}", self.index)
        uom = text(report["uom"], f"{where}.uom", self.index, 8) if "uom" in report else ""
        if kind in TEMPERATURE_TYPES:
            value, uom = celsius(value, uom, f"{where}.uom", self.index)
            kind = "Temperature"
        return Reading(type=kind[-32:], value=value, uom=uom, at=at)


def sensor_type(value: str) -> str:
    """``gs1:Temperature``, ``https://gs1.org/voc/Temperature``, ``gs1:MT-Temperature`` -> ``Temperature``."""
    short = _TERM_PREFIX.sub("", value)
    return short[3:] if short.startswith("MT-") else short


def celsius(value: float, uom: str, where: str, index: int) -> tuple[float, str]:
    """Temperatures are stored in °C (UN/ECE codes CEL, FAH, KEL)."""
    if uom in ("CEL", ""):
        return value, "CEL"
    if uom == "FAH":
        return round((value - 32) * 5 / 9, 3), "CEL"
    if uom == "KEL":
        return round(value - 273.15, 3), "CEL"
    raise InvalidEvent(where, "temperature unit must be CEL, FAH or KEL", index)
