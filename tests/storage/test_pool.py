"""PostgreSQL's pool: a connection that died while idle is replaced before it is used."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from livebot.storage import engine
from livebot.storage.engine import Database
from tests.support import PG_ENV


@pytest.mark.skipif(not os.environ.get(PG_ENV), reason="needs PostgreSQL (LIVEBOT_TEST_DATABASE_URL)")
async def test_a_connection_killed_while_idle_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    url = os.environ[PG_ENV]
    db, admin = Database.open(url), Database.open(url)
    try:
        async with db.engine.connect() as conn:
            pid = await conn.scalar(text("SELECT pg_backend_pid()"))
        async with admin.engine.connect() as conn:
            assert await conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        monkeypatch.setattr(engine, "PING_IDLE_SECONDS", 0.0)  # as if it sat idle for a while
        async with db.engine.connect() as conn:
            assert await conn.scalar(text("SELECT pg_backend_pid()")) != pid
    finally:
        await db.engine.dispose()
        await admin.engine.dispose()
