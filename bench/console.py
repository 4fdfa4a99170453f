"""Advisor console benchmark: 10 consoles open while the signed webhook takes 5,000 events/s.

Starts ``livebot serve`` as a subprocess on 127.0.0.1 with a fresh SQLite file, a live session
routed from the bench's webhook source and the sample knowledge base; opens N console
websockets (bearer token, role advisor) and drives the webhook open-loop (a batch every
batch/rate seconds whatever the answers) with chat in which ~10% are questions. Each console
records when every ask (by its platform event id) first reaches it and checks the sequence of
every range it receives.

The traffic is a big room, not a few users flooding: ``--viewers`` distinct viewers (default
200,000, so each sends about one comment a minute and nobody hits the per-user rate limit),
chatter from a small set of stock phrases (merged by ingest's flood control, as it should be)
and questions dressed like live chat. Identical question texts sent by different viewers within
the merge window are merged too, by design; the bench therefore counts what it should expect
from the database afterwards: questions sent -> visible (not merged, not flagged) -> detected
as questions by the FAQ stage -> asks queued -> asks every console saw.

With ``--bus redis://127.0.0.1:6379/0`` the server runs on the Redis bus and the bench also
listens there, timing each stage of the pipeline (stored, enriched, queued) for a breakdown.

Prints: ingest-to-console latency p50/p99 (from the moment the batch was due to be posted —
open loop, so time a request waited for a free connection counts — to the moment a console
received the ask), dropped updates (sequence gaps plus asks some console never saw, plus
messages the server's bus dropped), frames per console per second, the question funnel, and
the CPU time the server and the bench used. With ``--postgres`` and/or a local Redis it also
prints CPU per event from the load's start until the pipeline settled, per process: the web
process, the workers, the PostgreSQL backends of the bench's database and ``redis-server``
(a shared Redis counts its other clients too). Bounded to about a minute.

With ``--postgres postgresql://postgres@127.0.0.1:5432/test`` the server's database is a fresh
PostgreSQL database made on that server (and dropped afterwards) instead of a SQLite file,
named ``$LIVEBOT_BENCH_DB_PREFIX_<pid>`` (default prefix ``livebot_bench_console``).

With both ``--postgres`` and ``--bus redis://...`` the server runs as the deployment does by
default: ``livebot serve`` plus one ``livebot worker`` per core (``[server] workers`` unset);
``--workers N`` pins the number (0: the web process does everything). The CPU figures count
the server and its workers.

Scale-out (``--scale-out 1,2 --rates 2000,4000,6000``): for each worker count, a fresh server
and database per rate, rates tried in order until one misses the target (p99 < 500 ms and
nothing dropped); prints per worker count the highest rate that met it and the CPU per event
(server + workers) there, and the ratio between the counts.

    python bench/console.py [--rate 5000] [--seconds 20] [--clients 10] [--batch 100] [--viewers 200000] [--bus URL]
                            [--postgres URL] [--workers N] [--scale-out 1,2 --rates 2000,4000,6000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import aiohttp
import orjson
import psutil
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.support import drop_postgres, free_port, fresh_postgres  # noqa: E402
from livebot.auth import store as auth_store  # noqa: E402
from livebot.chat import signing  # noqa: E402
from livebot.faq import store as faq_store  # noqa: E402
from livebot.faq.kb import load_kb, sample_kb_path  # noqa: E402
from livebot.schedule.models import Channel, LiveSession  # noqa: E402
from livebot.storage import migrate  # noqa: E402
from livebot.storage.base import utcnow  # noqa: E402
from livebot.storage.engine import Database  # noqa: E402

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
SOURCE, SECRET = "bench", "bench-console-secret"
CHANNELS = {"douyin": "dy-room-1", "kuaishou": "ks-room-1", "channels": "sph-1", "bilibili": "bili-1",
            "taobao": "tb-1", "wecom": "wecom-parents-1"}
CHATTER = ["冲冲冲", "666", "来了来了", "主播好美", "[玫瑰][玫瑰]", "👍👍👍", "打卡", "已关注", "支持北境", "哈哈哈哈",
           "主播晚上好", "牧场好漂亮", "已下单", "好的谢谢主播", "宝宝睡了偷偷看", "画面卡了", "老粉来了", "买了买了",
           "奶牛好可爱🐄", "工厂好干净", "终于等到开播了", "在看", "学到了", "收到", "刚下班赶上了", "各位宝妈晚上好"]
PREFIXES = ["", "请问", "主播，", "想问下", "宝妈们，", "刚进来，", "主播主播，", "我家宝宝{n}个月了，", "{n}个月宝宝，", "二胎妈妈想问，"]
SUFFIXES = ["", "", "？", "吗", "~", "呀", "？？", "，谢谢", "，在线等", "[玫瑰]"]
MAX_IN_FLIGHT = 256
BUS_PREFIX = f"lbbench{random.randrange(10**6)}"


@dataclass
class Stages:
    """First time each event id was seen on the bus at each stage (Redis bus only)."""

    stored: dict[str, float] = field(default_factory=dict)
    enriched: dict[str, float] = field(default_factory=dict)
    queued: dict[str, float] = field(default_factory=dict)

    async def listen(self, url: str, stop: asyncio.Event) -> None:
        import redis.asyncio as aioredis

        client = aioredis.from_url(url)
        async with client.pubsub() as pubsub:
            await pubsub.psubscribe(f"{BUS_PREFIX}:chat.*", f"{BUS_PREFIX}:console.*")
            while not stop.is_set():
                raw = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
                if raw is None:
                    continue
                now = time.monotonic()
                topic = raw["channel"].decode().split(":", 1)[1]
                payload = orjson.loads(raw["data"])
                for message in payload if isinstance(payload, list) else [payload]:  # publish_many sends lists
                    if topic == "chat.stored":
                        self.stored.setdefault(message["id"], now)
                    elif topic == "chat.enriched" and (message.get("enrichment") or {}).get("is_question"):
                        self.enriched.setdefault(message["id"], now)
                    elif topic.startswith("console."):
                        for ask in message.get("asks", ()):
                            self.queued.setdefault(ask["id"], now)
        await client.aclose()


async def seed(url: str) -> tuple[int, str, list[str]]:
    """A live session routed from every bench channel, the sample KB, an advisor token."""
    migrate.upgrade_sync(url)
    db = Database.open(url)
    try:
        now = utcnow()
        async with db.sessions() as session:
            live = LiveSession(title="压测场次", planned_start=now - timedelta(minutes=1),
                               planned_end=now + timedelta(hours=2), status="live", started_at=now)
            session.add(live)
            await session.flush()
            session.add_all(Channel(session_id=live.id, source_id=SOURCE, channel=ch, platform=pf, label=ch)
                            for pf, ch in CHANNELS.items())
            await session.commit()
            session_id = live.id
        entries = load_kb(sample_kb_path())
        await faq_store.import_entries(db, entries, "bench")
        token = await auth_store.create_token(db, "advisor", "bench")
        questions = [p if p.endswith(("？", "?")) else p + "？" for e in entries for p in e.phrasings()]
        return session_id, token, questions
    finally:
        await db.close()


def start_server(folder: Path, port: int, url: str, bus: str, workers: int | None = None) -> subprocess.Popen[bytes]:
    config = folder / "livebot.toml"
    workers_line = "" if workers is None else f"workers = {workers}\n"
    config.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n{workers_line}[database]\nurl = "{url}"\n'
        f'[auth]\nsession_secret = "bench"\n[bus]\nurl = "{bus}"\nchannel_prefix = "{BUS_PREFIX}"\n'
        f'[[sources]]\nid = "{SOURCE}"\ntype = "webhook"\nsecret = "{SECRET}"\n', encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, "-m", "livebot", "--log-level", "WARNING", "serve", "--config", str(config)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=open(folder / "server.log", "wb"),
    )


async def wait_ready(base: str, proc: subprocess.Popen[bytes], folder: Path, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit("server exited:\n" + (folder / "server.log").read_text(errors="replace")[-3000:])
            try:
                async with http.get(f"{base}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("server not healthy within 60 s")


@dataclass
class Console:
    """One advisor console: when each ask arrived, and any gap in the sequence."""

    name: str
    seen: dict[str, float] = field(default_factory=dict)
    last_seq: int = -1
    gaps: int = 0
    frames: int = 0
    frame_times: list[float] = field(default_factory=list)
    resyncs: int = 0
    snapshots: int = 0
    received: int = 0

    async def run(self, http: aiohttp.ClientSession, url: str, ready: asyncio.Event, stop: asyncio.Event) -> None:
        async with http.ws_connect(url, heartbeat=30, max_msg_size=0) as ws:
            while not stop.is_set():
                try:
                    message = await ws.receive(timeout=0.5)
                except TimeoutError:
                    continue
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                now = time.monotonic()
                frame = orjson.loads(message.data)
                self.frames += 1
                self.received += len(message.data)
                self.frame_times.append(now)
                if frame["type"] == "snapshot":
                    self.snapshots += 1
                    self.last_seq = frame["seq"]
                    ready.set()
                    continue
                for rng in frame["ranges"]:
                    if rng["to"] <= self.last_seq:
                        continue
                    if rng["from"] > self.last_seq + 1:
                        self.gaps += rng["from"] - self.last_seq - 1
                    self.last_seq = rng["to"]
                    for ask in rng["asks"]:
                        self.seen.setdefault(ask["id"], now)


@dataclass
class Load:
    rng: random.Random
    questions: list[str]
    viewers: int = 200_000
    sent: dict[str, float] = field(default_factory=dict)
    question_ids: set[str] = field(default_factory=set)
    serial: int = 0
    accepted: int = 0
    failed: int = 0
    waited: list[float] = field(default_factory=list)
    question_share: float = 0.10
    prefix: str = "b"

    def batch(self, size: int) -> tuple[list[str], bytes]:
        events, ids = [], []
        now_ms = int(time.time() * 1000)
        platforms = list(CHANNELS)
        for _ in range(size):
            self.serial += 1
            viewer = self.rng.randrange(self.viewers)
            platform = platforms[viewer % len(platforms)]  # a viewer watches on one platform
            is_question = self.rng.random() < self.question_share
            text = self.question() if is_question else self.rng.choice(CHATTER)
            event_id = f"{self.prefix}{self.serial}"
            ids.append(event_id)
            if is_question:
                self.question_ids.add(event_id)
            events.append({"id": event_id, "platform": platform, "channel": CHANNELS[platform], "kind": "comment",
                           "ts": now_ms, "user": {"id": f"u{viewer}", "name": f"观众{viewer}"}, "text": text})
        return ids, orjson.dumps({"events": events})

    def question(self) -> str:
        """A KB phrasing dressed like live chat, so most questions are worded differently
        (identical repeats are merged by ingest's flood control, as they should be)."""
        prefix = self.rng.choice(PREFIXES).format(n=self.rng.randrange(1, 37))
        return f"{prefix}{self.rng.choice(self.questions).rstrip('？?')}{self.rng.choice(SUFFIXES)}"

    async def post(self, http: aiohttp.ClientSession, url: str, size: int, gate: asyncio.Semaphore, due: float) -> None:
        """Post one signed batch; its events count as sent at ``due`` (when the open loop wanted it out)."""
        ids, body = self.batch(size)
        headers = {"Content-Type": "application/json", **signing.signed_headers(SECRET, body)}
        for event_id in ids:
            self.sent[event_id] = due
        async with gate:
            self.waited.append(time.monotonic() - due)
            try:
                async with http.post(url, data=body, headers=headers) as resp:
                    if resp.status == 202:
                        self.accepted += (await resp.json())["accepted"]
                    else:
                        self.failed += size
            except aiohttp.ClientError:
                self.failed += size


def busiest_second(times: list[float]) -> int:
    """The most frames received within any one-second window."""
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def count_asks(url: str, session_id: int) -> int:
    from sqlalchemy import func, select

    from livebot.console.models import QuestionAsk

    db = Database.open(url)
    try:
        async with db.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(QuestionAsk)
                                            .where(QuestionAsk.session_id == session_id)) or 0)
    finally:
        await db.close()


