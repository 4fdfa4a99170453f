"""Database engines: async for the service, sync for migrations and the scheduler's job store."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

from livebot.errors import StorageError
from livebot.storage.funnel import SqliteFunnel

logger = logging.getLogger(__name__)

T = TypeVar("T")

ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
SYNC_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}


def backend(url: str) -> str:
    """``sqlite`` or ``postgresql`` for any spelling of the URL."""
    name = make_url(url.replace("postgres://", "postgresql://", 1)).get_backend_name()
    if name not in ASYNC_DRIVERS:
        raise StorageError(f"unsupported database backend {name!r}")
    return name


def async_url(url: str) -> str:
    """The URL with the async driver livebot uses (aiosqlite or asyncpg)."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    return parsed.set(drivername=ASYNC_DRIVERS[backend(url)]).render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    """The URL with a blocking driver (pysqlite or psycopg 3) for Alembic and APScheduler."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    return parsed.set(drivername=SYNC_DRIVERS[backend(url)]).render_as_string(hide_password=False)


def set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers run beside the group-commit writer; NORMAL sync survives a process crash."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def json_text(value: Any) -> str:
    """JSON columns are written with orjson (about 10x the stdlib: enrichments, cards, minute key
    sets are written thousands of times a second); values orjson refuses (integers beyond 64
    bits, say) fall back to the stdlib."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False)


def json_value(text: str | bytes) -> Any:
    """Read JSON columns with orjson; text only the stdlib accepts (``NaN``) still reads."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


PING_IDLE_SECONDS = 5.0
"""A pooled PostgreSQL connection idle longer than this is pinged before use (see :func:`ping_if_idle`)."""


def note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in"] = time.monotonic()


def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """SQLAlchemy's ``pool_pre_ping`` costs asyncpg three round trips (BEGIN, a query, ROLLBACK) on
    every checkout, as much as the work on a busy connection; a connection in steady use cannot have
    gone stale, so only one that sat idle is pinged. A dead one is replaced (the pool tries again)."""
    if time.monotonic() - record.info.get("checked_in", 0.0) <= PING_IDLE_SECONDS:
        return
    try:
        dbapi_connection.ping()
    except Exception as err:
        raise exc.DisconnectionError(f"pooled connection did not answer: {err}") from err


def create_engine(url: str, echo: bool = False) -> AsyncEngine:
    """An async engine for ``url`` with the per-backend settings livebot relies on."""
    kwargs: dict[str, Any] = {"echo": echo, "json_serializer": json_text, "json_deserializer": json_value}
    if backend(url) == "postgresql":
        kwargs.update(pool_size=10, max_overflow=20)
    engine = create_async_engine(async_url(url), **kwargs)
    if backend(url) == "sqlite":
        event.listen(engine.sync_engine, "connect", set_sqlite_pragmas)
    else:
        event.listen(engine.sync_engine.pool, "connect", note_checkin)
        event.listen(engine.sync_engine.pool, "checkin", note_checkin)
        event.listen(engine.sync_engine.pool, "checkout", ping_if_idle)
    return engine


@dataclass
class Database:
    """The engine and session factory one app instance shares."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    _funnel: SqliteFunnel | None = field(default=None, init=False, repr=False)

    async def write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work(connection)`` in one write transaction, committed when it returns.

        ``work`` is plain synchronous SQLAlchemy. On SQLite it runs start to end in this
        database's writer thread (see :mod:`livebot.storage.funnel`); on PostgreSQL, which
        takes concurrent writers, through ``run_sync`` on a pooled async connection.
        """
        if self.backend == "sqlite":
            return await self.funnel.run(work)
        async with self.engine.begin() as conn:
            return await conn.run_sync(work)

    async def write_session(self, work: Callable[[Session], T]) -> T:
        """Like :meth:`write` with an ORM session; committed unless ``work`` rolled back."""
        if self.backend == "sqlite":
            return await self.funnel.run_session(work)
        async with self.sessions() as session:
            result = await session.run_sync(work)
            await session.commit()
            return result

    async def driver(self, work: Callable[[Any], Awaitable[T]]) -> T:
        """PostgreSQL only: ``await work(conn)`` on a pooled connection's own asyncpg connection.

        For the busiest writes, one statement each: asyncpg prepares it once per connection and
        runs it in one round trip, in autocommit, without SQLAlchemy's BEGIN/COMMIT pair and its
        per-statement cursor and greenlet work. A connection that broke under ``work`` is dropped
        from the pool instead of going back to it.
        """
        if self.backend != "postgresql":
            raise StorageError("Database.driver is for PostgreSQL")
        async with self.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            try:
                return await work(raw.driver_connection)
            except BaseException:
                if raw.driver_connection is None or raw.driver_connection.is_closed():
                    await conn.invalidate()
                raise

    @property
    def funnel(self) -> SqliteFunnel:
        if self._funnel is None:
            url = sync_url(self.engine.url.render_as_string(hide_password=False))
            self._funnel = SqliteFunnel(url, set_sqlite_pragmas, json_text, json_value)
        return self._funnel

    @classmethod
    def open(cls, url: str, echo: bool = False) -> Database:
        engine = create_engine(url, echo=echo)
        return cls(engine, async_sessionmaker(engine, expire_on_commit=False))

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    async def ping(self) -> None:
        """Raise :class:`StorageError` unless the database answers a trivial query."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as err:  # any driver error means "not answering"
            raise StorageError(f"database not answering: {err}") from err

    async def close(self) -> None:
        if self._funnel is not None:
            funnel, self._funnel = self._funnel, None
            await asyncio.to_thread(funnel.close)
        await self.engine.dispose()
