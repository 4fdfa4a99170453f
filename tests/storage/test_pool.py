"""PostgreSQL's pool: a connection that died while idle is replaced before it is used."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from livebot.storage import engine
from livebot.storage.engine import Database
from tests.support import PG_ENV

CI_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
"""The server scripts/test-all makes sure is running: this test is about PostgreSQL's pool in both passes."""


async def test_a_connection_killed_while_idle_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    url = os.environ.get(PG_ENV) or CI_POSTGRES
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
