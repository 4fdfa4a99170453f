"""Schema migrations with Alembic; ``livebot db upgrade`` and ``serve`` both call :func:`upgrade`."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, pool

from livebot.errors import StorageError
from livebot.storage.engine import backend, sync_url

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return cfg


def ensure_sqlite_directory(url: str) -> None:
    """SQLite creates the file but not its folder."""
    if backend(url) != "sqlite":
        return
    path = url.split(":///", 1)[-1].split("?", 1)[0]
    if path and path != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)


def upgrade_sync(url: str) -> None:
    """Bring the schema at ``url`` to the newest revision of every branch."""
    ensure_sqlite_directory(url)
    try:
        command.upgrade(alembic_config(url), "heads")
    except Exception as err:
        raise StorageError(f"migration failed: {err}") from err


async def upgrade(url: str) -> None:
    """Run migrations off the event loop (Alembic is blocking)."""
    await asyncio.to_thread(upgrade_sync, url)


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def current_revisions(url: str) -> set[str]:
    """The revisions the database at ``url`` is at (empty for a new database)."""
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return set()
            return {row[0] for row in conn.exec_driver_sql("SELECT version_num FROM alembic_version")}
    finally:
        engine.dispose()
