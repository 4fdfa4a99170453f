"""Pages, JSON API and downloads: access, content, exports that open in spreadsheets, hostile input."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson
import pytest
from openpyxl import load_workbook

from livebot.appkeys import DATABASE
from livebot.engagement.rebuild import rebuild
from tests.engagement.support import add_ask, ev, insert_events, make_show, store_transcript
from tests.support import bearer, login

HOSTILE = ["<script>alert('x')</script>", "=HYPERLINK(\"http://evil.example\")", "'; DROP TABLE chat_events;--",
           "\u202e违禁\u202c", "控制\x07字符", "奶粉😀👍🏻𠮷", "+1 厉害", "-2 差评", "@all 看这里"]


async def show_with_chat(client: Any, hostile: bool = False) -> int:
    db = client.app[DATABASE]
    show = await make_show(db)
    if not hostile:
        await store_transcript(db, show.session_id)
    else:
        events = [ev(300 + i, user=f"h{i}", text=text, label="neutral", score=0.0, name=text) for i, text in enumerate(HOSTILE)]
        pks = await insert_events(db, show.session_id, events)
        await add_ask(db, show.session_id, pks[0], events[0]["ts"], None, text=HOSTILE[0])
    await rebuild(db, show.session_id)
    return show.session_id


async def test_pages_need_the_marketing_role(client: Any) -> None:
    session_id = await show_with_chat(client)
    resp = await client.get(f"/reports/sessions/{session_id}", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"].startswith("/login")
    assert (await client.get(f"/api/v1/engagement/sessions/{session_id}/report")).status == 401
    await login(client, "advisor")
    assert (await client.get(f"/reports/sessions/{session_id}")).status == 403
    assert (await client.get(f"/api/v1/engagement/sessions/{session_id}/report")).status == 403


async def test_report_page_in_chinese_with_charts_and_help(client: Any) -> None:
    session_id = await show_with_chat(client)
    await login(client, "marketing")
    resp = await client.get(f"/reports/sessions/{session_id}")
    assert resp.status == 200
    html = await resp.text()
    for text in ("峰值在线（PCU）", "峰值时间 20:12", "首次响应", "互动人数", "指标说明", "重复最多的评论", "导出 Excel"):
        assert text in html
    for chart in ("viewers", "comments", "sentiment", "platforms", "questions", "keywords", "segments", "answer-times"):
        assert f'data-chart="{chart}"' in html
    assert html.count('class="band"') >= 4 * 3 and 'class="marker"' in html
    assert "http://" not in html.split("<main>", 1)[1] and "https://" not in html
    listing = await (await client.get("/reports")).text()
    assert "已结束" in listing and f"/reports/sessions/{session_id}" in listing


async def test_hostile_text_is_escaped_and_inert_in_every_format(client: Any) -> None:
    session_id = await show_with_chat(client, hostile=True)
    await login(client, "marketing")
    html = await (await client.get(f"/reports/sessions/{session_id}")).text()
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    file_html = await (await client.get(f"/api/v1/engagement/sessions/{session_id}/export?format=html")).text()
    assert "<script" not in file_html and "&lt;script&gt;" in file_html
    body = await (await client.get(f"/api/v1/engagement/sessions/{session_id}/export?format=csv&table=comments")).read()
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    texts = [r[0] for r in rows[1:]]
    assert "'=HYPERLINK(\"http://evil.example\")" in texts and "'+1 厉害" in texts and "'-2 差评" in texts
    assert "'@all 看这里" in texts and "奶粉😀👍🏻𠮷" in texts and "\u202e违禁\u202c" in texts
    assert "控制字符" in texts  # the control character Excel cannot hold is dropped
    book = load_workbook(io.BytesIO(await (await client.get(
        f"/api/v1/engagement/sessions/{session_id}/export?format=xlsx")).read()))
    sheet = book["重复最多的评论"]
    values = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "'=HYPERLINK(\"http://evil.example\")" in values
    assert all(c.data_type == "s" for row in sheet.iter_rows(min_row=2) for c in row[:1])


async def test_exports(client: Any) -> None:
    session_id = await show_with_chat(client)
    await login(client, "marketing")
    base = f"/api/v1/engagement/sessions/{session_id}/export"
    resp = await client.get(f"{base}?format=csv")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/csv")
    assert f'engagement-session-{session_id}-minutes.csv' in resp.headers["Content-Disposition"]
    raw = await resp.read()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[-1]["时间"] == "合计" and int(rows[-1]["评论数"]) == 11
    assert {r["平台"] for r in rows[:-1]} == {"抖音", "快手"} and "双城牧场" in {r["站点"] for r in rows}
    summary = list(csv.reader(io.StringIO((await (await client.get(f"{base}?format=csv&table=summary")).read()).decode("utf-8-sig"))))
    assert ["评论数", "11"] in summary and ["峰值在线（PCU）", "2500"] in summary and ["峰值时间", "20:12"] in summary
    data = orjson.loads(await (await client.get(f"{base}?format=json")).read())
    assert data["summary"]["comments"] == 11 and data["session"]["id"] == session_id
    book = load_workbook(io.BytesIO(await (await client.get(base)).read()))
    assert book.sheetnames[0] == "概览" and book.sheetnames[-1] == "指标说明"
    assert {"明细（分钟×平台×站点×段落）", "每分钟合计", "平台", "段落", "站点", "热词", "知识库条目", "未回复问题",
            "重复最多的评论", "互动最多的观众"} <= set(book.sheetnames)
    overview = {row[0]: row[1] for row in book["概览"].iter_rows(min_row=2, values_only=True)}
    assert overview["评论数"] == 11 and overview["互动人数"] == 8 and overview["首次响应中位数（秒）"] == 30
    detail = list(book["明细（分钟×平台×站点×段落）"].iter_rows(values_only=True))
    header, body, total = detail[0], detail[1:-1], detail[-1]
    column = header.index("评论数")
    assert total[0] == "合计" and total[column] == sum(r[column] for r in body) == overview["评论数"]
    per_minute = list(book["每分钟合计"].iter_rows(values_only=True))
    assert per_minute[-1][per_minute[0].index("提问")] == 4
    html = await (await client.get(f"{base}?format=html")).text()
    assert "<svg" in html and "<script" not in html and "/static/" not in html and "峰值在线" in html


async def test_json_api(client: Any) -> None:
    session_id = await show_with_chat(client)
    headers = await bearer(client, "marketing")
    report = await (await client.get(f"/api/v1/engagement/sessions/{session_id}/report", headers=headers)).json()
    assert report["summary"]["chatters"] == 8
    minutes = await (await client.get(f"/api/v1/engagement/sessions/{session_id}/minutes", headers=headers)).json()
    assert sum(r["comments"] for r in minutes["minutes"]) == 11 and "chatter_keys" not in minutes["minutes"][0]
    live = await (await client.get(f"/api/v1/engagement/sessions/{session_id}/live", headers=headers)).json()
    assert set(live) >= {"viewers", "comments_per_min", "sentiment"}
    rebuilt = await client.post(f"/api/v1/engagement/sessions/{session_id}/rebuild", headers=headers)
    assert rebuilt.status == 200 and (await rebuilt.json())["events"] == 19
    stored = await client.post(f"/api/v1/engagement/sessions/{session_id}/report", headers=headers, json={})
    assert stored.status == 200 and (await stored.json())["robot_failures"] == []
    season = await (await client.get("/api/v1/engagement/season", headers=headers)).json()
    assert [s["id"] for s in season["sessions"]] == [session_id] and season["best"]["viewers_peak"] == "奶源"
    assert season["sessions"][0]["stored"] is True


@pytest.mark.parametrize(("path", "field"), [
    ("/api/v1/engagement/sessions/abc/report", "session_id"),
    ("/api/v1/engagement/sessions/0/report", "session_id"),
    ("/api/v1/engagement/sessions/99999999999999999999999/report", "session_id"),
    ("/api/v1/engagement/sessions/1/export?format=pdf", "format"),
    ("/api/v1/engagement/sessions/1/export?format=csv&table=secrets", "table"),
    ("/api/v1/engagement/season?ids=1,x", "ids"),
    ("/api/v1/engagement/season?ids=" + ",".join(["1"] * 51), "ids"),
    ("/api/v1/engagement/season?since=2026-13-01", "since"),
    ("/api/v1/engagement/season?until=" + "9" * 400, "until"),
    ("/api/v1/engagement/season?theme=" + "主" * 65, "theme"),
])
async def test_malformed_parameters_are_400_naming_the_field(client: Any, path: str, field: str) -> None:
    headers = await bearer(client, "marketing")
    resp = await client.get(path, headers=headers)
    assert resp.status == 400
    assert (await resp.json())["field"] == field


async def test_unknown_session_is_404(client: Any) -> None:
    headers = await bearer(client, "marketing")
    for path in ("/api/v1/engagement/sessions/4242/report", "/api/v1/engagement/sessions/4242/minutes",
                 "/api/v1/engagement/sessions/4242/export?format=csv", "/api/v1/engagement/sessions/4242/live"):
        resp = await client.get(path, headers=headers)
        assert resp.status == 404, path
    assert (await client.post("/api/v1/engagement/sessions/4242/rebuild", headers=headers)).status == 404


async def test_bad_bodies_and_csrf(client: Any) -> None:
    session_id = await show_with_chat(client)
    headers = await bearer(client, "marketing")
    url = f"/api/v1/engagement/sessions/{session_id}/report"
    assert (await client.post(url, headers=headers, data=b"{not json")).status == 400
    assert (await (await client.post(url, headers=headers, json=[1])).json())["field"] == "body"
    assert (await (await client.post(url, headers=headers, json={"send": "yes"})).json())["field"] == "send"
    csrf = await login(client, "marketing")
    refused = await client.post(f"/reports/sessions/{session_id}/regenerate", data={"csrf_token": "forged"})
    assert refused.status == 403
    ok = await client.post(f"/reports/sessions/{session_id}/regenerate", data={"csrf_token": csrf}, allow_redirects=False)
    assert ok.status == 303 and ok.headers["Location"].endswith("notice=regenerated")
    page = await (await client.get(ok.headers["Location"])).text()
    assert "已存报告" in page and "报告已重新生成" in page


async def test_compare_page(client: Any) -> None:
    db = client.app[DATABASE]
    first = await show_with_chat(client)
    other = await make_show(db, theme="工艺", title="工艺专场")
    await insert_events(db, other.session_id, [ev(60, "viewers", viewers=9000), ev(61, user="x", text="好", label="positive", score=0.5)])
    await rebuild(db, other.session_id)
    await login(client, "marketing")
    html = await (await client.get("/reports/compare?metric=viewers_peak")).text()
    assert "本季对比" in html and "工艺" in html and 'class="best"' in html and 'data-chart="themes"' in html
    assert html.index("<td>工艺</td>") == html.index('class="best"><td>工艺</td>') + len('class="best">')
    only = await (await client.get(f"/reports/compare?ids={first}&metric=comments")).text()
    assert "工艺专场" not in only and "北境臻护" in only
    assert (await client.get("/reports/compare?metric=nonsense")).status == 400
    filtered = await (await client.get("/reports/compare?theme=%3Cscript%3E")).text()
    assert "<script>" not in filtered and "没有符合条件的场次" in filtered


async def test_duplicate_ids_count_once(client: Any) -> None:
    session_id = await show_with_chat(client)
    headers = await bearer(client, "marketing")
    season = await (await client.get(f"/api/v1/engagement/season?ids={session_id},{session_id},{session_id}",
                                     headers=headers)).json()
    assert [s["id"] for s in season["sessions"]] == [session_id]
    assert season["themes"] == [{**season["themes"][0], "theme": "奶源", "sessions": 1}]
