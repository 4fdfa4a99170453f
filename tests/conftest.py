"""Fixtures that build real apps on real databases and buses.

Every test gets a fresh, migrated database: SQLite by default (a copy of a template file
migrated once per run), or PostgreSQL when ``LIVEBOT_TEST_DATABASE_URL`` names a server
(a ``CREATE DATABASE ... TEMPLATE`` copy of a database migrated once per run, reused: emptied
when the next test takes it). The bus is
in-process, or Redis when ``LIVEBOT_TEST_BUS_URL`` is set, with a channel prefix per test.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher

from livebot.app import create_app
from livebot.auth import passwords
from livebot.config import BusSettings, Config, SourceSettings, config_from_mapping
from livebot.storage import migrate
from tests.support import BUS_ENV, REPO, pg_admin_url, pg_connect, pg_url_for

pytest_plugins = ("tests.browser",)

CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
"""Argon2id at its floor: a hash and a check cost microseconds instead of the production ~0.6 s."""


@pytest.fixture(autouse=True)
def cheap_password_hasher(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test that is not about passwords (those live in tests/auth) logs in with a cheap hasher."""
    if "auth" not in request.path.relative_to(REPO / "tests").parts:
        monkeypatch.setattr(passwords, "_hasher", CHEAP_HASHER)


class DatabasePool:
    """PostgreSQL databases for tests: copies of the template, emptied after each test and reused.

    A copy costs ~0.4 s of server time and its drop waits for a checkpoint, which at one per test
    doubled the PostgreSQL pass. Emptying every table (foreign keys off for the statement) and
    restarting the sequences costs milliseconds and leaves the database as the template was; a
    database whose schema a test changed is dropped instead of reused.
    """

    def __init__(self, admin: str, template: str) -> None:
        self.admin, self.template = admin, template
        self._idle: list[str] = []
        self._made: list[str] = []
        with pg_connect(pg_url_for(admin, template)) as conn:
            self._shape = self._fingerprint(conn)
            tables = [r[0] for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")]
            sequences = [r[0] for r in conn.execute(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")]
        self._empty = "; ".join(["BEGIN", "SET LOCAL session_replication_role = replica",
                                 *(f'DELETE FROM "{table}"' for table in tables),
                                 *(f'ALTER SEQUENCE "{sequence}" RESTART' for sequence in sequences),
                                 "COMMIT"])

    @staticmethod
    def _fingerprint(conn: psycopg.Connection[Any]) -> tuple[Any, ...]:
        row = conn.execute("SELECT count(*), coalesce(sum(hashtext(relname::text || relkind::text)), 0) FROM pg_class"
                           " WHERE relnamespace = 'public'::regnamespace").fetchone()
        version = conn.execute("SELECT string_agg(version_num, ',' ORDER BY version_num) FROM alembic_version")
        return (*(row or ()), *(version.fetchone() or ()))

    def take(self) -> str:
        """An emptied database: one a test gave back, or a new copy of the template."""
        while self._idle:
            name = self._idle.pop()
            if self._emptied(name):
                return name
        name = f"livebot_t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with pg_connect(self.admin) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self._made.append(name)
        return name

    def give_back(self, name: str) -> None:
        """``name`` is emptied when the next test takes it, not now: an app the test started may
        still be shutting down (fixtures tear down in reverse order) and write a last batch."""
        self._idle.append(name)

    def _emptied(self, name: str) -> bool:
        """Empty ``name`` for the next test; False (and dropped) when a test left its schema changed."""
        try:
            with pg_connect(pg_url_for(self.admin, name)) as conn:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                             " WHERE datname = current_database() AND pid <> pg_backend_pid()")
                if self._fingerprint(conn) != self._shape:
                    raise LookupError("schema changed")
                conn.execute(self._empty)
            return True
        except (LookupError, psycopg.Error):
            self._drop(name)
            return False

    def _drop(self, name: str) -> None:
        with pg_connect(self.admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._made.remove(name)

    def close(self) -> None:
        for name in list(self._made):
            self._drop(name)


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database to copy per test: a SQLite file path, or a PostgreSQL database name."""
    admin = pg_admin_url()
    if admin is None:
        path = tmp_path_factory.mktemp("db-template") / "template.db"
        migrate.upgrade_sync(f"sqlite:///{path}")
        yield str(path)
        return
    name = f"livebot_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with pg_connect(admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    migrate.upgrade_sync(pg_url_for(admin, name))
    yield name
    with pg_connect(admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_pool(database_template: str) -> Iterator[DatabasePool | None]:
    """On PostgreSQL, the pool of fresh copies every test takes one from; None on SQLite."""
    admin = pg_admin_url()
    if admin is None:
        yield None
        return
    pool = DatabasePool(admin, database_template)
    yield pool
    pool.close()


@pytest.fixture
def database_url(database_template: str, database_pool: DatabasePool | None, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated, empty database for one test."""
    if database_pool is None:
        path = tmp_path / "livebot.db"
        shutil.copyfile(database_template, path)
        yield f"sqlite:///{path}"
        return
    name = database_pool.take()
    yield pg_url_for(database_pool.admin, name)
    database_pool.give_back(name)


@pytest.fixture
def bus_settings() -> BusSettings:
    """memory://, or the Redis of ``LIVEBOT_TEST_BUS_URL`` with a prefix no other test shares."""
    return BusSettings(url=os.environ.get(BUS_ENV, "memory://"), channel_prefix=f"lbtest-{uuid.uuid4().hex[:10]}")


@pytest.fixture
def make_config(database_url: str, bus_settings: BusSettings) -> Callable[..., Config]:
    """Build a test config; keyword arguments are TOML-shaped sections that override defaults."""

    def build(**sections: Any) -> Config:
        raw: dict[str, Any] = {
            "database": {"url": database_url},
            "bus": {"url": bus_settings.url, "channel_prefix": bus_settings.channel_prefix},
            "auth": {"session_secret": "test-session-secret"},
            "sources": [{"id": "test-hook", "type": "webhook", "secret": "test-webhook-secret"}],
        }
        raw.update(sections)
        return config_from_mapping(raw)

    return build


@pytest.fixture
def config(make_config: Callable[..., Config]) -> Config:
    return make_config()


@pytest.fixture
def app(config: Config) -> web.Application:
    return create_app(config)


@pytest.fixture
async def client(database_url: str, aiohttp_client: Any, app: web.Application) -> TestClient:
    """The app under a test client; asking for ``database_url`` first keeps the database
    alive until the app has shut down (fixtures tear down in reverse order)."""
    return await aiohttp_client(app)


@pytest.fixture
def source_settings() -> Callable[..., SourceSettings]:
    def build(id: str, type: str, **options: Any) -> SourceSettings:
        return SourceSettings(id=id, type=type, options=options)

    return build

