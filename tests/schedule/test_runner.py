"""The scheduler: firing at T, reminders, segment changes, misfires, restarts and two instances.

Most tests step an injected clock and hand due jobs to the runner the way APScheduler's executor
does (``Runner.execute(job_id, args, run_times)``), so "fires at T" is checked at T exactly.
A few tests run the real APScheduler with run dates a few hundred milliseconds ahead; they are
the only ones that wait on the wall clock, because the wall clock is what they test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from livebot.app import create_app
from livebot.appkeys import BUS, DATABASE
from livebot.config import Config
from livebot.schedule import live, store
from livebot.schedule.clock import SteppedClock
from livebot.schedule.keys import CLOCK, RUNNER
from livebot.schedule.lease import DatabaseLock
from livebot.schedule.models import JobRun, LiveSession
from livebot.schedule.plan import job_id
from livebot.schedule.runner import Runner
from livebot.topics import SCHEDULE_REMINDER, SESSION_ENDED
from tests.schedule.support import SITES, Api
from tests.support import bearer, eventually


class Robot:
    """A fake WeCom group robot: a real HTTP server on 127.0.0.1 that records what it was sent."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append({"key": request.query.get("key"), "body": await request.json()})
        return web.json_response({"errcode": 0, "errmsg": "ok"})


@pytest.fixture
async def robot(aiohttp_server: Any) -> tuple[Robot, str]:
    fake = Robot()
    app = web.Application()
    app.router.add_post("/cgi-bin/webhook/send", fake.handle)
    server = await aiohttp_server(app)
    return fake, str(server.make_url("/cgi-bin/webhook/send"))


async def started(app: web.Application) -> TestClient:
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


class Stepped:
    """An app without a background scheduler, a stepped clock and a runner we drive by hand."""

    def __init__(self, client: TestClient, clock: SteppedClock, runner: Runner, api: Api) -> None:
        self.client, self.clock, self.runner, self.api = client, clock, runner, api
        self.app = client.app

    async def due(self, session_id: int) -> dict[str, Any]:
        """The planned jobs of a session by kind (with ref), as the leader would store them."""
        return {f"{j.kind}:{j.ref}" if j.ref else j.kind: j for j in await self.runner.planned(session_id)}

    async def run(self, plan: Any, at: datetime | None = None) -> list[Any]:
        """Step the clock to ``at`` (the job's time by default) and hand the job over, as APScheduler would."""
        self.clock.current = at or plan.run_at
        events = await self.runner.execute(plan.id, (plan.kind, plan.session_id, plan.ref), [plan.run_at])
        await self.app[BUS].drained()
        return events


@pytest.fixture
async def stepped(make_config: Callable[..., Config], robot: tuple[Robot, str]) -> Any:
    config = make_config(schedule={"scheduler_enabled": False, "reminder_robot_urls": [robot[1] + "?key=group-a"],
                                   "misfire_grace_seconds": 120})
    app = create_app(config)
    clock = SteppedClock(datetime.now(UTC).replace(microsecond=0))
    app[CLOCK] = clock
    client = await started(app)
    runner = Runner(app, instance="stepped")
    runner.http = aiohttp.ClientSession()
    yield Stepped(client, clock, runner, Api(client, await bearer(client, "producer")))
    await runner.http.close()
    await client.close()


async def rundown(api: Api, start: datetime, **extra: Any) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    sites = await api.sites()
    session = await api.session([s["id"] for s in sites], start, minutes=60, status="scheduled", **extra)
    sid = session["id"]
    segs = []
    for title, minutes, site, scene in (("开场", 5, 0, "lower_third"), ("牧场直击", 10, 2, "timeline"), ("工厂质检", 15, 1, "inspections")):
        segs.append(await api.call("POST", f"/sessions/{sid}/segments", {
            "title": title, "duration_s": minutes * 60, "site_id": sites[site]["id"], "scene": scene}, 201))
    return session, sites, segs


