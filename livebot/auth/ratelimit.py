"""Login throttling: fixed windows of attempts per (address, username) and per username.

An attempt is counted *before* the password is checked (and before any await in the memory
limiter), so a burst of parallel requests cannot all pass a check that was read before any of
them failed. A successful login gives its attempt back. The memory limiter is for one
process; the database limiter counts with one atomic upsert per key, so instances share it.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web
from sqlalchemy import delete, text, update

from livebot.auth.models import LoginThrottle
from livebot.config import AuthSettings
from livebot.storage.engine import Database


class LoginLimiter(Protocol):
    window: float

    async def acquire(self, limits: Mapping[str, int]) -> float:
        """Count one attempt on every key; the seconds to wait (0: go ahead) if any key is over its limit."""

    async def succeed(self, keys: Mapping[str, int]) -> None:
        """A correct password: forget the address/username pair, give the username its attempt back."""

    async def purge(self) -> int:
        """Forget expired windows; returns how many."""


def limits_for(settings: AuthSettings, address: str, username: str) -> dict[str, int]:
    """Keys hold a digest of the name: any text the form sends (NUL, 64 emoji) makes a short, storable key."""
    name = hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return {f"pair:{address[:64]}|{name}": settings.login_attempts, f"user:{name}": settings.login_user_attempts}


@dataclass
class Window:
    start: float
    hits: int


class MemoryLimiter:
    """One process's windows in an ordered dict bounded to ``max_keys`` (oldest windows dropped first)."""

    def __init__(self, window: float, max_keys: int = 20_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self.max_keys = max_keys
        self.clock = clock
        self.windows: OrderedDict[str, Window] = OrderedDict()

    def __len__(self) -> int:
        return len(self.windows)

    def hit(self, key: str, now: float) -> Window:
        current = self.windows.get(key)
        if current is None or now - current.start >= self.window:
            self.windows.pop(key, None)
            while len(self.windows) >= self.max_keys:
                self.windows.popitem(last=False)
            current = self.windows[key] = Window(now, 0)
        current.hits += 1
        return current

    def acquire_now(self, limits: Mapping[str, int]) -> float:
        now = self.clock()
        wait = 0.0
        for key, limit in limits.items():
            current = self.hit(key, now)
            if current.hits > limit:
                wait = max(wait, current.start + self.window - now)
        return wait

    async def acquire(self, limits: Mapping[str, int]) -> float:
        return self.acquire_now(limits)

    async def succeed(self, keys: Mapping[str, int]) -> None:
        for key in keys:
            if key.startswith("pair:"):
                self.windows.pop(key, None)
            elif key in self.windows:
                self.windows[key].hits = max(0, self.windows[key].hits - 1)

    async def purge(self) -> int:
        now = self.clock()
        expired = [k for k, w in self.windows.items() if now - w.start >= self.window]
        for key in expired:
            del self.windows[key]
        return len(expired)


UPSERT = text(
    "INSERT INTO login_throttle (bucket, window_start, hits) VALUES (:bucket, :now, 1) "
    "ON CONFLICT (bucket) DO UPDATE SET "
    "window_start = CASE WHEN login_throttle.window_start <= :cutoff THEN :now ELSE login_throttle.window_start END, "
    "hits = CASE WHEN login_throttle.window_start <= :cutoff THEN 1 ELSE login_throttle.hits + 1 END "
    "RETURNING window_start, hits"
)


class DatabaseLimiter:
    """Windows in the ``login_throttle`` table: every instance on the database shares them, and a restart keeps them."""

    def __init__(self, db: Callable[[], Database], window: float, clock: Callable[[], float] = time.time,
                 max_keys: int = 20_000) -> None:
        self.db = db
        self.window = window
        self.clock = clock
        self.local = MemoryLimiter(window, max_keys)
        """This process's own count, checked first without an await: it never exceeds the shared
        count, so when it refuses, the database would too, and a burst never queues on row locks."""

    async def acquire(self, limits: Mapping[str, int]) -> float:
        local_wait = self.local.acquire_now(limits)
        if local_wait > 0:
            return local_wait
        now = self.clock()
        wait = 0.0
        async with self.db().sessions() as session:
            for key, limit in limits.items():
                row = (await session.execute(UPSERT, {"bucket": key, "now": now, "cutoff": now - self.window})).one()
                if row.hits > limit:
                    wait = max(wait, row.window_start + self.window - now)
            await session.commit()
        return wait

    async def succeed(self, keys: Mapping[str, int]) -> None:
        await self.local.succeed(keys)
        async with self.db().sessions() as session:
            for key in keys:
                if key.startswith("pair:"):
                    await session.execute(delete(LoginThrottle).where(LoginThrottle.bucket == key))
                else:
                    await session.execute(update(LoginThrottle).where(LoginThrottle.bucket == key, LoginThrottle.hits > 0)
                                          .values(hits=LoginThrottle.hits - 1))
            await session.commit()

    async def purge(self) -> int:
        await self.local.purge()
        async with self.db().sessions() as session:
            result = await session.execute(delete(LoginThrottle).where(LoginThrottle.window_start <= self.clock() - self.window))
            await session.commit()
        return int(getattr(result, "rowcount", 0) or 0)


def open_limiter(settings: AuthSettings, database_url: str, db: Callable[[], Database]) -> LoginLimiter:
    """The limiter ``auth.login_limiter`` asks for; ``auto`` shares it through PostgreSQL, else keeps it in memory."""
    kind = settings.login_limiter
    if kind == "auto":
        kind = "database" if database_url.startswith("postgres") else "memory"
    if kind == "database":
        return DatabaseLimiter(db, settings.login_window_seconds, max_keys=settings.login_tracked_keys)
    return MemoryLimiter(settings.login_window_seconds, settings.login_tracked_keys)


def client_address(request: web.Request, settings: AuthSettings) -> str:
    """The caller's address: ``client_ip_header`` only when the connection comes from a trusted proxy
    (the right-most entry, the one that proxy added), else the socket's peer."""
    peer = request.remote or ""
    if settings.client_ip_header and peer in settings.trusted_proxies:
        value = request.headers.get(settings.client_ip_header, "")
        entries = [part.strip() for part in value.split(",") if part.strip()]
        if entries:
            return entries[-1][:64]
    return peer
