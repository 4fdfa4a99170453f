"""Per-advisor figures in the session report, on a known set of actions with known answers, with drill-down and export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import update

from livebot.appkeys import DATABASE
from livebot.cases.models import FollowupCase
from livebot.storage.base import utcnow
from tests.console.support import MILK, PROTEIN, STAGE, ask, make_session, wait_for_asks

REPORT = "/api/v1/engagement/sessions/{}/report?fresh=true"


async def test_known_actions_give_known_figures(client: TestClient, advisors) -> None:
    db = client.app[DATABASE]
    session_id, _ = await make_session(db)
    texts = ["奶源是哪里的？", "几段适合六个月？", "蛋白质含量多少？", "这个直播是不是演的？", "罐子凹陷了怎么换？"]
    for text, sugs in zip(texts, [[MILK], [STAGE], [PROTEIN], [], []], strict=True):
        await ask(client.app, session_id, text, sugs)
    cards = {c.text: c.id for c in await wait_for_asks(client.app, session_id, 5)}
    li, zhang = await advisors("li", "李营养师"), await advisors("zhang", "张营养师")
    marketer = await advisors("mo", "市场部小王", role="marketing")
    path = "/api/v1/console/cards/{}/{}".format

    assert (await li.post(path(cards[texts[0]], "claim")))[0] == 200
    assert (await li.post(path(cards[texts[0]], "answer"), {"text": "能显著提高免疫力，是最好的奶粉"}))[0] == 422  # the guard
    assert (await li.post(path(cards[texts[0]], "answer"), {"text": "奶源来自自有牧场。"}))[0] == 200
    assert (await li.post(path(cards[texts[1]], "claim")))[0] == 200
    assert (await li.post(path(cards[texts[1]], "release")))[0] == 200
    assert (await zhang.post(path(cards[texts[1]], "claim")))[0] == 200
    assert (await zhang.post(path(cards[texts[1]], "answer"), {"text": "六个月选 2 段。"}))[0] == 200
    assert (await zhang.post(path(cards[texts[3]], "dismiss")))[0] == 200
    status, opened = await li.post("/api/v1/cases", {"card_id": cards[texts[4]]})
    assert status == 201
    case_id = opened["case"]["id"]
    assert (await zhang.post(f"/api/v1/cases/{case_id}/status", {"status": "contacted"}))[0] == 200
    assert (await zhang.post(f"/api/v1/cases/{case_id}/status", {"status": "resolved"}))[0] == 200
    status, second = await li.post("/api/v1/cases", {"card_id": cards[texts[2]], "category": "complaint"})
    assert (await li.post(f"/api/v1/cases/{second['case']['id']}/assign"))[0] == 200
    async with db.sessions() as session:
        await session.execute(update(FollowupCase).where(FollowupCase.id == second["case"]["id"])
                              .values(due_at=utcnow() - timedelta(hours=1)))
        await session.commit()

    status, report = await marketer.get(REPORT.format(session_id))
    assert status == 200, report
    rows = {row["username"]: row for row in report["topics"]["advisors"]}
    assert set(rows) == {"li", "zhang"}
    li_row, zhang_row = rows["li"], rows["zhang"]
    assert (li_row["answered"], li_row["claims"], li_row["released"], li_row["dismissed"]) == (1, 2, 1, 0)
    assert (li_row["cases_opened"], li_row["cases_resolved"], li_row["cases_overdue"]) == (2, 0, 1)
    assert (zhang_row["answered"], zhang_row["claims"], zhang_row["dismissed"], zhang_row["cases_resolved"]) == (1, 1, 1, 1)
    assert li_row["asks_answered"] == 1 and li_row["frt_median_s"] is not None and li_row["frt_p90_s"] >= li_row["frt_median_s"]
    assert li_row["cards"]["released"] == [cards[texts[1]]] and zhang_row["cases"]["resolved"] == [case_id]
    assert (li_row["compliance_blocked"], zhang_row["compliance_blocked"]) == (1, 0)

    # drill-down from a figure to the questions and cases behind it
    page = await marketer.http.get(marketer.client.make_url(f"/reports/sessions/{session_id}/advisors/li"))
    html = await page.text()
    assert page.status == 200 and "几段适合六个月？" in html and f"/cases/{second['case']['id']}" in html
    report_page = await (await marketer.http.get(marketer.client.make_url(f"/reports/sessions/{session_id}"))).text()
    assert "顾问表现" in report_page and f"/reports/sessions/{session_id}/advisors/li#released" in report_page
    missing = await marketer.http.get(marketer.client.make_url(f"/reports/sessions/{session_id}/advisors/nobody"))
    assert missing.status == 404

    # exports: CSV of the advisors table (with a 合计 row), and the JSON and xlsx carry it too
    resp = await marketer.http.get(marketer.client.make_url(
        f"/api/v1/engagement/sessions/{session_id}/export?format=csv&table=advisors&fresh=true"))
    assert resp.status == 200
    table = list(csv.reader(io.StringIO((await resp.read()).decode("utf-8-sig"))))
    header, body = table[0], table[1:]
    assert header[:3] == ["顾问", "账号", "回复问题卡"]
    by_user = {row[1]: row for row in body if row[1]}
    assert by_user["li"][2] == "1" and by_user["zhang"][2] == "1"
    assert body[-1][0] == "合计" and body[-1][2] == "2"
    resp = await marketer.http.get(marketer.client.make_url(f"/api/v1/engagement/sessions/{session_id}/export?format=json"))
    assert resp.status == 200 and "advisors" in (await resp.json(content_type=None))["topics"]
