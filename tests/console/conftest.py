"""Fixtures of the console tests (helpers live in tests/console/support.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.console.support import ALLERGY, MILK, PROTEIN, SERIAL, STAGE, Advisor, advisor, ask, cards_of, enriched, make_session, store_event, wait_for_asks  # noqa: F401


@pytest.fixture
async def advisors(client: Any) -> AsyncIterator[Callable[..., Awaitable[Advisor]]]:
    """``await advisors("li", "李营养师")`` logs a new person in; sessions close at teardown."""
    made: list[Advisor] = []

    async def make(username: str, display: str, role: str = "advisor") -> Advisor:
        made.append(await advisor(client, username, display, role))
        return made[-1]

    yield make
    for person in made:
        await person.http.close()

