"""Fixtures of the schedule tests (helpers live in tests/schedule/support.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from livebot.app import create_app
from livebot.config import Config
from tests.schedule.support import SITES, Api, iso  # noqa: F401
from tests.support import bearer


@pytest.fixture
def app(make_config: Callable[..., Config]) -> web.Application:
    """The app without a running scheduler (tests that need one build their own)."""
    return create_app(make_config(schedule={"scheduler_enabled": False}))


@pytest.fixture
async def producer(client: TestClient) -> dict[str, str]:
    return await bearer(client, "producer")


@pytest.fixture
def api(client: TestClient, producer: dict[str, str]) -> Api:
    return Api(client, producer)


@pytest.fixture
def future() -> Callable[[float], datetime]:
    def at(minutes: float) -> datetime:
        return datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=minutes)

    return at

