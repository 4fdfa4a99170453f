"""Stopping background tasks at shutdown: a task that already failed does not stop the rest."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from livebot.background import stop_tasks


async def test_failed_tasks_are_logged_and_the_others_cancelled(caplog: pytest.LogCaptureFixture) -> None:
    async def boom() -> None:  # as a driver may, caught mid-connect to a database dropped meanwhile
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise ValueError("database \"livebot\" does not exist") from None

    async def forever() -> None:
        await asyncio.sleep(3600)

    failed = asyncio.create_task(boom(), name="boom")
    running = asyncio.create_task(forever(), name="forever")
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR, logger="livebot.background"):
        await stop_tasks([failed, running])
    assert running.cancelled() and failed.done()
    assert [r.getMessage() for r in caplog.records] == ["background task=boom had failed"]


async def test_stopping_nothing_and_finished_tasks_is_quiet(caplog: pytest.LogCaptureFixture) -> None:
    async def done() -> int:
        return 1

    finished: Any = asyncio.create_task(done())
    await finished
    await stop_tasks([])
    await stop_tasks([finished])
    assert caplog.records == []


async def test_a_task_set_forgets_finished_tasks_logs_failures_and_stops_the_rest(caplog: pytest.LogCaptureFixture) -> None:
    from livebot.background import TaskSet

    tasks = TaskSet("area")

    async def fail() -> None:
        raise RuntimeError("boom")

    running = tasks.spawn(asyncio.sleep(3600), "sleeper")
    failed = tasks.spawn(fail(), "failing")
    done = tasks.spawn(asyncio.sleep(0), "quick")
    assert {t.get_name() for t in tasks} == {"area:sleeper", "area:failing", "area:quick"}
    with caplog.at_level(logging.ERROR, logger="livebot.background"):
        await asyncio.wait([failed, done])
        await asyncio.sleep(0)  # done-callbacks run on the next loop turn
    assert list(tasks) == [running] and len(tasks) == 1
    assert "area:failing" in caplog.text
    await tasks.stop()
    assert running.cancelled() and len(tasks) == 0
    await tasks.drained()  # nothing left: returns at once
