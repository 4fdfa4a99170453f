"""Fixtures of the trace tests (helpers live in tests/trace/support.py)."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from tests.support import bearer
from tests.trace.support import (
    load,
)


@pytest.fixture
def chain_doc() -> dict[str, Any]:
    """The valid dairy chain from farm to can (19 events), a fresh copy per test."""
    return copy.deepcopy(load("dairy_chain.jsonld"))


@pytest.fixture
async def chain(client: TestClient, chain_doc: dict[str, Any]) -> TestClient:
    resp = await client.post("/api/v1/trace/epcis", data=orjson.dumps(chain_doc), headers=await bearer(client, "trace"))
    assert resp.status == 201
    return client