async def main(args: argparse.Namespace) -> None:
    if not args.scale_out:
        await one_run(args)
        return
    best: dict[int, tuple[int, float]] = {}
    runs: list[tuple[int, int, Result]] = []
    for workers in [int(n) for n in args.scale_out.split(",")]:
        for rate in [int(r) for r in args.rates.split(",")]:
            print(f"\n== scale-out: {workers} worker(s), {rate} events/s ==", flush=True)
            result = await one_run(argparse.Namespace(**{**vars(args), "workers": workers, "rate": rate}))
            runs.append((workers, rate, result))
            if not result.met:
                break
            best[workers] = (rate, result.cpu_per_event_us)
    print("\nscale-out summary (indicative on a shared machine):")
    for workers, rate, result in runs:
        print(f"  {workers} worker(s) at {rate} events/s: p99 {result.p99_ms:.0f} ms, dropped {result.dropped}, "
              f"{result.cpu_per_event_us:.0f} µs CPU per event{'' if result.met else ' (target missed)'}")
    for workers, (rate, cpu) in best.items():
        print(f"  {workers} worker(s): {rate} events/s at p99 < 500 ms and 0 dropped; {cpu:.0f} µs CPU per event "
              f"(server + workers)")
    if len(best) >= 2:
        (w1, (r1, _)), (w2, (r2, _)) = list(best.items())[:2]
        print(f"  {w2} vs {w1} worker(s): {r2 / r1:.2f}x the events/s")