def collector(app: web.Application, topic: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    async def add(message: dict[str, Any]) -> None:
        seen.append(message)

    app[BUS].subscribe(topic, add)
    return seen


async def runs(app: web.Application, session_id: int | None = None) -> list[JobRun]:
    async with app[DATABASE].sessions() as s:
        query = select(JobRun).order_by(JobRun.id)
        if session_id is not None:
            query = query.where(JobRun.session_id == session_id)
        return list((await s.scalars(query)).all())


async def test_a_season_session_runs_itself_at_the_planned_times(stepped: Stepped, robot: tuple[Robot, str]) -> None:
    fake, url = robot
    T = stepped.clock() + timedelta(days=2)
    session, sites, segs = await rundown(stepped.api, T, robot_url=url + "?key=session-group")
    sid = session["id"]
    reminders = collector(stepped.app, SCHEDULE_REMINDER)
    ended = collector(stepped.app, SESSION_ENDED)

    jobs = await stepped.due(sid)
    assert {k: j.run_at for k, j in jobs.items()} == {
        "golive": T, "reminder:1440": T - timedelta(hours=24), "reminder:60": T - timedelta(hours=1),
        "reminder:10": T - timedelta(minutes=10), "end": T + timedelta(hours=1)}

    await stepped.run(jobs["reminder:10"])
    assert sorted(r["key"] for r in fake.received) == ["group-a", "session-group"]
    body = fake.received[0]["body"]
    assert body["msgtype"] == "text" and "还有 10 分钟" in body["text"]["content"]
    assert "北境臻护" in body["text"]["content"] and "齐齐哈尔工厂" in body["text"]["content"]
    assert reminders[0]["lead"] == "10min" and reminders[0]["session_id"] == sid

    await stepped.run(jobs["golive"])
    row = await store.get_session(stepped.app[DATABASE], sid)
    assert row.status == "live" and row.started_at == T and row.status_changed_by == "scheduler"
    assert (await store.control(stepped.app[DATABASE], sid)).current_segment_id == segs[0]["id"]

    for seg in segs[1:]:
        nxt = (await stepped.due(sid))[f"segment:{seg['id']}"]
        assert nxt.run_at == T + timedelta(seconds=seg["offset_s"])
        await stepped.run(nxt)
        assert (await store.control(stepped.app[DATABASE], sid)).current_segment_id == seg["id"]

    end = await stepped.due(sid)
    assert set(end) == {"end"}
    await stepped.run(end["end"])
    assert (await store.get_session(stepped.app[DATABASE], sid)).status == "ended"
    assert ended == [{"session_id": sid}]
    on_air = [(i.kind, i.segment_id, i.at) for i in await store.timeline(stepped.app[DATABASE], sid) if i.kind == "segment"]
    assert on_air == [("segment", s["id"], T + timedelta(seconds=s["offset_s"])) for s in segs]
    assert [r.outcome for r in await runs(stepped.app, sid)] == ["fired"] * 5


async def test_a_job_late_within_grace_runs_and_beyond_grace_is_reported_not_run(stepped: Stepped) -> None:
    T = stepped.clock() + timedelta(hours=3)
    session, _, _ = await rundown(stepped.api, T)
    sid = session["id"]
    golive = (await stepped.due(sid))["golive"]
    await stepped.run(golive, at=T + timedelta(seconds=121))
    assert (await store.get_session(stepped.app[DATABASE], sid)).status == "scheduled"
    missed = await runs(stepped.app, sid)
    assert [(r.kind, r.outcome, r.planned_at) for r in missed] == [("golive", "missed", T)]
    assert "错过了 121 秒" in missed[0].detail
    listed = await stepped.api.call("GET", "/runs?outcome=missed", status=200)
    assert listed["runs"][0]["job_id"] == golive.id
    from tests.support import login

    await login(stepped.client, "producer")
    page = await (await stepped.client.get("/producer")).text()
    assert "错过" in page and "定时任务需要留意" in page

    other, _, _ = await rundown_again(stepped, T + timedelta(hours=1))
    golive2 = (await stepped.due(other))["golive"]
    await stepped.run(golive2, at=golive2.run_at + timedelta(seconds=119))
    assert (await store.get_session(stepped.app[DATABASE], other)).status == "live"


async def rundown_again(stepped: Stepped, start: datetime) -> tuple[int, None, None]:
    sites = (await stepped.api.call("GET", "/sites", status=200))["sites"]
    session = await stepped.api.session([s["id"] for s in sites], start, minutes=60, status="scheduled")
    return session["id"], None, None


async def test_a_missed_segment_change_hands_over_to_manual(stepped: Stepped) -> None:
    T = stepped.clock() + timedelta(hours=1)
    session, _, segs = await rundown(stepped.api, T)
    sid = session["id"]
    await stepped.run((await stepped.due(sid))["golive"])
    nxt = (await stepped.due(sid))[f"segment:{segs[1]['id']}"]
    await stepped.run(nxt, at=nxt.run_at + timedelta(minutes=5))
    ctl = await store.control(stepped.app[DATABASE], sid)
    assert ctl.current_segment_id == segs[0]["id"] and ctl.mode == "manual"
    assert [r.outcome for r in await runs(stepped.app, sid)] == ["fired", "missed"]
    assert set(await stepped.due(sid)) == {"end"}


async def test_scheduler_respects_manual_switches(stepped: Stepped) -> None:
    T = stepped.clock() + timedelta(hours=1)
    session, _, segs = await rundown(stepped.api, T)
    sid = session["id"]
    await stepped.run((await stepped.due(sid))["golive"])
    planned = (await stepped.due(sid))[f"segment:{segs[1]['id']}"]
    stepped.clock.current = T + timedelta(seconds=100)
    await live.advance(stepped.app, sid, "producer", segs[1]["id"])
    await stepped.run(planned)
    assert [r.outcome for r in await runs(stepped.app, sid)] == ["fired", "skipped"]
    assert (await stepped.due(sid))[f"segment:{segs[2]['id']}"].run_at == T + timedelta(seconds=100 + 600)


async def test_two_instances_firing_the_same_job_fire_it_once(stepped: Stepped) -> None:
    T = stepped.clock() + timedelta(hours=1)
    session, _, _ = await rundown(stepped.api, T)
    sid = session["id"]
    other = Runner(stepped.app, instance="other")
    other.http = stepped.runner.http
    stepped.clock.current = T
    outcomes = await asyncio.gather(stepped.runner.fire(job_id(sid, "golive"), "golive", sid, "", T),
                                    other.fire(job_id(sid, "golive"), "golive", sid, "", T))
    assert sorted(outcomes) == ["duplicate", "fired"]
    assert [(r.outcome, r.instance in ("stepped", "other")) for r in await runs(stepped.app, sid)] == [("fired", True)]
    statuses = [i for i in await store.timeline(stepped.app[DATABASE], sid) if i.kind == "status" and i.payload["to"] == "live"]
    assert len(statuses) == 1


async def test_database_lease_has_one_holder_and_expires(database_url: str) -> None:
    from livebot.storage.engine import Database

    db = Database.open(database_url)
    clock = SteppedClock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    a, b = DatabaseLock(db, "scheduler", "a", 15, clock), DatabaseLock(db, "scheduler", "b", 15, clock)
    try:
        assert await a.acquire() is True
        assert await b.acquire() is False
        clock.advance(10)
        assert await a.acquire() is True  # renewed
        clock.advance(14)
        assert await b.acquire() is False
        clock.advance(2)  # a missed its renewals: the lease expired
        assert await b.acquire() is True
        assert await a.acquire() is False
        await b.release()
        assert await a.acquire() is True
    finally:
        await db.close()


# ---- the real APScheduler, on the wall clock -----------------------------------------------------


async def wait_until(moment: datetime) -> None:
    """Let the wall clock pass ``moment`` (the subject of these tests)."""
    await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))



