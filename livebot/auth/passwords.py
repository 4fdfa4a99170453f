"""Password hashing with Argon2id (argon2-cffi); the slow work runs off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache, partial
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

T = TypeVar("T")
_hasher = PasswordHasher()
_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="argon2")
"""One hashing at a time: Argon2 already uses several lanes, so a login burst queues here
instead of starving the event loop's thread of CPU."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; never raises for a wrong or corrupt hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def dummy_hash() -> str:
    """A hash no password matches, verified for unknown users so they take as long as known ones."""
    return _hasher.hash("livebot-no-such-user")


async def in_worker(fn: Callable[..., T], *args: str) -> T:
    return await asyncio.get_running_loop().run_in_executor(_worker, partial(fn, *args))


async def verify_in_thread(password_hash: str | None, password: str) -> bool:
    """:func:`verify_password` in the hashing thread (~0.1-1 s of CPU that must not stall the loop);
    ``None`` (no such user) still pays for one verification and is never true."""
    if password_hash is None:
        await in_worker(verify_password, await in_worker(dummy_hash), password)
        return False
    return await in_worker(verify_password, password_hash, password)


async def hash_in_thread(password: str) -> str:
    return await in_worker(hash_password, password)
