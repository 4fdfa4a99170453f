"""Write an EPCIS 2.0 JSON-LD document as EPCIS 2.0 XML (the subset livebot's demo and fixtures use), for XML import tests."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

NAMESPACES = {"livebot": "urn:livebot:epcis:", "cbvmda": "urn:epcglobal:cbv:mda"}
LISTS = {"quantityList": "quantityElement", "childQuantityList": "quantityElement", "inputQuantityList": "quantityElement",
         "outputQuantityList": "quantityElement", "epcList": "epc", "childEPCs": "epc", "inputEPCList": "epc", "outputEPCList": "epc"}
ORDER = ("eventTime", "eventTimeZoneOffset", "eventID", "parentID", "epcList", "childEPCs", "inputEPCList", "inputQuantityList",
         "outputEPCList", "outputQuantityList", "action", "bizStep", "disposition", "readPoint", "bizLocation", "quantityList",
         "childQuantityList", "sensorElementList", "ilmd")


def scalar(tag: str, value: Any) -> str:
    """An extension element: typed with xsi:type so numbers stay numbers."""
    if isinstance(value, dict):
        return f"<{tag}>" + "".join(scalar(k, v) for k, v in value.items()) + f"</{tag}>"
    if isinstance(value, list):
        if not value:
            return f"<{tag}/>"
        return "".join(scalar(tag, item) for item in value)
    if isinstance(value, bool):
        return f'<{tag} xsi:type="xsd:boolean">{str(value).lower()}</{tag}>'
    if isinstance(value, int):
        return f'<{tag} xsi:type="xsd:integer">{value}</{tag}>'
    if isinstance(value, float):
        return f'<{tag} xsi:type="xsd:double">{value!r}</{tag}>'
    return f"<{tag}>{escape(str(value))}</{tag}>"


def list_field(key: str, items: list[Any]) -> str:
    item = LISTS[key]
    if item == "epc":
        return f"<{key}>" + "".join(f"<epc>{escape(i)}</epc>" for i in items) + f"</{key}>"
    parts = []
    for q in items:
        inner = f"<epcClass>{escape(q['epcClass'])}</epcClass>"
        if "quantity" in q:
            inner += f"<quantity>{q['quantity']}</quantity>"
        if "uom" in q:
            inner += f"<uom>{escape(q['uom'])}</uom>"
        parts.append(f"<quantityElement>{inner}</quantityElement>")
    return f"<{key}>{''.join(parts)}</{key}>"


def sensor_list(elements: list[dict[str, Any]]) -> str:
    out = []
    for element in elements:
        meta = "".join(f" {k}={quoteattr(str(v))}" for k, v in element.get("sensorMetadata", {}).items())
        reports = "".join("<sensorReport" + "".join(f" {k}={quoteattr(str(v))}" for k, v in r.items()) + "/>"
                          for r in element["sensorReport"])
        out.append(f"<sensorElement><sensorMetadata{meta}/>{reports}</sensorElement>")
    return f"<sensorElementList>{''.join(out)}</sensorElementList>"


def event_xml(event: dict[str, Any]) -> str:
    parts = []
    for key in ORDER:
        if key not in event:
            continue
        value = event[key]
        if key in LISTS:
            parts.append(list_field(key, value))
        elif key in ("readPoint", "bizLocation"):
            parts.append(f"<{key}><id>{escape(value['id'])}</id></{key}>")
        elif key == "sensorElementList":
            parts.append(sensor_list(value))
        elif key == "ilmd":
            parts.append("<ilmd>" + "".join(scalar(k, v) for k, v in value.items()) + "</ilmd>")
        else:
            parts.append(f"<{key}>{escape(str(value))}</{key}>")
    parts += [scalar(key, value) for key, value in event.items() if ":" in key and key not in ORDER]
    return f"<{event['type']}>{''.join(parts)}</{event['type']}>"


def master_xml(header: dict[str, Any]) -> str:
    vocabularies = []
    for vocabulary in header.get("epcisMasterData", {}).get("vocabularyList", []):
        elements = []
        for element in vocabulary["vocabularyElementList"]:
            attributes = "".join(f"<attribute id={quoteattr(a['id'])}>{escape(str(a['attribute']))}</attribute>"
                                 for a in element.get("attributes", []))
            elements.append(f"<VocabularyElement id={quoteattr(element['id'])}>{attributes}</VocabularyElement>")
        vocabularies.append(f"<Vocabulary type={quoteattr(vocabulary['type'])}><VocabularyElementList>{''.join(elements)}"
                            "</VocabularyElementList></Vocabulary>")
    return f"<EPCISHeader><extension><EPCISMasterData><VocabularyList>{''.join(vocabularies)}</VocabularyList></EPCISMasterData></extension></EPCISHeader>"


def to_xml(doc: dict[str, Any]) -> bytes:
    """``doc`` (an EPCISDocument as JSON) as EPCIS 2.0 XML."""
    declared = "".join(f" xmlns:{p}={quoteattr(u)}" for p, u in NAMESPACES.items())
    header = master_xml(doc["epcisHeader"]) if "epcisHeader" in doc else ""
    events = "".join(event_xml(e) for e in doc["epcisBody"]["eventList"])
    return (f'<?xml version="1.0" encoding="UTF-8"?><epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2"'
            f' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"{declared}'
            f' schemaVersion="2.0" creationDate={quoteattr(doc["creationDate"])}>{header}'
            f"<EPCISBody><EventList>{events}</EventList></EPCISBody></epcis:EPCISDocument>").encode()