async def one_run(args: argparse.Namespace) -> Result:
    folder = Path(tempfile.mkdtemp(prefix="livebot-bench-console-"))
    url = fresh_postgres(args.postgres, f"{os.environ.get('LIVEBOT_BENCH_DB_PREFIX', 'livebot_bench_console')}_{os.getpid()}") if args.postgres \
        else f"sqlite:///{folder / 'bench.db'}"
    try:
        return await bench_on(args, folder, url)
    finally:
        if args.postgres:
            drop_postgres(url)


@dataclass
class Result:
    p99_ms: float
    dropped: int
    cpu_per_event_us: float

    @property
    def met(self) -> bool:
        return self.p99_ms < 500 and not self.dropped


async def bench_on(args: argparse.Namespace, folder: Path, url: str) -> Result:
    session_id, token, questions = await seed(url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(folder, port, url, args.bus, args.workers)
    try:
        await wait_ready(base, proc, folder)
        return await run_load(args, base, token, session_id, questions, url, proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


async def run_load(args: argparse.Namespace, base: str, token: str, session_id: int, questions: list[str], url: str,
                   server_pid: int) -> Result:
    headers = {"Authorization": f"Bearer {token}"}
    server, bench = psutil.Process(server_pid), psutil.Process()
    # consoles log in with an advisor token; the relay posting chat has only its signing secret
    async with (aiohttp.ClientSession(headers=headers) as http,
                aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=MAX_IN_FLIGHT + 8)) as relay):
        stop = asyncio.Event()
        consoles = [Console(f"c{i}") for i in range(args.clients)]
        readies = [asyncio.Event() for _ in consoles]
        tasks = [asyncio.create_task(c.run(http, f"{base.replace('http', 'ws')}/ws/console/{session_id}", r, stop))
                 for c, r in zip(consoles, readies, strict=True)]
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout=20)
        stages = Stages()
        if args.bus.startswith("redis"):
            tasks.append(asyncio.create_task(stages.listen(args.bus, stop)))
            await asyncio.sleep(0.5)
        gate = asyncio.Semaphore(MAX_IN_FLIGHT)
        ingest_url = f"{base}/api/v1/ingest/{SOURCE}"
        await warm_up(relay, ingest_url, gate, questions, url, session_id, consoles)
        workers = server.children(recursive=True)
        load = Load(random.Random(20261124), questions, viewers=args.viewers)
        interval = args.batch / args.rate
        posts: set[asyncio.Task[None]] = set()
        cpu_before = (cpu_seconds(server, workers), cpu_seconds(bench), loop_thread_seconds(server))
        backing_before = backing_cpu(url, args.bus)
        web_before = cpu_seconds(server)
        started = time.monotonic()
        tick = 0
        print(f"livebot console bench: {args.clients} consoles, {args.rate} events/s in batches of {args.batch} "
              f"for {args.seconds:.0f} s, ~{load.question_share:.0%} questions; database {url.split(':')[0]}, bus {args.bus}",
              flush=True)
        while (now := time.monotonic()) - started < args.seconds:
            due = started + tick * interval
            if due > now:
                await asyncio.sleep(due - now)
            task = asyncio.create_task(load.post(relay, ingest_url, args.batch, gate, max(due, started)))
            posts.add(task)
            task.add_done_callback(posts.discard)
            tick += 1
        await asyncio.gather(*posts)
        load_seconds = time.monotonic() - started
        cpu_load = (cpu_seconds(server, workers) - cpu_before[0], cpu_seconds(bench) - cpu_before[1],
                    loop_thread_seconds(server) - cpu_before[2])
        asked = await settle(url, session_id, consoles, limit=30.0)
        # until settled: on a loaded box the pipeline is still working off the load when the posts end
        settled_cpu = cpu_seconds(server, workers) - cpu_before[0]
        web_load = cpu_seconds(server) - web_before
        backing = backing_cpu(url, args.bus)
        backing_load = {name: sum(secs - backing_before.get(name, {}).get(pid, 0.0) for pid, secs in per_pid.items())
                        for name, per_pid in backing.items()}
        bus_dropped = await server_bus_drops(http, base)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    result = report(args, load, consoles, asked, load_seconds, bus_dropped, cpu_load, len(workers))
    if backing_load:
        events = max(load.serial, 1)
        per_event = {name: secs / events * 1e6 for name, secs in backing_load.items()}
        print("  CPU per event from the load's start until the pipeline settled: web process "
              + f"{web_load / events * 1e6:.0f} µs, workers {(settled_cpu - web_load) / events * 1e6:.0f} µs, "
              + ", ".join(f"{name} {us:.0f} µs" for name, us in per_event.items())
              + f"; all processes but the bench client {(settled_cpu / events * 1e6) + sum(per_event.values()):.0f} µs")
    if args.timeline:
        timeline(load, consoles, started)
    await funnel(url, session_id, load)
    if stages.stored:
        breakdown(load, stages, consoles)
    return result


