"""Bad input on the engagement API and pages: clear errors, stored reports never doubled.

Complements test_api.py (hostile chat in every export format, malformed parameters, CSRF):
JSON nested past the parser's recursion limit, oversized bodies, the same regeneration sent
several times at once, and hostile text typed by producers (titles, themes, sites, segments)
escaped on every marketing page and inert in every download.
"""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import orjson
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from livebot.appkeys import DATABASE
from livebot.engagement import charts
from livebot.engagement.models import EngagementReport
from livebot.engagement.rebuild import rebuild
from livebot.engagement.robot import summary_markdown
from livebot.schedule.models import Segment, Site
from tests.engagement.support import ev, insert_events, make_show, store_transcript
from tests.support import bearer, login

TITLE = "<script>alert('x')</script>=1+1 奶源'; DROP TABLE sessions;-- 🐄𠮷"
THEME = "<b>奶源</b>"
SITE = '<img src=x onerror="alert(1)">双城牧场'
SEGMENT = "@开场<svg onload=alert(1)>"


async def hostile_show(client: Any) -> int:
    db = client.app[DATABASE]
    show = await make_show(db, title=TITLE, theme=THEME)
    async with db.sessions() as s:
        await s.execute(update(Site).where(Site.id == show.farm).values(name=SITE))
        await s.execute(update(Segment).where(Segment.id == show.segments[0]).values(title=SEGMENT))
        await s.commit()
    await store_transcript(db, show.session_id)
    await rebuild(db, show.session_id)
    return show.session_id


async def test_json_nested_past_the_recursion_limit_is_400(client: Any) -> None:
    show = await make_show(client.app[DATABASE])
    headers = {**await bearer(client, "marketing"), "Content-Type": "application/json"}
    nested = b'{"send": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    resp = await client.post(f"/api/v1/engagement/sessions/{show.session_id}/report", data=io.BytesIO(nested),
                             headers=headers)
    assert resp.status == 400, await resp.text()
    assert (await resp.json())["field"] == "body"
    assert (await client.get("/healthz")).status == 200


async def test_oversized_body_is_413_and_stores_nothing(client: Any) -> None:
    show = await make_show(client.app[DATABASE])
    headers = {**await bearer(client, "marketing"), "Content-Type": "application/json"}
    big = orjson.dumps({"send": False, "pad": "x" * 2_000_000})
    resp = await client.post(f"/api/v1/engagement/sessions/{show.session_id}/report", data=io.BytesIO(big),
                             headers=headers)
    assert resp.status == 413
    async with client.app[DATABASE].sessions() as s:
        assert await s.scalar(select(func.count()).select_from(EngagementReport)) == 0


async def test_the_same_regeneration_at_once_stores_one_report(client: Any) -> None:
    show = await make_show(client.app[DATABASE])
    await store_transcript(client.app[DATABASE], show.session_id)
    headers = await bearer(client, "marketing")
    url = f"/api/v1/engagement/sessions/{show.session_id}/report"
    answers = await asyncio.gather(*(client.post(url, json={}, headers=headers) for _ in range(5)))
    assert [a.status for a in answers] == [200] * 5
    async with client.app[DATABASE].sessions() as s:
        assert await s.scalar(select(func.count()).select_from(EngagementReport)) == 1
    report = await (await client.get(url, headers=headers)).json()
    assert report["summary"]["comments"] == 11


@pytest.mark.parametrize("body", [{"send": None}, {"send": "true"}, {"send": 1}, {"send": ["<script>"]}])
async def test_wrong_send_values_are_400_naming_send(client: Any, body: dict[str, Any]) -> None:
    show = await make_show(client.app[DATABASE])
    headers = await bearer(client, "marketing")
    resp = await client.post(f"/api/v1/engagement/sessions/{show.session_id}/report", json=body, headers=headers)
    assert resp.status == 400 and (await resp.json())["field"] == "send"


