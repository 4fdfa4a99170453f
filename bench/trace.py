"""Trace benchmark: import a season of EPCIS history, then load the Digital Link resolver.

1. Builds ~100,000 events (the demo's whole chain, 37 events per batch: feed and its test, a
   treated animal, milking, cooling, raw-milk checks, transport, seven ingredient lots with
   their tests, processing, packing, product checks, warehouse, shipment; one document per day
   over a season) and imports them through the real importer into a fresh SQLite file: events/s.
2. Starts ``livebot serve`` on 127.0.0.1 in its own process on that database and sends
   Digital Link JSON lookups (``GET /01/{gtin}/10/{lot}``, ``Accept: application/json``) from
   200 concurrent clients: p50/p99 latency (target p99 < 50 ms) with the resolver cache on,
   then with it off (every request reads the database).

Each traffic mix is measured two ways: waves of 200 requests sent at the same instant (a code
shown on stream, scanned by a crowd at once) and 200 connections firing back-to-back, which
saturates the server so that latency is queueing (Little's law: 200 / throughput).

The figure compared with the target is the p99 of the stream mix in waves of 200, cache on
(marked "target figure"); the others show the cold and saturated cases around it. The cold
case proper has a server of its own: every wave asks 200 lots no request asked before (a crowd
scanning 200 different cans), so every request misses the in-memory cache and is answered from
the summary stored at import (after a warm-up on 600 other lots).

Client and server share the machine (2 cores here). The load generator is a minimal keep-alive
HTTP/1.1 client (no aiohttp client machinery) in this process, its heap frozen out of the
collector's way; each line reports the CPU the server and this client used, so a client that
ate a core would show, and the server's CPU per request (steadier than latency on a shared
box). When ``wrk`` is on the PATH the saturated stream mix is measured again by it (C, one
thread, 200 connections) as a cross-check of the Python client.

Run: ``python bench/trace.py [--events 100000] [--requests 6000]``; bounded to a few minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.support import free_port  # noqa: E402
from livebot.demo import trace as demo  # noqa: E402
from livebot.storage import migrate  # noqa: E402
from livebot.storage.engine import Database  # noqa: E402
from livebot.trace.digitallink import digital_link_path  # noqa: E402
from livebot.trace.scans import ScanCounter  # noqa: E402
from livebot.trace.service import import_epcis  # noqa: E402
from livebot.trace.settings import TraceSettings  # noqa: E402

CONCURRENCY = 200
COLD_WARM_LOTS = 3 * CONCURRENCY
"""Lots the cold-cache server is warmed up on before its measured waves."""
COLD_LOTS = COLD_WARM_LOTS + CONCURRENCY


def season(events_wanted: int) -> list[tuple[list[dict], list[tuple[str, str]]]]:
    """Daily documents of dairy chains until ``events_wanted`` events: [(events, [(gtin, lot)])]."""
    rng = random.Random(2026)
    per_day = 60
    start = datetime.fromisoformat("2026-08-01T05:10:00+08:00")
    days: list[tuple[list[dict], list[tuple[str, str]]]] = []
    total = 0
    day = 0
    while total < events_wanted:
        events: list[dict] = []
        lots: list[tuple[str, str]] = []
        for n in range(per_day):
            stage = n % 3
            milked = start + timedelta(days=day, minutes=12 * n)
            base = demo.demo_batch(n, stage, milked, n + 1)
            local = milked.astimezone(demo.CST)
            batch = demo.DemoBatch(
                gtin=base.gtin, stage=base.stage, lot=f"QH{local:%Y%m%d}{'ABC'[stage]}{n + 1:02d}",
                raw_lot=f"SC{local:%Y%m%d}T{n + 1:02d}", can_code=f"C{local:%y%m%d}{n + 1:03d}", milked=milked,
                farm=base.farm, tank=base.tank, truck=base.truck,
            )
            chain = demo.chain_events(batch, rng)
            events += chain
            lots.append((batch.gtin, batch.lot))
            total += len(chain)
            if total >= events_wanted:
                break
        days.append((events, lots))
        day += 1
    return days


async def import_season(url: str, days: list[tuple[list[dict], list[tuple[str, str]]]]) -> tuple[int, float, float]:
    """Events stored, wall seconds and CPU seconds of this process (every thread: parsing and SQLite's too)."""
    db = Database.open(url)
    settings = TraceSettings()
    documents = [orjson.dumps(demo.document(events)) for events, _ in days]
    stored = 0
    start, cpu = time.perf_counter(), time.process_time()
    try:
        for raw in documents:
            stored += (await import_epcis(db, raw, settings)).stored
    finally:
        await db.close()
    return stored, time.perf_counter() - start, time.process_time() - cpu


def start_server(folder: Path, url: str, cache_seconds: float) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    config = folder / f"bench-{port}.toml"
    config.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n[database]\nurl = "{url}"\n'
        f'[auth]\nsession_secret = "bench"\n[trace]\nresolver_cache_seconds = {cache_seconds}\n', encoding="utf-8")
    log = open(folder / f"server-{port}.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([sys.executable, "-m", "livebot", "--log-level", "WARNING", "serve", "--config", str(config)],
                            stdout=log, stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}"


