"""Migrations bring an empty database to head, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import create_engine, inspect, pool, select

from livebot.schedule.models import LiveSession
from livebot.storage import migrate
from livebot.storage.engine import Database, sync_url
from livebot.storage.schema import metadata


def test_fresh_database_is_at_head(database_url: str) -> None:
    assert migrate.current_revisions(database_url) == migrate.head_revisions()


def test_upgrade_is_idempotent(database_url: str) -> None:
    migrate.upgrade_sync(database_url)
    assert migrate.current_revisions(database_url) == migrate.head_revisions()


def test_migrations_create_every_model_table(database_url: str) -> None:
    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    assert set(metadata.tables) <= tables


def test_models_match_migrations(database_url: str) -> None:
    """Autogenerate finds nothing to do: no model change without its migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []


async def test_datetimes_come_back_in_utc(database_url: str) -> None:
    db = Database.open(database_url)
    start = datetime(2026, 11, 24, 20, 0, tzinfo=timezone(timedelta(hours=8)))
    async with db.sessions() as session:
        session.add(LiveSession(title="t", planned_start=start, planned_end=start + timedelta(hours=2)))
        await session.commit()
    async with db.sessions() as session:
        row = await session.scalar(select(LiveSession))
    await db.close()
    assert row is not None
    assert row.planned_start == start
    assert row.planned_start.tzinfo is not None and row.planned_start.utcoffset() == timedelta(0)
    assert row.planned_start.astimezone(UTC).hour == 12


async def test_sqlite_runs_in_wal_mode(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'wal.db'}"
    migrate.upgrade_sync(url)
    db = Database.open(url)
    async with db.engine.connect() as conn:
        mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
    await db.close()
    assert mode == "wal"