async def test_producer_text_is_escaped_on_every_marketing_page(client: Any) -> None:
    session_id = await hostile_show(client)
    await login(client, "marketing")
    for page in ("/reports", f"/reports/sessions/{session_id}", f"/reports/sessions/{session_id}/live",
                 f"/reports/sessions/{session_id}/live/panel", "/reports/compare"):
        resp = await client.get(page)
        assert resp.status == 200, page
        html = await resp.text()
        for live in ("<script>alert('x')</script>", "<b>奶源</b>", '<img src=x onerror="alert(1)">', "<svg onload"):
            assert live not in html, (page, live)
        assert page.endswith("/panel") or "&lt;script&gt;alert(" in html, page


async def test_producer_text_is_inert_in_every_download(client: Any) -> None:
    session_id = await hostile_show(client)
    headers = await bearer(client, "marketing")
    base = f"/api/v1/engagement/sessions/{session_id}/export"
    html = await (await client.get(f"{base}?format=html", headers=headers)).text()
    assert "<script" not in html and "<svg onload" not in html and "&lt;script&gt;" in html
    summary = list(csv.reader(io.StringIO((await (await client.get(f"{base}?format=csv&table=summary",
                                                                      headers=headers)).read()).decode("utf-8-sig"))))
    assert ["场次", TITLE] in summary
    segments = list(csv.reader(io.StringIO((await (await client.get(f"{base}?format=csv&table=segments",
                                                                       headers=headers)).read()).decode("utf-8-sig"))))
    assert "'" + SEGMENT in [row[0] for row in segments]
    book = load_workbook(io.BytesIO(await (await client.get(f"{base}?format=xlsx", headers=headers)).read()))
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows(min_row=2) for c in row if isinstance(c.value, str)]
    assert all(c.data_type == "s" for c in cells)
    assert not any(c.value.startswith(("=", "+", "-", "@")) for c in cells)
    assert "'" + SEGMENT in {c.value for c in cells}
    data = orjson.loads(await (await client.get(f"{base}?format=json", headers=headers)).read())
    assert data["session"]["title"] == TITLE


async def test_hostile_chat_is_escaped_in_the_polled_war_room_panel(client: Any) -> None:
    db = client.app[DATABASE]
    show = await make_show(db, status="live")
    hostile = '<img src=x onerror="alert(1)">奶粉真香'
    await insert_events(db, show.session_id, [ev(60 + i, user=f"u{i}", name=hostile, text=hostile, label="positive",
                                                 score=0.8) for i in range(3)])
    await login(client, "marketing")
    for page in (f"/reports/sessions/{show.session_id}/live", f"/reports/sessions/{show.session_id}/live/panel"):
        html = await (await client.get(page)).text()
        assert "<img src=x" not in html, page


def test_svg_charts_escape_every_label() -> None:
    evil = "<script>alert('x')</script>"
    drawn = str(charts.hbars("keywords", evil, [(evil, 3, evil), ("奶源", 2, "2")]))
    drawn += str(charts.line_chart("viewers", evil, [evil, "20:01"], [charts.Series(evil, [1, 2], "#000")],
                                   bands=[charts.Band(0, 1, evil, "#fff")], markers=[charts.Marker(1, evil)]))
    assert "<script" not in drawn and "&lt;script&gt;" in drawn


def test_robot_markdown_keeps_viewer_text_inert() -> None:
    report = {"session": {"title": "[点我](http://evil.example) <font color=red>**奶源**</font>", "start_label": "20:00",
                          "end_label": "22:00"},
              "summary": {"viewers_peak": 10, "peak_label": "20:10", "viewers_avg": 5, "watched_minutes": 50, "comments": 3,
                          "chatters": 2, "likes": 0, "questions": 1, "answered": 1, "answer_rate": 1.0, "frt_median_s": 30,
                          "positive_share": 1.0, "neutral_share": 0.0, "negative_share": 0.0},
              "platforms": [{"name": "<b>抖音</b>", "viewers_peak": 10}], "segments": [],
              "topics": {"keywords": [{"term": "[链接](javascript:alert(1))"}, {"term": "`代码`"}]}}
    content = summary_markdown(report, "https://livebot.example.com/reports/sessions/1")
    body = content.rsplit("\n", 1)[0]
    assert "[" not in body and "](" not in body and "<b>" not in body and "`" not in body
    assert "<font color=red>" not in body and "**奶源**" not in body
    assert content.endswith("[查看完整报告](https://livebot.example.com/reports/sessions/1)")