async def warm_up(relay: aiohttp.ClientSession, url: str, gate: asyncio.Semaphore, questions: list[str], db_url: str,
                  session_id: int, consoles: list[Console]) -> None:
    """A show starts on a running server: post a little chat (ids ``w...``, not measured) and wait
    until its questions are on every console, so the FAQ index is built and the code paths are warm."""
    load = Load(random.Random(7), questions, prefix="w", question_share=0.3)
    for _ in range(5):
        await load.post(relay, url, 100, gate, time.monotonic())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        asked = await count_asks(db_url, session_id)
        if asked and all(len(c.seen) >= asked for c in consoles):
            return
        await asyncio.sleep(0.5)
    raise SystemExit("warm-up questions never reached the consoles")


async def settle(url: str, session_id: int, consoles: list[Console], limit: float) -> int:
    """Wait until every console saw every ask the server stored (or the limit passes)."""
    deadline = time.monotonic() + limit
    asked = await count_asks(url, session_id)
    while time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        now_asked = await count_asks(url, session_id)
        if now_asked == asked and all(len(c.seen) >= asked for c in consoles):
            break
        asked = now_asked
    return asked


def cpu_seconds(process: psutil.Process, children: list[psutil.Process] | None = None) -> float:
    """User + system CPU of ``process`` and of ``children`` (the server's workers) still running."""
    total = 0.0
    for proc in [process, *(children or [])]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += float(times.user + times.system)
    return total


