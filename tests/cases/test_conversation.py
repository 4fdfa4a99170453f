"""A 微信客服 conversation continues in its case: the advisor writes from the case, the parent's reply joins it, 48 hours."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from livebot.app import create_app
from livebot.appkeys import DATABASE
from livebot.cases.models import CaseContact
from livebot.chat.keys import SOURCES
from livebot.console.api_internal import card_lines
from livebot.storage.base import utcnow
from tests.chat.sources.test_wecom_kf import post_callback
from tests.console.support import MILK, advisor, ask, make_session, wait_for_asks
from tests.fakes.wecom import FakeWecom
from tests.support import eventually

PARENT = "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw"


@pytest.fixture
async def fake() -> AsyncIterator[FakeWecom]:
    server = await FakeWecom().start()
    yield server
    await server.close()


async def kf_question(client: Any, fake: FakeWecom, text: str) -> None:
    fake.add_message(text, external_userid=PARENT)
    assert (await post_callback(client, fake)).status == 200
    await client.app[SOURCES]["kf-main"].idle()


async def first_card(client: Any) -> int:
    """The console's card of the parent's question (cards are written by the intake on its own clock)."""
    found: dict[int, Any] = {}

    async def ready() -> bool:
        found.update(await card_lines(client.app[DATABASE], [1, 2]))
        return bool(found)

    await eventually(ready)
    return min(found)


async def test_advisor_writes_from_the_case_and_the_reply_joins_it(aiohttp_client: Any, make_config: Any, fake: FakeWecom) -> None:
    config = make_config(sources=[{"id": "kf-main", "type": "wecom_kf", **fake.source_options()}])
    client = await aiohttp_client(create_app(config))
    li = await advisor(client, "li", "李营养师")
    try:
        await kf_question(client, fake, "宝宝喝了以后有点便秘怎么办？")
        assert (await li.get("/api/v1/cases"))[1]["cases"] == []  # a card in the console, no case yet
        card_id = await first_card(client)
        status, opened = await li.post("/api/v1/cases", {"card_id": card_id})
        assert status == 201, opened
        case_id = opened["case"]["id"]
        assert opened["conversation"]["can_send"] and opened["conversation"]["window_ends"]

        status, sent = await li.post(f"/api/v1/cases/{case_id}/messages", {"text": "您好，我是营养顾问小李，想了解一下宝宝的情况。"})
        assert status == 200, sent
        [out] = fake.sent
        assert out["touser"] == PARENT and out["open_kfid"] == fake.open_kfid and "营养顾问小李" in out["text"]["content"]
        assert sent["case"]["messages"][-1]["direction"] == "out" and sent["history"][-1]["action"] == "message"

        status, refused = await li.post(f"/api/v1/cases/{case_id}/messages", {"text": "我们的奶粉能显著提高免疫力，最接近母乳"})
        assert status == 400 and "合规拦截" in refused["error"] and len(fake.sent) == 1  # the guard stops it before WeCom

        await kf_question(client, fake, "<b>谢谢</b>，已经好多了")

        async def replied() -> bool:
            return (await li.get(f"/api/v1/cases/{case_id}"))[1]["case"]["messages"][-1]["text"] == "<b>谢谢</b>，已经好多了"

        await eventually(replied)
        status, detail = await li.get(f"/api/v1/cases/{case_id}")
        assert [h["action"] for h in detail["history"]][-1] == "received"
        html = await (await li.http.get(li.client.make_url(f"/cases/{case_id}"))).text()
        assert "&lt;b&gt;谢谢&lt;/b&gt;" in html and "通过微信客服回复" in html

        # 48 hours after the parent's last message, WeCom no longer lets the account answer
        async with client.app[DATABASE].sessions() as session:
            await session.execute(update(CaseContact).values(last_seen=utcnow() - timedelta(hours=49)))
            await session.commit()
        status, refused = await li.post(f"/api/v1/cases/{case_id}/messages", {"text": "还在吗？"})
        assert status == 409 and "48 小时" in refused["error"] and len(fake.sent) == 1
        for bad in ({}, {"text": ""}, {"text": "字" * 601}, {"text": ["x"]}):
            assert (await li.post(f"/api/v1/cases/{case_id}/messages", bad))[0] == 400
    finally:
        await li.http.close()


async def test_a_live_platform_viewer_cannot_be_written_to(client: Any, advisors: Any) -> None:
    session_id, _ = await make_session(client.app[DATABASE])
    await ask(client.app, session_id, "罐子凹陷了怎么换？", [MILK])
    [card] = await wait_for_asks(client.app, session_id, 1)
    li = await advisors("li", "李营养师")
    status, opened = await li.post("/api/v1/cases", {"card_id": card.id})
    assert status == 201 and not opened["conversation"]["can_send"] and "原平台" in opened["conversation"]["reason"]
    status, refused = await li.post(f"/api/v1/cases/{opened['case']['id']}/messages", {"text": "您好"})
    assert status == 409
