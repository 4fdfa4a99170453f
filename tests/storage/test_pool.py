"""PostgreSQL's pool: a connection that died while idle is replaced before it is used; driver work autocommits."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from livebot.errors import StorageError
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


async def test_driver_work_commits_by_itself_and_a_broken_connection_leaves_the_pool() -> None:
    url = os.environ.get(PG_ENV) or CI_POSTGRES
    db, admin = Database.open(url), Database.open(url)
    table = f"driver_probe_{os.getpid()}"
    try:
        async with admin.engine.begin() as conn:
            await conn.execute(text(f"CREATE TABLE {table} (n int)"))
        await db.driver(lambda conn: conn.execute(f"INSERT INTO {table} VALUES (1)"))
        async with admin.engine.connect() as conn:  # autocommit: another connection sees it at once
            assert await conn.scalar(text(f"SELECT count(*) FROM {table}")) == 1
        pid = await db.driver(lambda conn: conn.fetchval("SELECT pg_backend_pid()"))
        async with admin.engine.connect() as conn:
            assert await conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(Exception):  # noqa: B017 - asyncpg's error for a connection the server closed
            await db.driver(lambda conn: conn.fetchval("SELECT 1"))
        assert await db.driver(lambda conn: conn.fetchval("SELECT pg_backend_pid()")) != pid
    finally:
        async with admin.engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        await db.engine.dispose()
        await admin.engine.dispose()


async def test_driver_is_for_postgresql_only(tmp_path: object) -> None:
    db = Database.open(f"sqlite:///{tmp_path}/x.db")
    try:
        with pytest.raises(StorageError):
            await db.driver(lambda conn: conn.fetchval("SELECT 1"))
    finally:
        await db.close()
