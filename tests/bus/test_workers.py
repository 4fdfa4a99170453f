"""`livebot worker` processes on PostgreSQL + Redis: a worker SIGKILLed mid-load loses nothing and
doubles nothing — every stored comment is enriched, queued and counted exactly once.

Needs a PostgreSQL and a Redis server: those of LIVEBOT_TEST_DATABASE_URL / LIVEBOT_TEST_BUS_URL,
else the local ones (127.0.0.1), as the Redis bus tests use. The test makes its own database and
stream prefix and removes both.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
from sqlalchemy import func, select

from livebot.app import create_app
from livebot.appkeys import DATABASE
from livebot.bus.streams import group_backlog, stream_key
from livebot.chat.keys import INGEST
from livebot.chat.models import StoredEvent
from livebot.config import load_config
from livebot.console.models import QuestionAsk
from livebot.engagement.store import minute_rows
from livebot.schedule.models import Channel
from livebot.storage import migrate
from tests.chat.ingest_helpers import event, post_events
from tests.engagement.support import make_show
from tests.support import BUS_ENV, PG_ENV, REPO, eventually, pg_connect, pg_url_for

LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379/0"
GROUPS = (("chat.stored", "faq.enrich"), ("chat.stored", "engagement-stored"),
          ("chat.enriched", "console-intake"), ("chat.enriched", "engagement-enriched"))
BATCHES, PER_BATCH, KILL_AFTER = 24, 50, 8
QUESTIONS = ("奶源是哪里的？", "冲泡水温多少度合适？", "一段适合几个月的宝宝？", "这批奶粉的检测报告在哪看？")
CHATTER = ("主播好美", "工厂好干净", "已下单", "支持国货")


@pytest.fixture
def pg_url() -> Any:
    admin = os.environ.get(PG_ENV, "") or LOCAL_PG
    name = f"livebot_w_{uuid.uuid4().hex[:10]}"
    with pg_connect(admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = pg_url_for(admin, name)
    migrate.upgrade_sync(url)
    yield url
    with pg_connect(admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    prefix = f"lbtest-w-{uuid.uuid4().hex[:8]}"
    yield prefix
    client = aioredis.from_url(os.environ.get(BUS_ENV, "") or LOCAL_REDIS)
    keys = [key async for key in client.scan_iter(f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def write_config(path: Path, pg_url: str, bus_url: str, prefix: str) -> Path:
    path.write_text(f"""
[server]
workers = 0

[database]
url = "{pg_url}"

[bus]
url = "{bus_url}"
channel_prefix = "{prefix}"
claim_idle_ms = 1000

[auth]
session_secret = "test-session-secret"

[engagement]
flush_seconds = 0.5

