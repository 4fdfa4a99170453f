"""Helpers every area's tests share (imported from here, not from conftest): waiting for an
async effect, logging in, API tokens, the CSRF token of a page, a changed config."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from aiohttp.test_utils import TestClient

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