def backing_cpu(db_url: str, bus_url: str) -> dict[str, dict[int, float]]:
    """CPU seconds so far of the local PostgreSQL backends serving ``db_url`` and of the local
    redis-server behind ``bus_url``, per process id (a shared Redis counts its other clients too)."""
    found: dict[str, dict[int, float]] = {}
    if db_url.startswith("postgresql") and make_url(db_url).host in LOCAL_HOSTS:
        import psycopg

        plain = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(plain, autocommit=True) as conn:
            pids = [int(row[0]) for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
        found["PostgreSQL backends"] = {pid: cpu_seconds_of(pid) for pid in pids}
    if bus_url.startswith("redis") and make_url(bus_url).host in LOCAL_HOSTS:
        import redis

        client = redis.Redis.from_url(bus_url)
        try:
            pid = int(client.info("server")["process_id"])
        finally:
            client.close()
        found["redis-server"] = {pid: cpu_seconds_of(pid)}
    return found


def cpu_seconds_of(pid: int) -> float:
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def loop_thread_seconds(process: psutil.Process) -> float:
    """CPU time of the server's main thread, the one running the event loop."""
    return next((t.user_time + t.system_time for t in process.threads() if t.id == process.pid), 0.0)


async def server_bus_drops(http: aiohttp.ClientSession, base: str) -> int:
    """Messages the server's bus dropped because a subscriber fell behind (from /metrics)."""
    async with http.get(f"{base}/metrics") as resp:
        text = await resp.text()
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("livebot_bus_dropped_total{")))


