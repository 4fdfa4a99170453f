"""Database engines: async for the service, sync for migrations and the scheduler's job store."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from livebot.errors import StorageError

logger = logging.getLogger(__name__)

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


def create_engine(url: str, echo: bool = False) -> AsyncEngine:
    """An async engine for ``url`` with the per-backend settings livebot relies on."""
    kwargs: dict[str, Any] = {"echo": echo}
    if backend(url) == "postgresql":
        kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
    engine = create_async_engine(async_url(url), **kwargs)
    if backend(url) == "sqlite":
        event.listen(engine.sync_engine, "connect", set_sqlite_pragmas)
    return engine


@dataclass
class Database:
    """The engine and session factory one app instance shares."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

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
        await self.engine.dispose()
