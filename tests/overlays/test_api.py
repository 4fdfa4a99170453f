"""Overlay pages, websocket, commands API and tokens against the real app."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from livebot.app import create_app
from livebot.appkeys import BUS, DATABASE
from livebot.config import Config
from livebot.overlays.hub import CLOSE_TOKEN_REVOKED
from livebot.overlays.keys import OVERLAY_SERVICE
from livebot.topics import CHAT_ENRICHED, OVERLAY_CONTROL, TRACE_UPDATED, engagement_topic
from tests.overlays.support import SUMMARY, engagement_figures, make_session, new_token, ticker_unreviewed
from tests.support import bearer, login

HOSTILE = '<img src=x onerror="alert(1)"><script>alert("x")</script>\u202e'


async def receive_until(ws: aiohttp.ClientWebSocketResponse, predicate: Any, timeout: float = 5.0) -> dict[str, Any]:
    """The first frame (as JSON) for which ``predicate(frame)`` holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise AssertionError("no matching frame in time")
        message = await ws.receive(timeout=left)
        if message.type != aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"socket closed: {message.type} {message.data}")
        frame = message.json()
        if predicate(frame):
            return frame


def has_part(name: str, check: Any = lambda value: True) -> Any:
    return lambda frame: name in frame.get("parts", {}) and check(frame["parts"][name])


async def command(client: TestClient, session_id: int, headers: dict[str, str], **body: Any) -> aiohttp.ClientResponse:
    return await client.post(f"/api/v1/sessions/{session_id}/overlay", json=body, headers=headers)


async def test_token_rotation_returns_urls_and_old_token_gets_403(client: TestClient) -> None:
    session_id, _ = await make_session(client.app[DATABASE])
    headers = await bearer(client, "producer")
    first = await client.post(f"/api/v1/sessions/{session_id}/overlay-token", headers=headers)
    assert first.status == 201
    body = await first.json()
    assert set(body["urls"]) >= {"program", "batch", "chain", "inspections", "telemetry", "site", "featured", "ticker", "stats", "countdown"}
    path = body["program"].split("://", 1)[1].split("/", 1)[1]
    assert (await client.get("/" + path)).status == 200
    second = await (await client.post(f"/api/v1/sessions/{session_id}/overlay-token", headers=headers)).json()
    assert (await client.get("/" + path)).status == 403
    assert (await client.get(f"/overlay/{session_id}/batch?token={second['token']}")).status == 200


async def test_wrong_or_missing_token_is_403_for_pages_and_socket(client: TestClient) -> None:
    session_id, _ = await make_session(client.app[DATABASE])
    token = await new_token(client.app[DATABASE], session_id)
    other_id, _ = await make_session(client.app[DATABASE], title="另一场")
    for url in (f"/overlay/{session_id}/batch?token=wrong", f"/overlay/{session_id}/batch",
                f"/overlay/{other_id}/batch?token={token}", f"/overlay/{session_id}/batch?token=" + "x" * 5000,
                f"/overlay/{session_id}/batch?token=%27%20OR%201=1--", f"/overlay/{session_id}/batch?token=%F0%9F%98%80"):
        resp = await client.get(url)
        assert resp.status == 403, url
        assert "OBS" in await resp.text()
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await client.ws_connect(f"/ws/overlay/{session_id}?token=wrong")
    assert err.value.status == 403
    assert (await client.get(f"/overlay/{session_id}/nope?token={token}")).status == 404


async def test_rotation_needs_a_producer(client: TestClient) -> None:
    session_id, _ = await make_session(client.app[DATABASE])
    assert (await client.post(f"/api/v1/sessions/{session_id}/overlay-token")).status == 401
    advisor = await bearer(client, "advisor")
    assert (await client.post(f"/api/v1/sessions/{session_id}/overlay-token", headers=advisor)).status == 403
    producer = await bearer(client, "producer")
    assert (await client.post("/api/v1/sessions/999999/overlay-token", headers=producer)).status == 404


async def test_page_is_self_contained_and_locked_to_its_origin(client: TestClient) -> None:
    session_id, _ = await make_session(client.app[DATABASE])
    token = await new_token(client.app[DATABASE], session_id)
    resp = await client.get(f"/overlay/{session_id}/program?token={token}")
    html = await resp.text()
    assert resp.status == 200
    assert "connect-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert "http://" not in html and "https://" not in html
    assert "/static/overlays/overlay.js" in html and "Microsoft YaHei" not in html
    css = await client.get("/static/overlays/overlay.css")
    assert css.status == 200
    assert '"Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei",' in await css.text()
    assert (await client.get("/static/overlays/overlay.js")).status == 200


