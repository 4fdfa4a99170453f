"""Helpers every area's tests share (imported from here, not from conftest): waiting for an
async effect or a server process, logging in, API tokens, the CSRF token of a page, a changed config."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import psycopg
from aiohttp.test_utils import TestClient
from sqlalchemy.engine import make_url

from livebot.appkeys import DATABASE
from livebot.auth import store
from livebot.config import Config

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
PASSWORD = "correct horse battery"

T = TypeVar("T")


async def eventually(check: Callable[[], T | Awaitable[T]], timeout: float = 5.0, interval: float = 0.02) -> T:
    """Call ``check`` (plain or async) until it returns something truthy, and return that.

    For effects that land on another task's clock (bus deliveries through Redis, batched
    writers, schedulers); fails with an AssertionError naming ``check`` after ``timeout`` seconds.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if loop.time() > deadline:
            raise AssertionError(f"{getattr(check, '__qualname__', check)} still false after {timeout}s")
        await asyncio.sleep(interval)


async def login(client: TestClient, role: str, username: str | None = None) -> str:
    """Create a user with ``role`` and log the client in; returns the CSRF token for later posts."""
    username = username or f"{role}-{uuid.uuid4().hex[:6]}"
    await store.add_user(client.app[DATABASE], username, PASSWORD, role)
    page = await client.get("/login")
    csrf = csrf_from(await page.text())
    resp = await client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf, "next": "/"},
                             allow_redirects=False)
    assert resp.status == 302, await resp.text()
    page = await client.get("/login")
    return csrf_from(await page.text())


def csrf_from(html: str) -> str:
    marker = 'name="csrf-token" content="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


async def bearer(client: TestClient, role: str) -> dict[str, str]:
    """Authorization header for a new API token with ``role``."""
    token = await store.create_token(client.app[DATABASE], role, "test")
    return {"Authorization": f"Bearer {token}"}


def replace_config(config: Config, **changes: Any) -> Config:
    """``config`` with some sections replaced (a frozen dataclass)."""
    return dataclasses.replace(config, **changes)


PG_ENV = "LIVEBOT_TEST_DATABASE_URL"
"""Names a PostgreSQL server (database ``test`` in CI): the suite's second pass runs on it."""
BUS_ENV = "LIVEBOT_TEST_BUS_URL"
"""Names a Redis server: the suite's second pass runs its bus there."""


def pg_admin_url() -> str | None:
    """The PostgreSQL server the tests make their databases on, or None for SQLite."""
    url = os.environ.get(PG_ENV, "")
    return url if url.startswith("postgres") else None


def pg_connect(url: str) -> psycopg.Connection[Any]:
    """An autocommit connection for CREATE/DROP DATABASE."""
    u = make_url(url)
    return psycopg.connect(host=u.host or "127.0.0.1", port=u.port or 5432, user=u.username or "postgres",
                           password=u.password or None, dbname=u.database or "postgres", autocommit=True)


def pg_url_for(admin_url: str, name: str) -> str:
    """``admin_url`` pointing at database ``name``."""
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path | None = None, limit: float = 60) -> float:
    """Seconds until ``base``/healthz answers 200; fails (with the tail of ``log``, if given) when the server
    process exits first or is not healthy within ``limit`` seconds."""
    start = time.monotonic()

    async def healthy(http: aiohttp.ClientSession) -> bool:
        if proc.poll() is not None:
            tail = (await asyncio.to_thread(log.read_bytes))[-2000:].decode(errors="replace") if log else ""
            raise AssertionError(f"server exited early with {proc.returncode}\n{tail}")
        try:
            async with http.get(f"{base}/healthz") as resp:
                return resp.status == 200
        except aiohttp.ClientError:
            return False

    async with aiohttp.ClientSession() as http:
        await eventually(lambda: healthy(http), timeout=limit, interval=0.1)
    return time.monotonic() - start


async def log_in(base: str, username: str, password: str) -> aiohttp.ClientSession:
    """A client session logged in to the server at ``base`` (a real process, not a TestClient)."""
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(f"{base}/login") as resp:
        csrf = csrf_from(await resp.text())
    async with http.post(f"{base}/login", data={"username": username, "password": password, "csrf_token": csrf,
                                                "next": "/"}, allow_redirects=False) as resp:
        assert resp.status == 302, await resp.text()
    return http
