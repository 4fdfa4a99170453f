"""Stopping an area's background tasks when the app shuts down."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

logger = logging.getLogger(__name__)


async def stop_tasks(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait for all of them. One that had already failed is logged, not
    raised, so the shutdown goes on to write what is still pending."""
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    for task, outcome in zip(tasks, await asyncio.gather(*tasks, return_exceptions=True), strict=True):
        if isinstance(outcome, Exception):
            logger.error("background task=%s had failed", task.get_name(), exc_info=outcome)
