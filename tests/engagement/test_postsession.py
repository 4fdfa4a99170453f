"""When a session ends: figures rebuilt, report stored, one summary to each WeCom group robot."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import update

from livebot.app import create_app
from livebot.appkeys import BUS, DATABASE
from livebot.config import Config
from livebot.engagement import store
from livebot.engagement.keys import REPORTER
from livebot.engagement.robot import MAX_BYTES, summary_markdown
from livebot.schedule.live import transition
from livebot.schedule.models import LiveSession
from livebot.storage.base import utcnow
from livebot.topics import SESSION_ENDED
from tests.engagement.support import make_show, store_transcript
from tests.support import eventually


async def fake_robot(aiohttp_server: Any, errcode: int = 0) -> tuple[str, list[dict[str, Any]]]:
    """A WeCom group robot on 127.0.0.1 that records what it is sent."""
    received: list[dict[str, Any]] = []

    async def send(request: web.Request) -> web.Response:
        received.append({"key": request.query.get("key"), "body": await request.json()})
        return web.json_response({"errcode": errcode, "errmsg": "ok" if not errcode else "invalid webhook url"})

    robot = web.Application()
    robot.router.add_post("/cgi-bin/webhook/send", send)
    server = await aiohttp_server(robot)
    return str(server.make_url(f"/cgi-bin/webhook/send?key=k{errcode}")), received


async def app_with_robots(aiohttp_client: Any, make_config: Callable[..., Config], urls: list[str]) -> Any:
    config = make_config(schedule={"scheduler_enabled": False},
                         engagement={"flush_seconds": 300, "report_robot_urls": urls})
    return await aiohttp_client(create_app(config))


async def wait_report(client: Any, session_id: int, status: str) -> Any:
    async def stored() -> Any:
        await client.app[REPORTER].drained()
        found = await store.get_report(client.app[DATABASE], session_id)
        return found if found is not None and found.robot_status == status else None

    return await eventually(stored, timeout=10, interval=0.05)


async def test_ending_a_session_stores_the_report_and_tells_the_group_once(
        aiohttp_client: Any, aiohttp_server: Any, make_config: Callable[..., Config]) -> None:
    url, received = await fake_robot(aiohttp_server)
    client = await app_with_robots(aiohttp_client, make_config, [url])
    db = client.app[DATABASE]
    show = await make_show(db, status="live", title="北境臻护 · [点我](http://evil.example) <b>奶源</b>")
    await store_transcript(db, show.session_id)
    await transition(client.app, show.session_id, "ended", "producer")  # publishes session.ended
    await client.app[BUS].publish(SESSION_ENDED, {"session_id": show.session_id})  # a duplicate notice
    stored = await wait_report(client, show.session_id, "sent")
    await client.app[REPORTER].drained()
    assert stored.trigger == "session_end" and stored.data["summary"]["comments"] == 11
    assert len(received) == 1
    body = received[0]["body"]
    assert body["msgtype"] == "markdown"
    content = body["markdown"]["content"]
    assert "峰值在线" in content and "评论：11" in content and f"/reports/sessions/{show.session_id})" in content
    assert "](http://evil.example)" not in content and "<b>" not in content
    assert len(content.encode()) <= MAX_BYTES
    assert sum(r["comments"] for r in await store.minute_rows(db, show.session_id)) == 11


async def test_a_refusing_robot_is_recorded(aiohttp_client: Any, aiohttp_server: Any, make_config: Callable[..., Config]) -> None:
    good, ok_received = await fake_robot(aiohttp_server)
    bad, bad_received = await fake_robot(aiohttp_server, errcode=93000)
    client = await app_with_robots(aiohttp_client, make_config, [good, bad, "http://127.0.0.1:9/unreachable"])
    show = await make_show(client.app[DATABASE])
    await client.app[BUS].publish(SESSION_ENDED, {"session_id": show.session_id})
    stored = await wait_report(client, show.session_id, "failed")
    assert len(ok_received) == 1 and len(bad_received) == 1
    assert "HTTP 200 invalid webhook url" in stored.robot_error and "unreachable" in stored.robot_error
    assert "k93000" not in stored.robot_error  # robot keys are secrets: never logged or stored


async def test_malformed_notices_are_ignored(client: Any) -> None:
    for message in ({}, {"session_id": "3"}, {"session_id": True}, {"session_id": 424242}):
        await client.app[BUS].publish(SESSION_ENDED, message)
    await client.app[BUS].drained()
    await client.app[REPORTER].drained()
    assert await store.get_report(client.app[DATABASE], 424242) is None


async def test_reports_missed_while_stopped_are_made_at_start(client: Any) -> None:
    db = client.app[DATABASE]
    show = await make_show(db)
    # ended an hour ago with no report: as if the app was down when it ended
    async with db.engine.begin() as conn:
        await conn.execute(update(LiveSession).where(LiveSession.id == show.session_id)
                           .values(ended_at=utcnow() - timedelta(hours=1)))
    assert show.session_id in await store.ended_without_report(db, utcnow() - timedelta(days=1))
    await client.app[REPORTER].catch_up()
    stored = await store.get_report(db, show.session_id)
    assert stored is not None and stored.robot_status == ""  # no robots configured: nothing sent


def test_summary_is_cut_to_the_robot_limit() -> None:
    report = {
        "session": {"title": "长" * 5000, "start_label": "2026-11-24 20:00", "end_label": "2026-11-24 22:00"},
        "summary": {"viewers_peak": 10, "peak_label": "20:10", "viewers_avg": 5.0, "watched_minutes": 50, "comments": 3,
                    "chatters": 2, "likes": 0, "questions": 1, "answered": 1, "answer_rate": 1.0, "frt_median_s": 30.0,
                    "positive_share": 0.5, "neutral_share": 0.5, "negative_share": 0.0},
        "platforms": [{"name": "抖音" * 2000, "viewers_peak": 10}], "segments": [],
        "topics": {"keywords": [{"term": "奶源" * 1000}]},
    }
    content = summary_markdown(report, "http://127.0.0.1:8080/reports/sessions/1")
    assert len(content.encode()) <= MAX_BYTES and content.endswith("(http://127.0.0.1:8080/reports/sessions/1)")