async def test_socket_gets_snapshot_then_patch_for_a_scene_switch(client: TestClient) -> None:
    db = client.app[DATABASE]
    session_id, site_ids = await make_session(db)
    token = await new_token(db, session_id)
    headers = await bearer(client, "producer")
    async with client.ws_connect(f"/ws/overlay/{session_id}?token={token}") as ws:
        snapshot = await receive_until(ws, lambda f: f["t"] == "snapshot")
        assert snapshot["parts"]["scene"] == {"scene": "batch"}
        assert snapshot["parts"]["site"]["id"] == site_ids[0]
        assert snapshot["parts"]["session"]["title"].startswith("北境臻护")
        resp = await command(client, session_id, headers, type="scene", scene="chain")
        assert resp.status == 200
        assert (await resp.json())["state"]["control"]["scene"] == "chain"
        patch = await receive_until(ws, has_part("scene"))
        assert patch == {"t": "patch", "v": patch["v"], "parts": {"scene": {"scene": "chain"}}}
        await command(client, session_id, headers, type="site", site_id=site_ids[1])
        site = await receive_until(ws, has_part("site"))
        assert site["parts"]["site"]["name"] == "双城牧场" and site["parts"]["site"]["timezone"] == "Asia/Harbin"


async def test_bad_commands_are_400_naming_the_field(client: TestClient) -> None:
    session_id, _ = await make_session(client.app[DATABASE])
    headers = await bearer(client, "producer")
    url = f"/api/v1/sessions/{session_id}/overlay"
    resp = await client.post(url, data=b"{not json", headers={**headers, "Content-Type": "application/json"})
    assert resp.status == 400 and (await resp.json())["field"] == "body"
    assert (await client.post(url, json=[1, 2], headers=headers)).status == 400
    for body, field in (({"type": "scene", "scene": "<script>"}, "scene"), ({"type": "x"}, "type"),
                        ({"type": "featured", "question": ""}, "question"), ({"type": "site", "site_id": "1; DROP TABLE"}, "site_id")):
        resp = await client.post(url, json=body, headers=headers)
        assert resp.status == 400 and (await resp.json())["field"] == field
    resp = await client.post(url, json={"type": "site", "site_id": 987654}, headers=headers)
    assert resp.status == 422 and (await resp.json())["field"] == "site_id"
    assert (await client.post("/api/v1/sessions/99999/overlay", json={"type": "featured_clear"}, headers=headers)).status == 404
    big = await client.post(url, data=io.BytesIO(b'{"type": "featured", "question": "' + b"q" * 1_100_000 + b'"}'),
                            headers={**headers, "Content-Type": "application/json"})
    assert big.status == 413


async def test_advisor_may_feature_but_not_switch_scenes(client: TestClient) -> None:
    session_id, _ = await make_session(client.app[DATABASE])
    csrf = await login(client, "advisor")
    url = f"/api/v1/sessions/{session_id}/overlay"
    resp = await client.post(url, json={"type": "featured", "question": HOSTILE, "answer": "来自双城牧场 😀", "asker": "小雨妈妈"},
                             headers={"X-CSRF-Token": csrf})
    assert resp.status == 200
    featured = (await resp.json())["state"]["parts"]["featured"]
    assert featured["question"] == HOSTILE.replace("\u202e", "")
    assert featured["asker"] == "小雨**" and featured["answer"] == "来自双城牧场 😀"
    assert (await client.post(url, json={"type": "scene", "scene": "stats"}, headers={"X-CSRF-Token": csrf})).status == 403
    assert (await client.post(url, json={"type": "featured_clear"})).status == 403  # no CSRF token


async def test_commands_from_other_areas_on_the_bus_are_honoured(client: TestClient) -> None:
    db = client.app[DATABASE]
    session_id, _ = await make_session(db)
    token = await new_token(db, session_id)
    async with client.ws_connect(f"/ws/overlay/{session_id}?token={token}") as ws:
        await receive_until(ws, lambda f: f["t"] == "snapshot")
        bus = client.app[BUS]
        await bus.publish(OVERLAY_CONTROL, {"session_id": session_id, "type": "scene", "scene": "no-such", "by": "x"})
        await bus.publish(OVERLAY_CONTROL, {"session_id": "garbage", "type": "scene"})
        await bus.publish(OVERLAY_CONTROL, {"session_id": 999999, "type": "scene", "scene": "stats", "by": "scheduler"})
        await bus.publish(OVERLAY_CONTROL, {"session_id": session_id, "type": "scene", "scene": "lower_third", "by": "scheduler"})
        frame = await receive_until(ws, has_part("scene"))
        assert frame["parts"]["scene"] == {"scene": "site"}
        await bus.publish(OVERLAY_CONTROL, {"session_id": session_id, "type": "countdown", "segment": "工厂车间直连",
                                            "ends_at": "2026-11-24T20:30:00+08:00", "by": "scheduler"})
        frame = await receive_until(ws, has_part("countdown"))
        assert frame["parts"]["countdown"] == {"title": "工厂车间直连", "ends_at": "2026-11-24T12:30:00+00:00"}


