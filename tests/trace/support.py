"""Helpers of the trace tests: fixture documents and the chain's identifiers (fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

EPCIS = Path(__file__).resolve().parents[1] / "fixtures" / "epcis"
CHAIN_LOT = "QH20261124B01"
CHAIN_RAW_LOT = "SC20261124T2"
CHAIN_GTIN = "06901234543384"
CHAIN_CAN = "C26112421"
JSON = {"Accept": "application/json"}
PAGE = f"/01/{CHAIN_GTIN}/10/{CHAIN_LOT}"


def load(name: str) -> dict[str, Any]:
    return orjson.loads((EPCIS / name).read_bytes())


def events_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return doc["epcisBody"]["eventList"]


def big_document(copies: int) -> dict[str, Any]:
    """The chain repeated with fresh event ids and lots: about 1 kB per event."""
    doc = orjson.loads((EPCIS / "dairy_chain.jsonld").read_bytes())
    template = doc["epcisBody"]["eventList"]
    raw = orjson.dumps(template).decode()
    events: list[dict[str, Any]] = []
    for n in range(copies):
        text = raw.replace("QH20261124B01", f"QH2026{n:06d}B").replace("SC20261124T2", f"SC2026{n:06d}T").replace(
            "C26112421", f"C{n:08d}").replace("urn:uuid:", f"urn:uuid:{n:06d}")
        events += orjson.loads(text)
    doc["epcisBody"]["eventList"] = events
    return doc
