"""The schedule JSON API: CRUD, status lifecycle, run-of-show rules and bad input with field errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from livebot.appkeys import BUS, DATABASE
from livebot.schedule import store
from livebot.schedule.models import Channel, LiveSession, Segment, SessionSite
from livebot.topics import OVERLAY_CONTROL, SCHEDULE_CHANGED, SESSION_ENDED
from tests.schedule.support import Api, iso
from tests.support import login


async def counts(client: TestClient) -> tuple[int, ...]:
    async with client.app[DATABASE].sessions() as s:
        return tuple([await s.scalar(select(func.count()).select_from(m)) or 0
                      for m in (LiveSession, SessionSite, Channel, Segment)])


async def test_sites_crud_and_unique_slug(api: Api) -> None:
    sites = await api.sites()
    assert [s["slug"] for s in sites] == ["beijing-studio", "qiqihar-factory", "shuangcheng-farm"]
    again = await api.call("POST", "/sites", {"slug": "beijing-studio", "name": "重复", "role": "studio"}, 409)
    assert again["field"] == "slug"
    changed = await api.call("PATCH", f"/sites/{sites[1]['id']}", {"contact": "刘工 13800000000"}, 200)
    assert changed["contact"] == "刘工 13800000000" and changed["name"] == "齐齐哈尔工厂"
    listed = await api.call("GET", "/sites", status=200)
    assert len(listed["sites"]) == 3
    await api.call("DELETE", f"/sites/{sites[2]['id']}", status=204)
    await api.call("GET", f"/sites/{sites[2]['id']}", status=404)


async def test_site_in_upcoming_session_cannot_be_deleted(api: Api, future: Any) -> None:
    sites = await api.sites()
    await api.session([sites[0]["id"]], future(60))
    body = await api.call("DELETE", f"/sites/{sites[0]['id']}", status=409)
    assert "北京演播厅" in body["error"]


@pytest.mark.parametrize("bad, field", [
    ({"slug": "Bad Slug", "name": "x", "role": "farm"}, "slug"),
    ({"slug": "ok", "name": "", "role": "farm"}, "name"),
    ({"slug": "ok", "name": "x", "role": "castle"}, "role"),
    ({"slug": "ok", "name": "x", "role": "farm", "latitude": 95}, "latitude"),
    ({"slug": "ok", "name": "x", "role": "farm", "timezone": "Mars/Olympus"}, "timezone"),
    ({"slug": "ok", "name": "牧场\u202e", "role": "farm"}, "name"),
    ({"slug": "ok", "name": "牧\x00场", "role": "farm"}, "name"),
    ({"slug": "ok", "name": "x" * 129, "role": "farm"}, "name"),
    ({"slug": "ok'; DROP TABLE sites;--", "name": "x", "role": "farm"}, "slug"),
    ([1, 2], "body"),
])
async def test_site_bad_input_names_the_field(api: Api, bad: Any, field: str) -> None:
    body = await api.call("POST", "/sites", bad, 400)
    assert body["field"] == field
    assert (await api.call("GET", "/sites", status=200))["sites"] == []


async def test_hostile_text_is_stored_verbatim_and_escaped_on_pages(client: TestClient, api: Api) -> None:
    site = await api.call("POST", "/sites", {"slug": "xss", "name": "<script>alert(1)</script>牧场🐄", "role": "farm",
                                             "lower_third": "双城 'OR 1=1 -- 🍼"}, 201)
    assert site["name"] == "<script>alert(1)</script>牧场🐄"
    await login(client, "producer")
    html = await (await client.get("/producer")).text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;牧场🐄" in html


async def test_broken_json_is_a_field_error(client: TestClient, api: Api) -> None:
    resp = await client.post("/api/v1/schedule/sites", data=b"{not json", headers={**api.headers, "Content-Type": "application/json"})
    assert resp.status == 400
    assert (await resp.json())["field"] == "body"


async def test_create_session_with_sites_channels_lots(client: TestClient, api: Api, future: Any) -> None:
    sites = await api.sites()
    start = future(90)
    published: list[dict[str, Any]] = []

    async def seen(message: dict[str, Any]) -> None:
        published.append(message)

    client.app[BUS].subscribe(SCHEDULE_CHANGED, seen)
    session = await api.session(
        [s["id"] for s in sites], start, status="scheduled", lots=["NB2611A", "NB2611A", "NB2611B"],
        channels=[{"source_id": "relay-main", "channel": "douyin-room-7731", "platform": "douyin", "site_id": sites[0]["id"],
                   "label": "抖音直播间"}],
    )
    assert session["status"] == "scheduled"
    assert session["site_ids"] == [s["id"] for s in sites]
    assert session["lots"] == ["NB2611A", "NB2611B"]
    assert session["channels"][0]["channel"] == "douyin-room-7731"
    assert datetime.fromisoformat(session["planned_start"]) == start
    await client.app[BUS].drained()
    assert {"session_id": session["id"], "reason": "created"} in published
    rows = await store.timeline(client.app[DATABASE], session["id"])
    assert [(r.kind, r.payload["to"]) for r in rows] == [("status", "scheduled")]


async def test_naive_times_are_read_in_the_session_time_zone(api: Api) -> None:
    sites = await api.sites()
    day = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    body = {"title": "工艺专场", "planned_start": f"{day}T20:00", "planned_end": f"{day}T22:00", "site_ids": [sites[0]["id"]]}
    session = await api.call("POST", "/sessions", body, 201)
    assert session["planned_start"].startswith(f"{day}T12:00:00")


@pytest.mark.parametrize("change, field", [
    ({"planned_start": "2020-01-01T20:00:00+08:00", "planned_end": "2020-01-01T22:00:00+08:00"}, "planned_start"),
    ({"planned_end": "START"}, "planned_end"),
    ({"planned_end": "not a date"}, "planned_end"),
    ({"site_ids": [999]}, "site_ids"),
    ({"site_ids": ["一"]}, "site_ids[0]"),
    ({"title": ""}, "title"),
    ({"title": "标题\u202e反转"}, "title"),
    ({"status": "live"}, "status"),
    ({"channels": [{"source_id": "relay", "channel": "a"}, {"source_id": "relay", "channel": "a"}]}, "channels[1].channel"),
    ({"channels": [{"source_id": "relay", "channel": "a", "site_id": 999}]}, "channels"),
    ({"lots": ["<b>lot</b>"]}, "lots[0]"),
    ({"robot_url": "javascript:alert(1)"}, "robot_url"),
])
async def test_session_bad_input_saves_nothing(client: TestClient, api: Api, future: Any, change: dict[str, Any],
                                               field: str) -> None:
    sites = await api.sites()
    start = future(60)
    body = {"title": "奶源专场", "planned_start": iso(start), "planned_end": iso(start + timedelta(hours=2)),
            "site_ids": [s["id"] for s in sites],
            "channels": [{"source_id": "relay-main", "channel": "room-1"}], **change}
    if body.get("planned_end") == "START":
        body["planned_end"] = body["planned_start"]
    before = await counts(client)
    answer = await api.call("POST", "/sessions", body, 400)
    assert answer["field"] == field, answer
    assert await counts(client) == before


async def test_status_lifecycle_is_validated_and_recorded(client: TestClient, api: Api, future: Any) -> None:
    sites = await api.sites()
    session = await api.session([sites[0]["id"]], future(30))
    sid = session["id"]
    bad = await api.call("POST", f"/sessions/{sid}/status", {"status": "ended"}, 400)
    assert bad["field"] == "status" and "草稿" in bad["error"]
    ended: list[dict[str, Any]] = []

    async def on_end(message: dict[str, Any]) -> None:
        ended.append(message)

    client.app[BUS].subscribe(SESSION_ENDED, on_end)
    for target in ("scheduled", "live", "ended"):
        row = await api.call("POST", f"/sessions/{sid}/status", {"status": target}, 200)
        assert row["status"] == target
        assert row["status_changed_by"] == "test"
    await api.call("POST", f"/sessions/{sid}/status", {"status": "live"}, 400)
    await client.app[BUS].drained()
    assert ended == [{"session_id": sid}]
    statuses = [(r.payload["from"], r.payload["to"]) for r in await store.timeline(client.app[DATABASE], sid) if r.kind == "status"]
    assert statuses == [(None, "draft"), ("draft", "scheduled"), ("scheduled", "live"), ("live", "ended")]
    detail = await api.call("GET", f"/sessions/{sid}", status=200)
    assert detail["started_at"] and detail["ended_at"]
    assert (await api.call("PATCH", f"/sessions/{sid}", {"title": "改"}, 409))["error"]


async def test_only_drafts_or_cancelled_can_be_deleted(api: Api, future: Any) -> None:
    sites = await api.sites()
    session = await api.session([sites[0]["id"]], future(30), status="scheduled")
    await api.call("DELETE", f"/sessions/{session['id']}", status=409)
    await api.call("POST", f"/sessions/{session['id']}/status", {"status": "cancelled"}, 200)
    await api.call("DELETE", f"/sessions/{session['id']}", status=204)
    await api.call("GET", f"/sessions/{session['id']}", status=404)


async def make_rundown(api: Api, future: Any) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    sites = await api.sites()
    session = await api.session([s["id"] for s in sites], future(60), minutes=60)
    sid = session["id"]
    segs = [
        await api.call("POST", f"/sessions/{sid}/segments", {"title": "开场", "duration_s": 300, "site_id": sites[0]["id"],
                                                             "scene": "lower_third", "faq_tags": ["开场", "开场"]}, 201),
        await api.call("POST", f"/sessions/{sid}/segments", {"title": "牧场直击", "duration_s": 600, "site_id": sites[2]["id"],
                                                             "pip_site_id": sites[0]["id"], "scene": "timeline",
                                                             "lot": "NB2611A", "force": True, "faq_tags": ["奶源"]}, 201),
        await api.call("POST", f"/sessions/{sid}/segments", {"title": "工厂质检", "duration_s": 900, "site_id": sites[1]["id"],
                                                             "scene": "inspections", "talking_points": "三聚氰胺 ≤ 1 mg/kg\n奶粉出厂检验"}, 201),
    ]
    return session, sites, segs


async def test_segments_append_and_durations_retime(api: Api, future: Any) -> None:
    session, _, segs = await make_rundown(api, future)
    sid = session["id"]
    assert [(s["offset_s"], s["end_s"]) for s in segs] == [(0, 300), (300, 900), (900, 1800)]
    assert segs[0]["faq_tags"] == ["开场"]
    await api.call("PATCH", f"/sessions/{sid}/segments/{segs[0]['id']}", {"duration_s": 420}, 200)
    listed = (await api.call("GET", f"/sessions/{sid}/segments", status=200))["segments"]
    assert [(s["offset_s"], s["duration_s"]) for s in listed] == [(0, 420), (420, 600), (1020, 900)]


async def test_reorder_puts_segments_back_to_back(api: Api, future: Any) -> None:
    session, _, segs = await make_rundown(api, future)
    sid = session["id"]
    order = [segs[2]["id"], segs[0]["id"], segs[1]["id"]]
    result = (await api.call("POST", f"/sessions/{sid}/segments/reorder", {"order": order}, 200))["segments"]
    assert [s["id"] for s in result] == order
    assert [(s["offset_s"], s["position"]) for s in result] == [(0, 0), (900, 1), (1200, 2)]
    bad = await api.call("POST", f"/sessions/{sid}/segments/reorder", {"order": order[:2]}, 400)
    assert bad["field"] == "order"
    dup = await api.call("POST", f"/sessions/{sid}/segments/reorder", {"order": [order[0], order[0], order[1]]}, 400)
    assert dup["field"] == "order"


@pytest.mark.parametrize("bad, field", [
    ({"title": "重叠", "duration_s": 120, "offset_s": 600}, "offset_s"),
    ({"title": "超时", "duration_s": 3000}, "duration_s"),
    ({"title": "太短", "duration_s": 3}, "duration_s"),
    ({"title": "未知站点", "duration_s": 60, "site_id": 999}, "site_id"),
    ({"title": "同站", "duration_s": 60, "site_id": 1, "pip_site_id": 1}, "pip_site_id"),
    ({"title": "场景", "duration_s": 60, "scene": "fireworks"}, "scene"),
    ({"title": "标签", "duration_s": 60, "faq_tags": "奶源"}, "faq_tags"),
    ({"title": "", "duration_s": 60}, "title"),
    ({"title": "批次", "duration_s": 60, "lot": "A B"}, "lot"),
    ({"title": "时长", "duration_s": "10"}, "duration_s"),
    ({"title": "时长", "duration_s": True}, "duration_s"),
])
async def test_segment_bad_input_changes_nothing(api: Api, future: Any, bad: dict[str, Any], field: str) -> None:
    session, _, segs = await make_rundown(api, future)
    sid = session["id"]
    answer = await api.call("POST", f"/sessions/{sid}/segments", bad, 400)
    assert answer["field"] == field, answer
    after = (await api.call("GET", f"/sessions/{sid}/segments", status=200))["segments"]
    assert after == segs


async def test_a_longer_segment_that_overruns_the_session_changes_nothing(api: Api, future: Any) -> None:
    session, _, segs = await make_rundown(api, future)
    sid = session["id"]
    answer = await api.call("PATCH", f"/sessions/{sid}/segments/{segs[0]['id']}", {"duration_s": 3000}, 400)
    assert answer["field"] == "duration_s" and "超出场次时长" in answer["error"]
    moved = await api.call("PATCH", f"/sessions/{sid}/segments/{segs[2]['id']}", {"offset_s": 100}, 400)
    assert moved["field"] == "offset_s" and "重叠" in moved["error"]
    assert (await api.call("GET", f"/sessions/{sid}/segments", status=200))["segments"] == segs


async def test_site_used_in_rundown_cannot_be_dropped_and_session_cannot_shrink(api: Api, future: Any) -> None:
    session, sites, _ = await make_rundown(api, future)
    sid = session["id"]
    answer = await api.call("PUT", f"/sessions/{sid}/sites", {"site_ids": [sites[0]["id"]]}, 400)
    assert answer["field"] == "site_ids"
    short = iso(datetime.fromisoformat(session["planned_start"]) + timedelta(minutes=20))
    answer = await api.call("PATCH", f"/sessions/{sid}", {"planned_end": short}, 400)
    assert answer["field"] == "duration_s"
    assert (await api.call("GET", f"/sessions/{sid}", status=200))["site_ids"] == [s["id"] for s in sites]


async def test_segment_site_must_take_part(api: Api, future: Any) -> None:
    sites = await api.sites()
    session = await api.session([sites[0]["id"]], future(60))
    answer = await api.call("POST", f"/sessions/{session['id']}/segments",
                            {"title": "工厂", "duration_s": 60, "site_id": sites[1]["id"]}, 400)
    assert answer["field"] == "site_id" and "未参加" in answer["error"]


async def test_channels_bind_once_per_session(api: Api, future: Any) -> None:
    sites = await api.sites()
    session = await api.session([sites[0]["id"]], future(60))
    sid = session["id"]
    ch = await api.call("POST", f"/sessions/{sid}/channels", {"source_id": "relay-main", "channel": "room-1", "platform": "kuaishou"}, 201)
    again = await api.call("POST", f"/sessions/{sid}/channels", {"source_id": "relay-main", "channel": "room-1"}, 409)
    assert "已绑定" in again["error"]
    assert len((await api.call("GET", f"/sessions/{sid}/channels", status=200))["channels"]) == 1
    await api.call("DELETE", f"/sessions/{sid}/channels/{ch['id']}", status=204)
    await api.call("DELETE", f"/sessions/{sid}/channels/{ch['id']}", status=404)


async def test_lots_round_trip(api: Api, future: Any) -> None:
    sites = await api.sites()
    session = await api.session([sites[0]["id"]], future(60))
    assert (await api.call("PUT", f"/sessions/{session['id']}/lots", {"lots": ["NB2611A", "NB2611C"]}, 200))["lots"]
    assert (await api.call("GET", f"/sessions/{session['id']}/lots", status=200))["lots"] == ["NB2611A", "NB2611C"]
    assert (await api.call("PUT", f"/sessions/{session['id']}/lots", {"lots": "NB"}, 400))["field"] == "lots"


async def test_live_control_records_timeline_and_sends_overlay_commands(client: TestClient, api: Api, future: Any) -> None:
    session, sites, segs = await make_rundown(api, future)
    sid = session["id"]
    commands: list[dict[str, Any]] = []

    async def on_overlay(message: dict[str, Any]) -> None:
        commands.append(message)

    client.app[BUS].subscribe(OVERLAY_CONTROL, on_overlay)
    await api.call("POST", f"/sessions/{sid}/status", {"status": "scheduled"}, 200)
    await api.call("POST", f"/sessions/{sid}/status", {"status": "live"}, 200)
    moved = await api.call("POST", f"/sessions/{sid}/advance", {}, 200)
    assert moved["segment"]["id"] == segs[1]["id"]
    await api.call("POST", f"/sessions/{sid}/site", {"site_id": sites[1]["id"]}, 200)
    await api.call("POST", f"/sessions/{sid}/site", {"site_id": 999}, 404)
    await client.app[BUS].drained()
    assert {"session_id": sid, "type": "scene", "scene": "timeline", "by": "test"} in commands
    assert {"session_id": sid, "type": "batch", "lot": "NB2611A", "by": "test"} in commands
    assert any(c["type"] == "site" and c["site_id"] == sites[1]["id"] for c in commands)
    items = (await api.call("GET", f"/sessions/{sid}/timeline", status=200))["timeline"]
    kinds = [(i["kind"], i["segment_id"], i["site_id"]) for i in items if i["kind"] in ("segment", "site")]
    assert kinds == [("segment", segs[0]["id"], sites[0]["id"]), ("site", segs[0]["id"], sites[0]["id"]),
                     ("segment", segs[1]["id"], sites[2]["id"]), ("site", segs[1]["id"], sites[2]["id"]),
                     ("site", segs[1]["id"], sites[1]["id"])]
    segments = await store.segments(client.app[DATABASE], sid)
    assert [s.id for s in segments] == [s["id"] for s in segs]


async def test_cues_acks_and_notes(client: TestClient, api: Api, future: Any) -> None:
    session, sites, segs = await make_rundown(api, future)
    sid = session["id"]
    cue = await api.call("POST", f"/sessions/{sid}/cues", {"cue": "next_segment", "from_site_id": sites[0]["id"]}, 201)
    assert cue["segment_id"] == segs[0]["id"] and cue["label"] == "准备切到下一段：开场"
    assert cue["expects"] == [s["id"] for s in sites]
    ack = await api.call("POST", f"/sessions/{sid}/cues/{cue['cue_id']}/ack", {"site_id": sites[1]["id"]}, 201)
    assert ack["text"] == "齐齐哈尔已就位"
    again = await api.call("POST", f"/sessions/{sid}/cues/{cue['cue_id']}/ack", {"site_id": sites[1]["id"]}, 200)
    assert again["duplicate"] is True
    assert (await api.call("POST", f"/sessions/{sid}/cues/99999/ack", {"site_id": sites[1]["id"]}, 409))["error"]
    assert (await api.call("POST", f"/sessions/{sid}/cues", {"cue": "switch_site"}, 400))["field"] == "site_id"
    assert (await api.call("POST", f"/sessions/{sid}/cues", {"cue": "dance"}, 400))["field"] == "cue"
    note = await api.call("POST", f"/sessions/{sid}/notes", {"text": "牧场信号稍有延迟 🐄", "site_id": sites[2]["id"]}, 201)
    assert note["site_name"] == "双城牧场"
    assert (await api.call("POST", f"/sessions/{sid}/notes", {"text": "  "}, 400))["field"] == "text"
    assert (await api.call("POST", f"/sessions/{sid}/notes", {"text": "x" * 501}, 400))["field"] == "text"
    state = await api.call("GET", f"/sessions/{sid}/live", status=200)
    assert state["cues"][0]["acks"][0]["text"] == "齐齐哈尔已就位"
    assert state["notes"][0]["text"] == "牧场信号稍有延迟 🐄"
    rows = await store.timeline(client.app[DATABASE], sid, kinds=("ack",))
    assert len(rows) == 1


async def test_producer_role_required(client: TestClient) -> None:
    from tests.support import bearer

    advisor = await bearer(client, "advisor")
    resp = await client.get("/api/v1/schedule/sessions", headers=advisor)
    assert resp.status == 403
    assert (await client.get("/api/v1/schedule/sessions")).status == 401


async def test_pages_render_in_chinese(client: TestClient, api: Api, future: Any) -> None:
    session, _, _ = await make_rundown(api, future)
    await login(client, "producer")
    for path in ("/producer", f"/producer/sessions/{session['id']}", f"/producer/sessions/{session['id']}/live?site=qiqihar-factory",
                 "/producer/calendar", "/producer/calendar?view=week"):
        resp = await client.get(path)
        assert resp.status == 200, path
        assert "导播台" in await resp.text()
    editor = await (await client.get(f"/producer/sessions/{session['id']}")).text()
    assert "牧场直击" in editor and "拖动" in editor
    assert (await client.get("/producer/sessions/9999")).status == 404


async def test_a_cue_the_show_moved_past_is_refused_unless_going_back_is_confirmed(api: Api, future: Any) -> None:
    session, sites, segs = await make_rundown(api, future)
    sid = session["id"]
    await api.call("POST", f"/sessions/{sid}/status", {"status": "scheduled"}, 200)
    await api.call("POST", f"/sessions/{sid}/status", {"status": "live"}, 200)
    cue = await api.call("POST", f"/sessions/{sid}/cues", {"cue": "next_segment"}, 201)
    site_cue = await api.call("POST", f"/sessions/{sid}/cues", {"cue": "switch_site", "site_id": sites[1]["id"]}, 201)
    assert cue["segment_id"] == segs[1]["id"] and cue["at_segment_id"] == segs[0]["id"]
    live_state = await api.call("GET", f"/sessions/{sid}/live", status=200)
    assert [c["cue_id"] for c in live_state["cues"]] == [cue["cue_id"], site_cue["cue_id"]]
    await api.call("POST", f"/sessions/{sid}/advance", {}, 200)
    await api.call("POST", f"/sessions/{sid}/advance", {}, 200)  # the last segment is on air
    refused = await api.call("POST", f"/sessions/{sid}/cues/{cue['cue_id']}/execute", {}, 409)
    assert "已过期" in refused["error"] and "回到该段" in refused["error"]
    assert (await api.call("POST", f"/sessions/{sid}/cues/{site_cue['cue_id']}/execute", {}, 409))["error"]
    behind = await api.call("POST", f"/sessions/{sid}/advance", {"segment_id": segs[0]["id"]}, 409)
    assert "开场" in behind["error"]
    assert (await api.call("POST", f"/sessions/{sid}/cues", {"cue": "next_segment", "segment_id": segs[0]["id"]}, 400))["field"] == "segment_id"
    live_state = await api.call("GET", f"/sessions/{sid}/live", status=200)
    assert live_state["cues"] == [] and live_state["session"]["current_segment_id"] == segs[2]["id"]
    assert (await api.call("POST", f"/sessions/{sid}/cues/{cue['cue_id']}/execute", {"go_back": "yes"}, 400))["field"] == "go_back"
    back = await api.call("POST", f"/sessions/{sid}/cues/{cue['cue_id']}/execute", {"go_back": True}, 200)
    assert back["segment"]["id"] == segs[1]["id"]
    assert (await api.call("POST", f"/sessions/{sid}/cues/99999/execute", {}, 409))["error"]
    assert (await api.call("POST", f"/sessions/{sid}/cues/{cue['cue_id']}/execute", [1], 400))["field"] == "body"


async def test_a_lot_without_trace_data_needs_an_explicit_force(api: Api, future: Any) -> None:
    session, _, segs = await make_rundown(api, future)
    sid = session["id"]
    refused = await api.call("POST", f"/sessions/{sid}/segments", {"title": "批次展示", "duration_s": 60, "lot": "NOPE999"}, 409)
    assert refused["field"] == "lot" and refused["confirm"] == "force" and "NOPE999" in refused["error"] and "溯源" in refused["error"]
    assert (await api.call("POST", f"/sessions/{sid}/segments", {"title": "批次", "duration_s": 60, "lot": "NOPE999",
                                                                  "force": "yes"}, 400))["field"] == "force"
    patched = await api.call("PATCH", f"/sessions/{sid}/segments/{segs[0]['id']}", {"lot": "<b>X</b>"}, 400)
    assert patched["field"] == "lot"
    assert (await api.call("PATCH", f"/sessions/{sid}/segments/{segs[0]['id']}", {"lot": "NOPE999"}, 409))["confirm"] == "force"
    assert (await api.call("PATCH", f"/sessions/{sid}/segments/{segs[1]['id']}", {"title": "牧场直击（改）"}, 200))["lot"] == "NB2611A"
    forced = await api.call("POST", f"/sessions/{sid}/segments", {"title": "批次展示", "duration_s": 60, "lot": "NOPE999",
                                                                   "force": True}, 201)
    assert forced["lot"] == "NOPE999"
    listed = (await api.call("GET", f"/sessions/{sid}/segments", status=200))["segments"]
    assert [s["title"] for s in listed].count("批次展示") == 1