async def wait_healthy(base: str, proc: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(240):
            if proc.poll() is not None:
                raise RuntimeError("server exited; see its log")
            try:
                async with http.get(f"{base}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.25)
    raise RuntimeError("server not healthy in 60 s")


class Connection:
    """A minimal HTTP/1.1 keep-alive client: the load generator must cost far less CPU than the server."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def get(self, path: str) -> int:
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\nAccept: application/json\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


async def load(connections: list[Connection], paths: list[str], requests: int) -> dict[str, float]:
    """``requests`` lookups over ``len(connections)`` concurrent keep-alive connections; latencies in ms."""
    rng = random.Random(7)
    latencies: list[float] = []
    failures = 0
    queue = [rng.choice(paths) for _ in range(requests)]

    async def worker(conn: Connection) -> None:
        nonlocal failures
        while queue:
            failures += not await timed_get(conn, queue.pop(), latencies)

    begin = time.perf_counter()
    await asyncio.gather(*(worker(conn) for conn in connections))
    elapsed = time.perf_counter() - begin
    return summary(latencies, elapsed, failures)


def summary(latencies: list[float], elapsed: float, failures: int) -> dict[str, float]:
    """p50, p99 (nearest rank), max in ms; requests/s over ``elapsed``."""
    latencies.sort()
    rank99 = -(-len(latencies) * 99 // 100)  # ceil(0.99 n)
    return {"p50": latencies[len(latencies) // 2], "p99": latencies[rank99 - 1], "max": latencies[-1],
            "rps": len(latencies) / elapsed, "failures": failures, "requests": len(latencies)}


async def timed_get(conn: Connection, path: str, latencies: list[float]) -> bool:
    """GET ``path``, adding its latency in ms to ``latencies``; True when it answered 200."""
    start = time.perf_counter()
    ok = await conn.get(path) == 200
    latencies.append((time.perf_counter() - start) * 1000)
    return ok


async def bursts(connections: list[Connection], paths: list[str], rounds: int) -> dict[str, float]:
    """``rounds`` waves of one request per connection sent at the same instant (a code shown on
    stream, scanned by a crowd at once), with a short pause between waves; latencies in ms."""
    rng = random.Random(13)
    latencies: list[float] = []
    failures = 0

    begin = time.perf_counter()
    for _ in range(rounds):
        answers = await asyncio.gather(*(timed_get(conn, rng.choice(paths), latencies) for conn in connections))
        failures += answers.count(False)
        await asyncio.sleep(0.2)
    elapsed = time.perf_counter() - begin - 0.2 * rounds
    return summary(latencies, elapsed, failures)


def cold_order(paths: list[str]) -> list[str]:
    """Every lot once, in a random order (the cold case never asks a lot twice)."""
    fresh = list(paths)
    random.Random(17).shuffle(fresh)
    return fresh


async def cold_waves(connections: list[Connection], paths: list[str]) -> dict[str, float]:
    """Like :func:`bursts`, but each wave is ``len(connections)`` lots asked once each, in order:
    with lots no request asked before, every request is a cache miss."""
    latencies: list[float] = []
    failures = 0

    rounds = len(paths) // len(connections)
    begin = time.perf_counter()
    for n in range(rounds):
        wave = paths[n * len(connections):(n + 1) * len(connections)]
        answers = await asyncio.gather(*(timed_get(conn, path, latencies)
                                         for conn, path in zip(connections, wave, strict=True)))
        failures += answers.count(False)
        await asyncio.sleep(0.2)
    elapsed = time.perf_counter() - begin - 0.2 * rounds
    return summary(latencies, elapsed, failures)


async def cold_run(folder: Path, url: str, paths: list[str], requests: int) -> dict[str, dict[str, float]]:
    """A fresh server (cache on) warmed up on a few lots set aside, then waves of lots never asked before."""
    proc, base = start_server(folder, url, 30.0)
    try:
        await wait_healthy(base, proc)
        connections = await open_connections(int(base.rsplit(":", 1)[1]))
        try:
            order = cold_order(paths)
            warm, order = order[:COLD_WARM_LOTS], order[COLD_WARM_LOTS:]
            await cold_waves(connections, warm)
            rounds = max(1, min(requests, len(order)) // CONCURRENCY)
            return {f"cold cache, {rounds} waves of {CONCURRENCY} lots never asked before": await measured(
                proc, cold_waves(connections, order[:rounds * CONCURRENCY]))}
        finally:
            for conn in connections:
                conn.close()
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measured(proc: subprocess.Popen[bytes], run: Awaitable[dict[str, float]]) -> dict[str, float]:
    """``run``'s figures plus the CPU the server and this client spent, as % of one core."""
    server, client, wall = cpu_seconds(proc.pid), time.process_time(), time.perf_counter()
    result = await run
    wall = time.perf_counter() - wall
    spent = cpu_seconds(proc.pid) - server
    result["server_cpu"] = spent / wall * 100
    result["client_cpu"] = (time.process_time() - client) / wall * 100
    result["server_us"] = spent / result["requests"] * 1e6
    return result


def wrk_run(base: str, paths: list[str], folder: Path, seconds: int = 10) -> dict[str, float] | None:
    """The saturated stream mix again, generated by ``wrk`` (if installed): p50/p99 in ms, req/s."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    script = folder / "paths.lua"
    script.write_text("paths = {" + ",".join(f'"{p}"' for p in paths) + "}\n"
                      'request = function() return wrk.format("GET", paths[math.random(#paths)], '
                      '{["Accept"] = "application/json"}) end\n', encoding="utf-8")
    out = subprocess.run([wrk, "-t1", f"-c{CONCURRENCY}", f"-d{seconds}s", "--latency", "-s", str(script), base],
                         capture_output=True, text=True, timeout=seconds + 30).stdout

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    latency = re.search(r"^\s*Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)", out, re.M)
    peak = float(latency.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[latency.group(2)] if latency else 0.0
    return {"p50": ms("50%"), "p99": ms("99%"), "max": peak, "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
            "failures": int(errors.group(1)) if errors else 0}


async def open_connections(port: int) -> list[Connection]:
    """``CONCURRENCY`` connections, opened a few at a time (a burst of SYNs overflows the listen backlog)."""
    connections: list[Connection] = []
    for start in range(0, CONCURRENCY, 20):
        connections += await asyncio.gather(*(Connection.open("127.0.0.1", port) for _ in range(min(20, CONCURRENCY - start))))
    return connections


async def resolver_run(folder: Path, url: str, mixes: dict[str, list[str]], requests: int, cache_seconds: float,
                       wrk_paths: list[str] | None = None) -> dict[str, dict[str, float]]:
    """One server process; the connections are opened and warmed up before anything is measured."""
    proc, base = start_server(folder, url, cache_seconds)
    results = {}
    try:
        await wait_healthy(base, proc)
        connections = await open_connections(int(base.rsplit(":", 1)[1]))
        try:
            for name, paths in mixes.items():
                await load(connections, paths, CONCURRENCY * 3)
                results[f"{name}, waves of {CONCURRENCY} at once"] = await measured(
                    proc, bursts(connections, paths, max(1, requests // CONCURRENCY)))
                results[f"{name}, {CONCURRENCY} back-to-back (saturated)"] = await measured(proc, load(connections, paths, requests))
        finally:
            for conn in connections:
                conn.close()
        if wrk_paths:
            checked = wrk_run(base, wrk_paths, folder)
            if checked is not None:
                results[f"stream mix, {CONCURRENCY} connections back-to-back, generated by wrk (cross-check)"] = checked
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=6000)
    args = parser.parse_args()
    days = season(args.events)
    paths = [digital_link_path(gtin, lot) for _, lots in days for gtin, lot in lots]
    if len(paths) < COLD_LOTS:
        parser.error(f"--events {args.events} made {len(paths)} lots; the cold-cache run needs {COLD_LOTS} "
                     f"(warm-up and one wave of {CONCURRENCY} never asked): about {COLD_LOTS * 20:,} events")
    folder = Path(tempfile.mkdtemp(prefix="livebot-bench-trace-"))
    url = f"sqlite:///{folder / 'trace.db'}"
    await migrate.upgrade(url)
    stored, seconds, cpu = await import_season(url, days)
    print(f"EPCIS import: {stored} events in {len(days)} daily documents, {seconds:.1f} s -> {stored / seconds:,.0f} events/s "
          f"({cpu:.1f} CPU s -> {stored / cpu:,.0f} events per CPU second)")
    rng = random.Random(11)
    hot = paths[-6:]  # the batches on stream now and the latest production
    stream = [rng.choice(hot) if rng.random() < 0.9 else rng.choice(paths) for _ in range(5000)]
    stream_name = "stream mix (90% the 6 batches on stream, 10% any lot)"
    mixes = {stream_name: stream, f"uniform over all {len(paths)} lots": paths}
    gc.collect()
    gc.freeze()  # the client's start-up heap (SQLAlchemy, the demo, 100k imported events' garbage) out of its collector's way
    print(f"load average before the resolver runs: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for label, cache in (("cache on", 30.0), ("cache off", 0.0), ("cache on", None)):
        if cache is None:
            runs = await cold_run(folder, url, paths, args.requests)
        else:
            runs = await resolver_run(folder, url, mixes, args.requests, cache, stream if cache else None)
        for mix, r in runs.items():
            verdict = "OK" if r["p99"] < 50 else "ABOVE TARGET"
            target = " [target figure]" if cache and mix == f"{stream_name}, waves of {CONCURRENCY} at once" else ""
            cpu = (f", CPU server {r['server_cpu']:.0f}% / client {r['client_cpu']:.0f}% of a core, "
                   f"server {r['server_us']:.0f} µs CPU per request" if "server_cpu" in r else "")
            print(f"Digital Link JSON, {label}, {mix}: "
                  f"p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms ({verdict}: < 50 ms){target}, max {r['max']:.1f} ms, "
                  f"{r['rps']:,.0f} req/s, failures {int(r['failures'])}{cpu}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(scan_counting_cost(hot))
    print(f"(data in {folder}; cores: {os.cpu_count()})")


def scan_counting_cost(paths: list[str], calls: int = 200_000) -> str:
    """What counting a can scan adds to each resolver answer (an in-memory increment and a salted digest)."""
    counter = ScanCounter()
    lots = [path.rsplit("/", 1)[-1] for path in paths]
    clients = [f"10.0.{i % 250}.{i % 7}|Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)" for i in range(1000)]
    start = time.perf_counter()
    for i in range(calls):
        counter.record(lots[i % len(lots)], clients[i % len(clients)], "北京")
    per_call = (time.perf_counter() - start) / calls * 1e6
    return f"scan counting: {per_call:.2f} µs per resolver answer ({calls:,} calls), against a p50 answer of several ms: not measurable"


if __name__ == "__main__":
    asyncio.run(main())