def report(args: argparse.Namespace, load: Load, consoles: list[Console], asked: int, seconds: float,
           bus_dropped: int, cpu: tuple[float, float, float], workers: int) -> Result:
    latencies = [(seen_at - load.sent[event_id]) * 1000 for c in consoles for event_id, seen_at in c.seen.items()
                 if event_id in load.sent]
    missing = sum(max(0, asked - len(c.seen)) for c in consoles)
    gaps = sum(c.gaps for c in consoles)
    frames = max(busiest_second(c.frame_times) for c in consoles)
    print(f"  sent {load.serial} events in {seconds:.1f} s ({load.serial / seconds:,.0f}/s), accepted {load.accepted}, "
          f"failed {load.failed}; waits for a free connection p99 {quantile(load.waited, 0.99) * 1000:.0f} ms")
    print(f"  questions queued (asks stored, warm-up included): {asked}; consoles: {len(consoles)}")
    print(f"  ingest-to-console latency over {len(latencies)} deliveries: p50 {quantile(latencies, 0.5):.0f} ms, "
          f"p99 {quantile(latencies, 0.99):.0f} ms, max {max(latencies, default=float('nan')):.0f} ms (target p99 < 500 ms)")
    print(f"  dropped updates: {gaps + missing + bus_dropped} (sequence gaps {gaps}, asks never seen {missing}, "
          f"server bus drops {bus_dropped}) (target 0)")
    print(f"  frames per console in its busiest second: {frames} (limit ~10); snapshots {sum(c.snapshots for c in consoles)}; "
          f"{sum(c.received for c in consoles) / len(consoles) / seconds / 1e6:.1f} MB/s received per console")
    print(f"  CPU during the load: server + {workers} worker process(es) {cpu[0] / seconds:.0%} of a core "
          f"(the web process's event-loop thread {cpu[2] / seconds:.0%}), bench client {cpu[1] / seconds:.0%}; "
          f"{psutil.cpu_count()} cores shared; {cpu[0] / max(load.serial, 1) * 1e6:.0f} µs server CPU per event")
    return Result(quantile(latencies, 0.99), gaps + missing + bus_dropped, cpu[0] / max(load.serial, 1) * 1e6)


def timeline(load: Load, consoles: list[Console], started: float) -> None:
    """Latency by the second its batch was due: spikes (a pause, a slow commit) versus a steady queue."""
    by_second: dict[int, list[float]] = {}
    for console in consoles:
        for event_id, seen_at in console.seen.items():
            sent = load.sent.get(event_id)
            if sent is not None:
                by_second.setdefault(int(sent - started), []).append((seen_at - sent) * 1000)
    print("  second: p50 / p99 / max ms")
    for second in sorted(by_second):
        values = by_second[second]
        print(f"    {second:3d}: {quantile(values, 0.5):5.0f} / {quantile(values, 0.99):5.0f} / {max(values):5.0f}")


