"""``livebot worker``: run the once-per-message stages (enrichment, console intake, engagement
figures) without the web server, as one consumer of each Redis stream group.

``livebot serve`` starts ``[server] workers`` of these beside its web process (one per core beyond its own by
default on PostgreSQL + Redis) and restarts one that dies; on another machine run them directly,
as many as it has cores. SQLite with the in-process bus is one process: there is nothing to share.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from livebot.app import create_app
from livebot.background import TaskSet
from livebot.chat.settings import ChatSettings
from livebot.cli.options import add_config_option, config_from_args
from livebot.cli.serve import FREEZE_AFTER_SECONDS, tune_gc
from livebot.config import Config
from livebot.errors import ConfigError
from livebot.retry import Backoff

logger = logging.getLogger(__name__)

RESTART_AFTER = Backoff(1.0, 32.0, jitter=0)
"""How long a dead worker is left before it is started again, by the number of quick deaths in a row: one
that keeps dying at once waits 1, 2, 4 … up to 32 seconds (and the watch looks every ``base`` seconds)."""
QUICK_DEATH_SECONDS = 30
"""A worker that lived shorter than this died "at once" (the next restart waits longer)."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = commands.add_parser("worker", help="run the enrichment, intake and figures stages (PostgreSQL + Redis)")
    add_config_option(worker)
    worker.set_defaults(func=worker_command)


def shareable(config: Config) -> bool:
    """Whether several processes can share the work: PostgreSQL and a Redis bus with streams."""
    return config.database.url.startswith("postgres") and config.bus.url.startswith("redis") and bool(config.bus.streams)


def worker_count(config: Config) -> int:
    """``[server] workers``, with -1 resolved to one per core beyond the web process's (at least one; 0 where
    work cannot be shared). More than one worker per machine pays off only with cores to spare: on 2 cores, two
    workers beside the web process measured slower than one (docs/benchmarks.md)."""
    wanted = config.server.workers
    if wanted == -1:
        return max(1, (os.cpu_count() or 1) - 1) if shareable(config) else 0
    if wanted and not shareable(config):
        raise ConfigError("server.workers", "workers need PostgreSQL ([database] url) and Redis ([bus] url) with "
                                            "[bus] streams; set 0 for SQLite or the in-process bus")
    return wanted


def worker_command(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if not shareable(config):
        raise ConfigError("bus.url", "`livebot worker` needs PostgreSQL and a Redis bus with [bus] streams "
                                     "(SQLite runs everything in `livebot serve`)")
    if config.section("chat", ChatSettings).tune_gc:
        tune_gc()
    asyncio.run(run_worker(config))
    return 0


async def run_worker(config: Config) -> None:
    """Start the app's background stages (no HTTP listener) and run until SIGTERM or SIGINT."""
    app = create_app(config, role="worker")
    runner = web.AppRunner(app, handle_signals=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await runner.setup()
    logger.info("worker %d started", os.getpid())
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(FREEZE_AFTER_SECONDS):
            await stop.wait()
    if not stop.is_set() and config.section("chat", ChatSettings).tune_gc:
        gc.freeze()  # what start-up built (jieba, the FAQ index) out of the collector's way, as `serve` does
    await stop.wait()
    logger.info("worker %d stopping", os.getpid())
    await runner.cleanup()


def worker_argv(config_path: Path) -> list[str]:
    return [sys.executable, "-m", "livebot", "worker", "--config", str(config_path)]


def supervise_workers(app: web.Application, config: Config, count: int) -> None:
    """Keep ``count`` ``livebot worker`` processes running beside the web process."""
    if config.path is None:
        raise ConfigError("server.workers", "workers are started with the same --config FILE; none was given")
    argv = worker_argv(config.path)

    async def spawn() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(*argv)

    async def workers_ctx(app: web.Application) -> AsyncIterator[None]:
        procs = [await spawn() for _ in range(count)]
        logger.info("serve: started %d workers (pids %s)", count, [p.pid for p in procs])

        async def watch() -> None:
            quick_deaths = [0] * count
            started = [time.monotonic()] * count
            while True:
                await asyncio.sleep(RESTART_AFTER.base)
                for index, proc in enumerate(procs):
                    if proc.returncode is None:
                        continue
                    lived = time.monotonic() - started[index]
                    if lived < RESTART_AFTER(quick_deaths[index] + 1):
                        continue  # dying at once again and again: wait longer before the next try
                    quick_deaths[index] = quick_deaths[index] + 1 if lived < QUICK_DEATH_SECONDS else 0
                    logger.warning("serve: worker %d exited with %s; starting another", proc.pid, proc.returncode)
                    procs[index] = await spawn()
                    started[index] = time.monotonic()

        tasks = TaskSet("serve")
        tasks.spawn(watch(), "workers")
        yield
        await tasks.stop()
        for proc in procs:
            if proc.returncode is None:
                proc.terminate()
        for proc in procs:
            try:
                await asyncio.wait_for(proc.wait(), timeout=config.server.shutdown_timeout)
            except TimeoutError:
                proc.kill()
                await proc.wait()

    app.cleanup_ctx.insert(0, workers_ctx)