def scheduler_config(make_config: Callable[..., Config], **schedule: Any) -> Config:
    return make_config(schedule={"lock_ttl_seconds": 3, **schedule})


async def new_session(client: TestClient, start: datetime) -> int:
    api = Api(client, await bearer(client, "producer"))
    sites = (await api.call("GET", "/sites", status=200))["sites"] or [await api.call("POST", "/sites", dict(SITES[0]), 201)]
    session = await api.session([sites[0]["id"]], start, minutes=60, status="scheduled")
    await client.app[BUS].drained()
    return int(session["id"])


async def fired_runs(app: web.Application, session_id: int, kind: str = "golive") -> list[JobRun]:
    return [r for r in await runs(app, session_id) if r.kind == kind and r.outcome != "running"]


async def test_apscheduler_fires_go_live_at_T(make_config: Callable[..., Config]) -> None:
    client = await started(create_app(scheduler_config(make_config)))
    try:
        runner = client.app[RUNNER]
        assert runner.leader
        T = datetime.now(UTC) + timedelta(milliseconds=700)
        sid = await new_session(client, T)
        assert [j["kind"] for j in await runner.stored_jobs(sid)] == ["golive", "end"]
        done = await eventually(lambda: fired_runs(client.app, sid), timeout=8)
        assert done[0].outcome == "fired"
        assert done[0].planned_at == T
        assert timedelta(0) <= done[0].ran_at - T < timedelta(seconds=1.5)
        row = await store.get_session(client.app[DATABASE], sid)
        assert row.status == "live" and row.started_at is not None and row.started_at >= T
        assert [j["kind"] for j in await runner.stored_jobs(sid)] == ["end"]
    finally:
        await client.close()