async def funnel(url: str, session_id: int, load: Load) -> None:
    """What became of the questions sent, from the database: what to expect, and what was lost."""
    from sqlalchemy import func, select

    from livebot.chat.models import StoredEvent
    from livebot.console.models import QuestionAsk, QuestionCard

    db = Database.open(url)
    try:
        async with db.sessions() as session:
            rows = (await session.execute(
                select(StoredEvent.external_id, StoredEvent.hidden, StoredEvent.flags, StoredEvent.is_question)
                .where(StoredEvent.session_id == session_id, StoredEvent.kind == "comment"))).all()
            asked_events = set((await session.scalars(
                select(StoredEvent.external_id).join(QuestionAsk, QuestionAsk.event_id == StoredEvent.id)
                .where(QuestionAsk.session_id == session_id))).all())
            cards = (await session.execute(
                select(QuestionCard.group_key, func.count()).where(QuestionCard.session_id == session_id)
                .group_by(QuestionCard.group_key))).all()
    finally:
        await db.close()
    rows = [r for r in rows if r.external_id.startswith(load.prefix)]  # not the warm-up
    asked_events = {e for e in asked_events if e.startswith(load.prefix)}
    sent_q = [r for r in rows if r.external_id in load.question_ids]
    merged = sum(1 for r in sent_q if r.hidden and "merged" in (r.flags or []))
    flagged = sum(1 for r in sent_q if r.hidden and "merged" not in (r.flags or []))
    visible_q = [r for r in sent_q if not r.hidden]
    detected = sum(1 for r in visible_q if r.is_question)
    chatter_as_q = sum(1 for r in rows if not r.hidden and r.is_question and r.external_id not in load.question_ids)
    expected = {r.external_id for r in rows if not r.hidden and r.is_question}
    unenriched = sum(1 for r in rows if r.is_question is None)
    print(f"  questions sent {len(load.question_ids)} (stored {len(sent_q)}): merged as identical repeats {merged}, "
          f"flagged {flagged}, visible {len(visible_q)}, detected as questions {detected}")
    print(f"  expected asks (visible comments the FAQ stage marked as questions, incl. {chatter_as_q} chatter): "
          f"{len(expected)}; queued {len(asked_events)}; expected but not queued {len(expected - asked_events)}; "
          f"queued but not expected {len(asked_events - expected)}; comments never enriched {unenriched}")
    duplicates = sum(n - 1 for _, n in cards if n > 1)
    print(f"  cards {sum(n for _, n in cards)} for {len(cards)} group keys (duplicate cards {duplicates})")


def breakdown(load: Load, stages: Stages, consoles: list[Console]) -> None:
    """Where the time goes, per stage, for the questions that reached the consoles."""
    first_seen = {event_id: min(c.seen[event_id] for c in consoles if event_id in c.seen)
                  for event_id in stages.queued if any(event_id in c.seen for c in consoles)}
    steps = (("posted -> stored (ingest)", load.sent, stages.stored), ("stored -> enriched (FAQ stage)", stages.stored, stages.enriched),
             ("enriched -> queued (console intake)", stages.enriched, stages.queued),
             ("queued -> on a console (fan-out)", stages.queued, first_seen))
    print("  per stage, questions only:")
    for label, start, end in steps:
        values = [(end[k] - start[k]) * 1000 for k in end if k in start and k in stages.queued]
        print(f"    {label:<38} p50 {quantile(values, 0.5):6.0f} ms   p99 {quantile(values, 0.99):6.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=5000, help="events per second (default 5000)")
    parser.add_argument("--seconds", type=float, default=20.0, help="load duration (default 20)")
    parser.add_argument("--clients", type=int, default=10, help="console websockets (default 10)")
    parser.add_argument("--batch", type=int, default=100, help="events per webhook request (default 100)")
    parser.add_argument("--viewers", type=int, default=200_000, help="distinct viewers chatting (default 200000)")
    parser.add_argument("--bus", default="memory://", help="server bus; a redis:// URL adds a per-stage breakdown")
    parser.add_argument("--postgres", help="PostgreSQL server URL: run on a fresh database there instead of SQLite")
    parser.add_argument("--timeline", action="store_true", help="also print latency per second of the load")
    parser.add_argument("--workers", type=int, help="[server] workers for the server (default: the deployment's, "
                                                    "one per core on PostgreSQL + Redis)")
    parser.add_argument("--scale-out", help="worker counts to compare, e.g. 1,2 (needs --postgres and a redis:// --bus)")
    parser.add_argument("--rates", default="2000,3000,4000,5000,6000,8000",
                        help="with --scale-out: events/s tried in order until one misses the target")
    asyncio.run(main(parser.parse_args()))
