"""``livebot serve --demo``: the season's ended sessions have full reports; the live one gets live figures."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from livebot.appkeys import DATABASE
from livebot.demo.app import demo_app
from livebot.engagement import store
from livebot.engagement.keys import LIVE
from livebot.schedule import store as schedule_store
from tests.support import bearer


async def test_demo_ended_sessions_have_full_reports(tmp_path: Path) -> None:
    _, app = demo_app(None, "127.0.0.1", None, str(tmp_path))
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        db = app[DATABASE]
        sessions = await schedule_store.list_sessions(db)
        ended = [s for s in sessions if s.status == "ended"]
        assert len(ended) == 2
        themes = set()
        for session in ended:
            stored = await store.get_report(db, session.id)
            assert stored is not None and stored.trigger == "demo"
            data = stored.data
            s = data["summary"]
            assert s["comments"] > 1000 and s["chatters"] > 50 and s["viewers_peak"] > 1000 and s["peak_label"]
            assert s["questions"] > 100 and 0 < s["answered"] < s["questions"] and s["frt_median_s"] is not None
            assert s["positive_share"] and s["hidden"] > 0 and s["gift_value"] > 0
            assert len(data["platforms"]) >= 5 and len([g for g in data["segments"] if g["id"]]) >= 3
            assert data["topics"]["keywords"] and data["topics"]["faq"] and data["topics"]["unanswered"]
            assert len(data["bands"]) >= 3
            assert await store.minute_rows(db, session.id, with_keys=False)
            themes.add(session.theme)
        assert themes == {"奶源", "工艺"}
        headers = await bearer(client, "marketing")
        season = await (await client.get("/api/v1/engagement/season", headers=headers)).json()
        assert {t["theme"] for t in season["themes"]} >= {"奶源", "工艺"} and season["best"]["viewers_peak"]
        live = next(s for s in sessions if s.status == "live")
        await app[LIVE].flush()
        rows = await store.minute_rows(db, live.id, with_keys=False)
        assert sum(r["comments"] for r in rows) > 0  # the backfilled history reached the live figures
        page = await client.get(f"/reports/sessions/{ended[0].id}", headers=headers)
        assert page.status == 200
    finally:
        await client.close()
