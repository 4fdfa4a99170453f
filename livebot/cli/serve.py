"""``livebot serve``: run the service (``--demo`` seeds everything and needs no config).

On PostgreSQL + Redis it also starts ``[server] workers`` ``livebot worker`` processes (one per
core by default) that run the once-per-message stages, and the web process leaves those to them.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from livebot.app import create_app
from livebot.background import TaskSet
from livebot.chat.settings import ChatSettings
from livebot.cli.options import add_config_option, config_from_args
from livebot.config import Config

logger = logging.getLogger(__name__)

DEFAULT_GC_THRESHOLD = 700
GC_THRESHOLDS = (20_000, 50, 100)
FREEZE_AFTER_SECONDS = 10.0
"""By then the areas have built what lives as long as the process (jieba's dictionary, the FAQ index)."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser("serve", help="run the web service")
    add_config_option(serve)
    serve.add_argument("--host", help="override server.host")
    serve.add_argument("--port", type=int, help="override server.port")
    serve.add_argument("--demo", action="store_true", help="seed demo data in a fresh SQLite file; needs no config")
    serve.add_argument("--data-dir", help="with --demo: where to keep the demo database (default: a new temp folder)")
    serve.set_defaults(func=serve_command)


def with_overrides(config: Config, host: str | None, port: int | None) -> Config:
    server = config.server
    if host:
        server = dataclasses.replace(server, host=host)
    if port:
        server = dataclasses.replace(server, port=port)
    return dataclasses.replace(config, server=server)


def tune_gc() -> bool:
    """Collect the young generation every 20,000 allocations instead of 700; True if changed.

    Each chat event allocates a few dozen short-lived containers (parsed JSON, the event, its
    row, its bus messages, its enrichment); with CPython's default thresholds the collector
    then runs every few events and its older generations sweep the whole heap (the jieba
    dictionary and the FAQ index included), which measured ~25% of the server's CPU per event
    at 10k+ events/s. Raising the thresholds keeps cyclic garbage bounded while taking the
    collector off the hot path. It is a setting of the process, so the command that owns the
    process makes it (``[chat] tune_gc``), not an app that tests or benchmarks may embed; only
    done when the defaults are still in place.
    """
    if gc.get_threshold()[0] != DEFAULT_GC_THRESHOLD:
        return False
    gc.set_threshold(*GC_THRESHOLDS)
    logger.info("serve: garbage collector thresholds set to %s", GC_THRESHOLDS)
    return True


def freeze_after_start(app: web.Application, delay: float = FREEZE_AFTER_SECONDS) -> None:
    """Move what start-up built into the collector's permanent generation once it is built.

    Half a million long-lived objects (the jieba dictionary, the FAQ index, SQLAlchemy's
    metadata, templates) otherwise get walked by every older-generation collection: 130-220 ms
    pauses of the event loop every several seconds under 5,000 events/s, against ~45 ms after
    the freeze. Objects are still freed by reference counting; only cyclic garbage that happens
    to exist at that moment is never collected (a one-off few kilobytes).
    """

    async def freeze_later(app: web.Application) -> AsyncIterator[None]:
        async def freeze() -> None:
            await asyncio.sleep(delay)
            gc.freeze()
            logger.info("serve: %d objects built at start moved out of the collector's way", gc.get_freeze_count())

        tasks = TaskSet("serve")
        tasks.spawn(freeze(), "gc-freeze")
        yield
        await tasks.stop()

    app.cleanup_ctx.append(freeze_later)


def serve_command(args: argparse.Namespace) -> int:
    if args.demo:
        from livebot.demo.app import demo_app

        config, app = demo_app(args.config and config_from_args(args), args.host, args.port, args.data_dir)
    else:
        from livebot.cli.worker import supervise_workers, worker_count

        config = with_overrides(config_from_args(args), args.host, args.port)
        workers = worker_count(config)
        app = create_app(config, role="web" if workers else "all")
        if workers:
            supervise_workers(app, config, workers)
    if config.section("chat", ChatSettings).tune_gc:
        tune_gc()
        freeze_after_start(app)
    web.run_app(
        app,
        host=config.server.host,
        port=config.server.port,
        shutdown_timeout=config.server.shutdown_timeout,
        print=lambda line: logger.info("%s", line),
        access_log=None,
    )
    return 0
