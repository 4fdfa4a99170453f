"""The overlay against the real trace area: a plant's JSON push reaches an open overlay."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from livebot.appkeys import DATABASE
from tests.overlays.support import make_session, new_token
from tests.overlays.test_api import command, has_part, receive_until
from tests.support import bearer

BATCH = {
    "gtin": "06901234543216", "lot": "QH20261124A01", "product_name": "北境臻护 婴儿配方奶粉 1段", "stage": "1段",
    "production_date": "2026-11-24", "expiry_date": "2028-05-23", "plant": "齐齐哈尔工厂", "line": "湿法二线",
    "processing_start": "2026-11-24T06:55:00+08:00",
    "raw_milk": [{"lot": "RM20261124-01", "farm": "双城牧场", "milking_start": "2026-11-24T04:40:00+08:00",
                  "milking_end": "2026-11-24T05:10:00+08:00", "cooled_at": "2026-11-24T05:25:00+08:00", "cooling_temp_c": 3.7,
                  "departed_at": "2026-11-24T05:40:00+08:00", "arrived_at": "2026-11-24T06:40:00+08:00",
                  "processing_start": "2026-11-24T06:55:00+08:00"}],
}


async def test_a_trace_push_updates_the_open_batch_overlay(client: TestClient) -> None:
    db = client.app[DATABASE]
    session_id, _ = await make_session(db)
    token = await new_token(db, session_id)
    await command(client, session_id, await bearer(client, "producer"), type="batch", lot=BATCH["lot"], force=True)
    async with client.ws_connect(f"/ws/overlay/{session_id}?token={token}") as ws:
        snapshot = await receive_until(ws, lambda f: f["t"] == "snapshot")
        assert snapshot["parts"]["batch"] == {"lot": BATCH["lot"], "found": False}
        trace = await bearer(client, "trace")
        resp = await client.post("/api/v1/trace/batches", json={"batches": [BATCH]}, headers=trace)
        assert resp.status < 300, await resp.text()
        frame = await receive_until(ws, has_part("batch", lambda b: b["found"]), timeout=3)
    batch = frame["parts"]["batch"]
    assert batch["card"]["product"] == BATCH["product_name"] and batch["card"]["farm"] == "双城牧场"
    steps = {s["key"]: s for s in batch["chain"]["steps"]}
    assert steps["milking"]["time"] == "05:10" and steps["processing"]["time"] == "06:55"  # the end of milking: the headline counts from it
    assert batch["chain"]["headline"] == "105 分钟 · 2 小时承诺内"
