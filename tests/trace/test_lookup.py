"""Codes typed in chat resolve to lots (typos tolerated) and get the filled Chinese summary."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from livebot.appkeys import DATABASE
from livebot.trace import facts
from livebot.trace.keys import TRACE_FACTS, TRACE_SETTINGS
from tests.support import bearer
from tests.trace.support import CHAIN_CAN, CHAIN_GTIN, CHAIN_LOT


@pytest.mark.parametrize("typed", [
    "QH20261124B01", "qh20261124b01", "QH2O261124BO1", "ＱＨ２０２６１１２４Ｂ０１", "QH 2026 1124 B01", "QH-20261124-B01",
    "\u200bQH20261124B01\u202c", "c26112421", "C2611242１",
    f"https://trace.brand.cn/01/{CHAIN_GTIN}/10/{CHAIN_LOT}", f"http://x.cn/01/{CHAIN_GTIN}/10/qh2o261124bo1?17=281123",
    f"(01){CHAIN_GTIN}(17)281123(10){CHAIN_LOT}",
])
async def test_find_lot_tolerates_typing_slips(chain: TestClient, typed: str) -> None:
    assert await facts.find_lot(chain.app[DATABASE], typed) == CHAIN_LOT


@pytest.mark.parametrize("typed", [
    "QH20261124B02", "", "   ", "B01", f"https://x/01/06901234543385/10/{CHAIN_LOT}", "'; DROP TABLE trace_batches; --",
    "<script>QH20261124B01</script>", "x" * 5000, "SC20261124T2",
])
async def test_find_lot_does_not_guess(chain: TestClient, typed: str) -> None:
    assert await facts.find_lot(chain.app[DATABASE], typed) is None


async def test_trace_reply_is_the_filled_summary(chain: TestClient) -> None:
    reply = await chain.app[TRACE_FACTS].trace_reply(chain.app[DATABASE], "qh2O261124BO1")
    assert reply == ("批次 QH20261124B01（北境臻护 2段）：奶源 双城牧场，05:10 挤奶，06:55 进入生产，"
                     "全程 105 分钟（2 小时承诺内），冷链全程 ≤4°C，质检 12/12 项合格，11月24日入库（齐齐哈尔工厂）")
    assert await chain.app[TRACE_FACTS].trace_reply(chain.app[DATABASE], "QH20991231Z99") is None


async def test_lookup_api(chain: TestClient) -> None:
    headers = await bearer(chain, "advisor")
    resp = await chain.get("/api/v1/trace/lookup", params={"code": CHAIN_CAN.lower()}, headers=headers)
    assert resp.status == 200
    body = await resp.json()
    assert body["lot"] == CHAIN_LOT and body["reply"].startswith("批次 QH20261124B01") and body["summary"]["farm"] == "双城牧场"
    assert (await chain.get("/api/v1/trace/lookup", params={"code": "ZZ1"}, headers=headers)).status == 404
    assert (await chain.get("/api/v1/trace/lookup", params={"code": ""}, headers=headers)).status == 400
    assert (await chain.get("/api/v1/trace/lookup", params={"code": CHAIN_LOT})).status == 401
    resp = await chain.get(f"/api/v1/trace/batches/{CHAIN_LOT}", headers=headers)
    assert resp.status == 200 and (await resp.json())["minutes_to_processing"] == 105
    assert (await chain.get("/api/v1/trace/batches/NOPE", headers=headers)).status == 404


async def test_lots_with_separators_resolve_as_written(client: TestClient) -> None:
    from livebot.trace import store
    from livebot.trace.pushes import parse_batches

    await store.save_batches(client.app[DATABASE], parse_batches({"gtin": "06901234543216", "lot": "AB-2026_01"}), client.app[TRACE_SETTINGS])
    assert await facts.find_lot(client.app[DATABASE], "ab-2026_01") == "AB-2026_01"
    assert await facts.find_lot(client.app[DATABASE], "AB2026O1") is None
