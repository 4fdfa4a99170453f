"""Fixtures of the engagement tests (helpers live in tests/engagement/support.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiohttp import web

from livebot.app import create_app
from livebot.config import Config
from tests.engagement.support import QUESTION_ANSWERS, SERIAL, T0, TRANSCRIPT, Show, add_ask, answer_card, at, ev, insert_events, make_show, store_transcript  # noqa: F401


@pytest.fixture
def app(make_config: Callable[..., Config]) -> web.Application:
    """No scheduler (tests drive the timeline), and live figures flushed only when a test asks."""
    return create_app(make_config(schedule={"scheduler_enabled": False}, engagement={"flush_seconds": 300}))

