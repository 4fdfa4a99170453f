"""APScheduler 3's AsyncIOScheduler, with its blocking job-store work moved off the event loop.

The SQLAlchemy job store is synchronous. Run on the loop thread it would stall every request
while it talks to the database, and on SQLite it can deadlock against livebot's own async
writer (the writer's open transaction waits for the blocked loop to commit, the job store waits
for the writer's lock) until the busy timeout fires. So job processing runs in a worker thread,
and callers add, remove and list jobs through :meth:`call`, which does the same.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler, run_in_event_loop
from apscheduler.schedulers.base import BaseScheduler

logger = logging.getLogger(__name__)

T = TypeVar("T")


class ThreadedStoreScheduler(AsyncIOScheduler):
    """Same timers and events as AsyncIOScheduler; ``_process_jobs`` runs in a thread, one at a time."""

    _processing = False
    _again = False
    _eventloop: asyncio.AbstractEventLoop | None

    @run_in_event_loop
    def wakeup(self) -> None:
        self._stop_timer()
        if self._processing:
            self._again = True
            return
        loop = self._eventloop
        if loop is None:  # shut down between the call and the loop running it
            return
        self._processing = True
        future = loop.run_in_executor(None, self._process_jobs)
        future.add_done_callback(self._processed)

    def _processed(self, future: asyncio.Future[float | None]) -> None:
        self._processing = False
        if future.cancelled() or self._eventloop is None:
            return
        error = future.exception()
        wait_seconds = 1.0 if error is not None else future.result()
        if error is not None:
            logger.error("scheduler job processing failed: %s", error)
        if self._again:
            self._again = False
            self.wakeup()
            return
        self._start_timer(wait_seconds)

    def shutdown(self, wait: bool = True) -> None:
        """Stop at once (not on the next loop turn), so the job store's engine is disposed now."""
        BaseScheduler.shutdown(self, wait)
        self._stop_timer()
        self._eventloop = None

    async def call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a job-store touching method (add_job, remove_job, get_jobs ...) in a worker thread."""
        return await asyncio.to_thread(func, *args, **kwargs)
