"""Read EPCIS 2.0 (and 1.2) XML into the JSON-LD shape that livebot.trace.epcis checks, safely.

The XML is parsed with defusedxml: a DOCTYPE may only name the root (``<!DOCTYPE x>``, as some GS1
examples do); internal subsets, entity declarations and external DTDs/entities are refused before
any expansion or fetch, only UTF-8 is read (no UTF-16/32 tricks), and the
converted tree is at most ``MAX_DEPTH`` levels deep. The result is the same dictionary a
JSON-LD document gives (``epcisBody.eventList`` of events with JSON field names), so both
formats share one validator, the same errors (event index and field) and the same stored events.
"""

from __future__ import annotations

import io
import math
import re
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException, DTDForbidden
from defusedxml.ElementTree import DefusedXMLParser, iterparse

from livebot.trace.errors import InvalidEvent, MalformedDocument

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
EPCIS_NAMESPACES = frozenset({
    "urn:epcglobal:epcis:xsd:1", "urn:epcglobal:epcis:xsd:2", "urn:epcglobal:epcis-query:xsd:1",
    "urn:epcglobal:epcis-query:xsd:2", "urn:epcglobal:epcis-masterdata:xsd:1", "urn:epcglobal:epcis-masterdata:xsd:2",
})
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SBDH = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
WELL_KNOWN = {"urn:epcglobal:cbv:mda": "cbvmda", "urn:epcglobal:cbv:mda#": "cbvmda", "urn:livebot:epcis:": "livebot",
              "https://gs1.org/voc/": "gs1"}
"""Namespaces always given the prefix livebot.trace.epcis reads, whatever the document calls them."""
SCHEMA_VERSIONS = frozenset({"1.0", "1.1", "1.2", "2.0", "2.0.0"})
MAX_DEPTH = 32
EVENT_TYPES = frozenset({"ObjectEvent", "AggregationEvent", "TransformationEvent", "AssociationEvent", "TransactionEvent"})
LISTS = {"epcList": "epc", "childEPCs": "epc", "inputEPCList": "epc", "outputEPCList": "epc",
         "quantityList": "quantityElement", "childQuantityList": "quantityElement", "inputQuantityList": "quantityElement",
         "outputQuantityList": "quantityElement", "bizTransactionList": "bizTransaction", "sourceList": "source",
         "destinationList": "destination", "sensorElementList": "sensorElement", "correctiveEventIDs": "correctiveEventID"}
TYPED_ITEMS = {"bizTransaction", "source", "destination"}
NUMERIC_ATTRIBUTES = frozenset({"value", "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue"})
WRAPPERS = frozenset({"extension", "baseExtension"})
_BAD_ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"'](?!utf-8[\"'])", re.IGNORECASE)


class EpcisXmlParser(DefusedXMLParser):
    """defusedxml's parser, with a bare ``<!DOCTYPE name>`` allowed and every other DTD refused."""

    def __init__(self) -> None:
        super().__init__(forbid_dtd=True, forbid_entities=True, forbid_external=True)

    def defused_start_doctype_decl(self, name: str, sysid: str | None, pubid: str | None, has_internal_subset: bool) -> None:
        if sysid or pubid or has_internal_subset:
            raise DTDForbidden(name, sysid, pubid)


def looks_like_xml(raw: bytes) -> bool:
    """The CLI decides by content: a document starting with ``<`` (after a BOM and blanks) is XML."""
    head = raw[:512].lstrip(b"\xef\xbb\xbf").lstrip()
    return head.startswith(b"<") or head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00<", b"<\x00"))


