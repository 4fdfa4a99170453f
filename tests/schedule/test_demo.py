"""The demo season: the live session runs through short segments on the real scheduler."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select, update

from livebot.appkeys import DATABASE
from livebot.demo import schedule as demo
from livebot.demo.app import demo_app
from livebot.schedule import store
from livebot.schedule.keys import CLOCK, RUNNER
from livebot.schedule.models import LiveSession, SessionControl


async def test_demo_seeds_a_season_and_runs_the_live_rundown(tmp_path: Path) -> None:
    _, app = demo_app(None, "127.0.0.1", None, str(tmp_path))
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        db = app[DATABASE]
        rows = await store.list_sessions(db)
        by_status: dict[str, int] = {}
        for row in rows:
            by_status[row.status] = by_status.get(row.status, 0) + 1
        assert by_status == {"live": 1, "scheduled": 2, "draft": 1, "ended": 2, "cancelled": 1}
        live = next(r for r in rows if r.status == "live")
        segments = await store.segments(db, live.id)
        assert len(segments) == 8 and all(s.duration_s == demo.SEGMENT_SECONDS for s in segments)
        control = await store.control(db, live.id)
        assert control.mode == "auto" and control.current_segment_id == segments[0].id
        jobs = {j["kind"]: j for j in await app[RUNNER].stored_jobs(live.id)}
        assert jobs["segment"]["ref"] == str(segments[1].id)
        upcoming = next(r for r in rows if r.status == "scheduled")
        assert {j["kind"] for j in await app[RUNNER].stored_jobs(upcoming.id)} >= {"golive", "reminder", "end"}
        ended = next(r for r in rows if r.status == "ended")
        kinds = [i.kind for i in await store.timeline(db, ended.id)]
        assert kinds[0] == "status" and kinds.count("segment") >= 3 and kinds[-1] == "status"

        # played through: the loop starts the rundown again
        async with db.sessions() as s:
            await s.execute(update(SessionControl).where(SessionControl.session_id == live.id).values(
                current_segment_id=segments[-1].id, segment_started_at=app[CLOCK]() - timedelta(seconds=200)))
            await s.commit()
        assert await demo.restart_if_done(app, live.id) is True
        assert (await store.control(db, live.id)).current_segment_id == segments[0].id
        assert await demo.restart_if_done(app, live.id) is False
        async with db.sessions() as s:
            assert await s.scalar(select(LiveSession.status).where(LiveSession.id == live.id)) == "live"
    finally:
        await client.close()
