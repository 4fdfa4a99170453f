"""People for compliance tests: advisors (one of them senior) logged in against any test client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.console.support import Advisor, advisor


@pytest.fixture
async def people() -> AsyncIterator[Callable[..., Awaitable[Advisor]]]:
    """``await people(client, "li", "李营养师")`` logs a new person in; sessions close at teardown."""
    made: list[Advisor] = []

    async def make(client: Any, username: str, display: str, role: str = "advisor") -> Advisor:
        made.append(await advisor(client, username, display, role))
        return made[-1]

    yield make
    for person in made:
        await person.http.close()