async def test_state_survives_a_restart(config: Config, aiohttp_client: Any, fake_trace: Any) -> None:
    fake_trace()
    first = await aiohttp_client(create_app(config))
    session_id, _ = await make_session(first.app[DATABASE])
    headers = await bearer(first, "producer")
    await command(first, session_id, headers, type="batch", lot=SUMMARY["lot"])
    await command(first, session_id, headers, type="featured", question="奶源来自哪里？", answer="双城牧场")
    await command(first, session_id, headers, type="scene", scene="featured")
    token = await new_token(first.app[DATABASE], session_id)
    await first.close()
    second = await aiohttp_client(create_app(config))
    async with second.ws_connect(f"/ws/overlay/{session_id}?token={token}") as ws:
        snapshot = await receive_until(ws, lambda f: f["t"] == "snapshot")
    parts = snapshot["parts"]
    assert parts["scene"] == {"scene": "featured"}
    assert parts["featured"]["question"] == "奶源来自哪里？"
    assert parts["batch"]["card"]["product"] == SUMMARY["product"]


async def test_rotation_closes_overlays_using_the_old_token(client: TestClient) -> None:
    db = client.app[DATABASE]
    session_id, _ = await make_session(db)
    token = await new_token(db, session_id)
    headers = await bearer(client, "producer")
    async with client.ws_connect(f"/ws/overlay/{session_id}?token={token}") as ws:
        await receive_until(ws, lambda f: f["t"] == "snapshot")
        assert (await client.post(f"/api/v1/sessions/{session_id}/overlay-token", headers=headers)).status == 201
        message = await ws.receive(timeout=3)
        while message.type == aiohttp.WSMsgType.TEXT:
            message = await ws.receive(timeout=3)
        assert message.type == aiohttp.WSMsgType.CLOSE
        assert (message.data, message.extra) == (CLOSE_TOKEN_REVOKED, "token rotated")  # what the page reads


async def test_trace_news_refreshes_the_batch(client: TestClient, fake_trace: Any) -> None:
    batches = fake_trace()
    db = client.app[DATABASE]
    session_id, _ = await make_session(db)
    token = await new_token(db, session_id)
    await command(client, session_id, await bearer(client, "producer"), type="batch", lot=SUMMARY["lot"])
    async with client.ws_connect(f"/ws/overlay/{session_id}?token={token}") as ws:
        snapshot = await receive_until(ws, lambda f: f["t"] == "snapshot")
        assert snapshot["parts"]["batch"]["card"]["inspections"] == "3/3 项合格"
        assert snapshot["parts"]["telemetry"]["readings"][2]["stale"] is True
        batches[SUMMARY["lot"]] = {**SUMMARY, "inspections_passed": 4, "inspections_total": 4}
        await client.app[BUS].publish(TRACE_UPDATED, {"lots": ["OTHER"], "gtins": []})
        await client.app[BUS].publish(TRACE_UPDATED, {"lots": [SUMMARY["lot"]], "gtins": [SUMMARY["gtin"]]})
        frame = await receive_until(ws, has_part("batch"))
        assert frame["parts"]["batch"]["card"]["inspections"] == "4/4 项合格"


def enriched(session_id: int, pk: int, text: str, label: str = "positive", **extra: Any) -> dict[str, Any]:
    return {"pk": pk, "source": "test-hook", "id": f"m{pk}", "platform": "kuaishou", "channel": "room", "kind": "comment",
            "ts": "2026-11-24T12:00:00+00:00", "user": {"id": "u", "name": "乐乐妈妈"}, "text": text, "count": None,
            "viewers": None, "value": None, "session_id": session_id, "site_id": None, "segment_id": None,
            "hidden": False, "flags": [], "merged_count": 1,
            "enrichment": {"is_question": False, "question_confidence": 0.0, "suggestions": [],
                           "sentiment": {"label": label, "score": 0.9}, "trace_codes": [], "topic_tags": []}, **extra}


