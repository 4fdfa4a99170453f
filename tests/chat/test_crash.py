"""Crash safety: SIGKILL a real ``livebot serve`` mid-load; every 202 survives, nothing is doubled.

A real server process on the test database takes signed webhook load from several concurrent
clients. It is killed with SIGKILL while requests are in flight, restarted on the same
database, and every batch is sent again (acknowledged ones must now be pure duplicates).
``livebot export events`` then has to list every acknowledged id exactly once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

import aiohttp
import orjson
import pytest

from livebot.chat import signing
from tests.support import REPO, eventually, free_port, wait_healthy

SECRET = "crash-secret"
SOURCE = "crash-hook"
BATCH = 50
WORKERS = 6

pytestmark = pytest.mark.slow


def write_config(tmp_path: Path, database_url: str, port: int) -> Path:
    path = tmp_path / "crash.toml"
    path.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\nshutdown_timeout = 2\n'
        f'[database]\nurl = "{database_url}"\n[auth]\nsession_secret = "crash"\n'
        f'[[sources]]\nid = "{SOURCE}"\ntype = "webhook"\nsecret = "{SECRET}"\n',
        encoding="utf-8",
    )
    return path


def start_server(config: Path, log: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "livebot", "--log-level", "WARNING", "serve", "--config", str(config)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def batch(worker: int, number: int) -> list[dict[str, object]]:
    return [
        {"id": f"w{worker}-b{number}-e{i}", "platform": "douyin", "channel": "room-7731", "kind": "comment",
         "ts": "2026-11-24T20:01:02+08:00", "user": {"id": f"u{worker}", "name": "小雨妈妈"},
         "text": f"奶源是哪里的？第{number}批第{i}条 <b>'; DROP TABLE chat_events;--"}
        for i in range(BATCH)
    ]


async def post(http: aiohttp.ClientSession, url: str, events: list[dict[str, object]]) -> dict[str, int] | None:
    """The 202 answer, or None when the request failed (the server died under it)."""
    body = orjson.dumps({"events": events})
    try:
        async with http.post(f"{url}/api/v1/ingest/{SOURCE}", data=body,
                             headers=signing.signed_headers(SECRET, body)) as resp:
            if resp.status != 202:
                return None
            answer: dict[str, int] = await resp.json()
            return answer
    except (TimeoutError, aiohttp.ClientError):
        return None


async def load_until_killed(url: str, proc: subprocess.Popen[bytes]) -> tuple[set[str], list[list[dict[str, object]]]]:
    """Drive load, SIGKILL the server once enough is acknowledged; returns acked ids and every batch sent."""
    acked: set[str] = set()
    sent: list[list[dict[str, object]]] = []
    killed = asyncio.Event()

    async def worker(index: int, http: aiohttp.ClientSession) -> None:
        number = 0
        while not killed.is_set():
            events = batch(index, number)
            number += 1
            sent.append(events)
            answer = await post(http, url, events)
            if answer is not None:
                assert answer == {"accepted": BATCH, "duplicates": 0}
                acked.update(str(e["id"]) for e in events)

    async def killer() -> None:
        await eventually(lambda: len(acked) >= 1500, timeout=20, interval=0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed.set()

    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        async with asyncio.timeout(20):
            await asyncio.gather(killer(), *(worker(i, http) for i in range(WORKERS)))
    return acked, sent


def export_ids(config: Path) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "livebot", "--log-level", "WARNING", "export", "events", "--config", str(config),
         "--source", SOURCE, "--format", "jsonl"],
        cwd=REPO, capture_output=True, check=True, timeout=30,
    )
    return [orjson.loads(line)["id"] for line in result.stdout.splitlines()]


async def test_sigkill_mid_load_loses_no_acknowledged_event(tmp_path: Path, database_url: str) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = write_config(tmp_path, database_url, port)
    log = tmp_path / "server.log"
    log_file = open(log, "ab")  # noqa: ASYNC230 - shared by both server processes, closed below
    server = start_server(config, log_file)
    try:
        await wait_healthy(url, server, log)
        acked, sent = await load_until_killed(url, server)
        assert server.returncode == -signal.SIGKILL
        assert len(acked) >= 1500

        server = start_server(config, log_file)
        await wait_healthy(url, server, log)
        async with aiohttp.ClientSession() as http:
            answers = await asyncio.gather(*(post(http, url, events) for events in sent))
        for events, answer in zip(sent, answers, strict=True):
            assert answer is not None
            assert answer["accepted"] + answer["duplicates"] == BATCH
            if str(events[0]["id"]) in acked:
                assert answer == {"accepted": 0, "duplicates": BATCH}, "an acknowledged batch was not fully stored"
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        log_file.close()
    exported = await asyncio.to_thread(export_ids, config)
    assert len(exported) == len(set(exported)), "an event was stored twice"
    assert acked <= set(exported), f"{len(acked - set(exported))} acknowledged events are missing"
    assert set(exported) == {str(e["id"]) for events in sent for e in events}
