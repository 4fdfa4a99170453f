"""Overlay fan-out benchmark: 200 overlay websockets on one server, p99 update latency and CPU.

Starts a real ``livebot serve`` on 127.0.0.1 (SQLite, in-process bus) in a subprocess, connects
200 overlay clients the way OBS does, then sends featured-question commands through the producer
API and times how long each takes to reach every client. Also sends a burst to show that each
client gets at most ~10 frames/s however fast commands arrive. Bounded to about a minute.

    python bench/overlays.py [--clients 200] [--updates 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import aiohttp
import psutil
from sqlalchemy import create_engine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import free_port  # noqa: E402
from livebot.schedule.models import LiveSession  # noqa: E402
from livebot.storage.base import utcnow  # noqa: E402
from livebot.storage.engine import sync_url  # noqa: E402


def livebot(*args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "livebot", "--log-level", "WARNING", *args],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    return out.stdout


def prepare(folder: Path, port: int) -> tuple[Path, str, int]:
    """Config file, producer API token and a live session in a fresh SQLite database."""
    db_url = f"sqlite:///{folder / 'bench.db'}"
    config = folder / "bench.toml"
    config.write_text(f'[server]\nhost = "127.0.0.1"\nport = {port}\n[database]\nurl = "{db_url}"\n'
                      f'[auth]\nsession_secret = "bench-secret"\n', encoding="utf-8")
    livebot("db", "upgrade", "--config", str(config))
    token = livebot("token", "create", "--role", "producer", "--config", str(config)).strip().splitlines()[-1]
    engine = create_engine(sync_url(db_url))
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        now = utcnow()
        live = LiveSession(title="压测场次", planned_start=now, planned_end=now + timedelta(hours=2), status="live")
        session.add(live)
        session.commit()
        session_id = live.id
    engine.dispose()
    return config, token, session_id


async def wait_healthy(http: aiohttp.ClientSession, base: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError("server exited early")
        try:
            async with http.get(f"{base}/healthz") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("server did not become healthy")


class Overlay:
    """One overlay client: records when each featured question arrived and how many frames came."""

    def __init__(self) -> None:
        self.seen: dict[str, float] = {}
        self.frame_times: list[float] = []
        self.ready = asyncio.Event()

    async def run(self, http: aiohttp.ClientSession, url: str) -> None:
        async with http.ws_connect(url, autoping=True, max_msg_size=0) as ws:
            async for message in ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                now = time.perf_counter()
                frame = message.json()
                if frame["t"] == "ping":
                    await ws.send_json({"t": "pong", "n": frame["n"]})
                    continue
                if frame["t"] == "snapshot":
                    self.ready.set()
                    continue
                self.frame_times.append(now)
                featured = frame["parts"].get("featured")
                if featured:
                    self.seen.setdefault(featured["question"], now)


def cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


async def main(clients: int, updates: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="livebot-bench-overlays-"))
    port = free_port()
    config, api_token, session_id = prepare(folder, port)
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "livebot", "--log-level", "WARNING", "serve", "--config", str(config)],  # noqa: ASYNC220
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc = psutil.Process(server.pid)
    headers = {"Authorization": f"Bearer {api_token}"}
    connector = aiohttp.TCPConnector(limit=0)
    try:
        async with aiohttp.ClientSession(connector=connector) as http:
            await wait_healthy(http, base, server)
            async with http.post(f"{base}/api/v1/sessions/{session_id}/overlay-token", headers=headers) as resp:
                overlay_token = (await resp.json())["token"]
            url = f"{base.replace('http', 'ws')}/ws/overlay/{session_id}?token={overlay_token}"
            overlays = [Overlay() for _ in range(clients)]
            tasks = [asyncio.create_task(o.run(http, url)) for o in overlays]
            await asyncio.wait_for(asyncio.gather(*(o.ready.wait() for o in overlays)), 60)
            print(f"clients connected: {clients}   server RSS: {proc.memory_info().rss / 2**20:.0f} MiB")

            cpu0, wall0 = cpu_seconds(proc), time.perf_counter()
            await asyncio.sleep(3)
            idle_cpu = (cpu_seconds(proc) - cpu0) / (time.perf_counter() - wall0)

            latencies: list[float] = []
            cpu0, wall0 = cpu_seconds(proc), time.perf_counter()
            for i in range(updates):
                question = f"压测问题 {i}：奶源来自哪里？"
                sent = time.perf_counter()
                async with http.post(f"{base}/api/v1/sessions/{session_id}/overlay", headers=headers,
                                     json={"type": "featured", "question": question, "answer": "双城牧场"}) as resp:
                    assert resp.status == 200, await resp.text()
                await asyncio.sleep(0.25)
                latencies += [o.seen[question] - sent for o in overlays if question in o.seen]
            window = time.perf_counter() - wall0
            busy_cpu = (cpu_seconds(proc) - cpu0) / window
            expected = clients * updates
            lat_ms = sorted(x * 1000 for x in latencies)
            p = lambda q: lat_ms[min(len(lat_ms) - 1, int(q * len(lat_ms)))]  # noqa: E731
            print(f"updates: {updates} x {clients} clients = {expected} deliveries, received {len(lat_ms)}")
            print(f"fan-out latency (API call -> every client): p50 {p(0.50):.1f} ms  p95 {p(0.95):.1f} ms  "
                  f"p99 {p(0.99):.1f} ms  max {lat_ms[-1]:.1f} ms  mean {statistics.fmean(lat_ms):.1f} ms  (target p99 < 200 ms)")
            print(f"server CPU: {idle_cpu * 100:.1f}% of one core idle with {clients} clients, "
                  f"{busy_cpu * 100:.1f}% during {updates / window:.1f} updates/s")

            for o in overlays:
                o.frame_times.clear()
            cpu0, wall0 = cpu_seconds(proc), time.perf_counter()
            burst = 100
            await asyncio.gather(*(post_scene(http, base, session_id, headers, n) for n in range(burst)))
            await asyncio.sleep(0.5)
            burst_window = time.perf_counter() - wall0
            burst_cpu = (cpu_seconds(proc) - cpu0) / burst_window
            worst = max(max_rate(o.frame_times) for o in overlays)
            print(f"burst: {burst} scene commands in {burst_window:.2f} s -> busiest client got {worst} frames "
                  f"in its busiest second (cap 10/s); server CPU {burst_cpu * 100:.1f}%")
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


async def post_scene(http: aiohttp.ClientSession, base: str, session_id: int, headers: dict[str, str], n: int) -> None:
    scenes = ("batch", "chain", "inspections", "telemetry", "stats")
    async with http.post(f"{base}/api/v1/sessions/{session_id}/overlay", headers=headers,
                         json={"type": "scene", "scene": scenes[n % len(scenes)]}) as resp:
        await resp.read()


def max_rate(times: list[float]) -> int:
    """Most frames within any one-second window."""
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] > 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--updates", type=int, default=60)
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main(args.clients, args.updates))
