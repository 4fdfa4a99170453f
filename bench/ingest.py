"""Signed-webhook ingest benchmark: livebot on a temp SQLite versus a bare HMAC+JSON endpoint.

Starts two servers on 127.0.0.1 as subprocesses — ``livebot serve`` with a fresh SQLite file,
and a bare aiohttp app that only checks the HMAC and parses the JSON (the machine's ceiling
for this HTTP stack) — then drives each with realistic Chinese chat in signed batches:
open-loop steps at rising rates (a request every batch/rate seconds regardless of answers, so
latency includes queueing) and a closed-loop step at full speed. Prints accepted events/s,
p50/p99 acknowledgement latency, 503s, the server's CPU per accepted event (µs, user + system,
all threads) and its peak RSS. Bounded to about two minutes.

With ``--postgres postgresql://postgres@127.0.0.1:5432/test`` livebot stores in a fresh PostgreSQL
database made on that server (dropped afterwards) instead of a SQLite file; ``--bus
redis://127.0.0.1:6379/0`` publishes ``chat.stored`` on Redis instead of the in-process bus.

    python bench/ingest.py [--batch 100] [--step-seconds 5] [--rates 1000,5000,10000,20000,30000]
                           [--postgres URL] [--bus URL] [--skip-bare]
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.support import drop_postgres, free_port, fresh_postgres  # noqa: E402
from livebot.chat import signing  # noqa: E402
from livebot.chat.transcript import texts  # noqa: E402

SECRET = "bench-secret"


class SkipBare(Exception):
    pass

SOURCE = "bench"
MAX_IN_FLIGHT = 512


# --- the bare endpoint: HMAC + JSON parse only --------------------------------------------

async def bare_ingest(request: web.Request) -> web.Response:
    body = await request.read()
    try:
        signing.verify(SECRET, request.headers.get(signing.TIMESTAMP_HEADER),
                       request.headers.get(signing.SIGNATURE_HEADER), body)
    except signing.SignatureError as err:
        return web.json_response({"error": str(err)}, status=401)
    events = orjson.loads(body)["events"]
    return web.json_response({"accepted": len(events), "duplicates": 0}, status=202)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def run_bare(port: int) -> None:
    app = web.Application(client_max_size=1_048_576)
    app.router.add_post("/api/v1/ingest/{source_id}", bare_ingest)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# --- servers --------------------------------------------------------------------------------

def start_livebot(folder: Path, port: int, enrich: bool, url: str, bus: str) -> subprocess.Popen[bytes]:
    config = folder / "bench.toml"
    config.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[faq]\nenrich = {"true" if enrich else "false"}\n'
        f'[database]\nurl = "{url}"\n'
        f'[bus]\nurl = "{bus}"\nchannel_prefix = "lbingest{os.getpid()}"\n'
        '[auth]\nsession_secret = "bench"\n'
        f'[[sources]]\nid = "{SOURCE}"\ntype = "webhook"\nsecret = "{SECRET}"\n',
        encoding="utf-8",
    )
    if not url.startswith("sqlite"):  # SQLite files are created at the newest migration by serve
        subprocess.run([sys.executable, "-m", "livebot", "--log-level", "WARNING", "db", "upgrade", "--config",
                        str(config)], cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return subprocess.Popen(
        [sys.executable, "-m", "livebot", "--log-level", "WARNING", "serve", "--config", str(config)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=open(folder / "server.log", "wb"),
    )


def start_bare(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, __file__, "--bare-server", str(port)], stdout=subprocess.DEVNULL)


async def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                log = Path(proc.args[-1]).parent / "server.log" if "serve" in proc.args else None
                tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
                raise SystemExit(f"server exited with {proc.returncode}\n{tail}")
            try:
                async with http.get(url + "/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit(f"{url} did not become ready")


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the resident set's high-water mark of the server process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- load -----------------------------------------------------------------------------------

@dataclass
class Step:
    name: str
    target: int | None
    latencies: list[float] = field(default_factory=list)
    accepted: int = 0
    duplicates: int = 0
    refused: int = 0
    errors: int = 0
    skipped: int = 0
    seconds: float = 0.0
    cpu: float = 0.0

    def quantile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def line(self) -> str:
        target = f"{self.target:>6}" if self.target else "   max"
        return (f"  {self.name:<8} target {target} ev/s  accepted {self.accepted / self.seconds:>8.0f} ev/s  "
                f"p50 {self.quantile(0.5):>7.1f} ms  p99 {self.quantile(0.99):>7.1f} ms  "
                f"503 {self.refused:>4}  errors {self.errors:>3}  not sent {self.skipped:>3}  "
                f"server CPU {self.cpu / self.seconds * 100:>4.0f}% = {self.cpu / max(1, self.accepted) * 1e6:>5.1f} µs/event")


class Load:
    """Builds signed batches of realistic chat with ids unique across the whole run."""

    def __init__(self, batch: int) -> None:
        self.batch = batch
        self.samples = texts(count=4000)
        self.rng = random.Random(11)
        self.sequence = 0

    def body(self) -> bytes:
        now = datetime.now(UTC).isoformat()
        events = []
        for _ in range(self.batch):
            self.sequence += 1
            platform, channel, name, text = self.samples[self.sequence % len(self.samples)]
            events.append({
                "id": f"b-{self.sequence}", "platform": platform, "channel": channel, "kind": "comment", "ts": now,
                "user": {"id": f"u-{self.rng.randrange(20000)}", "name": name}, "text": text,
            })
        return orjson.dumps({"events": events})


async def post(http: aiohttp.ClientSession, url: str, load: Load, step: Step) -> None:
    body = load.body()
    started = time.perf_counter()
    try:
        async with http.post(url, data=body, headers=signing.signed_headers(SECRET, body)) as resp:
            answer = await resp.read()
            if resp.status == 202:
                step.latencies.append(time.perf_counter() - started)
                parsed = orjson.loads(answer)
                step.accepted += parsed["accepted"]
                step.duplicates += parsed["duplicates"]
            elif resp.status in (429, 503):
                step.refused += 1
            else:
                step.errors += 1
    except aiohttp.ClientError:
        step.errors += 1


async def open_loop(http: aiohttp.ClientSession, url: str, load: Load, rate: int, seconds: float, name: str) -> Step:
    """A request every batch/rate seconds, whatever the answers (latency includes queueing)."""
    step = Step(name, rate)
    interval = load.batch / rate
    tasks: set[asyncio.Task[None]] = set()
    start = time.perf_counter()
    sent = 0
    while (now := time.perf_counter()) - start < seconds:
        due = start + sent * interval
        if now < due:
            await asyncio.sleep(due - now)
        sent += 1
        if len(tasks) >= MAX_IN_FLIGHT:
            step.skipped += 1
            continue
        task = asyncio.create_task(post(http, url, load, step))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    step.seconds = time.perf_counter() - start
    return step


async def closed_loop(http: aiohttp.ClientSession, url: str, load: Load, workers: int, seconds: float, name: str) -> Step:
    """``workers`` clients posting back to back: the sustained maximum."""
    step = Step(name, None)
    start = time.perf_counter()

    async def worker() -> None:
        while time.perf_counter() - start < seconds:
            await post(http, url, load, step)

    await asyncio.gather(*(worker() for _ in range(workers)))
    step.seconds = time.perf_counter() - start
    return step


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the server process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measured(pid: int, run: Any) -> Step:
    before = cpu_seconds(pid)
    step: Step = await run
    step.cpu = cpu_seconds(pid) - before
    return step


async def drive(name: str, base: str, pid: int, rates: list[int], batch: int, seconds: float, workers: int) -> list[Step]:
    load = Load(batch)
    url = f"{base}/api/v1/ingest/{SOURCE}"
    steps = []
    connector = aiohttp.TCPConnector(limit=MAX_IN_FLIGHT)
    async with aiohttp.ClientSession(connector=connector) as http:
        await open_loop(http, url, load, min(rates), 1.0, "warmup")
        for rate in rates:
            step = await measured(pid, open_loop(http, url, load, rate, seconds, name))
            print(step.line(), flush=True)
            steps.append(step)
            if step.refused or step.skipped or step.quantile(0.5) > 1000:
                break
        step = await measured(pid, closed_loop(http, url, load, workers, seconds, name))
        print(step.line(), flush=True)
        steps.append(step)
    return steps


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


async def main(args: argparse.Namespace) -> None:
    rates = [int(r) for r in args.rates.split(",")]
    print(f"signed webhook ingest, {args.batch} events per request, {args.step_seconds:.0f} s per step, "
          f"{os.cpu_count()} CPUs", flush=True)
    bare_port, livebot_port = free_port(), free_port()
    bare = start_bare(bare_port)
    try:
        if args.skip_bare:
            raise SkipBare
        await wait_ready(f"http://127.0.0.1:{bare_port}", bare)
        print("bare aiohttp endpoint (HMAC check + JSON parse only):", flush=True)
        await drive("bare", f"http://127.0.0.1:{bare_port}", bare.pid, rates, args.batch, args.step_seconds, args.workers)
        print(f"  peak RSS {peak_rss_mb(bare.pid):.0f} MB", flush=True)
    except SkipBare:
        pass
    finally:
        stop(bare)
    with tempfile.TemporaryDirectory(prefix="livebot-bench-") as tmp:
        url = fresh_postgres(args.postgres, f"livebot_bench_ingest_{os.getpid()}") if args.postgres \
            else f"sqlite:///{Path(tmp) / 'bench.db'}"
        try:
            server = start_livebot(Path(tmp), livebot_port, args.enrich, url, args.bus)
            try:
                await wait_ready(f"http://127.0.0.1:{livebot_port}", server)
                stage = "with" if args.enrich else "without"
                print(f"livebot serve ({url.split(':')[0]}, bus {args.bus}, group commit, moderation, routing, "
                      f"chat.stored; {stage} the FAQ enrichment stage in the same process):", flush=True)
                steps = await drive("livebot", f"http://127.0.0.1:{livebot_port}", server.pid, rates, args.batch,
                                    args.step_seconds, args.workers)
                print(f"  peak RSS {peak_rss_mb(server.pid):.0f} MB", flush=True)
            finally:
                stop(server)
            stored = count_rows(url)
        finally:
            if args.postgres:
                drop_postgres(url)
    accepted = sum(s.accepted for s in steps)
    print(f"  rows in chat_events after the run: {stored} (accepted in measured steps: {accepted})")


def count_rows(url: str) -> int:
    if url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return int(conn.execute("SELECT count(*) FROM chat_events").fetchone()[0])
    import psycopg

    with psycopg.connect(url) as pg:
        row = pg.execute("SELECT count(*) FROM chat_events").fetchone()
        return int(row[0]) if row else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--bare-server":
        run_bare(int(sys.argv[2]))
        raise SystemExit(0)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=100, help="events per request")
    parser.add_argument("--step-seconds", type=float, default=5.0)
    parser.add_argument("--rates", default="1000,5000,10000,20000,30000", help="open-loop steps, events/s")
    parser.add_argument("--workers", type=int, default=16, help="concurrent clients in the closed-loop step")
    parser.add_argument("--enrich", action="store_true",
                        help="also run the FAQ enrichment stage in the server (default: an ingest-only instance)")
    parser.add_argument("--skip-bare", action="store_true", help="measure livebot only")
    parser.add_argument("--postgres", help="PostgreSQL server URL: run on a fresh database there instead of SQLite")
    parser.add_argument("--bus", default="memory://", help="server bus (memory:// or a redis:// URL)")
    asyncio.run(main(parser.parse_args()))
