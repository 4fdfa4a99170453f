"""Login throttling under bursts: counted before the check, per address/username pair, shared, bounded."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from livebot.appkeys import DATABASE
from livebot.auth import passwords, store
from livebot.auth.ratelimit import DatabaseLimiter, MemoryLimiter
from livebot.auth.views import LIMITER
from livebot.chat import signing
from tests.chat.ingest_helpers import SECRET, SOURCE, body_of, event, post_events
from tests.support import PASSWORD, csrf_from, eventually


async def attempt(client: TestClient, csrf: str, username: str, password: str, address: str = "") -> Any:
    headers = {"X-Forwarded-For": address} if address else {}
    return await client.post("/login", data={"username": username, "password": password, "csrf_token": csrf, "next": "/"},
                             headers=headers, allow_redirects=False)


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every Argon2 verification that really runs."""
    calls: list[str] = []
    real = passwords.verify_password

    def counting(password_hash: str, password: str) -> bool:
        calls.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", counting)
    return calls


async def test_concurrent_burst_checks_at_most_the_limit_and_ingest_stays_fast(
        client: TestClient, verifications: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    await store.add_user(client.app[DATABASE], "li", PASSWORD, "advisor")
    csrf = csrf_from(await (await client.get("/login")).text())
    for _ in range(3):  # warm up: the first events load the text models
        assert (await post_events(client, [event()]))[0] == 202
    release, started = threading.Event(), threading.Event()
    counting = passwords.verify_password

    def held(password_hash: str, password: str) -> bool:  # every check waits until the ingest answered
        started.set()
        release.wait(timeout=30)
        return counting(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", held)
    burst = [asyncio.ensure_future(attempt(client, csrf, "li", f"wrong-{i}")) for i in range(40)]
    await eventually(lambda: started.is_set() or None)  # a check is running, and held
    body = body_of([event()])
    async with aiohttp.ClientSession() as relay:  # the relay is another client: no login cookie
        resp = await relay.post(client.make_url(f"/api/v1/ingest/{SOURCE}"), data=body, headers=signing.signed_headers(SECRET, body))
        status, answer = resp.status, await resp.json()
    assert any(not b.done() for b in burst)  # answered while held checks still ran
    release.set()
    statuses = sorted([r.status for r in await asyncio.gather(*burst)])
    assert status == 202 and answer["accepted"] == 1, answer
    assert statuses.count(401) <= 5 and statuses.count(401) + statuses.count(429) == 40
    assert len([p for p in verifications if p.startswith("wrong-")]) <= 5


async def test_unknown_user_pays_for_a_verification(client: TestClient, verifications: list[str]) -> None:
    csrf = csrf_from(await (await client.get("/login")).text())
    assert (await attempt(client, csrf, "nobody-here", "guess-1")).status == 401
    assert verifications == ["guess-1"]


async def test_disabled_user_pays_for_a_verification_and_is_refused(client: TestClient, verifications: list[str]) -> None:
    db = client.app[DATABASE]
    await store.add_user(db, "li", PASSWORD, "advisor")
    await store.set_disabled(db, "li", True)
    csrf = csrf_from(await (await client.get("/login")).text())
    assert (await attempt(client, csrf, "li", PASSWORD)).status == 401
    assert len(verifications) == 1


async def test_retry_after_is_the_remaining_lock(client: TestClient) -> None:
    csrf = csrf_from(await (await client.get("/login")).text())
    first = time.monotonic()
    for _ in range(5):
        await attempt(client, csrf, "li", "bad")
    resp = await attempt(client, csrf, "li", "bad")
    assert resp.status == 429
    window = 300  # the default auth.login_window_seconds
    assert window - (time.monotonic() - first) - 1 <= int(resp.headers["Retry-After"]) <= window


@pytest.fixture
def proxied(make_config: Any) -> Any:
    return make_config(auth={"session_secret": "s", "client_ip_header": "X-Forwarded-For", "trusted_proxies": ["127.0.0.1"]})


async def test_one_address_cannot_lock_the_account_for_others(aiohttp_client: Any, database_url: str, proxied: Any) -> None:
    from livebot.app import create_app

    client = await aiohttp_client(create_app(proxied))
    await store.add_user(client.app[DATABASE], "li", PASSWORD, "advisor")
    csrf = csrf_from(await (await client.get("/login")).text())
    for _ in range(6):
        await attempt(client, csrf, "li", "bad", address="203.0.113.9")
    assert (await attempt(client, csrf, "li", "bad", address="203.0.113.9")).status == 429
    assert (await attempt(client, csrf, "li", PASSWORD, address="198.51.100.7")).status == 302


async def test_forwarded_header_is_ignored_without_a_trusted_proxy(client: TestClient) -> None:
    csrf = csrf_from(await (await client.get("/login")).text())
    for i in range(5):
        await attempt(client, csrf, "li", "bad", address=f"203.0.113.{i}")
    assert (await attempt(client, csrf, "li", "bad", address="203.0.113.200")).status == 429


def test_memory_limiter_stays_bounded() -> None:
    limiter = MemoryLimiter(300, max_keys=100)
    for i in range(30_000):
        limiter.acquire_now({f"user:spray-{i}": 5})
    assert len(limiter) <= 100


async def test_database_limiter_is_shared_between_instances(client: TestClient) -> None:
    db = client.app[DATABASE]
    first, second = DatabaseLimiter(lambda: db, 300), DatabaseLimiter(lambda: db, 300)
    limits = {"pair:198.51.100.1|li": 3}
    waits = [await (first if i % 2 else second).acquire(limits) for i in range(5)]
    assert waits[:3] == [0, 0, 0] and all(w > 290 for w in waits[3:])
    results = await asyncio.gather(*[first.acquire({"pair:x|burst": 5}) for _ in range(20)])
    assert sum(1 for w in results if w == 0) == 5


async def test_app_uses_configured_limiter(client: TestClient) -> None:
    expected = DatabaseLimiter if client.app[DATABASE].backend == "postgresql" else MemoryLimiter
    assert isinstance(client.app[LIMITER], expected)
