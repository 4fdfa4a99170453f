"""The public Digital Link resolver and can-code redirect."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from livebot.appkeys import DATABASE
from livebot.trace import store
from livebot.trace.keys import TRACE_SETTINGS
from livebot.trace.pushes import parse_batches, parse_inspections
from livebot.trace.settings import TraceSettings
from tests.support import bearer
from tests.trace.support import CHAIN_CAN, CHAIN_GTIN, CHAIN_LOT, CHAIN_RAW_LOT, JSON, PAGE


async def test_json_for_machines(chain: TestClient) -> None:
    resp = await chain.get(PAGE, headers=JSON)
    assert resp.status == 200 and resp.content_type == "application/json"
    body = await resp.json()
    assert body["lot"] == CHAIN_LOT and body["minutes_to_processing"] == 105 and body["promise_met"] is True
    assert body["digital_link"] == PAGE


async def test_page_for_people_in_chinese(chain: TestClient) -> None:
    resp = await chain.get(PAGE, headers={"Accept": "text/html,application/xhtml+xml,*/*"})
    assert resp.status == 200 and resp.content_type == "text/html"
    html = await resp.text()
    for text in ("北境臻护 2段", CHAIN_LOT, "双城牧场", "105", "2 小时承诺内", "进入生产", "06:55", "12/12 项合格", "蛋白质",
                 CHAIN_CAN, 'lang="zh-CN"'):
        assert text in html, text
    assert "http://" not in html.replace('http://www.w3.org', '') and "https://" not in html


async def test_the_gs1_example_gtin_with_query_attributes(client: TestClient) -> None:
    await store.save_batches(client.app[DATABASE], parse_batches({"gtin": "06901234543216", "lot": "A1"}), client.app[TRACE_SETTINGS])
    assert (await client.get("/01/06901234543216/10/A1?17=281124", headers=JSON)).status == 200


@pytest.mark.parametrize("path,status", [
    (f"/01/{CHAIN_GTIN[:-1]}5/10/{CHAIN_LOT}", 400),     # wrong check digit
    (f"/01/690123454338/10/{CHAIN_LOT}", 400),           # 12 digits, wrong check digit for GTIN-12
    (f"/01/0690123454338X/10/{CHAIN_LOT}", 400),         # malformed
    (f"/01/{CHAIN_GTIN}/10/{'A' * 21}", 400),             # lot too long
    (f"/01/{CHAIN_GTIN}/10/%E6%89%B9", 400),              # lot outside GS1 set 82
    (f"/01/{CHAIN_GTIN}/10/QH20261124B99", 404),          # unknown lot
    (f"/01/06901234543216/10/{CHAIN_LOT}", 404),          # valid GTIN, but not this lot's product
])
async def test_errors(chain: TestClient, path: str, status: int) -> None:
    resp = await chain.get(path, headers=JSON)
    assert resp.status == status
    assert (await resp.json())["error"]
    page = await chain.get(path)
    text = await page.text()
    assert page.status == status
    assert ("未找到" if status == 404 else "无法识别") in text


async def test_wrong_check_digit_message_says_so(chain: TestClient) -> None:
    resp = await chain.get(f"/01/{CHAIN_GTIN[:-1]}5/10/{CHAIN_LOT}", headers=JSON)
    body = await resp.json()
    assert "校验位" in body["error"] and body["field"] == "gtin"


async def test_can_code_redirects_to_the_digital_link(chain: TestClient) -> None:
    resp = await chain.get(f"/c/{CHAIN_CAN.lower()}", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == PAGE
    assert (await chain.get("/c/C00000000", allow_redirects=False)).status == 404
    assert (await chain.get("/c/%3Cscript%3E", allow_redirects=False)).status == 404


async def test_resolver_sees_new_data_at_once(chain: TestClient, chain_doc: dict[str, Any]) -> None:
    assert (await (await chain.get(PAGE, headers=JSON)).json())["inspections_total"] == 12
    resp = await chain.post("/api/v1/trace/inspections", json={"inspections": [
        {"lot": CHAIN_LOT, "item": "维生素D", "value": 1.2, "unit": "μg/100kJ", "result": "fail"}]},
        headers=await bearer(chain, "trace"))
    assert resp.status == 201
    body = await (await chain.get(PAGE, headers=JSON)).json()
    assert (body["inspections_passed"], body["inspections_total"]) == (12, 13)


HOSTILE = "<script>alert('x')</script>\"'&\u202e😀"


async def test_hostile_strings_are_escaped_on_the_page(client: TestClient) -> None:
    db = client.app[DATABASE]
    batch = {"gtin": "06901234543216", "lot": "EVIL1", "product_name": HOSTILE, "stage": "<b>1段</b>", "plant": HOSTILE,
             "line": "<img src=x onerror=alert(1)>", "raw_milk": {"lot": "RAW1", "farm": HOSTILE, "truck": "<i>t</i>",
                                                                  "milking_end": "2026-11-24T05:10:00+08:00"}}
    await store.save_batches(db, parse_batches(batch), TraceSettings())
    await store.save_inspections(db, parse_inspections({"lot": "EVIL1", "item": HOSTILE, "value": "<svg onload=x>",
                                                        "lab": HOSTILE, "result": "pass"}), TraceSettings())
    html = await (await client.get("/01/06901234543216/10/EVIL1")).text()
    assert "<script>alert" not in html and "<img src=x" not in html and "<svg onload" not in html and "<b>1段" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "<bdi>&lt;script&gt;" in html  # RTL override isolated from the page text
    body = await (await client.get("/01/06901234543216/10/EVIL1", headers=JSON)).json()
    assert body["farm"] == HOSTILE


async def test_serial_qualifier_and_a_batch_without_raw_milk(client: TestClient) -> None:
    await store.save_batches(client.app[DATABASE], parse_batches({"gtin": "06901234543216", "lot": "BARE1", "product_name": "北境臻护 1段"}),
                             client.app[TRACE_SETTINGS])
    resp = await client.get("/01/06901234543216/10/BARE1/21/000123")
    assert resp.status == 200
    html = await resp.text()
    assert "从挤奶到生产的时间数据正在同步" in html and "暂无温度记录" in html and "质检报告正在同步" in html


async def test_raw_milk_news_reaches_the_cached_can_page(chain: TestClient) -> None:
    assert (await (await chain.get(PAGE, headers=JSON)).json())["inspections_total"] == 12
    resp = await chain.post("/api/v1/trace/inspections", json={"lot": CHAIN_RAW_LOT, "item": "体细胞数", "value": "20万", "result": "pass"},
                            headers=await bearer(chain, "trace"))
    assert resp.status == 201
    body = await (await chain.get(PAGE, headers=JSON)).json()
    assert body["inspections_total"] == 13
