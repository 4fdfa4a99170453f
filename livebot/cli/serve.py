"""``livebot serve``: run the service (``--demo`` seeds everything and needs no config)."""

from __future__ import annotations

import argparse
import dataclasses
import logging

from aiohttp import web

from livebot.app import create_app
from livebot.cli.options import add_config_option, config_from_args
from livebot.config import Config

logger = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
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


def serve_command(args: argparse.Namespace) -> int:
    if args.demo:
        from livebot.demo.app import demo_app

        config, app = demo_app(args.config and config_from_args(args), args.host, args.port, args.data_dir)
    else:
        config = with_overrides(config_from_args(args), args.host, args.port)
        app = create_app(config)
    web.run_app(
        app,
        host=config.server.host,
        port=config.server.port,
        shutdown_timeout=config.server.shutdown_timeout,
        print=lambda line: logger.info("%s", line),
        access_log=None,
    )
    return 0