def check_encoding(raw: bytes) -> None:
    """Only UTF-8 is read: a UTF-16/32 byte order mark or another declared encoding is refused."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")) or raw[:4] in (b"\x00<\x00?", b"<\x00?\x00", b"\x00\x00\x00<"):
        raise MalformedDocument("body", "XML must be UTF-8 encoded (UTF-16/32 is not accepted)")
    if _BAD_ENCODING.match(raw[:256]):
        raise MalformedDocument("body", "XML must declare encoding UTF-8 (or none)")


def load_xml(raw: bytes) -> dict[str, Any]:
    """XML bytes to the JSON-LD-shaped document, or :class:`MalformedDocument` (400) / :class:`InvalidEvent` (422)."""
    check_encoding(raw)
    prefixes: dict[str, str] = {}
    root: Element | None = None
    try:
        for kind, item in iterparse(io.BytesIO(raw), events=("start-ns", "start"), parser=EpcisXmlParser()):
            if kind == "start-ns":
                prefix, uri = item
                prefixes.setdefault(uri, WELL_KNOWN.get(uri) or prefix or f"ns{len(prefixes)}")
            elif root is None:
                root = item
    except DefusedXmlException as err:
        raise MalformedDocument("body", f"XML with a DTD, entity declarations or external references is not accepted ({type(err).__name__})") from err
    except ParseError as err:
        raise MalformedDocument("body", f"malformed XML: {err}") from err
    if root is None:  # pragma: no cover - expat reports an empty document as a ParseError
        raise MalformedDocument("body", "empty XML document")
    return XmlReader(prefixes).document(root)


def split(tag: str) -> tuple[str | None, str]:
    """``{namespace}local`` into its parts (namespace None when unqualified)."""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return None, tag


def text_of(element: Element) -> str:
    return (element.text or "").strip()


class XmlReader:
    """Turns the elements of one document into JSON-LD field names and values."""

    def __init__(self, prefixes: dict[str, str]) -> None:
        self.prefixes = prefixes
        self.index: int | None = None

    def fail(self, where: str, problem: str) -> InvalidEvent:
        return InvalidEvent(where, problem, self.index)

    def name(self, tag: str) -> str | None:
        """The JSON key of an element or attribute: its local name, or ``prefix:local`` for an extension."""
        namespace, local = split(tag)
        if namespace is None or namespace in EPCIS_NAMESPACES:
            return local
        if namespace in (XSI, SBDH):
            return None
        return f"{self.prefixes.get(namespace, namespace)}:{local}"

    def document(self, root: Element) -> dict[str, Any]:
        namespace, local = split(root.tag)
        if namespace not in EPCIS_NAMESPACES or local not in ("EPCISDocument", "EPCISQueryDocument"):
            raise InvalidEvent("type", "the XML root must be epcis:EPCISDocument or epcisq:EPCISQueryDocument")
        version = root.get("schemaVersion", "")
        if version not in SCHEMA_VERSIONS:
            raise InvalidEvent("schemaVersion", "must be 2.0 (or 1.0, 1.1, 1.2 for EPCIS 1.x XML)")
        extensions = {prefix: uri for uri, prefix in self.prefixes.items() if uri not in EPCIS_NAMESPACES and uri not in (XSI, SBDH)}
        doc: dict[str, Any] = {"@context": [EPCIS_CONTEXT, extensions] if extensions else EPCIS_CONTEXT, "type": local,
                               "schemaVersion": "2.0"}
        if root.get("creationDate") is not None:
            doc["creationDate"] = root.get("creationDate")
        header = root.find("EPCISHeader")
        if header is not None:
            master = header.find("extension/EPCISMasterData")
            master = master if master is not None else header.find("EPCISMasterData")
            if master is not None:
                doc["epcisHeader"] = {"epcisMasterData": {"vocabularyList": self.vocabularies(master)}}
        body = root.find("EPCISBody")
        if body is None:
            raise InvalidEvent("epcisBody", "missing (EPCISBody)")
        events = self.event_list(body, local)
        doc["epcisBody"] = {"eventList": events} if local == "EPCISDocument" else {
            "queryResults": {"resultsBody": {"eventList": events}}}
        return doc

    def event_list(self, body: Element, kind: str) -> list[Any]:
        holder = body
        if kind == "EPCISQueryDocument":
            results = next((child for child in body if split(child.tag)[1] == "QueryResults"), None)
            inner = results.find("resultsBody") if results is not None else None
            if inner is None:
                raise InvalidEvent("epcisBody.queryResults.resultsBody", "missing")
            holder = inner
        found = holder.find("EventList")
        if found is None:
            raise InvalidEvent("epcisBody.eventList", "missing (EventList)")
        events: list[Any] = []
        for element in unwrap(list(found)):
            self.index = len(events)
            events.append(self.event(element))
        self.index = None
        return events

    def event(self, element: Element) -> dict[str, Any]:
        kind = self.name(element.tag) or ""
        event: dict[str, Any] = {"type": kind}
        if kind not in EVENT_TYPES:
            return event
        self.fields(element, event, "", 1)
        return event

    def fields(self, element: Element, into: dict[str, Any], where: str, depth: int) -> None:
        """The children of an event (or of a wrapper inside it) as JSON fields."""
        for child in element:
            key = self.name(child.tag)
            if key is None:
                continue
            if key in WRAPPERS:
                self.fields(child, into, where, depth + 1)
                continue
            value = self.field(key, child, f"{where}{key}", depth + 1)
            if value is not None:
                add(into, key, value)

    def field(self, key: str, element: Element, where: str, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise self.fail(where, f"nested more than {MAX_DEPTH} levels")
        if key in LISTS:
            return [self.item(LISTS[key], child, f"{where}[{i}]", depth + 1)
                    for i, child in enumerate(c for c in element if self.name(c.tag) == LISTS[key])]
        if key in ("readPoint", "bizLocation"):
            found: dict[str, Any] = {}
            self.fields(element, found, f"{where}.", depth)
            return found
        if key == "persistentDisposition":
            return {name: [text_of(c) for c in element if self.name(c.tag) == name]
                    for name in ("set", "unset") if element.find(name) is not None}
        if key in ("errorDeclaration", "ilmd"):
            found = {}
            self.fields(element, found, f"{where}.", depth)
            return found
        return self.value(element, where, depth)

    def item(self, kind: str, element: Element, where: str, depth: int) -> Any:
        if kind == "quantityElement":
            found: dict[str, Any] = {}
            for child in element:
                key = self.name(child.tag)
                if key is None or child.get(f"{{{XSI}}}nil") == "true":
                    continue
                found[key] = self.number(text_of(child), f"{where}.{key}") if key == "quantity" else self.value(child, f"{where}.{key}", depth + 1)
            return found
        if kind in TYPED_ITEMS:
            found = {kind: text_of(element)}
            if element.get("type") is not None:
                found["type"] = element.get("type")
            return found
        if kind == "sensorElement":
            return self.sensor_element(element, where, depth)
        return text_of(element)

    def sensor_element(self, element: Element, where: str, depth: int) -> dict[str, Any]:
        found: dict[str, Any] = {}
        reports: list[dict[str, Any]] = []
        for child in element:
            key = self.name(child.tag)
            if key == "sensorMetadata":
                found["sensorMetadata"] = self.attributes(child, f"{where}.sensorMetadata")
            elif key == "sensorReport":
                reports.append(self.attributes(child, f"{where}.sensorReport[{len(reports)}]"))
            elif key in WRAPPERS:
                self.fields(child, found, f"{where}.", depth + 1)
            elif key is not None:
                add(found, key, self.value(child, f"{where}.{key}", depth + 1))
        if reports:
            found["sensorReport"] = reports
        return found

    def attributes(self, element: Element, where: str) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for attribute, raw in element.attrib.items():
            key = self.name(attribute)
            if key is None:
                continue
            if key in NUMERIC_ATTRIBUTES:
                found[key] = self.number(raw, f"{where}.{key}")
            elif key == "booleanValue":
                found[key] = raw.strip() in ("true", "1")
            else:
                found[key] = raw.strip()
        return found

    def value(self, element: Element, where: str, depth: int) -> Any:
        """A generic (extension) element: typed text, or an object of its children (repeats become arrays)."""
        if depth > MAX_DEPTH:
            raise self.fail(where, f"nested more than {MAX_DEPTH} levels")
        children = list(element)
        if not children:
            return typed(text_of(element), element.get(f"{{{XSI}}}type", ""), where, self.index)
        found: dict[str, Any] = {}
        for child in children:
            key = self.name(child.tag)
            if key is not None:
                add(found, key, self.value(child, f"{where}.{key}", depth + 1))
        return found

    def number(self, raw: str, where: str) -> int | float:
        return as_number(raw, where, self.index)

    def vocabularies(self, master: Element) -> list[dict[str, Any]]:
        """``VocabularyList`` as ``vocabularyList``; attribute values are text (or objects for structured ones)."""
        vocabularies = []
        for vocabulary in master.iterfind("VocabularyList/Vocabulary"):
            elements = []
            for element in vocabulary.iterfind("VocabularyElementList/VocabularyElement"):
                attributes = [{"id": a.get("id", ""), "attribute": self.value(a, "attribute", 2)} for a in element.iterfind("attribute")]
                children = [text_of(c) for c in element.iterfind("children/id")]
                entry: dict[str, Any] = {"id": element.get("id", ""), "attributes": attributes}
                if children:
                    entry["children"] = children
                elements.append(entry)
            vocabularies.append({"type": vocabulary.get("type", ""), "vocabularyElementList": elements})
        return vocabularies


def unwrap(elements: list[Element]) -> list[Element]:
    """Events of an EventList; EPCIS 1.x wraps newer event types in ``<extension>``."""
    found: list[Element] = []
    for element in elements:
        if split(element.tag)[1] == "extension":
            found += unwrap(list(element))
        else:
            found.append(element)
    return found


def add(into: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key``; a repeated element becomes an array, as in the JSON-LD binding."""
    if key not in into:
        into[key] = value
    elif isinstance(into[key], list) and key not in LISTS:
        into[key].append(value)
    else:
        into[key] = [into[key], value]


def as_number(raw: str, where: str, index: int | None) -> int | float:
    try:
        value = float(raw)
    except ValueError as err:
        raise InvalidEvent(where, "must be a number", index) from err
    if not math.isfinite(value):
        raise InvalidEvent(where, "must be a finite number", index)
    return int(value) if value.is_integer() and abs(value) < 2**53 and re.fullmatch(r"\s*[+-]?\d+\s*", raw) else value


def typed(raw: str, xsi_type: str, where: str, index: int | None) -> Any:
    """Text typed by ``xsi:type`` (integer, double, boolean); anything else stays a string."""
    kind = xsi_type.rpartition(":")[2]
    if kind in ("integer", "int", "long", "short", "decimal", "double", "float"):
        return as_number(raw, where, index)
    if kind == "boolean":
        return raw in ("true", "1")
    return raw
