"""The leader lock: only the instance holding it runs the scheduler.

With Redis (the bus of a multi-instance setup) the lock is a key set with ``SET NX PX`` and
renewed by its holder; without Redis it is a row in ``schedule_leases`` with an expiry, taken
with one conditional UPDATE (atomic on SQLite and PostgreSQL). A holder that cannot renew in
time stops running jobs; the job-run table's uniqueness is the second line of defence.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Protocol

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from livebot.schedule.clock import Clock
from livebot.schedule.errors import SchedulerError
from livebot.schedule.models import Lease
from livebot.storage.base import rowcount
from livebot.storage.engine import Database

logger = logging.getLogger(__name__)

LOCK_NAME = "scheduler"

RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class LeaderLock(Protocol):
    holder: str

    async def acquire(self) -> bool:
        """Take or renew the lock; True while this holder has it."""

    async def release(self) -> None:
        """Give the lock up (on shutdown) so another instance takes over at once."""

    async def close(self) -> None: ...


class RedisLock:
    def __init__(self, url: str, key: str, holder: str, ttl_seconds: float) -> None:
        import redis.asyncio  # the redis extra: imported only when the bus is Redis
        from redis.exceptions import RedisError

        self.client = redis.asyncio.from_url(url)
        self.errors = (RedisError, OSError)
        self.key = key
        self.holder = holder
        self.ttl_ms = int(ttl_seconds * 1000)

    async def acquire(self) -> bool:
        try:
            if await self.client.eval(RENEW, 1, self.key, self.holder, self.ttl_ms):
                return True
            return bool(await self.client.set(self.key, self.holder, nx=True, px=self.ttl_ms))
        except self.errors as err:
            logger.warning("scheduler lock key=%s holder=%s redis error: %s", self.key, self.holder, err)
            return False

    async def release(self) -> None:
        try:
            await self.client.eval(RELEASE, 1, self.key, self.holder)
        except self.errors as err:
            logger.warning("scheduler lock key=%s holder=%s release failed: %s", self.key, self.holder, err)

    async def close(self) -> None:
        await self.client.aclose()


class DatabaseLock:
    def __init__(self, db: Database, name: str, holder: str, ttl_seconds: float, clock: Clock) -> None:
        self.db = db
        self.name = name
        self.holder = holder
        self.ttl = timedelta(seconds=ttl_seconds)
        self.clock = clock

    async def acquire(self) -> bool:
        now = self.clock()
        try:
            async with self.db.sessions() as s:
                result = await s.execute(
                    update(Lease).where(Lease.name == self.name, or_(Lease.holder == self.holder, Lease.expires_at < now))
                    .values(holder=self.holder, expires_at=now + self.ttl)
                )
                if rowcount(result):
                    await s.commit()
                    return True
                await s.rollback()
            async with self.db.sessions() as s:
                if await s.get(Lease, self.name) is not None:
                    return False
                s.add(Lease(name=self.name, holder=self.holder, expires_at=now + self.ttl))
                await s.commit()
                return True
        except IntegrityError:
            return False
        except Exception as err:  # a database outage must not kill the lease loop
            logger.warning("scheduler lease name=%s holder=%s error: %s", self.name, self.holder, err)
            return False

    async def release(self) -> None:
        try:
            async with self.db.sessions() as s:
                await s.execute(update(Lease).where(Lease.name == self.name, Lease.holder == self.holder)
                                .values(expires_at=self.clock() - timedelta(seconds=1)))
                await s.commit()
        except Exception as err:  # shutting down with the database gone: the lease simply expires
            logger.warning("scheduler lease name=%s holder=%s release failed: %s", self.name, self.holder, err)

    async def close(self) -> None:
        return None


def open_lock(bus_url: str, prefix: str, db: Database, holder: str, ttl_seconds: float, clock: Clock) -> LeaderLock:
    """Redis when the bus is Redis (several instances), else a lease row in the database."""
    if bus_url.startswith(("redis://", "rediss://")):
        return RedisLock(bus_url, f"{prefix}:lock:{LOCK_NAME}", holder, ttl_seconds)
    if not bus_url.startswith("memory://"):
        raise SchedulerError(f"no leader lock for bus {bus_url.split(':', 1)[0]!r}")
    return DatabaseLock(db, LOCK_NAME, holder, ttl_seconds, clock)