async def test_ticker_and_stats_follow_the_chat(client: TestClient) -> None:
    db = client.app[DATABASE]
    session_id, _ = await make_session(db)
    token = await new_token(db, session_id)
    bus = client.app[BUS]
    ticker_unreviewed(client.app)
    async with client.ws_connect(f"/ws/overlay/{session_id}?token={token}") as ws:
        await receive_until(ws, lambda f: f["t"] == "snapshot")
        await bus.publish(CHAT_ENRICHED, enriched(session_id, 1, "差评", label="negative"))
        await bus.publish(CHAT_ENRICHED, enriched(session_id, 2, "好喝 加v123", label="positive"))
        await bus.publish(CHAT_ENRICHED, enriched(session_id, 3, "好喝", flags=["spam"]))
        await bus.publish(CHAT_ENRICHED, enriched(session_id, 4, "<b>宝宝爱喝</b>\u202e😀"))
        await bus.publish(CHAT_ENRICHED, enriched(session_id, 4, "<b>宝宝爱喝</b>\u202e😀"))
        await bus.publish(CHAT_ENRICHED, {**enriched(session_id, 5, ""), "kind": "viewers", "viewers": 12345})
        frame = await receive_until(ws, has_part("ticker", lambda t: len(t["items"]) > 0))
        assert frame["parts"]["ticker"]["items"] == [{"id": "test-hook:m4", "text": "<b>宝宝爱喝</b>😀", "user": "乐乐**", "platform": "kuaishou"}]
        await bus.publish(engagement_topic(session_id), {"session_id": session_id, "viewers": 1, "comments_per_min": 1})
        await bus.publish(engagement_topic(session_id), engagement_figures(session_id, 20000, 88, 0.7, 0.2, 0.1))
        frame = await receive_until(ws, has_part("stats", lambda s: s["source"] == "engagement"))
        assert frame["parts"]["stats"]["viewers"] == 20000 and frame["parts"]["stats"]["positive"] == 0.7


async def test_delay_mode_shows_a_comment_once_its_veto_window_has_passed(client: TestClient) -> None:
    session_id, _ = await make_session(client.app[DATABASE])
    service = client.app[OVERLAY_SERVICE]
    now = [1_800_000_000.0]
    service.clock = lambda: now[0]
    assert service.settings.ticker_review == "delay"
    await client.app[BUS].publish(CHAT_ENRICHED, enriched(session_id, 4, "宝宝爱喝"))
    await client.app[BUS].drained()
    overlay = service.sessions[session_id]
    (pending,) = overlay.control["ticker_pending"]
    assert pending["id"] == "test-hook:m4" and pending["due"] == now[0] + service.settings.ticker_delay_seconds
    now[0] += service.settings.ticker_delay_seconds - 0.5
    assert service.release_due(overlay) is False and not overlay.control.get("ticker")
    now[0] += 1
    assert service.release_due(overlay) is True
    assert [item["id"] for item in overlay.control["ticker"]] == ["test-hook:m4"] and overlay.control["ticker_pending"] == []


async def test_producer_page_lists_scenes_and_previews(client: TestClient) -> None:
    session_id, _ = await make_session(client.app[DATABASE])
    assert (await client.get(f"/overlays/{session_id}", allow_redirects=False)).status == 302
    await login(client, "producer")
    resp = await client.get(f"/overlays/{session_id}")
    html = await resp.text()
    assert resp.status == 200
    assert f'src="/overlay/{session_id}/program"' in html and "批次溯源卡" in html and "生成新的 OBS 链接" in html
    assert (await client.get(f"/overlay/{session_id}/stats")).status == 200  # preview with the producer's login
    assert (await client.get("/overlays")).status == 200
    assert (await client.get("/overlays/424242")).status == 404


async def test_an_unknown_lot_is_refused_unless_forced(client: TestClient, fake_trace: Any) -> None:
    fake_trace()
    session_id, _ = await make_session(client.app[DATABASE])
    headers = await bearer(client, "producer")
    refused = await command(client, session_id, headers, type="batch", lot="NOPE999")
    body = await refused.json()
    assert refused.status == 409 and body["field"] == "lot" and body["confirm"] == "force" and "NOPE999" in body["error"]
    state = await (await client.get(f"/api/v1/sessions/{session_id}/overlay", headers=headers)).json()
    assert state["control"]["lot"] is None
    for bad in ("yes", 1, None, [True]):
        resp = await command(client, session_id, headers, type="batch", lot="NOPE999", force=bad)
        assert resp.status == 400 and (await resp.json())["field"] == "force", bad
    known = await command(client, session_id, headers, type="batch", lot=SUMMARY["lot"])
    assert known.status == 200
    forced = await command(client, session_id, headers, type="batch", lot="NOPE999", force=True)
    assert forced.status == 200 and (await forced.json())["state"]["control"]["lot"] == "NOPE999"
    cleared = await command(client, session_id, headers, type="batch", lot=None)
    assert cleared.status == 200
