"""The batches a live session presents (set by the schedule area, read by overlays and FAQ)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient

from livebot.appkeys import DATABASE
from livebot.errors import ValidationError
from livebot.schedule.models import LiveSession
from livebot.storage.base import utcnow
from livebot.trace.store import session_lots, set_session_lots


async def new_session(client: TestClient) -> int:
    now = utcnow()
    async with client.app[DATABASE].sessions() as session:
        live = LiveSession(title="直播", planned_start=now, planned_end=now + timedelta(hours=1))
        session.add(live)
        await session.commit()
        return live.id


async def test_set_and_read_in_order(client: TestClient) -> None:
    db = client.app[DATABASE]
    sid = await new_session(client)
    assert await session_lots(db, sid) == []
    await set_session_lots(db, sid, ["QH2", "QH1", "QH2", "QH3"])
    assert await session_lots(db, sid) == ["QH2", "QH1", "QH3"]
    await set_session_lots(db, sid, ["QH3"])
    assert await session_lots(db, sid) == ["QH3"]
    other = await new_session(client)
    assert await session_lots(db, other) == []


async def test_bad_lots_are_refused(client: TestClient) -> None:
    sid = await new_session(client)
    with pytest.raises(ValidationError):
        await set_session_lots(client.app[DATABASE], sid, ["x" * 21])
    with pytest.raises(ValidationError):
        await set_session_lots(client.app[DATABASE], sid, [""])
