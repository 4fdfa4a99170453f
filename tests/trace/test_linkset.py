"""The resolver's GS1 Digital Link link set, ``linkType`` and CORS for scripts on other origins."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient

from tests.trace.support import CHAIN_GTIN, CHAIN_LOT, JSON, PAGE

GS1_VOC = "https://gs1.org/voc/"


def check_linkset_shape(body: Any) -> dict[str, Any]:
    """RFC 9264 JSON as GS1 resolvers serve it: {"linkset": [{"anchor", <relation IRI>: [{"href", ...}]}]}."""
    assert isinstance(body, dict) and list(body) == ["linkset"]
    assert isinstance(body["linkset"], list) and len(body["linkset"]) == 1
    context = body["linkset"][0]
    assert isinstance(context["anchor"], str) and context["anchor"].startswith(("http://", "https://"))
    for relation, targets in context.items():
        if relation == "anchor":
            continue
        assert relation.startswith(GS1_VOC), relation
        assert isinstance(targets, list) and targets
        for target in targets:
            assert isinstance(target["href"], str) and target["href"].startswith(("http://", "https://"))
            assert set(target) <= {"href", "title", "type", "hreflang"}
            assert isinstance(target.get("hreflang", []), list)
    return context


@pytest.mark.parametrize("query,headers", [("?linkType=all", {}), ("", {"Accept": "application/linkset+json"})])
async def test_link_set(chain: TestClient, query: str, headers: dict[str, str]) -> None:
    resp = await chain.get(PAGE + query, headers=headers)
    assert resp.status == 200 and resp.content_type == "application/linkset+json"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    context = check_linkset_shape(await resp.json(content_type=None))
    assert context["anchor"].endswith(PAGE)
    assert context[GS1_VOC + "pip"][0]["type"] == "text/html" and context[GS1_VOC + "defaultLink"][0]["href"] == context["anchor"]
    assert context[GS1_VOC + "traceability"][0]["href"].endswith(f"{PAGE}?linkType=gs1:traceability")
    assert context[GS1_VOC + "epcis"][0]["href"].endswith(f"/api/v1/trace/events?lot={CHAIN_LOT}")


async def test_each_link_of_the_set_answers(chain: TestClient) -> None:
    context = check_linkset_shape(await (await chain.get(PAGE + "?linkType=all")).json(content_type=None))
    href = urlsplit(context[GS1_VOC + "traceability"][0]["href"])
    traceability = await chain.get(f"{href.path}?{href.query}")
    assert traceability.status == 200 and traceability.content_type == "application/json"
    assert (await traceability.json())["lot"] == CHAIN_LOT


@pytest.mark.parametrize("link_type,content_type", [
    ("gs1:traceability", "application/json"), (GS1_VOC + "traceability", "application/json"),
    ("gs1:pip", "text/html"), ("gs1:defaultLink", "text/html"), ("gs1:recipeInfo", "text/html"), ("", "text/html"),
])
async def test_link_type_picks_a_link_or_the_default(chain: TestClient, link_type: str, content_type: str) -> None:
    resp = await chain.get(PAGE, params={"linkType": link_type})
    assert resp.status == 200 and resp.content_type == content_type


async def test_unknown_lots_and_bad_codes_are_not_linked(chain: TestClient) -> None:
    resp = await chain.get(f"/01/{CHAIN_GTIN}/10/NOPE1?linkType=all")
    assert resp.status == 404
    resp = await chain.get(f"/01/{CHAIN_GTIN[:-1]}5/10/{CHAIN_LOT}?linkType=all", headers=JSON)
    assert resp.status == 400 and resp.headers["Access-Control-Allow-Origin"] == "*"


async def test_cors_preflight_and_headers(chain: TestClient) -> None:
    resp = await chain.options(PAGE, headers={"Origin": "https://scan.example.cn", "Access-Control-Request-Method": "GET",
                                              "Access-Control-Request-Headers": "accept"})
    assert resp.status == 204
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in resp.headers["Access-Control-Allow-Methods"] and "Accept" in resp.headers["Access-Control-Allow-Headers"]
    assert "Set-Cookie" not in resp.headers
    json_answer = await chain.get(PAGE, headers={**JSON, "Origin": "https://scan.example.cn"})
    assert json_answer.headers["Access-Control-Allow-Origin"] == "*"
    assert (await chain.options(PAGE + "/21/0001")).status == 204

