"""SQLite's busy write transactions, each run start to end in one thread on one connection.

SQLite takes one writer at a time. Under live chat four tasks write several times a second:
the ingest writer, the FAQ stage, the console intake and the live figures. Through the async
driver each statement of a transaction is a round trip between the event loop and the
driver's thread, so a transaction of six statements held the file's write lock across six
turns of a busy loop (p99 over 100 ms), and a writer that found the file locked slept in
SQLite's busy handler in steps of up to 100 ms, however soon the lock was free again.

The funnel runs such a transaction as one plain function on a synchronous SQLAlchemy
connection, in a single thread owned by the :class:`~livebot.storage.engine.Database`: the
loop hands it over once and gets the result once, the transactions queue in that thread's
order instead of sleeping against each other, and their Python work (binding thousands of
rows, ORM bookkeeping) happens off the event loop. Readers keep using the async engine; in WAL
mode they never wait for the writer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

T = TypeVar("T")


class SqliteFunnel:
    """One thread, one connection: the busy writers' transactions, in arrival order."""

    def __init__(self, url: str, pragmas: Callable[[Any, Any], None], json_serializer: Callable[[Any], str],
                 json_deserializer: Callable[[str], Any]) -> None:
        self.engine: Engine = create_engine(
            url, pool_size=1, max_overflow=0, json_serializer=json_serializer, json_deserializer=json_deserializer,
            connect_args={"check_same_thread": False},
        )
        event.listen(self.engine, "connect", pragmas)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self.transactions = 0

    async def run(self, work: Callable[[Connection], T]) -> T:
        """``work(connection)`` inside one transaction, committed when it returns (rolled back if it raises)."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, self._in_transaction, work)

    async def run_session(self, work: Callable[[Session], T]) -> T:
        """``work(session)`` with an ORM session; committed when it returns unless it rolled back itself."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, self._in_session, work)

    def _in_transaction(self, work: Callable[[Connection], T]) -> T:
        with self.engine.begin() as conn:
            result = work(conn)
        self.transactions += 1
        return result

    def _in_session(self, work: Callable[[Session], T]) -> T:
        with Session(self.engine, expire_on_commit=False) as session:
            result = work(session)
            session.commit()
        self.transactions += 1
        return result

    def close(self) -> None:
        """Finish what is queued, then close the connection and the thread."""
        self.executor.shutdown(wait=True)
        self.engine.dispose()
