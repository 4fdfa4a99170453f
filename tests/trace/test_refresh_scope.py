"""Which chains an import refreshes: master data sent again changes none, a treatment only the lots
milked while it lasted (new or declared wrong), and every chain it changes shows the change."""

from __future__ import annotations

import copy
import random
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from livebot.demo import trace as demo
from tests.trace.test_epcis_ids import DECLARATION
from tests.trace.test_whole_chain import CAN, CREATED, event, post, summary, whole_chain

LATER = demo.demo_batch(3, 1, CAN.milked + timedelta(days=10), seq=5)
"""Another batch of the same farm and herd, milked ten days after the sample can."""


def later_chain() -> dict[str, Any]:
    return demo.document(demo.chain_events(LATER, random.Random(8)), CREATED)


def only(doc: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    doc["epcisBody"]["eventList"] = events
    return doc


async def imported_lots(client: TestClient, doc: dict[str, Any]) -> list[str]:
    resp = await post(client, doc)
    assert resp.status in (200, 201), await resp.text()
    return list((await resp.json())["lots"])


async def test_same_herd_master_data_again_refreshes_nothing_and_a_change_refreshes_its_lots(client: TestClient) -> None:
    assert CAN.lot in await imported_lots(client, whole_chain())
    assert LATER.lot in await imported_lots(client, later_chain())
    assert await imported_lots(client, only(whole_chain(), [])) == []
    changed = only(whole_chain(), [])
    for vocabulary in changed["epcisHeader"]["epcisMasterData"]["vocabularyList"]:
        for element in vocabulary["vocabularyElementList"]:
            for attribute in element["attributes"]:
                if attribute["id"] == "livebot:size" and element["id"] == demo.HERDS[CAN.farm[0]][0]:
                    attribute["attribute"] = 300
    assert {CAN.lot, LATER.lot} <= set(await imported_lots(client, changed))
    assert (await summary(client))["herds"][0]["size"] == 300


async def test_a_treatment_refreshes_the_lots_milked_while_it_lasted_and_so_does_its_retraction(client: TestClient) -> None:
    await imported_lots(client, whole_chain())
    await imported_lots(client, later_chain())
    _, treated = event(whole_chain(), "livebot:health")
    treated = copy.deepcopy(treated)
    treated["eventID"] += "-late"
    treated["livebot:health"] = {**treated["livebot:health"], "animal": "KD-1-9999"}
    lots = await imported_lots(client, only(whole_chain(), [treated]))
    assert CAN.lot in lots and LATER.lot not in lots  # the treatment ended days before the later milking
    assert (await summary(client))["herds"][0]["treated_count"] == 2
    retraction = {**copy.deepcopy(treated), "errorDeclaration": DECLARATION}
    lots = await imported_lots(client, only(whole_chain(), [retraction]))
    assert CAN.lot in lots and LATER.lot not in lots
    assert (await summary(client))["herds"][0]["treated_count"] == 1