[[sources]]
id = "test-hook"
type = "webhook"
secret = "test-webhook-secret"
""", encoding="utf-8")
    return path


async def start_worker(config: Path) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "livebot", "--log-level", "WARNING", "worker",
                                                "--config", str(config), env=env)


async def consumers(client: aioredis.Redis, stream: str, group: str) -> int:
    try:
        return len(await client.xinfo_consumers(stream, group))
    except aioredis.ResponseError:
        return 0


async def pending_of(client: aioredis.Redis, prefix: str, pid: int) -> int:
    """Entries the worker with ``pid`` has taken and not yet acknowledged, over every group."""
    held = 0
    for topic, group in GROUPS:
        summary = await client.xpending(stream_key(prefix, topic), group)
        for consumer in summary.get("consumers") or []:
            if f"-{pid}-" in consumer["name"].decode():
                held += int(consumer["pending"])
    return held


async def test_a_killed_worker_loses_and_doubles_nothing(pg_url: str, redis_prefix: str, tmp_path: Path,
                                                         aiohttp_client: Any) -> None:
    bus_url = os.environ.get(BUS_ENV, "") or LOCAL_REDIS
    path = write_config(tmp_path / "livebot.toml", pg_url, bus_url, redis_prefix)
    config = load_config(str(path))
    redis = aioredis.from_url(bus_url)
    workers = [await start_worker(path), await start_worker(path)]
    try:
        client = await aiohttp_client(create_app(config, role="web"))  # ingest only: the groups are the workers'
        app, db = client.app, client.app[DATABASE]
        now = datetime.now(UTC).replace(microsecond=0)
        show = await make_show(db, status="live", start=now - timedelta(minutes=5))
        async with db.sessions() as s:
            s.add(Channel(session_id=show.session_id, source_id="test-hook", channel="room-7731", platform="douyin"))
            await s.commit()
        app[INGEST].router.invalidate()

        async def both_ready() -> bool:
            counts = [await consumers(redis, stream_key(redis_prefix, topic), group) for topic, group in GROUPS]
            return min(counts) >= 2

        await eventually(both_ready, timeout=90, interval=0.2)  # each loads jieba and the FAQ index first
        ts = (now - timedelta(seconds=now.second + 30)).isoformat()  # every event in one closed minute
        serial = 0
        killed_holding = 0
        for batch in range(BATCHES):
            events = []
            for _ in range(PER_BATCH):
                serial += 1
                text = (QUESTIONS if serial % 5 == 0 else CHATTER)[serial % 4]
                events.append(event(id=f"w-{serial}", ts=ts, user={"id": f"v{serial}", "name": f"观众{serial}"},
                                    text=f"{text} {serial}"))
            status, answer = await post_events(client, events)
            assert (status, answer["accepted"]) == (202, PER_BATCH)
            if batch >= KILL_AFTER and workers[0].returncode is None:
                killed_holding = await pending_of(redis, redis_prefix, workers[0].pid)
                if killed_holding:  # mid-load: it has messages in hand, handled or not, unacknowledged
                    workers[0].send_signal(signal.SIGKILL)
                    await workers[0].wait()
            await asyncio.sleep(0.05)

        async def settled() -> bool:
            async with db.sessions() as s:
                comments = await s.scalar(select(func.count()).select_from(StoredEvent).where(StoredEvent.kind == "comment"))
                unenriched = await s.scalar(select(func.count()).select_from(StoredEvent).where(
                    StoredEvent.kind == "comment", StoredEvent.is_question.is_(None)))
                questions = await s.scalar(select(func.count()).select_from(StoredEvent).where(
                    StoredEvent.is_question.is_(True), StoredEvent.hidden.is_(False)))
                asks = await s.scalar(select(func.count()).select_from(QuestionAsk))
            counted = sum(r["comments"] for r in await minute_rows(db, show.session_id, with_keys=False))
            return comments == BATCHES * PER_BATCH and unenriched == 0 and asks == questions and counted == comments

        assert killed_holding, "the first worker never held unacknowledged messages to kill it with"
        await eventually(settled, timeout=120, interval=0.5)
        async with db.sessions() as s:
            asked = list((await s.scalars(select(QuestionAsk.event_id))).all())
            questions = await s.scalar(select(func.count()).select_from(StoredEvent).where(StoredEvent.is_question.is_(True)))
        assert len(asked) == len(set(asked)) and questions and len(asked) >= questions * 0.9  # hidden ones are not asked
        # Enriched once: no comment went out on chat.enriched twice, though some chat.stored did reach two workers.
        published: Counter[int] = Counter()
        for _, fields in await redis.xrange(stream_key(redis_prefix, "chat.enriched")):
            payload = orjson.loads(fields[b"d"])
            for message in payload if isinstance(payload, list) else [payload]:
                published[message["pk"]] += 1
        assert published and max(published.values()) == 1
        # Counted once: the live minute row holds every comment (recomputed from the rows, never added twice).
        rows = await minute_rows(db, show.session_id, with_keys=False)
        assert sum(r["comments"] for r in rows) == BATCHES * PER_BATCH
        # The killed worker's messages were taken over: nothing is left pending in any group.
        for topic, group in GROUPS:
            assert await group_backlog(redis, stream_key(redis_prefix, topic), group) == 0
        assert await pending_of(redis, redis_prefix, workers[0].pid) == 0
        assert workers[1].returncode is None  # the survivor did the rest
        await client.close()
    finally:
        for proc in workers:
            if proc.returncode is None:
                proc.terminate()
        for proc in workers:
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        await redis.aclose()


def test_worker_count_follows_the_deployment() -> None:
    from livebot.cli.worker import worker_count
    from livebot.config import config_from_mapping
    from livebot.errors import ConfigError

    pg, redis_url = "postgresql://postgres@127.0.0.1:5432/x", "redis://127.0.0.1:6379/0"
    shared = config_from_mapping({"database": {"url": pg}, "bus": {"url": redis_url}})
    assert worker_count(shared) == max(1, (os.cpu_count() or 1) - 1)  # default: one per core beyond the web process's
    assert worker_count(config_from_mapping({"database": {"url": pg}, "bus": {"url": redis_url},
                                             "server": {"workers": 3}})) == 3
    assert worker_count(config_from_mapping({})) == 0  # SQLite + in-process bus: one process
    with pytest.raises(ConfigError, match="server.workers"):
        worker_count(config_from_mapping({"server": {"workers": 2}}))
    with pytest.raises(ConfigError, match="server.workers"):
        config_from_mapping({"server": {"workers": -2}})
    with pytest.raises(ConfigError, match="bus.claim_idle_ms"):
        config_from_mapping({"bus": {"claim_idle_ms": 0}})
    assert worker_count(config_from_mapping({"database": {"url": pg}, "bus": {"url": redis_url, "streams": []}})) == 0


def test_livebot_worker_refuses_sqlite(tmp_path: Path) -> None:
    from livebot.cli import main

    assert main(["worker", "--config", str(write_config(tmp_path / "c.toml", "sqlite:///x.db", "memory://", "p"))]) == 1
