"""Calendar: .ics feeds (RFC 5545, parsed back with icalendar), feed tokens, conflicts, month/week pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient
from icalendar import Calendar

from tests.schedule.support import Api
from tests.support import login


async def feeds(api: Api) -> dict[str, str]:
    listed = (await api.call("GET", "/calendar/feeds", status=200))["feeds"]
    return {f["feed"]: urlsplit(f["url"]).path + "?" + urlsplit(f["url"]).query for f in listed}


async def test_ics_feed_parses_and_round_trips_times_with_zones(client: TestClient, api: Api) -> None:
    sites = await api.sites()
    start = datetime.now(ZoneInfo("Asia/Shanghai")).replace(hour=20, minute=0, second=0, microsecond=0) + timedelta(days=5)
    beijing = await api.call("POST", "/sessions", {
        "title": "北境臻护 · 奶源专场", "theme": "奶源", "planned_start": start.isoformat(),
        "planned_end": (start + timedelta(hours=2)).isoformat(), "site_ids": [sites[0]["id"], sites[2]["id"]],
        "description": "牧场连线；含 “引号”、逗号, 分号; 与换行"}, 201)
    urumqi_start = start.astimezone(ZoneInfo("Asia/Urumqi")) + timedelta(days=1)
    urumqi = await api.call("POST", "/sessions", {
        "title": "西部牧场专场", "theme": "质检", "timezone": "Asia/Urumqi", "planned_start": urumqi_start.isoformat(),
        "planned_end": (urumqi_start + timedelta(minutes=90)).isoformat(), "site_ids": [sites[1]["id"]]}, 201)

    resp = await client.get((await feeds(api))["all"])
    assert resp.status == 200 and resp.content_type == "text/calendar"
    cal = Calendar.from_ical(await resp.read())
    assert cal["version"] == "2.0" and "livebot" in str(cal["prodid"])
    events = {str(e["uid"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {f"session-{beijing['id']}@127.0.0.1", f"session-{urumqi['id']}@127.0.0.1"}
    first = events[f"session-{beijing['id']}@127.0.0.1"]
    assert first["dtstart"].dt == start and str(first["dtstart"].dt.tzinfo) == "Asia/Shanghai"
    assert first["dtstart"].params["TZID"] == "Asia/Shanghai"
    assert first["dtend"].dt - first["dtstart"].dt == timedelta(hours=2)
    assert first["dtstart"].dt.astimezone(UTC) == datetime.fromisoformat(beijing["planned_start"])
    assert "“引号”、逗号, 分号; 与换行" in str(first["description"])
    assert str(first["location"]) == "北京演播厅、双城牧场"
    assert str(first["status"]) == "TENTATIVE"
    second = events[f"session-{urumqi['id']}@127.0.0.1"]
    assert second["dtstart"].params["TZID"] == "Asia/Urumqi"
    assert second["dtstart"].dt.astimezone(UTC) == datetime.fromisoformat(urumqi["planned_start"])
    assert {str(tz["tzid"]) for tz in cal.walk("VTIMEZONE")} == {"Asia/Shanghai", "Asia/Urumqi"}


async def test_site_feed_has_only_that_sites_sessions(client: TestClient, api: Api, future: Any) -> None:
    sites = await api.sites()
    await api.session([sites[0]["id"]], future(60))
    farm = await api.session([sites[2]["id"]], future(300))
    resp = await client.get((await feeds(api))["site:shuangcheng-farm"])
    cal = Calendar.from_ical(await resp.read())
    assert [str(e["uid"]) for e in cal.walk("VEVENT")] == [f"session-{farm['id']}@127.0.0.1"]
    assert "双城牧场" in str(cal["x-wr-calname"])


async def test_feeds_need_their_own_token(client: TestClient, api: Api) -> None:
    await api.sites()
    links = await feeds(api)
    assert (await client.get("/calendar/all.ics")).status == 403
    assert (await client.get("/calendar/all.ics?token=" + "0" * 32)).status == 403
    site_token = links["site:beijing-studio"].split("token=")[1]
    assert (await client.get(f"/calendar/all.ics?token={site_token}")).status == 403
    assert (await client.get(f"/calendar/site/qiqihar-factory.ics?token={site_token}")).status == 403
    assert (await client.get("/calendar/site/nowhere.ics?token=x")).status == 403
    assert (await client.get("/calendar/site/<script>.ics?token=x")).status == 404


async def test_conflicts_flag_a_site_or_channel_in_two_sessions_at_once(client: TestClient, api: Api, future: Any) -> None:
    sites = await api.sites()
    channel = {"source_id": "relay-main", "channel": "douyin-room-7731", "platform": "douyin"}
    a = await api.session([sites[0]["id"], sites[1]["id"]], future(60), channels=[channel])
    b = await api.session([sites[1]["id"]], future(90), allow_overlap=True)
    c = await api.session([sites[2]["id"]], future(150), channels=[channel])
    await api.session([sites[0]["id"]], future(600), channels=[channel])  # later: no overlap
    found = (await api.call("GET", "/conflicts", status=200))["conflicts"]
    assert {(f["kind"], tuple(f["session_ids"]), f["what"]) for f in found} == {
        ("site", (a["id"], b["id"]), "齐齐哈尔工厂"),
        ("channel", (a["id"], c["id"]), "relay-main/douyin-room-7731"),
    }
    await api.call("POST", f"/sessions/{b['id']}/status", {"status": "cancelled"}, 200)
    found = (await api.call("GET", "/conflicts", status=200))["conflicts"]
    assert [f["kind"] for f in found] == ["channel"]
    await login(client, "producer")
    page = await (await client.get("/producer")).text()
    assert "排期冲突" in page and "douyin-room-7731" in page


async def test_month_and_week_pages_place_sessions_on_their_local_day(client: TestClient, api: Api) -> None:
    sites = await api.sites()
    # 01:30 on the 1st in Beijing is still the previous day in UTC: it must show on the 1st
    soon = datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=2)
    first = (soon.replace(day=28) + timedelta(days=4)).replace(day=1)
    start = first.replace(hour=1, minute=30, second=0, microsecond=0)
    month_param, week_param = f"{first:%Y-%m}-10", f"{first + timedelta(days=1):%Y-%m-%d}"
    session = await api.call("POST", "/sessions", {"title": "凌晨工艺专场", "planned_start": start.isoformat(),
                                                   "planned_end": (start + timedelta(hours=1)).isoformat(),
                                                   "site_ids": [sites[1]["id"]]}, 201)
    await login(client, "producer")
    month = await (await client.get(f"/producer/calendar?view=month&date={month_param}")).text()
    assert f"{first:%Y年%m月}" in month
    cell = month.split('<div class="num">1</div>')[1].split('<div class="day')[0]
    assert "凌晨工艺专场" in cell and f"/producer/sessions/{session['id']}" in cell
    week = await (await client.get(f"/producer/calendar?view=week&date={week_param}")).text()
    assert "凌晨工艺专场" in week and "周一" in week
    other = await (await client.get(f"/producer/calendar?view=week&date={first + timedelta(days=20):%Y-%m-%d}")).text()
    assert "凌晨工艺专场" not in other
    assert (await client.get("/producer/calendar?date=garbage")).status == 200
