"""Fixtures of the overlays tests (helpers live in tests/overlays/support.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from livebot.overlays import feeds
from livebot.storage.engine import Database
from tests.overlays.support import SUMMARY, TELEMETRY, make_session, new_token  # noqa: F401


@pytest.fixture
def fake_trace(monkeypatch: pytest.MonkeyPatch) -> Callable[..., dict[str, dict[str, Any]]]:
    """Serve batch summaries and telemetry from dicts the test controls (trace is another area)."""
    batches: dict[str, dict[str, Any]] = {}
    readings: list[dict[str, Any]] = []

    async def batch_summary(facts: Any, db: Database, lot: str) -> dict[str, Any] | None:
        return batches.get(lot)

    async def telemetry_snapshot(facts: Any, db: Database, plant: str | None) -> list[dict[str, Any]]:
        return list(readings)

    monkeypatch.setattr(feeds, "batch_summary", batch_summary)
    monkeypatch.setattr(feeds, "telemetry_snapshot", telemetry_snapshot)

    def install(with_telemetry: bool = True, **lots: dict[str, Any]) -> dict[str, dict[str, Any]]:
        batches.update(lots or {SUMMARY["lot"]: dict(SUMMARY)})
        if with_telemetry:
            readings[:] = [dict(r) for r in TELEMETRY]
        return batches

    return install

