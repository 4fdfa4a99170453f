"""Figures of a replayed transcript with known counts, attribution, time zones, an empty session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from livebot.appkeys import DATABASE
from livebot.engagement.rebuild import rebuild
from livebot.engagement.report import build_report
from livebot.engagement.settings import EngagementSettings
from livebot.engagement.store import minute_rows
from tests.engagement.support import T0, make_show, store_transcript

SETTINGS = EngagementSettings(anonymize_users=False)  # these tests read real names; the default hides them


async def report_of(app: web.Application, **show: Any) -> tuple[Any, dict[str, Any]]:
    db = app[DATABASE]
    made = await make_show(db, **show)
    await store_transcript(db, made.session_id)
    await rebuild(db, made.session_id)
    return made, await build_report(db, made.session_id, SETTINGS)


async def test_known_transcript_figures_are_exact(client: Any) -> None:
    _, report = await report_of(client.app)
    s = report["summary"]
    assert (s["comments"], s["chatters"], s["visitors"]) == (11, 8, 10)
    assert (s["hidden"], s["merged"]) == (1, 1)
    assert (s["likes"], s["gifts"], s["gift_value"], s["gift_value_yuan"]) == (10, 2, 200, 2.0)
    assert s["messages_per_chatter"] == round(11 / 8, 2)
    assert (s["viewers_peak"], s["peak_at"], s["peak_label"]) == (2500, "2026-11-24T12:12:00+00:00", "20:12")
    assert s["viewers_latest"] == 2000
    assert (s["questions"], s["answered"], s["answer_rate"]) == (4, 3, 0.75)
    assert (s["frt_median_s"], s["frt_p90_s"]) == (30.0, 90.0)
    assert (s["positive"], s["neutral"], s["negative"]) == (5, 5, 1)
    assert (s["positive_share"], s["neutral_share"], s["negative_share"]) == (round(5 / 11, 4), round(5 / 11, 4), round(1 / 11, 4))
    assert s["sentiment_mean"] == round(2.7 / 11, 4)
    assert s["minutes"] == 31  # 20:00 .. 20:30 inclusive
    platforms = {p["platform"]: p for p in report["platforms"]}
    assert (platforms["douyin"]["comments"], platforms["kuaishou"]["comments"]) == (8, 3)
    assert (platforms["douyin"]["chatters"], platforms["kuaishou"]["chatters"]) == (6, 2)
    assert (platforms["douyin"]["viewers_peak"], platforms["kuaishou"]["viewers_peak"]) == (2000, 500)


async def test_segment_and_site_attribution_across_a_site_switch(client: Any) -> None:
    show, report = await report_of(client.app)
    segments = {g["name"]: g for g in report["segments"]}
    assert segments["开场"]["comments"] == 6
    assert segments["牧场直击"]["comments"] == 5  # includes the comment sent exactly at the switch
    assert segments["问答"]["comments"] == 0
    assert (segments["开场"]["questions"], segments["牧场直击"]["questions"]) == (2, 2)
    sites = {g["name"]: g for g in report["sites"]}
    assert sites["北京演播厅"]["comments"] == 8 and sites["双城牧场"]["comments"] == 3
    assert sites["双城牧场"]["minutes"] == 5 and sites["北京演播厅"]["minutes"] == 25
    rows = await minute_rows(client.app[DATABASE], show.session_id)
    switch_minute = [r for r in rows if r["minute"] == T0 + timedelta(minutes=10)]
    assert [(r["platform"], r["site_id"], r["segment_id"]) for r in switch_minute] == [("kuaishou", show.farm, show.segments[1])]
    later = [r for r in rows if r["minute"] == T0 + timedelta(minutes=16)]
    assert {(r["site_id"], r["segment_id"]) for r in later} == {(show.studio, show.segments[1])}
    assert [s["label"] for s in report["switches"]] == ["20:00 切到北京演播厅", "20:10 切到双城牧场", "20:15 切到北京演播厅"]
    assert [(b["title"], b["start_index"], b["end_index"]) for b in report["bands"]] == [
        ("开场", 0.0, 10.0), ("牧场直击", 10.0, 15.0), ("牧场直击", 15.0, 25.0), ("问答", 25.0, 30.0)]


async def test_minutes_are_utc_and_labels_follow_the_session_time_zone(client: Any) -> None:
    _, ny = await report_of(client.app, tz="America/New_York")
    _, kolkata = await report_of(client.app, tz="Asia/Kolkata")
    for report in (ny, kolkata):
        assert report["minutes"][0]["minute"] == "2026-11-24T12:00:00+00:00"
        assert report["summary"]["peak_at"] == "2026-11-24T12:12:00+00:00"
    assert (ny["summary"]["peak_label"], ny["minutes"][0]["label"]) == ("07:12", "07:00")
    assert (kolkata["summary"]["peak_label"], kolkata["minutes"][0]["label"]) == ("17:42", "17:30")
    assert ny["session"]["start_label"] == "2026-11-24 07:00" and ny["session"]["timezone"] == "America/New_York"


async def test_a_show_crossing_midnight_labels_minutes_with_the_date(client: Any) -> None:
    start = datetime(2026, 11, 24, 15, 50, tzinfo=UTC)  # 23:50 in Beijing
    show = await make_show(client.app[DATABASE], start=start)
    report = await build_report(client.app[DATABASE], show.session_id, SETTINGS)
    assert report["minutes"][0]["label"] == "11-24 23:50"
    assert report["minutes"][-1]["label"] == "11-25 00:20"


async def test_unknown_time_zone_falls_back_to_beijing(client: Any) -> None:
    _, report = await report_of(client.app, tz="Mars/Olympus")
    assert report["session"]["timezone"] == "Asia/Shanghai" and report["summary"]["peak_label"] == "20:12"


async def test_empty_session(client: Any) -> None:
    db = client.app[DATABASE]
    show = await make_show(db)
    result = await rebuild(db, show.session_id)
    assert (result.events, result.rows) == (0, 0)
    report = await build_report(db, show.session_id, SETTINGS)
    s = report["summary"]
    assert (s["comments"], s["chatters"], s["questions"], s["watched_minutes"]) == (0, 0, 0, 0)
    assert s["viewers_peak"] is None and s["frt_median_s"] is None and s["positive_share"] is None
    assert len(report["minutes"]) == 31 and all(m["comments"] == 0 and m["viewers"] is None for m in report["minutes"])
    assert report["platforms"] == [] and report["topics"]["keywords"] == [] and report["topics"]["unanswered"] == []
    draft = await make_show(db, status="draft", timeline=False)
    empty = await build_report(db, draft.session_id, SETTINGS)
    assert empty["minutes"] == [] and empty["summary"]["minutes"] == 0


async def test_rebuild_is_idempotent_and_drops_stale_rows(client: Any) -> None:
    db = client.app[DATABASE]
    show, _ = await report_of(client.app)
    first = await minute_rows(db, show.session_id)
    again = await rebuild(db, show.session_id)
    second = await minute_rows(db, show.session_id)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "updated_at"} for r in rows]  # noqa: E731
    assert strip(first) == strip(second) and again.rows == len(second)
    assert sum(r["comments"] for r in second) == 11
    assert all(r["minute"].tzinfo is not None and r["minute"].utcoffset() == timedelta(0) for r in second)
    assert datetime(2026, 11, 24, 12, 0, tzinfo=UTC) in {r["minute"] for r in second}


async def test_topics(client: Any) -> None:
    db = client.app[DATABASE]
    show, report = await report_of(client.app)
    t = report["topics"]
    assert t["faq"] == [{"id": "milk-source-location", "question": "", "asks": 1, "answered": 1}]
    assert [q["text"] for q in t["unanswered"]] == ["冲泡水温多少度合适？"] and t["unanswered_cards"] == 1
    assert t["unanswered"][0]["label"] == "20:16"
    top = {c["text"]: c["sent"] for c in t["top_comments"]}
    assert top["666"] == 1  # the visible head; its merged repeat is counted only when ingest raised merged_count
    assert "加V：abc12345 低价代购" not in top
    terms = [k["term"] for k in t["keywords"]]
    assert "奶源" in terms and "666" not in terms and "主播" not in terms
    names = [c["name"] for c in t["top_commenters"]]
    assert names[0] == "u1" and t["top_commenters"][0]["comments"] == 3 and "u3" not in names
    anonymous = await build_report(db, show.session_id, EngagementSettings(anonymize_users=True))
    hidden_names = [c["name"] for c in anonymous["topics"]["top_commenters"]]
    assert hidden_names[0] == "抖音观众 1" and not {"u1", "小雨妈妈"} & set(hidden_names)
    assert anonymous["topics"]["anonymized"] is True
