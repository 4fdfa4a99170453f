"""Fixtures that build real apps on real databases and buses.

Every test gets a fresh, migrated database: SQLite by default (a copy of a template file
migrated once per run), or PostgreSQL when ``LIVEBOT_TEST_DATABASE_URL`` names a server
(a ``CREATE DATABASE ... TEMPLATE`` copy of a database migrated once per run, made ahead of
need on a thread so the copy's ~0.4 s of server time overlaps the test before). The bus is
in-process, or Redis when ``LIVEBOT_TEST_BUS_URL`` is set, with a channel prefix per test.
"""

from __future__ import annotations

import os
import queue
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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
    """PostgreSQL copies of the template, made and dropped on one thread while tests run.

    ``take`` hands out a database copied ahead of time (waiting only when none is ready yet) and
    orders the next copy; ``give_back`` queues the used one for dropping. The thread's jobs run in
    order on one autocommit connection, so at most ``ahead`` spare copies exist at a time.
    """

    def __init__(self, admin: str, template: str, ahead: int = 3) -> None:
        self.admin, self.template = admin, template
        self._jobs: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._ready: queue.Queue[str | BaseException] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="test-database-pool", daemon=True)
        self._thread.start()
        for _ in range(ahead):
            self._jobs.put(("create", f"livebot_t_{uuid.uuid4().hex[:12]}"))

    def _work(self) -> None:
        with pg_connect(self.admin) as conn:
            while (job := self._jobs.get()) is not None:
                verb, name = job
                try:
                    if verb == "create":
                        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
                        self._ready.put(name)
                    else:
                        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                except BaseException as exc:  # the waiting test reports it, not a silent thread
                    if verb == "create":
                        self._ready.put(exc)

    def take(self) -> str:
        got = self._ready.get(timeout=120)
        if isinstance(got, BaseException):
            raise got
        self._jobs.put(("create", f"livebot_t_{uuid.uuid4().hex[:12]}"))
        return got

    def give_back(self, name: str) -> None:
        self._jobs.put(("drop", name))

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=120)
        with pg_connect(self.admin) as conn:
            while not self._ready.empty():
                got = self._ready.get()
                if isinstance(got, str):
                    conn.execute(f'DROP DATABASE IF EXISTS "{got}" WITH (FORCE)')


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