async def test_restart_between_schedule_and_T_still_fires(make_config: Callable[..., Config]) -> None:
    config = scheduler_config(make_config)
    first = await started(create_app(config))
    T = datetime.now(UTC) + timedelta(seconds=2)  # room for a busy CI box to store it and stop before T
    sid = await new_session(first, T)
    assert any(j["kind"] == "golive" for j in await first.app[RUNNER].stored_jobs(sid))
    await first.close()  # down before T
    await wait_until(T + timedelta(milliseconds=200))
    second = await started(create_app(config))
    try:
        done = await eventually(lambda: fired_runs(second.app, sid), timeout=8)
        assert done[0].outcome == "fired" and done[0].planned_at == T
        assert done[0].instance == second.app[RUNNER].instance
        assert (await store.get_session(second.app[DATABASE], sid)).status == "live"
    finally:
        await second.close()


async def test_job_missed_by_more_than_grace_while_down_is_reported_not_fired(make_config: Callable[..., Config]) -> None:
    first = await started(create_app(scheduler_config(make_config)))
    T = datetime.now(UTC) + timedelta(milliseconds=500)
    sid = await new_session(first, T)
    await first.close()
    await wait_until(T + timedelta(milliseconds=100))
    app = create_app(scheduler_config(make_config, misfire_grace_seconds=1))
    app[CLOCK] = lambda: datetime.now(UTC) + timedelta(seconds=30)  # as if it was down half a minute
    second = await started(app)
    try:
        done = await eventually(lambda: fired_runs(second.app, sid), timeout=8)
        assert [(r.outcome, r.planned_at) for r in done] == [("missed", T)]
        assert (await store.get_session(second.app[DATABASE], sid)).status == "scheduled"
        assert not any(j["kind"] == "golive" for j in await second.app[RUNNER].stored_jobs(sid))
    finally:
        await second.close()


async def test_two_app_instances_one_leader_each_job_fired_once(make_config: Callable[..., Config]) -> None:
    """Over PostgreSQL + Redis when the suite runs against them (SQLite + lease row otherwise)."""
    config = scheduler_config(make_config)
    a, b = await started(create_app(config)), await started(create_app(config))
    try:
        runners = [a.app[RUNNER], b.app[RUNNER]]
        assert sorted(r.leader for r in runners) == [False, True]
        leader = next(r for r in runners if r.leader)
        T = datetime.now(UTC) + timedelta(milliseconds=700)
        sid = await new_session(a, T)
        await leader.reconcile(sid)  # the in-process bus does not cross instances; Redis already did this
        await b.app[BUS].drained()
        done = await eventually(lambda: fired_runs(a.app, sid), timeout=8)
        await wait_until(T + timedelta(seconds=1))
        done = await fired_runs(a.app, sid)
        assert [(r.outcome, r.instance) for r in done] == [("fired", leader.instance)]
        async with a.app[DATABASE].sessions() as s:
            row = await s.get(LiveSession, sid)
        assert row is not None and row.status == "live"
        lives = [i for i in await store.timeline(a.app[DATABASE], sid) if i.kind == "status" and i.payload["to"] == "live"]
        assert len(lives) == 1
        follower = next(r for r in runners if not r.leader)
        await (a if leader is runners[0] else b).close()
        assert await follower.tick() is True  # the lock was released on shutdown: the other takes over
    finally:
        await a.close()
        await b.close()


async def test_a_refusing_or_dead_robot_does_not_stop_the_reminder(stepped: Stepped, aiohttp_server: Any) -> None:
    async def refuse(request: web.Request) -> web.Response:
        return web.json_response({"errcode": 93000, "errmsg": "invalid webhook url"})

    app = web.Application()
    app.router.add_post("/send", refuse)
    server = await aiohttp_server(app)
    T = stepped.clock() + timedelta(days=1)
    session, _, _ = await rundown(stepped.api, T, robot_url=str(server.make_url("/send")))
    reminders = collector(stepped.app, SCHEDULE_REMINDER)
    await stepped.run((await stepped.due(session["id"]))["reminder:60"])
    done = await runs(stepped.app, session["id"])
    assert [(r.kind, r.outcome) for r in done] == [("reminder", "fired")]
    assert "1/2 个群机器人" in done[0].detail  # the configured fake robot took it, the session's refused
    assert reminders and reminders[0]["lead"] == "1h"
